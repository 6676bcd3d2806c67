package integration

import (
	"context"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
	"github.com/ghlfs/ghlfs/remote/ghl/oauth"
)

// Authorisation as field reports describe the live service (issue 16,
// item 8): 401s that no refresh cures, and an agency's location list
// in pages the server caps.

// An agency of 45 locations, whose server gives at most 20 a page of
// installedLocations whatever limit is asked: the mount's root shows all
// 45 folders.
func TestAgencyLocationsPageCap(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	locs := ghltest.DemoLocations(45)
	locs[0].ID = testLocation
	for i := range locs {
		locs[i].Seed = ""
	}
	srv := fake(t, ghltest.Options{Locations: locs, Approve: "Company", Quirks: []string{"locations-page-cap=20"}})
	tokenFile := login(t, srv, "Company", false)
	m := mountFS(t, srv, mountOpt{agency: true, args: []string{"--token-file", tokenFile, "--list-all=false"}, env: appEnv(t, srv), token: "not-this-one"})
	got := lsNames(t, m.dir)
	if len(got) != len(locs) {
		t.Fatalf("the agency's root shows %d folders, want %d: %q", len(got), len(locs), got)
	}
	want := map[string]bool{}
	for _, l := range locs {
		want[l.Name] = true
	}
	for _, n := range got {
		if !want[n] {
			t.Errorf("unexpected folder %q", n)
		}
	}
	if n := srv.Stats().ByEndpoint[ghltest.EndpointInstalledLocations]; n != 3 {
		t.Errorf("%d pages of installedLocations for 45 locations 20 a page, want 3", n)
	}
}

// causeLines are the log's lines at level ERROR or WARN that hold every
// word.
func causeLines(log string, words ...string) []string {
	var out []string
	for _, l := range logLines(log, words...) {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			out = append(out, l)
		}
	}
	return out
}

// A 401 whose cause a refresh cannot cure (the token's scope, the token
// being for another location, the Version header): the tool gets EACCES,
// ghlfs logs one line naming the cause however often it happens, and no
// refresh token is spent (the fake counts the refreshes).
func TestIncurable401(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	eacces := func(t *testing.T, what string, args ...string) {
		t.Helper()
		if out, err := shErr(args[0], args[1:]...); err == nil || !strings.Contains(out, "Permission denied") {
			t.Fatalf("%s: %v %s", what, err, out)
		}
	}
	t.Run("scope", func(t *testing.T) {
		srv := fake(t, ghltest.Options{Seed: "demo"})
		tokenFile := login(t, srv, "Location", false, "--scope", ghltest.ScopeMediasReadonly)
		m := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile}, env: appEnv(t, srv), token: "not-this-one"})
		if got := lsNames(t, m.path("Documents")); len(got) == 0 {
			t.Fatal("Documents shows nothing")
		}
		eacces(t, "mkdir without medias.write", "mkdir", m.path("New"))
		eacces(t, "mkdir again", "mkdir", m.path("Other"))
		if l := causeLines(m.log.String(), "scope"); len(l) != 1 {
			t.Errorf("%d log lines naming the scope, want 1: %q", len(l), l)
		}
		if st := srv.Stats().OAuth; st.Refreshes != 0 {
			t.Errorf("%d refreshes, want 0", st.Refreshes)
		}
	})
	t.Run("location", func(t *testing.T) {
		locs := ghltest.DemoLocations(2)
		locs[0].ID = testLocation
		srv := fake(t, ghltest.Options{Seed: "demo", Locations: locs, Quirks: []string{ghltest.QuirkLocation401}})
		tokenFile := login(t, srv, "Location", false)
		m := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile, "--list-all=false"}, env: appEnv(t, srv), token: "not-this-one"})
		lsNames(t, m.dir) // works; Documents is not listed yet
		// ghlfs login for the other location rewrites the token file the
		// mount uses, and the mount's own token dies: the mount takes the
		// file's tokens, which are for another location.
		srv.ExpireAccessTokens()
		if err := srv.SetApproval(ghltest.Approval{LocationID: locs[1].ID}); err != nil {
			t.Fatal(err)
		}
		code, err := srv.AuthCode("http://127.0.0.1:1/cb")
		if err != nil {
			t.Fatal(err)
		}
		app := oauth.App{ClientID: srv.ClientID(), ClientSecret: ghltest.DefaultClientSecret, BaseURL: srv.URL}
		set, err := app.Exchange(context.Background(), code, "http://127.0.0.1:1/cb", "Location", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := oauth.SaveTokenSet(tokenFile, set); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			eacces(t, "ls with a token of another location", "ls", m.path("Documents"))
		}
		if l := causeLines(m.log.String(), "another location", testLocation); len(l) != 1 {
			t.Errorf("%d log lines naming the location, want 1: %q", len(l), l)
		}
		if st := srv.Stats().OAuth; st.Refreshes != 0 {
			t.Errorf("%d refreshes, want 0", st.Refreshes)
		}
	})
	t.Run("version", func(t *testing.T) {
		srv := fake(t, ghltest.Options{Seed: "demo", Quirks: []string{ghltest.QuirkVersion401}})
		tokenFile := login(t, srv, "Location", false)
		m := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile, "--list-all=false"}, env: appEnv(t, srv), token: "not-this-one"})
		lsNames(t, m.dir) // works; Documents is not listed yet
		// The service retires the Version ghlfs sends.
		srv.SetFaults(ghltest.Faults{RefuseVersion: true})
		for range 3 {
			eacces(t, "ls with a refused Version", "ls", m.path("Documents"))
		}
		if l := causeLines(m.log.String(), "Version header"); len(l) != 1 {
			t.Errorf("%d log lines naming the Version header, want 1: %q", len(l), l)
		}
		if st := srv.Stats().OAuth; st.Refreshes != 0 {
			t.Errorf("%d refreshes, want 0", st.Refreshes)
		}
	})
}

// The old authorize page stays reachable with --authorize-url.
func TestLoginOldAuthorizePage(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	tokenFile := login(t, srv, "Location", true, "--authorize-url", srv.URL+"/oauth/chooselocation")
	if set := readTokenSet(t, tokenFile); set.AccessToken == "" || set.LocationID != testLocation {
		t.Fatalf("stored %+v", set)
	}
}
