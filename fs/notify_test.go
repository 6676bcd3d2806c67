package fs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// needFUSE skips a test that mounts where FUSE is missing, and fails it
// under CI, where FUSE must be there.
func needFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("this test mounts, as root with /dev/fuse: %v (euid %d)", err, os.Geteuid())
		}
		t.Skipf("this test mounts, as root with /dev/fuse: %v (euid %d)", err, os.Geteuid())
	}
}

// The cache may report a folder changed at any time, even while the mount
// is being made: the first pass over the library starts before it. go-fuse
// sets up what its notifications go through while mounting; a report in
// that moment must not race with it (the race detector fails this test if
// it does), and changes reported once mounted must reach the kernel.
func TestChangeReportedWhileMounting(t *testing.T) {
	needFUSE(t)
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	id := srv.AddFile("", "a.jpg", "image/jpeg", []byte("x"))
	// The kernel keeps names for an hour: only a notification makes it
	// ask again.
	f, _ := newXattrFS(t, srv, Options{EntryTimeout: time.Hour, AttrTimeout: time.Hour})
	before := &cache.Listing{Entries: []cache.Entry{{Key: "k", ID: "id", Name: "gone.jpg"}}}
	after := &cache.Listing{}

	// Reports go on from before the mount (the first is made before it
	// starts) until it has returned.
	stop, first := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			f.changed("", before, after)
			if i == 0 {
				close(first)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	<-first
	mnt := t.TempDir()
	server, err := f.Mount(mnt)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Unmount()
	// Once mounted, a change reported reaches the kernel: a.jpg, looked
	// up, then trashed elsewhere, is gone for stat once reported.
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(mnt, "a.jpg")); err != nil {
		t.Fatal(err)
	}
	was, err := f.store.ListDir(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ghl.New(ghl.Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.DeleteMany(ctx, []string{id}, ghl.StatusTrashed); err != nil {
		t.Fatal(err)
	}
	f.store.Invalidate("")
	now, err := f.store.ListDir(ctx, "")
	if err != nil || len(now.Entries) != len(was.Entries)-1 {
		t.Fatalf("the listing after the trash: %+v, %v", now, err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "a.jpg")); err != nil {
		t.Fatalf("before the report the kernel answered from what it holds, yet: %v", err)
	}
	f.changed("", was, now)
	if _, err := os.Stat(filepath.Join(mnt, "a.jpg")); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("stat of a.jpg after its removal was reported: %v, want ENOENT", err)
	}
}
