package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/backends"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// --social-csv reaches the cache; GHL_SOCIAL_CSV says it where the flag
// does not; ImageKit has no imports and refuses the flag.
func TestMountFlagSocialCSV(t *testing.T) {
	o, err := mountOptionsOf(t, "--social-csv")
	if err != nil || !o.cache.SocialCSV || !o.socialCSVSet {
		t.Errorf("--social-csv: %+v, %v", o.cache, err)
	}
	if o, _ := mountOptionsOf(t); o.cache.SocialCSV || o.socialCSVSet {
		t.Errorf("default: %+v", o.cache)
	}
	if _, err := mountOptionsOf(t, "--backend=imagekit", "--read-only", "--social-csv"); err == nil {
		t.Error("imagekit took --social-csv")
	}
	for v, want := range map[string]bool{"": false, "true": true, "1": true, "false": false} {
		got, err := backends.SocialCSVSetting(map[string]string{"GHL_SOCIAL_CSV": v})
		if err != nil || got != want {
			t.Errorf("GHL_SOCIAL_CSV=%q: %v, %v", v, got, err)
		}
	}
	if _, err := backends.SocialCSVSetting(map[string]string{"GHL_SOCIAL_CSV": "sometimes"}); err == nil {
		t.Error("GHL_SOCIAL_CSV=sometimes taken")
	}
}

// ghlfs login asks for the CSV scopes when the config enables the
// imports, and not otherwise, nor over an explicit --scope.
func TestLoginAsksCSVScopes(t *testing.T) {
	t.Setenv("GHL_CLIENT_ID", "app-id")
	t.Setenv("GHL_CLIENT_SECRET", "not-secret")
	scopeOf := func(t *testing.T, env string, args ...string) string {
		t.Helper()
		t.Setenv("GHL_SOCIAL_CSV", env)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		out, _ := loginCmdOutput(t, append([]string{"--no-browser", "--timeout", "100ms", "--redirect", fmt.Sprintf("http://127.0.0.1:%d/callback", port)}, args...)...)
		i := strings.Index(out, "chooselocation?")
		if i < 0 {
			t.Fatalf("no address printed:\n%s", out)
		}
		q, err := url.ParseQuery(strings.Fields(out[i+len("chooselocation?"):])[0])
		if err != nil {
			t.Fatal(err)
		}
		return q.Get("scope")
	}
	if s := scopeOf(t, "true"); s != "medias.readonly medias.write socialplanner/csv.readonly socialplanner/csv.write" {
		t.Errorf("GHL_SOCIAL_CSV=true: scope %q", s)
	}
	if s := scopeOf(t, ""); s != "medias.readonly medias.write" {
		t.Errorf("without: scope %q", s)
	}
	if s := scopeOf(t, "true", "--scope", "medias.readonly"); s != "medias.readonly" {
		t.Errorf("--scope given: scope %q", s)
	}
}

// csvCmd runs ghlfs social-csv against srv, as the location's token.
func csvCmd(t *testing.T, srv *ghltest.Server, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("GHL_TOKEN", ghltest.DefaultToken)
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"social-csv", "--api-url", srv.URL, "--location", ghltest.DefaultLocationID}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// import makes an import the fake then holds, with its posts; list shows
// it, as a table and as JSON; each step's refusal names the step.
func TestSocialCSVImportAndList(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "june plan.csv")
	os.WriteFile(file, []byte("postAtSpecificTime,content\n2025-06-01 09:00:00,one\n2025-06-02 09:00:00,two\n"), 0o600)
	out, err := csvCmd(t, srv, "import", file, "--accounts", "acc-1, acc-2")
	if err != nil {
		t.Fatal(err)
	}
	held := srv.CSVImports()
	if len(held) != 1 || held[0].Status != "importing" || len(held[0].Posts) != 2 {
		t.Fatalf("the fake holds %+v", held)
	}
	if !strings.Contains(out, held[0].ID) {
		t.Errorf("output %q", out)
	}
	var rec struct {
		AccountIDs []string `json:"accountIds"`
		FileName   string   `json:"fileName"`
	}
	json.Unmarshal(held[0].Record, &rec)
	if strings.Join(rec.AccountIDs, ",") != "acc-1,acc-2" || rec.FileName != "june plan.csv" {
		t.Errorf("record %s", held[0].Record)
	}
	// A name of the service's is shown with nothing a terminal acts on;
	// a deleted import not at all.
	srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "evil\x1b[2J.csv", CreatedAt: time.Now().Add(-time.Hour)})
	srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "gone.csv", Status: "deleted"})
	table, err := csvCmd(t, srv, "list")
	if err != nil || !strings.Contains(table, held[0].ID) || !strings.Contains(table, "importing") || !strings.Contains(table, "evil␛[2J.csv") ||
		strings.Contains(table, "\x1b") || strings.Contains(table, "gone.csv") {
		t.Errorf("list: %v\n%q", err, table)
	}
	js, err := csvCmd(t, srv, "list", "--json")
	var recs []map[string]any
	if err != nil || json.Unmarshal([]byte(js), &recs) != nil || len(recs) != 2 || recs[0]["_id"] != held[0].ID || recs[1]["fileName"] != "evil\x1b[2J.csv" {
		t.Errorf("list --json: %v\n%s", err, js)
	}
	// Refusals, named by their step.
	if _, err := csvCmd(t, srv, "import", file); err == nil || !strings.Contains(err.Error(), "--accounts") {
		t.Errorf("no accounts: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.csv")
	os.WriteFile(empty, []byte("postAtSpecificTime,content\n"), 0o600)
	if _, err := csvCmd(t, srv, "import", empty, "--accounts", "a"); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("no rows: %v", err)
	}
	noScope, err := ghltest.NewServer(ghltest.Options{RateLimit: -1, TokenScopes: []string{ghltest.ScopeMediasReadonly, ghltest.ScopeCSVReadonly}})
	if err != nil {
		t.Fatal(err)
	}
	defer noScope.Close()
	if _, err := csvCmd(t, noScope, "import", file, "--accounts", "a"); err == nil || !strings.Contains(err.Error(), "uploading") || !strings.Contains(err.Error(), "socialplanner/csv.write") {
		t.Errorf("no write scope: %v", err)
	}
	if _, err := csvCmd(t, noScope, "list"); err != nil {
		t.Errorf("list with the read scope: %v", err)
	}
}
