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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

func TestParseLocationFlags(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "GHLFAKE_COMPANY_TOKEN" {
			return "agency-pit"
		}
		return ""
	}
	cfg, err := parseArgs([]string{"--locations", "3", "--location", "L", "--seed", "demo", "--company", "C",
		"--client-id", "app1-x", "--client-secret-file", secret, "--token-ttl", "20s", "--approve", "Company",
		"--redirect-uri", "http://127.0.0.1:1/cb", "--not-installed", "L-3", "--location-names", "North, South,East",
		"--app-scopes", "medias.readonly oauth.readonly", "--token-scopes", "medias.readonly", "--spare-oauth"}, env, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.opts
	want := []ghltest.LocationOptions{
		{ID: "L", Name: "North", Seed: "demo"},
		{ID: "L-2", Name: "South", Seed: "demo"},
		{ID: "L-3", Name: "East", Seed: "demo", NotInstalled: true},
	}
	if !slices.Equal(o.Locations, want) || o.CompanyID != "C" || o.ClientID != "app1-x" || o.ClientSecret != "s3cret" ||
		o.CompanyToken != "agency-pit" || o.TokenTTL != 20*time.Second || o.Approve != "Company" ||
		!slices.Equal(o.RedirectURIs, []string{"http://127.0.0.1:1/cb"}) || !o.Faults.SpareOAuth ||
		!slices.Equal(o.AppScopes, []string{"medias.readonly", "oauth.readonly"}) || !slices.Equal(o.TokenScopes, []string{"medias.readonly"}) {
		t.Errorf("options %+v", o)
	}
	s, err := ghltest.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Locations()) != 3 || s.Location("L-3").Installed() || s.AppID() != "app1" {
		t.Errorf("server: %d locations", len(s.Locations()))
	}

	for _, bad := range [][]string{
		{"--locations", "-1"},
		{"--locations", "2", "--location-names", "a"},
		{"--not-installed", "nowhere"},
		{"--token-ttl", "0s"},
		{"--client-secret-file", filepath.Join(t.TempDir(), "none")},
	} {
		if _, err := parseArgs(bad, env, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

// TestDataDirOfSeveral: a data directory keeps several locations, and
// ghlfake serves them all again when given the directory alone.
func TestDataDirOfSeveral(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parseArgs([]string{"--data", dir, "--locations", "2", "--location", "first"}, os.Getenv, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ghltest.New(cfg.opts)
	if err != nil {
		t.Fatal(err)
	}
	id := s.Location("first-2").AddFile("", "a.txt", "", []byte("in two"))

	cfg, err = parseArgs([]string{"--data", dir}, os.Getenv, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.opts.LocationID != "first" || len(cfg.opts.Locations) != 2 {
		t.Fatalf("options from the directory: %+v", cfg.opts)
	}
	s, err = ghltest.New(cfg.opts)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := s.Location("first-2").Content(id); !ok || string(b) != "in two" {
		t.Errorf("content %q %v", b, ok)
	}
	if _, err := parseArgs([]string{"--data", dir, "--location", "other"}, os.Getenv, io.Discard, io.Discard); err == nil {
		t.Error("a directory of other locations was accepted")
	}
}

// TestRunAgency runs ghlfake with three demo locations and logs in as the
// agency through the authorize page, as a client would: code, token,
// installed locations, a location token, a listing.
func TestRunAgency(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--locations", "3", "--seed", "demo", "--approve", "Company", "--token-ttl", "5s"}, func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	base := strings.TrimSpace(strings.TrimPrefix(line, "ghlfake listening on "))

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	redirect := "http://127.0.0.1:9/callback"
	res, err := noFollow.Get(base + "/oauth/chooselocation?" + url.Values{"response_type": {"code"}, "client_id": {ghltest.DefaultClientID},
		"redirect_uri": {redirect}, "scope": {"medias.readonly oauth.readonly oauth.write"}, "state": {"s1"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc.Query().Get("state") != "s1" {
		t.Fatalf("authorize: %d %s", res.StatusCode, res.Header.Get("Location"))
	}

	call := func(method, path, bearer string, form url.Values, v any) int {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		hr, _ := http.NewRequest(method, base+path, body)
		if form != nil {
			hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if bearer != "" {
			hr.Header.Set("Authorization", "Bearer "+bearer)
		}
		hr.Header.Set("Version", "2021-07-28")
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if v != nil {
			_ = json.NewDecoder(res.Body).Decode(v)
		}
		return res.StatusCode
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		CompanyID   string `json:"companyId"`
	}
	if st := call("POST", "/oauth/token", "", url.Values{"client_id": {ghltest.DefaultClientID}, "client_secret": {ghltest.DefaultClientSecret},
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect}, "user_type": {"Company"}}, &tok); st != 200 || tok.ExpiresIn != 5 {
		t.Fatalf("token: %d %+v", st, tok)
	}
	var installed struct {
		Locations []struct {
			ID   string `json:"_id"`
			Name string `json:"name"`
		} `json:"locations"`
		Count int `json:"count"`
	}
	appID, _, _ := strings.Cut(ghltest.DefaultClientID, "-")
	if st := call("GET", "/oauth/installedLocations?companyId="+tok.CompanyID+"&appId="+appID+"&isInstalled=true", tok.AccessToken, nil, &installed); st != 200 || installed.Count != 3 {
		t.Fatalf("installed: %d %+v", st, installed)
	}
	var lt struct {
		AccessToken string `json:"access_token"`
	}
	if st := call("POST", "/oauth/locationToken", tok.AccessToken, url.Values{"companyId": {tok.CompanyID}, "locationId": {installed.Locations[2].ID}}, &lt); st/100 != 2 {
		t.Fatalf("locationToken: %d", st)
	}
	var files struct {
		Files []struct{ Name string } `json:"files"`
	}
	if st := call("GET", "/medias/files?altType=location&altId="+installed.Locations[2].ID+"&type=file&sortBy=name&sortOrder=asc&limit=100", lt.AccessToken, nil, &files); st != 200 {
		t.Fatalf("listing: %d", st)
	}
	if !slices.ContainsFunc(files.Files, func(f struct{ Name string }) bool { return f.Name == "About Demo Location 3.txt" }) {
		t.Errorf("location 3's root: %+v", files.Files)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
