package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// With --poll-interval, changes made elsewhere reach the mount without
// waiting for the listing to expire (here an hour), and the kernel forgets
// what it held of them.
func TestPollSeesOutsideChanges(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	keep := srv.AddFile("", "keep.txt", "text/plain", []byte("v1"))
	gone := srv.AddFile("", "gone.txt", "text/plain", []byte("bye"))
	// A poll asks for the latest changes (a rename, a new file); removals
	// show at the next pass over the whole library.
	m := mountFS(t, srv, mountOpt{args: []string{"--poll-interval", "200ms", "--full-sync-interval", "1s", "--dir-cache-time", "1h"}})
	sh(t, "ls", "-l", m.dir)
	sh(t, "stat", m.path("gone.txt")) // the kernel now holds its entry for an hour

	srv.AddFile("", "new.txt", "text/plain", []byte("hello"))
	apiDo(t, srv, "PUT", "/medias/delete-files", fmt.Sprintf(`{"altType":"location","altId":%q,"status":"trashed","filesToBeDeleted":[{"_id":%q}]}`, testLocation, gone))
	apiDo(t, srv, "POST", "/medias/"+keep, fmt.Sprintf(`{"altType":"location","altId":%q,"name":"kept.txt"}`, testLocation))

	waitFor(t, "the mount to show the changes", func() bool {
		out, _ := shErr("ls", m.dir)
		return strings.Fields(out) != nil && strings.Join(strings.Fields(out), " ") == "kept.txt new.txt"
	})
	if _, err := os.Stat(m.path("gone.txt")); !os.IsNotExist(err) {
		t.Errorf("stat of a file trashed elsewhere: %v", err)
	}
	if got := string(readFile(t, m.path("new.txt"))); got != "hello" {
		t.Errorf("new.txt: %q", got)
	}
}

// --list-all lists the whole library in two paged calls instead of two per
// folder, and shows the same tree.
func TestListAllStrategy(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{Seed: "demo"})
	m := mountFS(t, srv, mountOpt{args: []string{"--list-all"}})
	resetStats(t, srv)
	sh(t, "find", m.dir)
	cold := getStats(t, srv).APIRequests
	folders := len(readLibrary(srv).folders) + 1
	t.Logf("find over %d folders with --list-all: %d API calls", folders, cold)
	// Two listings of the library, a confirming page each, and the one-time
	// check of an empty folder (two calls).
	if cold > 6 {
		t.Errorf("%d calls", cold)
	}
	checkMountMatches(t, srv, m)
}
