package ghl_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
	"github.com/ghlfs/ghlfs/remote/ghl/oauth"
)

// byEndpoint sums the calls of s by endpoint, whatever their status.
func byEndpoint(s remote.Stats) map[string]int64 {
	out := map[string]int64{}
	for k, v := range s.Calls {
		out[k.Endpoint] += v
	}
	return out
}

// The client counts every request it sends as the server counts them: by
// endpoint (a route template, never a path with an id), API calls apart
// from storage requests, and the bytes read from storage.
func TestStatsCountWhatTheServerServed(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{})
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 50_000) // 500 kB
	folder, err := c.CreateFolder(ctx, "", "photos")
	if err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadFile(ctx, remote.Upload{ParentID: folder.ID, Name: "a.bin", Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Rename(ctx, up.ID, "b.bin"); err != nil {
		t.Fatal(err)
	}
	items, err := c.List(ctx, ghl.ListQuery{Type: remote.TypeFile, ParentID: folder.ID})
	if err != nil || len(items) != 1 {
		t.Fatalf("list: %v, %v", items, err)
	}
	buf := make([]byte, 300_000)
	if _, err := c.ReadAt(ctx, items[0].URL, buf, 100_000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatURL(ctx, items[0].URL); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, up.ID); err != nil {
		t.Fatal(err)
	}

	got, want := c.Stats(), srv.Stats()
	if got.APICalls() != want.APIRequests {
		t.Errorf("API calls = %d, the server served %d", got.APICalls(), want.APIRequests)
	}
	ends := byEndpoint(got)
	for ep, n := range want.ByEndpoint {
		if ends[ep] != n {
			t.Errorf("%s: counted %d, the server served %d", ep, ends[ep], n)
		}
	}
	if n := ends[remote.StorageGet] + ends[remote.StorageHead]; n != want.StorageRequests {
		t.Errorf("storage requests = %d, the server served %d", n, want.StorageRequests)
	}
	if got.StorageBytes != want.StorageBytes || got.StorageBytes < int64(len(buf)) {
		t.Errorf("storage bytes = %d, the server sent %d (read %d)", got.StorageBytes, want.StorageBytes, len(buf))
	}
	for k := range got.Calls {
		if strings.Contains(k.Endpoint, up.ID) || strings.Contains(k.Endpoint, folder.ID) || strings.Contains(k.Endpoint, "127.0.0.1") {
			t.Errorf("endpoint label %q holds an id or a host", k.Endpoint)
		}
		if k.Status/100 != 2 {
			t.Errorf("%v: not a success", k)
		}
	}
	if got.Calls[remote.CallKey{Endpoint: "POST /medias/upload-file", Status: 201}] != 1 {
		t.Errorf("upload not counted as one 201: %v", got.Calls)
	}
	if got.Calls[remote.CallKey{Endpoint: remote.StorageGet, Status: 206}] != 1 {
		t.Errorf("the ranged read not counted as one 206: %v", got.Calls)
	}
	if len(got.Retries) != 0 || got.Throttled != 0 {
		t.Errorf("retries %v, 429s %d on a healthy server", got.Retries, got.Throttled)
	}
	if got.Pacer.Foreground.Granted != got.APICalls() {
		t.Errorf("pacer granted %d slots for %d calls", got.Pacer.Foreground.Granted, got.APICalls())
	}
}

// 429s are counted, as calls with status 429, as 429s, and as retries of
// their endpoint when the call is sent again.
func TestStatsCount429sAndRetries(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Faults: ghltest.Faults{Fault429: 1}}, func(cfg *ghl.Config) {
		cfg.MaxRetryAfter, cfg.RetryTimeout = 20*time.Millisecond, 150*time.Millisecond
	})
	ctx := context.Background()
	if _, err := c.ListPage(ctx, ghl.ListQuery{Type: remote.TypeFolder}, 0, 10); err == nil {
		t.Fatal("a call answered 429 every time succeeded")
	}
	got, want := c.Stats(), srv.Stats()
	const ep = "GET /medias/files"
	n := want.APIRequests
	if n < 2 {
		t.Fatalf("the client sent %d requests in its retry budget, want several", n)
	}
	if got.Throttled != n || got.Calls[remote.CallKey{Endpoint: ep, Status: 429}] != n || got.APICalls() != n {
		t.Errorf("429s counted %d (calls %v), the server sent %d", got.Throttled, got.Calls, n)
	}
	if got.Retries[ep] != n-1 || len(got.Retries) != 1 {
		t.Errorf("retries %v, want %d of %s (each request after the first)", got.Retries, n-1, ep)
	}
}

