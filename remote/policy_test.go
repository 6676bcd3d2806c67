package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counter is an httptest server that counts the requests it gets and
// answers them with h (or a 1-byte file when h is nil).
type counter struct {
	*httptest.Server
	n atomic.Int32
}

func newCounter(t *testing.T, h http.HandlerFunc) *counter {
	t.Helper()
	c := &counter{}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") }
	}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		h(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

func hostOf(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestStoragePolicy(t *testing.T) {
	real, _ := url.Parse("https://services.leadconnectorhq.com")
	loop, _ := url.Parse("http://127.0.0.1:4000")
	cases := []struct {
		api   *url.URL
		extra []string
		url   string
		ok    bool
	}{
		{real, nil, "https://storage.googleapis.com/msgsndr/x/media/a.png", true},
		{real, nil, "https://STORAGE.googleapis.com:443/a.png?X-Goog-Signature=s", true},
		{real, nil, "https://assets.cdn.filesafe.space/a/b.pdf", true},
		{real, nil, "https://firebasestorage.googleapis.com/v0/b/x/o/y", true},
		{real, nil, "http://storage.googleapis.com/a.png", false},   // plain http
		{real, nil, "https://storage.googleapis.com:8443/a", false}, // another port
		{real, nil, "https://evil.storage.googleapis.com.x.io/a", false},
		{real, nil, "https://x.storage.googleapis.com/a", false},       // subdomains are not the host
		{real, nil, "https://127.0.0.1/a", false},                      // loopback
		{real, nil, "https://169.254.169.254/latest/meta-data", false}, // cloud metadata
		{real, nil, "https://10.0.0.5/a", false},
		{real, nil, "https://services.leadconnectorhq.com/medias/files", false}, // the API is no storage host
		{real, nil, "file:///etc/passwd", false},
		{real, nil, "/relative/path", false},
		{real, nil, "", false},
		{real, []string{"cdn.example.com"}, "https://cdn.example.com/a", true},
		{real, []string{"cdn.example.com:8443"}, "https://cdn.example.com:8443/a", true},
		{real, []string{"cdn.example.com:8443"}, "https://cdn.example.com/a", false},
		{loop, nil, "http://127.0.0.1:4000/storage/a", true},  // the fake's own storage
		{loop, nil, "https://127.0.0.1:4000/storage/a", true}, // ditto
		{loop, nil, "http://127.0.0.1:4001/storage/a", false}, // another local service
		{loop, nil, "http://localhost:4000/storage/a", true},  // another name for it
		{loop, nil, "http://[::1]:4000/storage/a", true},      // ditto
		{loop, nil, "http://localhost/storage/a", false},      // port 80
		{loop, nil, "http://storage.googleapis.com/a", true},  // http is allowed in loopback mode
		{loop, []string{"127.0.0.1:4001"}, "http://127.0.0.1:4001/storage/a", true},
		{loop, nil, "gopher://127.0.0.1:4000/a", false},
	}
	// HighLevel's hosts, as its backend gives them (ghl.DefaultStorageHosts).
	hosts := []string{"storage.googleapis.com", "assets.cdn.filesafe.space", "firebasestorage.googleapis.com"}
	for _, c := range cases {
		p, err := newStoragePolicy(c.api, append(slices.Clone(hosts), c.extra...))
		if err != nil {
			t.Fatal(err)
		}
		err = p.check(c.url)
		if (err == nil) != c.ok {
			t.Errorf("api %s, extra %v: check(%q) = %v, want ok=%v", c.api, c.extra, c.url, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrRefused) {
			t.Errorf("check(%q) = %v, not ErrRefused", c.url, err)
		}
	}
	// A loopback storage host is for a loopback API only; entries are host
	// names, not urls.
	for _, extra := range []string{"127.0.0.1:9000", "localhost", "[::1]:80", "https://cdn.example.com", "cdn.example.com/x", "a:b:c", "user@cdn.example.com"} {
		if _, err := newStoragePolicy(real, []string{extra}); err == nil {
			t.Errorf("storage host %q accepted", extra)
		}
	}
}

func TestAPIURLMustBeHTTPS(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://services.leadconnectorhq.com": true,
		"http://services.leadconnectorhq.com":  false,
		"http://10.0.0.1:8080":                 false,
		"ftp://example.com":                    false,
		"http://127.0.0.1:1234":                true,
		"http://localhost:1234":                true,
		"http://[::1]:1234":                    true,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewCore(CoreConfig{Base: u, Auth: StaticToken("t", nil, nil)})
		if (err == nil) != ok {
			t.Errorf("NewCore(%q) = %v, want ok=%v", raw, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "https") {
			t.Errorf("NewCore(%q): %v does not say why", raw, err)
		}
	}
}

// A file url off the allow-list (another service on this machine) fails at
// once, without a request, for reads and for a size look-up alike.
func TestRefusedStorageURLSendsNothing(t *testing.T) {
	hostile := newCounter(t, nil)
	c, _ := newTestCore(t, http.NotFoundHandler(), func(cfg *CoreConfig) { cfg.RetryTimeout = time.Minute })
	target := hostile.URL + "/admin/panel?X-Goog-Signature=secret"
	start := time.Now()
	_, err := c.ReadAt(context.Background(), target, make([]byte, 10), 0)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("read: %v, want ErrRefused", err)
	}
	if _, err := c.StatURL(context.Background(), target); !errors.Is(err, ErrRefused) {
		t.Fatalf("stat: %v, want ErrRefused", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("refusing took %v", took)
	}
	if n := hostile.n.Load(); n != 0 {
		t.Errorf("the hostile server got %d requests", n)
	}
	if !strings.Contains(err.Error(), "allow-list") || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q: want the reason, without the query", err)
	}
}

// Redirects are followed only to hosts on the allow-list, without the
// signed url in a Referer; one off the list fails at once, unsent.
func TestStorageRedirectsStayOnTheAllowList(t *testing.T) {
	var referer atomic.Value
	referer.Store("")
	other := newCounter(t, func(w http.ResponseWriter, r *http.Request) {
		referer.Store(r.Header.Get("Referer"))
		w.Header().Set("Content-Range", "bytes 0-0/1")
		w.WriteHeader(http.StatusPartialContent)
		fmt.Fprint(w, "y")
	})
	hostile := newCounter(t, nil)
	var target atomic.Value
	first := newCounter(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.Load().(string), http.StatusFound)
	})
	c, _ := newTestCore(t, http.NotFoundHandler(), func(cfg *CoreConfig) {
		cfg.StorageHosts = []string{hostOf(t, first.URL), hostOf(t, other.URL)}
		cfg.RetryTimeout = time.Minute
	})

	target.Store(other.URL + "/f")
	buf := make([]byte, 1)
	if n, err := c.ReadAt(context.Background(), first.URL+"/f?X-Goog-Signature=secret", buf, 0); n != 1 || buf[0] != 'y' {
		t.Fatalf("redirect within the list: n=%d err=%v", n, err)
	}
	if r := referer.Load().(string); r != "" {
		t.Errorf("Referer %q sent to the next host", r)
	}

	target.Store(hostile.URL + "/internal")
	start := time.Now()
	_, err := c.ReadAt(context.Background(), first.URL+"/f?X-Goog-Signature=secret", buf, 0)
	if !errors.Is(err, ErrRefused) || time.Since(start) > time.Second {
		t.Fatalf("redirect off the list: %v after %v", err, time.Since(start))
	}
	if _, err := c.StatURL(context.Background(), first.URL+"/f"); !errors.Is(err, ErrRefused) {
		t.Fatalf("HEAD redirected off the list: %v", err)
	}
	if n := hostile.n.Load(); n != 0 {
		t.Errorf("the hostile server got %d requests", n)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error carries the signature: %v", err)
	}

	// A loop ends.
	target.Store(first.URL + "/again")
	if _, err := c.ReadAt(context.Background(), first.URL+"/f", buf, 0); !errors.Is(err, ErrRefused) {
		t.Fatalf("redirect loop: %v", err)
	}
}

