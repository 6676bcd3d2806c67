package ocm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ocm"
	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
)

// recorder is a transport that notes every credential a request
// carried, and where it went.
type recorder struct {
	mu    sync.Mutex
	sent  map[string]string // credential → host
	inner http.RoundTripper
}

func newRecorder() *recorder {
	return &recorder{sent: map[string]string{}, inner: http.DefaultTransport}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	for _, h := range []string{"Authorization", "Cookie", "accessToken"} {
		if v := req.Header.Get(h); v != "" {
			_, cred, _ := strings.Cut(v, " ")
			if h != "Authorization" {
				cred = v
			}
			r.sent[cred] = req.URL.Host
		}
	}
	r.mu.Unlock()
	return r.inner.RoundTrip(req)
}

// secrets is every credential sent.
func (r *recorder) secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for s := range r.sent {
		out = append(out, s)
	}
	return out
}

// noSecret fails t when text holds a credential sent (or the client's
// secret).
func noSecret(t *testing.T, what, text string, rec *recorder, more ...string) {
	t.Helper()
	for _, s := range append(rec.secrets(), more...) {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s holds a credential: %q", what, text)
		}
	}
}

// TestClientCredentials: the grant is sent with HTTP Basic; its token is
// kept, renewed a fifth of its life before expires_in (before the API
// would refuse it), renewed once on a 401, one grant for every caller
// at once; no token or secret is ever logged or put in an error.
func TestClientCredentials(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	rec := newRecorder()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, b := start(t, ocmtest.Options{TokenLife: 100 * time.Second, Now: clk.Now},
		ocm.Config{ClientOptions: remote.ClientOptions{Clock: clk, Logger: log, HTTPClient: &http.Client{Transport: rec}}})
	ctx := context.Background()
	grants := func() int { return srv.Calls(ocmtest.EndpointToken) }
	check := func(what string) {
		t.Helper()
		if err := b.Check(ctx); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	check("the first call")
	check("the second call")
	if grants() != 1 {
		t.Fatalf("%d grants for two calls, want 1", grants())
	}
	clk.Advance(79 * time.Second)
	check("a call at 79s")
	if grants() != 1 {
		t.Errorf("%d grants at 79s of a 100s token, want 1", grants())
	}
	clk.Advance(2 * time.Second)
	check("a call at 81s")
	if grants() != 2 || srv.Calls(ocmtest.Unauthorized) != 0 {
		t.Errorf("at 81s of a 100s token: %d grants and %d 401s, want 2 and none (renewed before its end)", grants(), srv.Calls(ocmtest.Unauthorized))
	}

	srv.ExpireTokens()
	check("a call after the token was revoked")
	if grants() != 3 || srv.Calls(ocmtest.Unauthorized) != 1 {
		t.Errorf("after a revocation: %d grants and %d 401s, want 3 and 1", grants(), srv.Calls(ocmtest.Unauthorized))
	}

	clk.Advance(time.Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Check(ctx); err != nil {
				t.Errorf("a call at once with others: %v", err)
			}
		}()
	}
	wg.Wait()
	if grants() != 4 {
		t.Errorf("8 calls at once after the token's end: %d grants in all, want 4", grants())
	}
	for cred, host := range rec.sent {
		if host != strings.TrimPrefix(srv.URL, "http://") {
			t.Errorf("a credential went to %s", host)
		}
		_ = cred
	}
	noSecret(t, "the log", logs.String(), rec, srv.ClientSecret())
}