// A call that gets no answer is counted with status 0.
func TestStatsCountCallsWithoutAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the dial is refused
	c, err := ghl.New(ghl.Config{BaseURL: "http://" + addr, Token: "t", LocationID: "loc", RateLimit: -1, RetryTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListPage(context.Background(), ghl.ListQuery{Type: remote.TypeFolder}, 0, 10); err == nil {
		t.Fatal("a call to a closed port succeeded")
	}
	got := c.Stats()
	if n := got.Calls[remote.CallKey{Endpoint: "GET /medias/files", Status: 0}]; n != 1 || len(got.Calls) != 1 {
		t.Errorf("calls %v, want one GET /medias/files with status 0", got.Calls)
	}
}

// An OAuth app counts its requests as a client does: by endpoint and
// status, as many as the fake served, a refused grant too.
func TestOAuthAppCountsItsRequests(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	counts := &remote.CallCounts{}
	app := oauth.App{ClientID: srv.ClientID(), ClientSecret: ghltest.DefaultClientSecret, BaseURL: srv.URL, Counts: counts}
	const redirect = "http://127.0.0.1:1/callback"
	code, err := srv.AuthCode(redirect)
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Stats()
	ctx := context.Background()
	set, err := app.Exchange(ctx, code, redirect, "Location", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Refresh(ctx, set.RefreshToken, "Location"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Refresh(ctx, set.RefreshToken, "Location"); err == nil {
		t.Fatal("a refresh token used twice was taken")
	}
	after := srv.Stats()
	got := counts.Stats().Calls
	want := map[remote.CallKey]int64{{Endpoint: "POST /oauth/token", Status: 200}: 2, {Endpoint: "POST /oauth/token", Status: 400}: 1}
	if len(got) != len(want) {
		t.Errorf("counted %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%v: counted %d, want %d", k, got[k], n)
		}
	}
	if served := after.ByEndpoint["POST /oauth/token"] - before.ByEndpoint["POST /oauth/token"]; served != 3 {
		t.Errorf("the fake served %d token requests, want 3", served)
	}
	var none *remote.CallCounts
	if n := len(none.Stats().Calls); n != 0 {
		t.Errorf("a nil CallCounts holds %d", n)
	}
}

// A login's code, asked for with a PKCE challenge, is exchanged with its
// verifier: by a server that checks it, and by one that ignores it; one
// that refuses the field (pkce-refused) is asked once more without it.
func TestExchangeWithPKCE(t *testing.T) {
	for _, quirks := range [][]string{nil, {ghltest.QuirkPKCEIgnored}, {ghltest.QuirkPKCERefused}} {
		srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1, Quirks: quirks})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		app := oauth.App{ClientID: srv.ClientID(), ClientSecret: ghltest.DefaultClientSecret, BaseURL: srv.URL}
		const redirect = "http://127.0.0.1:1/callback"
		verifier := oauth.NewPKCEVerifier()
		if len(verifier) != 43 || oauth.NewPKCEVerifier() == verifier {
			t.Fatalf("verifier %q", verifier)
		}
		q := url.Values{"response_type": {"code"}, "client_id": {srv.ClientID()}, "redirect_uri": {redirect},
			"code_challenge": {oauth.PKCEChallenge(verifier)}, "code_challenge_method": {"S256"}}
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := hc.Get(srv.URL + "/oauth/chooselocation?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		back, _ := url.Parse(res.Header.Get("Location"))
		code := back.Query().Get("code")
		if code == "" {
			t.Fatalf("quirks %v: the authorize page sent back %s", quirks, back)
		}
		if quirks == nil {
			// The server checks: another verifier is refused (and the
			// code stays good), and the code is not sent again without
			// one.
			before := srv.Stats().ByEndpoint[ghltest.EndpointOAuthToken]
			if _, err := app.Exchange(context.Background(), code, redirect, "Location", oauth.NewPKCEVerifier()); err == nil {
				t.Errorf("another verifier was taken")
			}
			if n := srv.Stats().ByEndpoint[ghltest.EndpointOAuthToken] - before; n != 1 {
				t.Errorf("a verifier refused for its value: %d token requests, want 1", n)
			}
		}
		before := srv.Stats().ByEndpoint[ghltest.EndpointOAuthToken]
		set, err := app.Exchange(context.Background(), code, redirect, "Location", verifier)
		if err != nil || set.AccessToken == "" {
			t.Errorf("quirks %v: %v", quirks, err)
		}
		want := int64(1)
		if slices.Contains(quirks, ghltest.QuirkPKCERefused) {
			want = 2
		}
		if n := srv.Stats().ByEndpoint[ghltest.EndpointOAuthToken] - before; n != want {
			t.Errorf("quirks %v: %d token requests, want %d", quirks, n, want)
		}
	}
}