// An API redirect within the API's origin keeps the token; one to another
// port of the same host (which net/http alone would send the token to) or
// another scheme is not followed.
func TestAPIRedirectsNeverCarryTheToken(t *testing.T) {
	var sawToken atomic.Bool
	elsewhere := newCounter(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			sawToken.Store(true)
		}
		fmt.Fprint(w, `{"files":[]}`)
	})
	var away atomic.Bool
	var api *httptest.Server
	c, api := newTestCore(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/moved/medias/files":
			if r.Header.Get("Authorization") != "Bearer secret-token" {
				w.WriteHeader(401)
				return
			}
			fmt.Fprint(w, `{"files":[]}`)
		case away.Load():
			http.Redirect(w, r, elsewhere.URL+"/medias/files?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
		default:
			http.Redirect(w, r, "/moved/medias/files?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
		}
	}), func(cfg *CoreConfig) { cfg.RetryTimeout = time.Minute })
	_ = api
	if _, err := get(context.Background(), c); err != nil {
		t.Fatalf("same-origin redirect: %v", err)
	}
	away.Store(true)
	start := time.Now()
	_, err := get(context.Background(), c)
	if !errors.Is(err, ErrRefused) || time.Since(start) > time.Second {
		t.Fatalf("redirect to another port: %v after %v", err, time.Since(start))
	}
	if n := elsewhere.n.Load(); n != 0 || sawToken.Load() {
		t.Errorf("the other server got %d requests (token: %v)", n, sawToken.Load())
	}
	// An upload is not followed either: its bytes stay home.
	_, err = c.Do(context.Background(), Call{Method: http.MethodPost, Endpoint: "/medias/upload-file", Path: "/medias/upload-file",
		Body: func() (io.Reader, string, error) { return strings.NewReader("a"), "text/plain", nil }})
	if err == nil || elsewhere.n.Load() != 0 {
		t.Fatalf("upload redirected: %v, %d requests elsewhere", err, elsewhere.n.Load())
	}
}

