package ghl

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
	"github.com/ghlfs/ghlfs/remote/ghl/internal/wire"
	"github.com/ghlfs/ghlfs/remote/ghl/oauth"
)

// logLinesWith counts the lines of logs that hold every word, whatever
// the case.
func logLinesWith(logs *syncBuf, words ...string) int {
	n := 0
	for _, l := range strings.Split(logs.String(), "\n") {
		all := l != ""
		for _, w := range words {
			all = all && strings.Contains(strings.ToLower(l), strings.ToLower(w))
		}
		if all {
			n++
		}
	}
	return n
}

// oauthClient logs in to srv (a Location approval of the scopes given)
// and returns a client of location with the token file, its log, and
// the token set.
func oauthClient(t *testing.T, srv *ghltest.Server, location string, scopes ...string) (*Client, *syncBuf) {
	t.Helper()
	code, err := srv.AuthCode("http://127.0.0.1:1/cb", scopes...)
	if err != nil {
		t.Fatal(err)
	}
	app := oauth.App{ClientID: srv.ClientID(), ClientSecret: ghltest.DefaultClientSecret, BaseURL: srv.URL}
	set, err := app.Exchange(context.Background(), code, "http://127.0.0.1:1/cb", "Location", "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "token.json")
	if err := oauth.SaveTokenSet(path, set); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	tf, err := oauth.OpenTokenFile(path, app, 0, log)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{BaseURL: srv.URL, Auth: tf, LocationID: location, RateLimit: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return c, logs
}

// A 401 for the token's scope, for another location or for the Version
// header spends no refresh token and reads no token file: the call fails
// at once with its cause, logged once per endpoint however often it
// happens; an expired token (an unknown cause) is still refreshed.
func TestIncurable401SpendsNoRefresh(t *testing.T) {
	ctx := context.Background()
	t.Run("scope", func(t *testing.T) {
		srv, err := ghltest.NewServer(ghltest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		c, logs := oauthClient(t, srv, ghltest.DefaultLocationID, ghltest.ScopeMediasReadonly)
		if _, err := c.List(ctx, ListQuery{Type: remote.TypeFile}); err != nil {
			t.Fatalf("list with medias.readonly: %v", err)
		}
		for range 3 {
			if _, err := c.CreateFolder(ctx, "", "x"); !errors.Is(err, remote.ErrScope) || !errors.Is(err, remote.ErrUnauthorized) {
				t.Fatalf("create without medias.write: %v", err)
			}
		}
		if st := srv.Stats().OAuth; st.Refreshes != 0 || st.RefreshRefused != 0 {
			t.Errorf("%d refreshes (%d refused), want 0", st.Refreshes, st.RefreshRefused)
		}
		if n := logLinesWith(logs, "level=ERROR", "scope", "/medias/folder"); n != 1 {
			t.Errorf("%d log lines naming the scope, want 1", n)
		}
		// An expired token is still refreshed, once.
		srv.ExpireAccessTokens()
		if _, err := c.List(ctx, ListQuery{Type: remote.TypeFile}); err != nil {
			t.Fatalf("list with an expired token: %v", err)
		}
		if st := srv.Stats().OAuth; st.Refreshes != 1 {
			t.Errorf("%d refreshes after an expiry, want 1", st.Refreshes)
		}
	})
	t.Run("location", func(t *testing.T) {
		locs := ghltest.DemoLocations(2)
		locs[0].Seed, locs[1].Seed = "", ""
		srv, err := ghltest.NewServer(ghltest.Options{Locations: locs, Quirks: []string{ghltest.QuirkLocation401}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		// A token of the first location, used for the second.
		c, logs := oauthClient(t, srv, locs[1].ID)
		for range 3 {
			if _, err := c.List(ctx, ListQuery{Type: remote.TypeFile}); !errors.Is(err, remote.ErrWrongLocation) {
				t.Fatalf("list of another location: %v", err)
			}
		}
		if st := srv.Stats().OAuth; st.Refreshes != 0 {
			t.Errorf("%d refreshes, want 0", st.Refreshes)
		}
		if n := logLinesWith(logs, "level=ERROR", "another location", locs[1].ID); n != 1 {
			t.Errorf("%d log lines naming the location, want 1", n)
		}
	})
	t.Run("version", func(t *testing.T) {
		srv, err := ghltest.NewServer(ghltest.Options{Quirks: []string{ghltest.QuirkVersion401}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		c, logs := oauthClient(t, srv, ghltest.DefaultLocationID)
		srv.SetFaults(ghltest.Faults{RefuseVersion: true})
		for range 3 {
			if _, err := c.List(ctx, ListQuery{Type: remote.TypeFile}); !errors.Is(err, remote.ErrVersion) {
				t.Fatalf("list with a refused Version: %v", err)
			}
		}
		if st := srv.Stats().OAuth; st.Refreshes != 0 {
			t.Errorf("%d refreshes, want 0", st.Refreshes)
		}
		if n := logLinesWith(logs, "level=ERROR", "version header"); n != 1 {
			t.Errorf("%d log lines naming the Version header, want 1", n)
		}
	})
}

// A Private Integration Token in a file: a 401 for its scope does not
// read the file again (the rotated-token path is for unknown 401s).
func TestIncurable401ReadsNoTokenFile(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{TokenScopes: []string{ghltest.ScopeMediasReadonly}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	reads := 0
	c, err := New(Config{BaseURL: srv.URL, Token: ghltest.DefaultToken, LocationID: ghltest.DefaultLocationID, RateLimit: -1,
		TokenSource: func() (string, error) { reads++; return ghltest.DefaultToken, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateFolder(context.Background(), "", "x"); !errors.Is(err, remote.ErrScope) {
		t.Fatalf("create without medias.write: %v", err)
	}
	if reads != 0 {
		t.Errorf("the token file was read %d times after a 401 for the scope, want 0", reads)
	}
}

// An agency's token without oauth.write: minting a location's token is
// refused for the scope, and the agency's refresh token is not spent.
func TestLocationAuthScopeSpendsNoRefresh(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{Locations: ghltest.DemoLocations(2), Approve: ghltest.UserTypeCompany})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	code, err := srv.AuthCode("http://127.0.0.1:1/cb", ghltest.ScopeMediasReadonly, ghltest.ScopeOAuthReadonly)
	if err != nil {
		t.Fatal(err)
	}
	app := oauth.App{ClientID: srv.ClientID(), ClientSecret: ghltest.DefaultClientSecret, BaseURL: srv.URL}
	set, err := app.Exchange(context.Background(), code, "http://127.0.0.1:1/cb", ghltest.UserTypeCompany, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "token.json")
	if err := oauth.SaveTokenSet(path, set); err != nil {
		t.Fatal(err)
	}
	tf, err := oauth.OpenTokenFile(path, app, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := oauth.NewLocationAuth(app, tf, srv.CompanyID(), ghltest.DefaultLocationID)
	for range 2 {
		if _, err := a.Token(context.Background()); !errors.Is(err, remote.ErrScope) {
			t.Fatalf("a location token without oauth.write: %v", err)
		}
	}
	// Through a client: the calls fail with the cause, logged once.
	logs := &syncBuf{}
	c, err := New(Config{BaseURL: srv.URL, Auth: a, LocationID: ghltest.DefaultLocationID, RateLimit: -1, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile}); !errors.Is(err, remote.ErrScope) {
			t.Fatalf("a list with no location token: %v", err)
		}
	}
	if n := logLinesWith(logs, "level=ERROR", "scope", "/oauth/locationToken"); n != 1 {
		t.Errorf("%d log lines naming the scope, want 1:\n%s", n, logs.String())
	}
	if st := srv.Stats().OAuth; st.Refreshes != 0 || st.LocationTokens != 0 {
		t.Errorf("%d refreshes, %d location tokens; want 0, 0", st.Refreshes, st.LocationTokens)
	}
}

// A 401 whose message names its cause is read loosely, whatever the
// case; an unknown one has no cause (the token is renewed as before).
func TestAuthCauseOf401(t *testing.T) {
	for _, c := range []struct {
		status int
		msg    string
		want   error
	}{
		{401, "The token is not authorized for this scope.", remote.ErrScope},
		{401, "THE TOKEN IS NOT AUTHORIZED FOR THIS SCOPE", remote.ErrScope},
		{401, "token lacks scope medias.write", remote.ErrScope},
		{401, "Your token grants access to location abc but you're requesting xyz", remote.ErrWrongLocation},
		{401, "your token grants access to LOCATION abc, you are requesting xyz", remote.ErrWrongLocation},
		{401, "The token does not have access to this location.", remote.ErrWrongLocation},
		{401, "version header is invalid", remote.ErrVersion},
		{401, "Version header was not found", remote.ErrVersion},
		{401, "Missing version", remote.ErrVersion},
		{401, "Invalid JWT", nil},
		{401, "Invalid token: access token is invalid", nil},
		{401, "Token expired for this scope", nil}, // expired first: a new token may do
		{401, "Unauthorized", nil},
		{401, "", nil},
		{403, "The token is not authorized for this scope.", nil}, // 401 only
		{401, strings.Repeat("x", 2000) + " scope", nil},          // too long to be the service's words
	} {
		body, _ := json.Marshal(map[string]any{"statusCode": c.status, "message": c.msg})
		e := wire.ParseError("GET", "/medias/files", &http.Response{StatusCode: c.status, Header: http.Header{}}, body)
		if e.Cause != c.want {
			t.Errorf("%d %q: cause %v, want %v", c.status, c.msg, e.Cause, c.want)
		}
		if c.want != nil && (!errors.Is(e, remote.ErrIncurable) || !errors.Is(e, c.want) || !errors.Is(e, remote.ErrUnauthorized)) {
			t.Errorf("%d %q: %v does not match remote.ErrIncurable, its cause and remote.ErrUnauthorized", c.status, c.msg, e)
		}
		if c.want == nil && errors.Is(e, remote.ErrIncurable) {
			t.Errorf("%d %q: matches remote.ErrIncurable", c.status, c.msg)
		}
	}
}
