package fs

import (
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/remote/ghltest"
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
// it does), and notifications must still reach the kernel once mounted.
func TestChangeReportedWhileMounting(t *testing.T) {
	needFUSE(t)
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddFile("", "a.jpg", "image/jpeg", []byte("x"))
	f, _ := newXattrFS(t, srv, Options{})
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
	server, err := f.Mount(t.TempDir())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Unmount()
	// Once mounted, a notification reaches the kernel (which answers
	// ENOENT for a name it does not hold).
	if errno := f.root.NotifyEntry("gone.jpg"); errno != 0 && errno != syscall.ENOENT {
		t.Errorf("a notification once mounted: %v", errno)
	}
}
