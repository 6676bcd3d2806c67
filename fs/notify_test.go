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

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	reports := 0
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			f.changed("", before, after)
			reports++
		}
	}()
	server, err := f.Mount(t.TempDir())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Unmount()
	if reports == 0 {
		t.Fatal("no change was reported while mounting")
	}
	// Once mounted, a notification reaches the kernel (which answers
	// ENOENT for a name it does not hold).
	if errno := f.root.NotifyEntry("gone.jpg"); errno != 0 && errno != syscall.ENOENT {
		t.Errorf("a notification once mounted: %v", errno)
	}
}