// A 4xx of the storage host other than 408 and 429 is final: one request.
func TestStorage4xxFailsAtOnce(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 410} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var n atomic.Int32
			c, srv := newTestCore(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.WriteHeader(status)
			}), func(cfg *CoreConfig) { cfg.RetryTimeout = time.Minute })
			start := time.Now()
			_, err := c.ReadAt(context.Background(), srv.URL+"/storage/f", make([]byte, 4), 0)
			_, err2 := c.StatURL(context.Background(), srv.URL+"/storage/f")
			if err == nil || err2 == nil || n.Load() != 2 || time.Since(start) > time.Second {
				t.Fatalf("read %v, stat %v, %d requests in %v", err, err2, n.Load(), time.Since(start))
			}
		})
	}
}

// A Retry-After of a day, as a number or as a date, holds a call (and the
// calls after it) back for the cap at most.
func TestRetryAfterIsCapped(t *testing.T) {
	for _, ra := range []string{"86400", time.Now().Add(48 * time.Hour).UTC().Format(http.TimeFormat)} {
		t.Run(ra, func(t *testing.T) {
			var n atomic.Int32
			c, _ := newTestCore(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Retry-After", ra)
					w.WriteHeader(429)
					fmt.Fprint(w, `{"statusCode":429,"message":"Too many requests"}`)
					return
				}
				fmt.Fprint(w, `{"files":[]}`)
			}), func(cfg *CoreConfig) { cfg.MaxRetryAfter = 300 * time.Millisecond; cfg.RetryTimeout = time.Minute })
			start := time.Now()
			if _, err := get(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if _, err := get(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took < 250*time.Millisecond || took > 2*time.Second {
				t.Errorf("two calls took %v, want about the 300ms cap", took)
			}
		})
	}
}

// Rate-limit headers asking for a pause longer than the cap get the cap.
func TestRateLimitIntervalIsCapped(t *testing.T) {
	p := newPacer(nil, -1, 0, 2*time.Second)
	for _, interval := range []int64{86400000, 9223372036854775807} {
		before := time.Now()
		p.observe(RateWindow{Max: 1, Remaining: 0, IntervalMS: interval})
		if d := p.pauseUntil.Sub(before); d <= 0 || d > 2*time.Second+100*time.Millisecond {
			t.Errorf("interval %d: paused %v, want at most the 2s cap", interval, d)
		}
	}
}

