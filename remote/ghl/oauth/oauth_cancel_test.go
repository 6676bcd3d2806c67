package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// A refresh whose caller gives up (a FUSE request interrupted, an upload
// stopped by unmount --force) after the server took the refresh token
// still stores what the server answered: the old refresh token is spent,
// and dropping the answer would lose the login.
func TestTokenFileRefreshOutlivesItsCaller(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	s := &oauthServer{t: t, clk: clk, ttl: time.Hour, live: map[string]time.Time{}, refresh: map[string]bool{}}
	received, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/token" {
			s.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r) // the refresh token is spent here
		once.Do(func() { close(received) })
		<-release
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	path := filepath.Join(t.TempDir(), "token.json")
	first := s.storeFirst(t, path)
	tf := testTokenFile(t, path, srv.URL, clk)
	clk.Advance(time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := tf.Token(ctx)
		errc <- err
	}()
	<-received
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the interrupted caller got %v, want context.Canceled", err)
	}
	close(release)
	tok, err := tf.Token(context.Background())
	if err != nil || tok == first.AccessToken {
		t.Fatalf("after an interrupted refresh: Token = %q, %v; want the refreshed token", tok, err)
	}
	stored, err := ReadTokenSet(path)
	if err != nil || stored.AccessToken != tok || stored.RefreshToken == first.RefreshToken {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refreshN != 1 || s.reused != 0 {
		t.Fatalf("%d refreshes, %d refresh tokens reused; want 1, 0", s.refreshN, s.reused)
	}
}
