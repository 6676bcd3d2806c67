package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
)

// TestOCMSecrets: the client secret, the password and the static token
// come from the environment or files, never the command line.
func TestOCMSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"OCMFAKE_CLIENT_ID": "env-id", "OCMFAKE_CLIENT_SECRET": "env-secret",
		"OCMFAKE_PASSWORD": "env-pw", "OCMFAKE_TOKEN": "env-token"}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseOCMArgs(nil, getenv, io.Discard, io.Discard)
	if o := cfg.opts; err != nil || o.ClientID != "env-id" || o.ClientSecret != "env-secret" || o.Password != "env-pw" || o.StaticToken != "env-token" {
		t.Errorf("from the environment: %+v, %v", cfg.opts, err)
	}
	cfg, err = parseOCMArgs([]string{"--client-id", "flag-id", "--client-secret-file", write("s", "file-secret"),
		"--password-file", write("p", "file-pw"), "--token-file", write("t", "file-token")}, getenv, io.Discard, io.Discard)
	if o := cfg.opts; err != nil || o.ClientID != "flag-id" || o.ClientSecret != "file-secret" || o.Password != "file-pw" || o.StaticToken != "file-token" {
		t.Errorf("from files: %+v, %v", cfg.opts, err)
	}
	for _, args := range [][]string{{"--client-secret", "S"}, {"--password", "P"}, {"--token", "T"}, {"--token-file", write("e", "")}} {
		if _, err := parseOCMArgs(args, getenv, io.Discard, io.Discard); err == nil {
			t.Errorf("%q taken", args)
		}
	}
}

// TestRunOCM: the fake serves the token endpoint and the API on the
// address it prints, with the quirks asked for, and the demo with its
// public link.
func TestRunOCM(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	env := func(k string) string { return map[string]string{"OCMFAKE_CLIENT_SECRET": "sec"}[k] }
	go func() {
		done <- run(ctx, []string{"--service", "ocm", "--demo", "--quirk", "version-cap=2"}, env, pw, io.Discard)
		pw.Close()
	}()
	rd := bufio.NewReader(pr)
	var lines []string
	for range 4 {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(line))
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimPrefix(lines[0], "ghlfake listening on ")
	fields := strings.Fields(lines[3]) // demo public link LINK over folder ID
	if len(fields) != 7 || fields[0] != "demo" {
		t.Fatalf("banner %q", lines)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"x/" + ocmtest.ScopeSuffix}}
	req, _ := http.NewRequest(http.MethodPost, base+ocmtest.TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(ocmtest.DefaultClientID, "sec")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if res.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %s", res.Status)
	}
	get := func(path string, set func(*http.Request)) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, base+ocmtest.BasePath+path, nil)
		set(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	st, out := get("folders/self/items", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.AccessToken) })
	if st != 200 || out["totalResults"] != "3" {
		t.Errorf("home of the demo: %d %v", st, out)
	}
	st, out = get("folders/"+fields[6]+"/items", func(r *http.Request) {
		r.Header.Set("LinkID", fields[3])
		r.AddCookie(&http.Cookie{Name: "dAccessCode-" + fields[3], Value: ocmtest.DemoAccessCode})
	})
	if st != 200 || out["totalResults"] != "1" {
		t.Errorf("the demo's shared folder through its link: %d %v", st, out)
	}
	res, err = http.Get(base + "/_ocmfake/quirks")
	if err != nil {
		t.Fatal(err)
	}
	var q struct{ Quirks []string }
	json.NewDecoder(res.Body).Decode(&q)
	res.Body.Close()
	if strings.Join(q.Quirks, ",") != "version-cap=2" {
		t.Errorf("quirks %v", q.Quirks)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