// Every way a storage read or size look-up can fail leaves the signature
// out of the error and of the log.
func TestNoSignatureInErrorsOrLogs(t *testing.T) {
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))

	echo := newCounter(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/forbidden":
			// Cloud Storage echoes the request in a SignatureDoesNotMatch.
			w.WriteHeader(403)
			fmt.Fprintf(w, `<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message><StringToSign>GET %s</StringToSign></Error>`, r.URL.RequestURI())
		case "/text":
			w.WriteHeader(400)
			fmt.Fprintf(w, "bad request for %s", r.URL.RequestURI())
		case "/redirect-off":
			http.Redirect(w, r, "http://192.0.2.1/x?"+r.URL.RawQuery, http.StatusFound)
		case "/loop":
			http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		case "/cut":
			if r.Method == http.MethodHead {
				w.WriteHeader(503)
				return
			}
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			w.Write([]byte("abc"))
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		case "/5xx":
			w.WriteHeader(503)
			fmt.Fprintf(w, "down: %s", r.URL.RequestURI())
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	c, _ := newTestCore(t, http.NotFoundHandler(), func(cfg *CoreConfig) {
		cfg.StorageHosts = []string{hostOf(t, echo.URL), closed}
		cfg.RetryTimeout = 600 * time.Millisecond
		cfg.Logger = logger
	})
	q := "?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=secret-cred&X-Goog-Signature=secret"
	urls := []string{
		echo.URL + "/forbidden" + q,
		echo.URL + "/text" + q,
		echo.URL + "/redirect-off" + q,
		echo.URL + "/loop" + q,
		echo.URL + "/slow" + q,
		echo.URL + "/cut" + q,
		echo.URL + "/5xx" + q,
		"http://" + closed + "/nobody" + q,
		"http://user:secret@" + hostOf(t, echo.URL) + "/forbidden",
		"http://192.0.2.1/off-list" + q,
		"http://" + hostOf(t, echo.URL) + "/%zz" + q,
		"http://" + hostOf(t, echo.URL) + "/forbidden#secret",
	}
	for _, u := range urls {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.ReadAt(ctx, u, make([]byte, 50), 0)
		_, err2 := c.StatURL(ctx, u)
		cancel()
		for _, e := range []error{err, err2} {
			if e == nil {
				t.Errorf("%s: no error", redactURL(u))
				continue
			}
			if strings.Contains(e.Error(), "secret") {
				t.Errorf("error carries the signature: %v", e)
			}
			logger.Error("read failed", "err", e) // as the layers above log it
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logBuf.String(), "secret") {
		t.Errorf("the log carries the signature:\n%s", logBuf.String())
	}
	if !strings.Contains(logBuf.String(), "SignatureDoesNotMatch") {
		t.Errorf("the storage host's error code is not kept:\n%s", logBuf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A 401 makes the client ask its TokenSource again (a token file rewritten
// after a rotation) and send once more; an unchanged token is not retried.
func TestTokenRenewedOn401(t *testing.T) {
	var accepted atomic.Value
	accepted.Store("old")
	var n atomic.Int32
	c, _ := newTestCore(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+accepted.Load().(string) {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"statusCode":401,"message":"Invalid token: access token is invalid","error":"Unauthorized"}`)
			return
		}
		fmt.Fprint(w, `{"files":[]}`)
	}), func(cfg *CoreConfig) {
		cfg.Auth = StaticToken("old", func() (string, error) { return accepted.Load().(string), nil }, nil)
	})
	if _, err := get(context.Background(), c); err != nil || n.Load() != 1 {
		t.Fatalf("%v after %d", err, n.Load())
	}
	// Rotated: many calls at once all go through, each resent once at most.
	accepted.Store("new")
	n.Store(0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := get(context.Background(), c); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := n.Load(); got < 8 || got > 16 {
		t.Errorf("%d requests for 8 calls", got)
	}
	if tok, _ := c.auth.Token(context.Background()); tok != "new" {
		t.Errorf("the client did not keep the new token")
	}
	// A token the server refuses and the source repeats: one request, 401.
	accepted.Store("newer")
	src := "new"
	c.auth.(*staticAuth).src = func() (string, error) { return src, nil }
	n.Store(0)
	if _, err := get(context.Background(), c); !errors.Is(err, ErrUnauthorized) || n.Load() != 1 {
		t.Fatalf("%v after %d requests", err, n.Load())
	}
}