// TestClientCredentialsRefused: a grant the identity domain refuses is
// ErrCredentials (and ErrUnauthorized), logged once without the secret,
// and not asked again for every call.
func TestClientCredentialsRefused(t *testing.T) {
	rec := newRecorder()
	var logs bytes.Buffer
	srv, err := ocmtest.NewServer(ocmtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	b, err := ocm.New(ocm.Config{APIURL: srv.URL, TokenURL: srv.URL + ocmtest.TokenPath, ClientID: srv.ClientID(), ClientSecret: "wrong-secret-42", Scope: srv.Scope(),
		ClientOptions: remote.ClientOptions{RateLimit: -1, HTTPClient: &http.Client{Transport: rec}, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		err := b.Check(ctx)
		if !errors.Is(err, ocm.ErrCredentials) || !errors.Is(err, remote.ErrUnauthorized) {
			t.Fatalf("call %d with a wrong secret: %v, want ErrCredentials", i, err)
		}
		noSecret(t, "the error", err.Error(), rec, "wrong-secret-42")
	}
	if n := srv.Calls(ocmtest.EndpointToken); n != 1 {
		t.Errorf("%d grants for 3 calls with a refused secret, want 1", n)
	}
	if n := strings.Count(logs.String(), "refused the client credentials"); n != 1 {
		t.Errorf("the refusal logged %d times, want once:\n%s", n, logs.String())
	}
	noSecret(t, "the log", logs.String(), rec, "wrong-secret-42")
}

// TestTokenFile: a bearer token given whole is sent as it is; a 401
// reads it again (a token file rewritten) and sends the new one once.
func TestTokenFile(t *testing.T) {
	srv, err := ocmtest.NewServer(ocmtest.Options{StaticToken: "file-token-2"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	reads := 0
	b, err := ocm.New(ocm.Config{APIURL: srv.URL, Token: "file-token-1", TokenSource: func() (string, error) { reads++; return "file-token-2", nil },
		ClientOptions: remote.ClientOptions{RateLimit: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(context.Background()); err != nil || reads != 1 {
		t.Errorf("a call whose token was refused, the file rewritten: %v, %d reads", err, reads)
	}
	if _, err := ocm.New(ocm.Config{APIURL: srv.URL, Token: "two words"}); err == nil {
		t.Errorf("a token with a space was taken")
	}
}

// TestSharedLink: a folder shared by a public link with an access code
// is listed, read and written with the linkID and the cookie
// dAccessCode-<linkID>, nothing else; a wrong code is read again from
// its source once, and a code no source cures is ErrUnauthorized.
func TestSharedLink(t *testing.T) {
	srv, err := ocmtest.NewServer(ocmtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	shared := srv.AddFolder("", "Shared")
	srv.AddFile(shared, "a.txt", []byte("shared bytes"))
	srv.AddFile("", "private.txt", []byte("not shared"))
	link := srv.AddLink(shared, ocmtest.RoleContributor, "code-123")
	rec := newRecorder()
	b, err := ocm.New(ocm.Config{APIURL: srv.URL, RootID: shared, LinkID: link, AccessCode: "stale-code", AccessCodeSource: func() (string, error) { return "code-123", nil },
		ClientOptions: remote.ClientOptions{RateLimit: -1, HTTPClient: &http.Client{Transport: rec}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var names []string
	if err := b.List(ctx, remote.ListQuery{}, nil, func(it remote.Item) { names = append(names, it.Name) }); err != nil {
		t.Fatalf("listing the shared folder: %v", err)
	}
	if strings.Join(names, ",") != "a.txt" {
		t.Errorf("the shared folder lists %v, want [a.txt]", names)
	}
	if _, err := b.Upload(ctx, remote.Upload{Name: "b.txt", Size: 1, Open: reader([]byte("b"))}); err != nil {
		t.Errorf("an upload through the link: %v", err)
	}
	if it, ok := srv.ByPath("Shared/b.txt"); !ok || it.Size != 1 {
		t.Errorf("the upload through the link: %+v, %v", it, ok)
	}
	if got := rec.secrets(); len(got) != 2 || !strings.Contains(strings.Join(got, " "), "dAccessCode-"+link+"=code-123") {
		t.Errorf("credentials sent: %q, want the stale cookie and the right one", got)
	}

	nocode, err := ocm.New(ocm.Config{APIURL: srv.URL, RootID: shared, LinkID: link, ClientOptions: remote.ClientOptions{RateLimit: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := nocode.Check(ctx); !errors.Is(err, remote.ErrUnauthorized) {
		t.Errorf("a link without its access code: %v, want ErrUnauthorized", err)
	}
	if _, err := ocm.New(ocm.Config{APIURL: srv.URL, LinkID: link}); err == nil {
		t.Errorf("a link with the home folder as the root was taken")
	}
}

// TestLinkRemoved: a shared link or an applink removed (or expired)
// while the backend works through it answers -26 (doc: the link is
// invalid or expired): every call fails as remote.ErrUnauthorized of
// cause ErrLinkInvalid (incurable: the access code is not read again,
// nothing is sent twice), logged once as a dead link, whether the
// service says it with a 400 or inside a 200 (error-in-200).
func TestLinkRemoved(t *testing.T) {
	for _, q := range []string{"", ocmtest.QuirkErrorIn200} {
		for _, app := range []bool{false, true} {
			srv, err := ocmtest.NewServer(ocmtest.Options{Quirks: nonEmpty(q)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			shared := srv.AddFolder("", "Shared")
			id := srv.AddFile(shared, "a.txt", []byte("shared bytes"))
			var logs bytes.Buffer
			reread := 0
			cfg := ocm.Config{APIURL: srv.URL, RootID: shared,
				ClientOptions: remote.ClientOptions{RateLimit: -1, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
			link := ""
			if app {
				link, cfg.AppLinkToken = srv.AddAppLink(shared, ocmtest.RoleContributor)
				cfg.AppLinkID = link
			} else {
				link = srv.AddLink(shared, ocmtest.RoleContributor, "code-1")
				cfg.LinkID, cfg.AccessCode = link, "code-1"
				cfg.AccessCodeSource = func() (string, error) { reread++; return "code-1", nil }
			}
			b, err := ocm.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := b.Check(ctx); err != nil {
				t.Fatalf("%q, applink %v: the live link: %v", q, app, err)
			}
			srv.RemoveLink(link)
			srv.ResetCalls()
			what := fmt.Sprintf("%q, applink %v", q, app)
			for round := range 2 {
				errs := map[string]error{"a listing": b.List(ctx, remote.ListQuery{}, nil, func(remote.Item) {})}
				_, errs["a read"] = b.ReadAt(ctx, remote.FileRef{ID: id}, [][]byte{make([]byte, 4)}, 0)
				_, errs["an upload"] = b.Upload(ctx, remote.Upload{Name: "b.txt", Size: 1, Open: reader([]byte("b"))})
				for call, err := range errs {
					if !errors.Is(err, remote.ErrUnauthorized) || !errors.Is(err, ocm.ErrLinkInvalid) || !errors.Is(err, remote.ErrIncurable) {
						t.Errorf("%s: %s through a removed link: %v, want ErrUnauthorized of cause ErrLinkInvalid", what, call, err)
					}
				}
				// One request each (the upload's is its look-up), none
				// sent again, the code never read again.
				calls := srv.AllCalls()
				if calls[ocmtest.EndpointList] != 2*(round+1) || calls[ocmtest.EndpointFile] != round+1 || len(calls) != 2 || reread != 0 {
					t.Errorf("%s: round %d: calls %v and %d reads of the code, want 2 listings and 1 file's details a round, no code read", what, round, calls, reread)
				}
			}
			// Once per endpoint refused (the core's rule), in the link's
			// words: two, for the two rounds of three calls.
			if n := strings.Count(logs.String(), "the shared link is invalid or expired"); n != 2 || strings.Contains(logs.String(), "client credentials") {
				t.Errorf("%s: the dead link logged %d times, want once per endpoint (2):\n%s", what, n, logs.String())
			}
		}
	}
}

// TestAppLink: an applink's id and access token reach the shared folder.
func TestAppLink(t *testing.T) {
	srv, err := ocmtest.NewServer(ocmtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	shared := srv.AddFolder("", "App")
	id := srv.AddFile(shared, "a.txt", []byte("app bytes"))
	appID, tok := srv.AddAppLink(shared, ocmtest.RoleManager)
	b, err := ocm.New(ocm.Config{APIURL: srv.URL, RootID: shared, AppLinkID: appID, AppLinkToken: tok,
		ClientOptions: remote.ClientOptions{RateLimit: -1}})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 9)
	if n, err := b.ReadAt(context.Background(), remote.FileRef{ID: id}, [][]byte{buf}, 0); err != nil || string(buf[:n]) != "app bytes" {
		t.Errorf("a read through an applink: %q, %v", buf[:n], err)
	}
	bad, _ := ocm.New(ocm.Config{APIURL: srv.URL, RootID: shared, AppLinkID: appID, AppLinkToken: "wrong",
		ClientOptions: remote.ClientOptions{RateLimit: -1}})
	if err := bad.Check(context.Background()); !errors.Is(err, remote.ErrUnauthorized) {
		t.Errorf("an applink with a wrong token: %v, want ErrUnauthorized", err)
	}
}

// TestConfig: one way to authenticate, an https API (or loopback).
func TestConfig(t *testing.T) {
	for _, c := range []ocm.Config{
		{APIURL: "https://x.example.com"},
		{APIURL: "https://x.example.com", Token: "t", LinkID: "L1", RootID: "F1"},
		{APIURL: "http://x.example.com", Token: "t"},
		{APIURL: "https://x.example.com", TokenURL: "http://idcs.example.com/oauth2/v1/token", ClientID: "a", ClientSecret: "b"},
		{APIURL: "https://x.example.com", Token: "t", RootID: "../x"},
	} {
		if _, err := ocm.New(c); err == nil {
			t.Errorf("%+v was taken", c)
		}
	}
	if got := ocm.Library("https://X.example.com:443/", ""); got != "ocm:x.example.com/self" {
		t.Errorf("Library = %q", got)
	}
}

// hangingGrant is a transport whose token requests hang until their
// context ends: a grant under way, the identity domain silent.
type hangingGrant struct {
	entered, left chan struct{}
}

func (h *hangingGrant) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, ocmtest.TokenPath) {
		return http.DefaultTransport.RoundTrip(r)
	}
	h.entered <- struct{}{}
	<-r.Context().Done()
	h.left <- struct{}{}
	return nil, r.Context().Err()
}

// A grant under way outlives the call that began it (it is bounded by
// its own deadline), but not the backend: Close stops it, and returns
// once it has ended.
func TestCloseStopsAGrant(t *testing.T) {
	h := &hangingGrant{entered: make(chan struct{}, 1), left: make(chan struct{}, 1)}
	_, b := start(t, ocmtest.Options{}, ocm.Config{ClientOptions: remote.ClientOptions{HTTPClient: &http.Client{Transport: h}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Check(ctx) }()
	<-h.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the call whose context ended: %v", err)
	}
	select {
	case <-h.left:
		t.Fatal("the grant ended with the call that began it")
	default:
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.left:
	default:
		t.Fatal("Close returned while the grant was still under way")
	}
	if err := b.Check(context.Background()); err == nil {
		t.Fatal("a call after Close got a token")
	}
}
