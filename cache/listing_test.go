package cache

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// slowLister is the API client, with listings that take longer than the
// listing TTL (the clock moves on while each runs).
type slowLister struct {
	remote.Backend
	clock *clockwork.FakeClock
	took  time.Duration
}

func (s slowLister) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	err := s.Backend.List(ctx, q, restart, add)
	s.clock.Advance(s.took / 2) // each of the two listings (folders, files)
	return err
}

// A listing that took longer than the TTL is trusted for the TTL from when
// it ended: the next look-up does not fetch it again (a folder of 200,000
// files at the API's limit takes minutes; it was listed again, for ever).
func TestLongListingIsNotStaleOnArrival(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	dir := srv.AddFolder("", "big")
	for i := range 10 {
		srv.AddFile(dir, fmt.Sprintf("f%d", i), "", nil)
	}
	rc, err := ghl.New(ghl.Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := New(slowLister{rc.Backend(), clock, 3 * time.Minute}, Options{DirTTL: time.Minute, Clock: clock, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if l, err := s.ListDir(ctx, dir); err != nil || len(l.Entries) != 10 {
		t.Fatalf("%v, %v", l, err)
	}
	calls := srv.Stats().ByEndpoint["GET /medias/files"]
	clock.Advance(30 * time.Second)
	if _, err := s.ListDir(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if again := srv.Stats().ByEndpoint["GET /medias/files"] - calls; again != 0 {
		t.Fatalf("listed again %d times within the TTL of its end", again)
	}
	clock.Advance(31 * time.Second)
	if _, err := s.ListDir(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if srv.Stats().ByEndpoint["GET /medias/files"] == calls {
		t.Fatal("not listed again once the TTL had passed")
	}
}
