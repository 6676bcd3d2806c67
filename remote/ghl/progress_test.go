package ghl

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
)

// gatedReader gives first bytes, then says so on held and waits for
// release before it gives the rest.
type gatedReader struct {
	first, rest int64
	held        chan struct{}
	release     chan struct{}
	gated       bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.first > 0 {
		n := int(min(int64(len(p)), g.first))
		g.first -= int64(n)
		return n, nil
	}
	if !g.gated {
		g.gated = true
		close(g.held)
		<-g.release
	}
	if g.rest <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), g.rest))
	g.rest -= int64(n)
	return n, nil
}

// An upload's Progress counts the file's bytes as net/http takes them:
// what was given before the source holds back, then all of them; a retry
// counts from zero again.
func TestUploadProgress(t *testing.T) {
	var requests atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if requests.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"statusCode":429,"message":"Too many requests"}`)
			return
		}
		fmt.Fprint(w, `{"fileId":"f1","url":"http://x/f1"}`)
	}))
	const first, rest = 300 << 10, 200 << 10
	p := remote.NewProgress(nil)
	var opens []int64 // Sent when each attempt opened its source
	src := &gatedReader{first: first, rest: rest, held: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := c.UploadFile(context.Background(), Upload{Name: "a.bin", Size: first + rest, Progress: p,
			Open: func() (io.ReadCloser, error) {
				opens = append(opens, p.Sent())
				if len(opens) == 1 {
					return io.NopCloser(src), nil
				}
				return io.NopCloser(&countingReader{left: first + rest}), nil
			}})
		done <- err
	}()
	<-src.held
	if got := p.Sent(); got != first {
		t.Errorf("sent %d bytes while the source held back after %d", got, first)
	}
	if p.Started().IsZero() {
		t.Error("no start time once bytes went")
	}
	close(src.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := p.Sent(); got != first+rest {
		t.Errorf("sent %d bytes at the end, want %d", got, first+rest)
	}
	if len(opens) != 2 || opens[0] != 0 || opens[1] != first+rest {
		t.Errorf("sent when each attempt opened its source: %v", opens)
	}
}

// Usage counts the requests sent over the last 10 s and today, and keeps
// what the rate-limit headers said.
func TestUsage(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 1, 23, 59, 0, 0, time.UTC))
	var n atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		w.Header().Set("X-RateLimit-Max", "100")
		w.Header().Set("X-RateLimit-Remaining", fmt.Sprint(100-k))
		w.Header().Set("X-RateLimit-Interval-Milliseconds", "10000")
		w.Header().Set("X-RateLimit-Limit-Daily", "200000")
		w.Header().Set("X-RateLimit-Daily-Remaining", fmt.Sprint(150000-k))
		fmt.Fprint(w, `{"files":[]}`)
	}), func(cfg *Config) { cfg.Clock = clock; cfg.RateLimit = 50; cfg.RateWindow = 5 * time.Second })
	list := func() {
		t.Helper()
		if _, err := c.List(context.Background(), ListQuery{Type: TypeFile}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		list()
	}
	u := c.Usage()
	if u.InWindow != 3 || u.Today != 3 || u.Total != 3 || u.Window != 10*time.Second || u.Limit != 100 {
		t.Errorf("after 3 calls: %+v", u)
	}
	if s := u.Server; s.Max != 100 || s.Remaining != 97 || s.Interval != 10*time.Second || s.DailyLimit != 200000 || s.DailyRemaining != 149997 || !s.At.Equal(clock.Now()) {
		t.Errorf("server limits %+v", s)
	}
	clock.Advance(9 * time.Second)
	list()
	if u := c.Usage(); u.InWindow != 4 {
		t.Errorf("%d calls in the window 9 s later, want 4", u.InWindow)
	}
	clock.Advance(2 * time.Second)
	if u := c.Usage(); u.InWindow != 1 || u.Today != 4 {
		t.Errorf("11 s after the first three: %d in the window, %d today; want 1 and 4", u.InWindow, u.Today)
	}
	clock.Advance(time.Minute) // past midnight UTC
	if u := c.Usage(); u.InWindow != 0 || u.Today != 0 || u.Total != 4 {
		t.Errorf("the next day: %+v", u)
	}
	list()
	if u := c.Usage(); u.Today != 1 || u.Total != 5 {
		t.Errorf("the next day, one call: %+v", u)
	}
}
