package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

func TestParseArgs(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GHLFAKE_TOKEN" {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name  string
		args  []string
		env   string
		token string
	}{
		{"default", nil, "", ghltest.DefaultToken},
		{"env", nil, "from-env", "from-env"},
		{"file beats env", []string{"--token-file", tokenFile}, "from-env", "from-file"},
		{"flag beats all", []string{"--token", "from-flag", "--token-file", tokenFile}, "from-env", "from-flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseArgs(tt.args, env(tt.env), io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.opts.Token != tt.token {
				t.Errorf("token %q, want %q", cfg.opts.Token, tt.token)
			}
		})
	}

	cfg, err := parseArgs([]string{"--listen", "127.0.0.1:9999", "--location", "L", "--seed", "demo", "--data", "/d",
		"--page-cap", "7", "--minimal-fields", "--rate-limit", "-1", "--daily-limit", "5", "--fault-500", "0.1",
		"--fault-429", "0.2", "--fault-cut", "0.3", "--latency", "5ms", "--storage-latency", "6ms",
		"--storage-rate", "1000", "--down", "-v"}, env(""), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.opts
	if cfg.listen != "127.0.0.1:9999" || o.LocationID != "L" || o.Seed != "demo" || o.DataDir != "/d" || o.PageCap != 7 ||
		!o.MinimalFields || o.RateLimit != -1 || o.DailyLimit != 5 || !cfg.verbose {
		t.Errorf("config %+v", cfg)
	}
	want := ghltest.Faults{Fault500: 0.1, Fault429: 0.2, FaultCut: 0.3, Latency: ghltest.Duration(5 * time.Millisecond),
		StorageLatency: ghltest.Duration(6 * time.Millisecond), StorageRate: 1000, Down: true}
	if o.Faults != want {
		t.Errorf("faults %+v, want %+v", o.Faults, want)
	}

	var out strings.Builder
	if _, err := parseArgs([]string{"--help"}, env(""), &out, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	if !strings.Contains(out.String(), "Usage: ghlfake") || !strings.Contains(out.String(), "-fault-cut") {
		t.Errorf("--help printed %q", out.String())
	}
	if _, err := parseArgs([]string{"--bogus"}, env(""), io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("--bogus: %v", err)
	}
}

// TestBinary builds ghlfake, runs it, reads its first line, talks to it and
// stops it with SIGINT.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("no go tool")
		}
	}
	bin := filepath.Join(t.TempDir(), "ghlfake")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--listen", "127.0.0.1:0", "--token", "T", "--location", "L", "--seed", "demo", "-v")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("reading the first line: %v; stderr:\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`^ghlfake listening on (http://127\.0\.0\.1:\d+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("first line %q", line)
	}
	base := m[1]

	hr, _ := http.NewRequest(http.MethodGet, base+"/medias/files?altType=location&altId=L&type=folder&sortBy=name&sortOrder=asc", nil)
	hr.Header.Set("Authorization", "Bearer T")
	hr.Header.Set("Version", "2021-07-28")
	hr.Header.Set("User-Agent", "test")
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"name":"Logos"`) {
		t.Errorf("listing: %d %s", res.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGINT: %v; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "msg=request") {
		t.Errorf("-v logged no request:\n%s", stderr.String())
	}
}
