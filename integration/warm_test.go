package integration

import (
	"slices"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A remount answers from the listings the last mount saved, at once and
// even with the API down, and catches up once the API is back: a file
// removed elsewhere meanwhile disappears, one added appears, and nothing
// the mount showed from its saved listings was written to the library.
func TestWarmStartFromSavedListings(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	docs := srv.AddFolder("", "Docs")
	srv.AddFile(docs, "a.txt", "text/plain", []byte("alpha\n"))
	gone := srv.AddFile(docs, "b.txt", "text/plain", []byte("bravo\n"))
	pics := srv.AddFolder("", "Pics")
	srv.AddFile(pics, "p.png", "image/png", []byte("png"))
	srv.AddFile("", "r.txt", "text/plain", []byte("root\n"))

	cacheDir := t.TempDir()
	args := []string{"--upload-retry", "200ms", "--op-timeout", "3s"}
	m := mountFS(t, srv, mountOpt{cacheDir: cacheDir, args: args})
	m.awaitListed(t)
	before := sh(t, "find", m.dir, "-printf", "%P %s\n")
	if err := m.stop(); err != nil {
		t.Fatalf("unmount: %v\n%s", err, m.log)
	}

	// Meanwhile, elsewhere: one file removed, one added; then the API
	// goes down.
	apiDo(t, srv, "PUT", "/medias/delete-files", `{"altType":"location","altId":"`+testLocation+`","status":"trashed","filesToBeDeleted":[{"_id":"`+gone+`"}]}`)
	srv.AddFile(docs, "c.txt", "text/plain", []byte("charlie\n"))
	srv.SetFaults(ghltest.Faults{Down: true})
	resetStats(t, srv)

	m = mountFS(t, srv, mountOpt{cacheDir: cacheDir, args: args})
	if got := sh(t, "find", m.dir, "-printf", "%P %s\n"); got != before {
		t.Fatalf("with the API down, the remount shows\n%s\nwant what the last mount showed\n%s", got, before)
	}
	if !strings.Contains(m.log.String(), "the API is out of reach") {
		t.Errorf("no line says the API is out of reach:\n%s", m.log)
	}
	// Listings are not bytes: with the storage host down too, a file's
	// bytes cannot be read, and the read says so: EIO once the read's
	// retries give up, or ETIMEDOUT when --op-timeout ends first (on a
	// loaded machine the retries' backoff can outlast it).
	if out, err := shErr("cat", m.path("Docs", "a.txt")); err == nil || !strings.Contains(out, "Input/output error") && !strings.Contains(out, "Connection timed out") {
		t.Errorf("cat with the storage host down: %v %q", err, out)
	}

	srv.SetFaults(ghltest.Faults{})
	m.awaitListed(t)
	names := lines(sh(t, "ls", m.path("Docs")))
	if !slices.Equal(names, []string{"a.txt", "c.txt"}) {
		t.Errorf("once the API is back, Docs holds %q, want [a.txt c.txt]", names)
	}
	if got := sh(t, "cat", m.path("Docs", "c.txt")); got != "charlie\n" {
		t.Errorf("c.txt reads %q", got)
	}
	if _, err := shErr("stat", m.path("Docs", "b.txt")); err == nil {
		t.Errorf("b.txt, removed elsewhere, is still there")
	}
	st := getStats(t, srv)
	if n := st.ByEndpoint[ghltest.EndpointUpload] + st.ByEndpoint[ghltest.EndpointDeleteMany] + st.ByEndpoint[ghltest.EndpointRename]; n != 0 {
		t.Errorf("%d changes sent to the library by a mount that only read it", n)
	}
	if it, _ := srv.Item(gone); it.Status != ghltest.StatusTrashed {
		t.Errorf("b.txt is %s in the library", it.Status)
	}
}

// The kernel may keep a folder's entries between opens (FUSE's readdir
// cache), but never past a change: one made through the mount shows at
// the next ls, one made elsewhere as soon as the mount has listed the
// folder again.
func TestReaddirCacheFollowsChanges(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	docs := srv.AddFolder("", "Docs")
	srv.AddFile(docs, "a.txt", "text/plain", []byte("a"))
	// No poll: a change elsewhere is seen when the listing is taken again,
	// at the TTL, which no notification to the kernel goes with.
	m := mountFS(t, srv, mountOpt{args: []string{"--dir-cache-time", "1s"}})
	m.awaitListed(t)
	ls := func() []string { return lines(sh(t, "ls", m.path("Docs"))) }
	for range 3 { // the third ls is answered from the kernel's cache
		if got := ls(); !slices.Equal(got, []string{"a.txt"}) {
			t.Fatalf("Docs lists %q", got)
		}
	}
	sh(t, "touch", m.path("Docs", "b.txt"))
	if got := ls(); !slices.Equal(got, []string{"a.txt", "b.txt"}) {
		t.Fatalf("after touch b.txt, Docs lists %q", got)
	}
	ls()
	sh(t, "rm", m.path("Docs", "a.txt"))
	if got := ls(); !slices.Equal(got, []string{"b.txt"}) {
		t.Fatalf("after rm a.txt, Docs lists %q", got)
	}
	ls()
	srv.AddFile(docs, "c.txt", "text/plain", []byte("c")) // elsewhere
	waitFor(t, "ls to show c.txt, added elsewhere", func() bool { return slices.Equal(ls(), []string{"b.txt", "c.txt"}) })
	tree := remoteTree(t, srv)
	if _, ok := tree["Docs/b.txt"]; !ok || len(tree) != 3 {
		t.Errorf("the library holds %v", tree)
	}
}
