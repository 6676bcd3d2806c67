package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/imagekit/iktest"
)

func TestServiceOf(t *testing.T) {
	for _, c := range []struct {
		args    []string
		service string
		rest    int
		bad     bool
	}{
		{nil, "highlevel", 0, false},
		{[]string{"--service", "imagekit", "-v"}, "imagekit", 1, false},
		{[]string{"-service=imagekit"}, "imagekit", 0, false},
		{[]string{"--token", "T"}, "highlevel", 2, false},
		{[]string{"--service", "s3"}, "", 0, true},
		{[]string{"--service=ocm"}, "ocm", 0, false},
		{[]string{"--service"}, "", 0, true},
	} {
		s, rest, err := serviceOf(c.args)
		if (err != nil) != c.bad || s != c.service || len(rest) != c.rest {
			t.Errorf("serviceOf(%q) = %q, %q, %v", c.args, s, rest, err)
		}
	}
}

// TestImageKitKey: the key comes from the environment or a file, never
// the command line.
func TestImageKitKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "IKFAKE_PRIVATE_KEY" {
			return "from-env"
		}
		return ""
	}
	cfg, err := parseImageKitArgs([]string{"--key-file", file}, env, io.Discard, io.Discard)
	if err != nil || cfg.opts.PrivateKey != "from-file" {
		t.Errorf("--key-file: %q, %v", cfg.opts.PrivateKey, err)
	}
	cfg, err = parseImageKitArgs(nil, env, io.Discard, io.Discard)
	if err != nil || cfg.opts.PrivateKey != "from-env" {
		t.Errorf("$IKFAKE_PRIVATE_KEY: %q, %v", cfg.opts.PrivateKey, err)
	}
	if _, err := parseImageKitArgs([]string{"--key", "K"}, env, io.Discard, io.Discard); err == nil {
		t.Errorf("a key on the command line was taken")
	}
}

// TestRunImageKit: the fake serves the API with Basic auth on the
// address it prints, with the quirks asked for.
func TestRunImageKit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--service", "imagekit", "--quirk", iktest.QuirkMove409}, func(string) string { return "k" }, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "ghlfake listening on "))
	go io.Copy(io.Discard, pr)
	for key, want := range map[string]int{"k": 200, "other": 401} {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/files", nil)
		req.SetBasicAuth(key, "")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET /v1/files with key %q: %s, want %d", key, res.Status, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
