package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// rotatingAuth is an Authorizer whose token a 401 renews.
type rotatingAuth struct {
	mu      sync.Mutex
	tok     string
	refused int
}

func (a *rotatingAuth) Token(context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tok, nil
}

func (a *rotatingAuth) Refused(_ context.Context, sent string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refused++
	if sent != a.tok {
		return true, nil
	}
	a.tok = "fresh-token"
	return true, nil
}

// TestReadAPIAtvSized: bytes the API host serves are read by ranges with
// the API's credentials and headers; a 401 renews the token once; the
// total is checked against the size; an error body is the API's.
func TestReadAPIAtvSized(t *testing.T) {
	data := []byte("0123456789abcdef")
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/api/files/gone/data" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "no such file")
			return
		}
		if r.Header.Get("Authorization") != "Bearer fresh-token" || r.URL.Path == "/api/x" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Header.Get("X-Version") != "1" || r.URL.Query().Get("version") != "3" {
			http.Error(w, "headers or query lost", http.StatusBadRequest)
			return
		}
		var a, b int
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b); err != nil {
			w.Write(data)
			return
		}
		b = min(b, len(data)-1)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data[a : b+1])
	})
	auth := &rotatingAuth{tok: "stale-token"}
	c, _ := newTestCore(t, h, func(cfg *CoreConfig) {
		cfg.Auth = auth
		cfg.Hooks.Header = http.Header{"X-Version": {"1"}}
		cfg.Base.Path = "/api"
	})
	ctx := context.Background()
	cl := Call{Endpoint: "/files/{id}/data", Path: "/files/f1/data", Query: map[string][]string{"version": {"3"}}}
	buf := make([]byte, 5)
	if n, err := c.ReadAPIAtvSized(ctx, cl, [][]byte{buf}, 2, int64(len(data))); err != nil || !bytes.Equal(buf[:n], data[2:7]) {
		t.Fatalf("read: %q, %v", buf[:n], err)
	}
	if auth.refused != 1 {
		t.Errorf("the token was renewed %d times, want once", auth.refused)
	}
	if _, err := c.ReadAPIAtvSized(ctx, cl, [][]byte{buf}, 0, 99); !errors.Is(err, ErrStaleCopy) {
		t.Errorf("a read of another total: %v, want ErrStaleCopy", err)
	}
	gone := Call{Endpoint: "/files/{id}/data", Path: "/files/gone/data"}
	_, err := c.ReadAPIAtvSized(ctx, gone, [][]byte{buf}, 0, -1)
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Endpoint != "/files/{id}/data" || !strings.Contains(e.Message, "no such file") {
		t.Errorf("a read of a missing file: %v, want the API's 404", err)
	}
	auth.refused = 0
	calls.Store(0)
	if _, err := c.ReadAPIAtvSized(ctx, Call{Endpoint: "/x", Path: "/x"}, [][]byte{buf}, 0, -1); !errors.Is(err, ErrUnauthorized) || calls.Load() != 2 {
		t.Errorf("a read refused with every token: %v after %d requests, want ErrUnauthorized after 2", err, calls.Load())
	}
}

// TestAnswerError: a 2xx that Hooks.AnswerError reads as a failure is
// one: its kind, and a 401 renews the token as a real 401 does.
func TestAnswerError(t *testing.T) {
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch {
		case r.URL.Path == "/locked":
			io.WriteString(w, `{"errorCode":"-30"}`)
		case r.Header.Get("Authorization") != "Bearer fresh-token":
			io.WriteString(w, `{"errorCode":"-18"}`)
		default:
			io.WriteString(w, `{"errorCode":"0"}`)
		}
	})
	auth := &rotatingAuth{tok: "stale-token"}
	c, _ := newTestCore(t, h, func(cfg *CoreConfig) {
		cfg.Auth = auth
		cfg.Hooks.AnswerError = func(method, endpoint string, resp *http.Response, body []byte) *Error {
			switch {
			case bytes.Contains(body, []byte(`"-18"`)):
				return &Error{Method: method, Endpoint: endpoint, Status: http.StatusUnauthorized}
			case bytes.Contains(body, []byte(`"-30"`)):
				return &Error{Method: method, Endpoint: endpoint, Status: http.StatusLocked}
			}
			return nil
		}
	})
	ctx := context.Background()
	if body, err := c.Do(ctx, Call{Method: http.MethodGet, Endpoint: "/ok", Path: "/ok"}); err != nil || string(body) != `{"errorCode":"0"}` {
		t.Errorf("a refusal in a 200 cured by a new token: %q, %v", body, err)
	}
	if calls.Load() != 2 || auth.refused != 1 {
		t.Errorf("%d requests and %d renewals, want 2 and 1", calls.Load(), auth.refused)
	}
	if _, err := c.Do(ctx, Call{Method: http.MethodGet, Endpoint: "/locked", Path: "/locked"}); !errors.Is(err, ErrBusy) {
		t.Errorf("a 423 in a 200: %v, want ErrBusy", err)
	}
}

// TestReadAPIRedirect: a read the API host redirects to another host is
// refused, and nothing goes there: the credentials stay on the API host.
func TestReadAPIRedirect(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	c, _ := newTestCore(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/bytes", http.StatusFound)
	}))
	_, err := c.ReadAPIAtvSized(context.Background(), Call{Endpoint: "/files/{id}/data", Path: "/files/x/data"}, [][]byte{make([]byte, 4)}, 0, 4)
	if !errors.Is(err, ErrRefused) || elsewhere.Load() != 0 {
		t.Errorf("a read redirected off the API host: %v, %d requests there; want ErrRefused and none", err, elsewhere.Load())
	}
}
