package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
)

// oauthServer stands in for /oauth/token with single-use refresh tokens,
// and for one API call that wants a live access token.
type oauthServer struct {
	t   *testing.T
	clk clockwork.Clock
	ttl time.Duration

	mu       sync.Mutex
	n        int
	live     map[string]time.Time // access token → expiry
	refresh  map[string]bool      // refresh token → still usable
	reused   int                  // refresh tokens presented twice
	refreshN int                  // refreshes served
	answers  int                  // API calls answered 200
}

func newOAuthServer(t *testing.T, clk clockwork.Clock, ttl time.Duration) (*oauthServer, *httptest.Server) {
	s := &oauthServer{t: t, clk: clk, ttl: ttl, live: map[string]time.Time{}, refresh: map[string]bool{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// issue makes a new pair (mu held).
func (s *oauthServer) issue() (string, string) {
	s.n++
	at, rt := fmt.Sprintf("at-%d", s.n), fmt.Sprintf("rt-%d", s.n)
	s.live[at] = s.clk.Now().Add(s.ttl)
	s.refresh[rt] = true
	return at, rt
}

func (s *oauthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/oauth/token":
		r.ParseForm()
		if r.Form.Get("client_secret") != "secret" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"bad client credentials"}`)
			return
		}
		rt := r.Form.Get("refresh_token")
		if r.Form.Get("grant_type") != "refresh_token" || !s.refresh[rt] {
			if _, known := s.refresh[rt]; known {
				s.reused++
			}
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Invalid grant: refresh token is invalid"}`)
			return
		}
		s.refresh[rt] = false
		s.refreshN++
		at, nrt := s.issue()
		json.NewEncoder(w).Encode(map[string]any{"access_token": at, "refresh_token": nrt, "expires_in": int(s.ttl / time.Second), "userType": "Location", "locationId": "loc1", "token_type": "Bearer"})
	default:
		exp, ok := s.live[r.Header.Get("Authorization")[len("Bearer "):]]
		if !ok || !s.clk.Now().Before(exp) {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"statusCode":401,"message":"Invalid JWT"}`)
			return
		}
		s.answers++
		fmt.Fprint(w, `{"files":[]}`)
	}
}

// storeFirst stores a first pair, as ghlfs login would.
func (s *oauthServer) storeFirst(t *testing.T, path string) TokenSet {
	s.mu.Lock()
	at, rt := s.issue()
	s.mu.Unlock()
	set := TokenSet{AccessToken: at, RefreshToken: rt, ExpiresAt: s.clk.Now().Add(s.ttl), UserType: "Location", LocationID: "loc1"}
	if err := SaveTokenSet(path, set); err != nil {
		t.Fatal(err)
	}
	return set
}

func testTokenFile(t *testing.T, path, base string, clk clockwork.Clock) *TokenFile {
	t.Helper()
	tf, err := OpenTokenFile(path, App{ClientID: "app", ClientSecret: "secret", BaseURL: base, Clock: clk}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

// Before expiry the stored token is used; within the margin it is
// refreshed once, stored, and the old refresh token is never sent again.
func TestTokenFileRefreshesBeforeExpiry(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	s, srv := newOAuthServer(t, clk, time.Hour)
	path := filepath.Join(t.TempDir(), "token.json")
	first := s.storeFirst(t, path)
	tf := testTokenFile(t, path, srv.URL, clk)
	if tok, err := tf.Token(context.Background()); err != nil || tok != first.AccessToken {
		t.Fatalf("Token = %q, %v; want the stored one", tok, err)
	}
	clk.Advance(59*time.Minute + time.Second) // inside the 1m margin
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Go(func() {
			tok, err := tf.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok
		})
	}
	wg.Wait()
	if s.refreshN != 1 || s.reused != 0 {
		t.Fatalf("%d refreshes, %d reuses for 8 concurrent calls; want 1, 0", s.refreshN, s.reused)
	}
	for _, tok := range toks {
		if tok != toks[0] || tok == first.AccessToken {
			t.Fatalf("calls got %q", toks)
		}
	}
	stored, err := ReadTokenSet(path)
	if err != nil || stored.AccessToken != toks[0] || stored.RefreshToken == first.RefreshToken || stored.LocationID != "loc1" {
		t.Fatalf("stored %+v, %v", stored, err)
	}
}

// Two processes on one token file: the second to need a refresh uses what
// the first stored, and no refresh token is sent twice.
func TestTokenFileSharedByTwoProcesses(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	s, srv := newOAuthServer(t, clk, time.Hour)
	path := filepath.Join(t.TempDir(), "token.json")
	s.storeFirst(t, path)
	a, b := testTokenFile(t, path, srv.URL, clk), testTokenFile(t, path, srv.URL, clk)
	for round := range 5 {
		clk.Advance(time.Hour)
		var wg sync.WaitGroup
		var ta, tb string
		wg.Go(func() { ta, _ = a.Token(context.Background()) })
		wg.Go(func() { tb, _ = b.Token(context.Background()) })
		wg.Wait()
		if ta == "" || ta != tb {
			t.Fatalf("round %d: the two got %q and %q", round, ta, tb)
		}
	}
	if s.refreshN != 5 || s.reused != 0 {
		t.Errorf("%d refreshes, %d refresh tokens reused; want 5, 0", s.refreshN, s.reused)
	}
}

// A client sends a refreshed token after a 401, once; a refused refresh
// fails the call with remote.ErrLoginNeeded (EACCES above), and is not retried
// until the file changes.
func TestClientRefreshesOn401(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	s, srv := newOAuthServer(t, clk, time.Hour)
	path := filepath.Join(t.TempDir(), "token.json")
	first := s.storeFirst(t, path)
	tf := testTokenFile(t, path, srv.URL, clk)
	c, err := ghl.New(ghl.Config{BaseURL: srv.URL, Auth: tf, LocationID: "loc1", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	// The server forgets the access token (revoked, or expired early).
	s.mu.Lock()
	delete(s.live, first.AccessToken)
	s.mu.Unlock()
	if _, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile}); err != nil {
		t.Fatalf("after a 401 and a refresh: %v", err)
	}
	if s.refreshN != 1 {
		t.Fatalf("%d refreshes", s.refreshN)
	}
	// The refresh token is revoked: the call fails with remote.ErrLoginNeeded,
	// and the next ones do not ask the server again.
	s.mu.Lock()
	for rt := range s.refresh {
		s.refresh[rt] = false
	}
	s.live = map[string]time.Time{}
	s.mu.Unlock()
	for range 3 {
		if _, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile}); !errors.Is(err, remote.ErrLoginNeeded) || !errors.Is(err, remote.ErrUnauthorized) {
			t.Fatalf("with a dead refresh token: %v", err)
		}
	}
	clk.Advance(2 * time.Hour)
	if _, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile}); !errors.Is(err, remote.ErrLoginNeeded) {
		t.Fatalf("expired, with a dead refresh token: %v", err)
	}
	if s.reused != 1 {
		t.Errorf("the dead refresh token was sent %d times, want 1", s.reused)
	}
	// ghlfs login writes a new set: calls work again.
	s.storeFirst(t, path)
	if _, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile}); err != nil {
		t.Fatalf("after a new login: %v", err)
	}
}

func TestParseTokenSet(t *testing.T) {
	sent := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	set, err := parseTokenSet([]byte(`{"access_token":"a","refresh_token":"r","expires_in":"86399","scope":"medias.readonly medias.write","userType":"Company","companyId":"c1","userId":"u"}`), sent)
	if err != nil || set.ExpiresAt != sent.Add(86399*time.Second) || set.UserType != "Company" || set.CompanyID != "c1" {
		t.Fatalf("%+v %v", set, err)
	}
	for _, bad := range []string{`{}`, `{"access_token":"a","expires_in":-1}`, `{"access_token":"a","expires_in":"soon"}`, `not json`} {
		if _, err := parseTokenSet([]byte(bad), sent); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

// A refreshed set the file cannot take (a full disk) is kept in memory:
// its refresh token is the live one, the next refresh uses it, and the
// file gets the newest set once it takes one again.
func TestTokenFileKeepsAnUnsavedSet(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	s, srv := newOAuthServer(t, clk, time.Hour)
	path := filepath.Join(t.TempDir(), "token.json")
	s.storeFirst(t, path)
	tf := testTokenFile(t, path, srv.URL, clk)
	full := errors.New("no space left on device")
	saveTokenSet = func(string, TokenSet) error { return full }
	defer func() { saveTokenSet = SaveTokenSet }()
	var toks []string
	for range 2 {
		clk.Advance(time.Hour)
		tok, err := tf.Token(context.Background())
		if err != nil || tok == "" || slices.Contains(toks, tok) {
			t.Fatalf("a refresh with a full disk: %q %v", tok, err)
		}
		toks = append(toks, tok)
	}
	saveTokenSet = SaveTokenSet
	clk.Advance(time.Hour)
	tok, err := tf.Token(context.Background())
	if err != nil || slices.Contains(toks, tok) {
		t.Fatalf("a refresh once the disk has room: %q %v", tok, err)
	}
	if stored, err := ReadTokenSet(path); err != nil || stored.AccessToken != tok {
		t.Errorf("the file holds %q (%v), want the newest %q", stored.AccessToken, err, tok)
	}
	if s.reused != 0 || s.refreshN != 3 {
		t.Errorf("%d refreshes, %d refresh tokens reused; want 3, 0", s.refreshN, s.reused)
	}
}

// roundTripFunc is an http.RoundTripper of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The OAuth app's requests (they carry the client secret, codes and
// tokens) go over https only, as the API client's: a plain-http base off
// loopback is refused before anything is sent.
func TestOAuthOverHTTPSOnly(t *testing.T) {
	var sent []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.URL.String())
		return nil, errors.New("no network in this test")
	})}
	ctx := context.Background()
	for _, base := range []string{"http://services.leadconnectorhq.com", "http://10.0.0.1:8080", "ftp://example.com"} {
		app := App{ClientID: "app", ClientSecret: "secret", BaseURL: base, HTTP: hc}
		calls := map[string]error{}
		_, calls["Exchange"] = app.Exchange(ctx, "code", "http://127.0.0.1:1/cb", "Location", "v")
		_, calls["Refresh"] = app.Refresh(ctx, "rt", "Location")
		_, calls["LocationToken"] = app.LocationToken(ctx, "ct", "co", "loc")
		_, calls["InstalledLocations"] = app.InstalledLocations(ctx, "ct", "co", "appid")
		for name, err := range calls {
			if err == nil || !strings.Contains(err.Error(), "must be https") {
				t.Errorf("%s at %s: %v, want a refusal (https only)", name, base, err)
			}
		}
	}
	if len(sent) != 0 {
		t.Errorf("requests sent: %q", sent)
	}
	// https, and plain http on loopback, are asked.
	for _, base := range []string{"https://services.leadconnectorhq.com", "http://127.0.0.1:1", "http://localhost:1"} {
		sent = nil
		app := App{ClientID: "app", ClientSecret: "secret", BaseURL: base, HTTP: hc}
		if _, err := app.Refresh(ctx, "rt", "Location"); err == nil || len(sent) != 1 {
			t.Errorf("%s: %v, %d requests", base, err, len(sent))
		}
	}
}

// The token file's lock, beside it in a folder others may write to (a
// sticky one such as /tmp), is never a symlink followed nor a file of
// another user's (who could hold it and stall every refresh): each is
// refused with the fix, and a refresh fails with it rather than stall.
func TestTokenLockNotFollowedNorForeign(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	target := filepath.Join(dir, "elsewhere")
	if err := os.Symlink(target, path+".lock"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := lockFile(ctx, path+".lock"); err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), "rm ") {
		t.Errorf("a symlink for the lock: %v", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("the symlink was followed: %s made (%v)", target, err)
	}
	if err := StoreTokenSet(ctx, path, TokenSet{AccessToken: "x"}); err == nil {
		t.Error("stored under a symlinked lock")
	}

	if os.Geteuid() != 0 {
		t.Skip("giving the lock file to another user needs root")
	}
	os.Remove(path + ".lock")
	if err := os.WriteFile(path+".lock", nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path+".lock", 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := lockFile(ctx, path+".lock"); err == nil || !strings.Contains(err.Error(), "another user (uid 65534)") || !strings.Contains(err.Error(), "rm ") {
		t.Errorf("another user's lock: %v", err)
	}
	// A refresh fails at once with it, and says so.
	srv, base := newOAuthServer(t, clockwork.NewFakeClock(), time.Hour)
	srv.storeFirst(t, path)
	tf := testTokenFile(t, path, base.URL, clockwork.NewFakeClock())
	if _, err := tf.Refused(ctx, tf.Set().AccessToken); err == nil || !strings.Contains(err.Error(), "another user") {
		t.Errorf("a refresh under another user's lock: %v", err)
	}
}
