package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ghlfs/ghlfs/remote/imagekit/iktest"
)

// What a user of an ImageKit mount sees, with real tools on a real
// mount, checked against the fake's state (its test API and its wire
// format). The tests that hold for every backend (fsrand, the crash
// table) run for ImageKit through ikBackend.

// startImageKit starts an ImageKit fake with quirks, lets prepare fill
// the library as another client would, and mounts it.
func startImageKit(t *testing.T, quirks []string, prepare func(srv *iktest.Server), args ...string) (*iktest.Server, *mount) {
	t.Helper()
	svc := ikBackend{}.start(t, fakeOpts{quirks: quirks}).(ikService)
	if prepare != nil {
		prepare(svc.srv)
	}
	return svc.srv, mountService(t, svc, mountOpt{args: args})
}

// loudLines are the lines of the mount's log above debug level that name
// s.
func loudLines(m *mount, s string) []string {
	var out []string
	for _, l := range logLines(m.log.String(), s) {
		if !strings.Contains(l, "level=DEBUG") {
			out = append(out, l)
		}
	}
	return out
}

// A name ImageKit would rewrite (a space; a folder's '.') is EINVAL at
// create, mkdir and mv, with one log line naming it, and nothing reaches
// the library.
func TestImageKitRewrittenNamesEINVAL(t *testing.T) {
	t.Parallel()
	srv, m := startImageKit(t, nil, nil)
	writeFile(t, m.path("good.txt"), []byte("kept"))
	for _, c := range []struct {
		what, name string
		do         func() error
	}{
		{"create", "a b.txt", func() error {
			f, err := os.OpenFile(m.path("a b.txt"), os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				f.Close()
			}
			return err
		}},
		{"mkdir", "my dir", func() error { return os.Mkdir(m.path("my dir"), 0o755) }},
		{"mkdir", "v1.2", func() error { return os.Mkdir(m.path("v1.2"), 0o755) }},
		{"mv", "x y.txt", func() error { return syscall.Rename(m.path("good.txt"), m.path("x y.txt")) }},
	} {
		err := c.do()
		if !errors.Is(err, syscall.EINVAL) {
			t.Errorf("%s %q: %v, want EINVAL", c.what, c.name, err)
		}
		if l := loudLines(m, c.name); len(l) != 1 {
			t.Errorf("%s %q: %d log lines name it, want 1:\n%s", c.what, c.name, len(l), strings.Join(l, "\n"))
		}
	}
	// mv as a user runs it: the same, and it says so.
	if out, err := shErr("mv", m.path("good.txt"), m.path("other name.txt")); err == nil {
		t.Errorf("mv onto a name with a space: ok (%s)", out)
	}
	tree := ikService{srv: srv}.tree(t)
	if len(tree) != 1 || tree["good.txt"].Type != "file" {
		t.Errorf("the library holds %v, want good.txt alone", tree)
	}
	if got := readFile(t, m.path("good.txt")); string(got) != "kept" {
		t.Errorf("good.txt reads %q", got)
	}
}

// Overwriting a file (cp onto it) keeps its fileId and adds a version:
// the earlier bytes stay as that version, the name shows the new ones.
func TestImageKitOverwriteAddsVersion(t *testing.T) {
	t.Parallel()
	v1, v2 := randomBytes(70_000, 1), randomBytes(50_000, 2)
	srv, m := startImageKit(t, nil, func(srv *iktest.Server) { srv.AddFile("", "photo.png", v1) })
	before := ikItem(t, srv, "photo.png")
	src := filepath.Join(t.TempDir(), "new.png")
	writeFile(t, src, v2)
	sh(t, "cp", src, m.path("photo.png"))
	after := ikItem(t, srv, "photo.png")
	if after.ID != before.ID {
		t.Errorf("the fileId changed: %s, then %s", before.ID, after.ID)
	}
	revs := srv.VersionIDs(after.ID)
	if len(revs) != 2 || revs[0] != before.Rev {
		t.Fatalf("versions %v, want the first (%s) and one more", revs, before.Rev)
	}
	if b, _ := srv.Content(after.ID, revs[0]); !bytes.Equal(b, v1) {
		t.Error("the first version does not hold the first bytes")
	}
	if b, _ := srv.Content(after.ID, ""); !bytes.Equal(b, v2) {
		t.Error("the current version does not hold the bytes copied")
	}
	if got := readFile(t, m.path("photo.png")); !bytes.Equal(got, v2) {
		t.Errorf("the mount reads %d bytes (sha %.12s), want the new %d (sha %.12s)", len(got), sha(got), len(v2), sha(v2))
	}
}

// mv across folders goes through the server: the same fileId in the
// other folder, one move call, no EXDEV (so no copy).
func TestImageKitMoveAcrossFolders(t *testing.T) {
	t.Parallel()
	data := randomBytes(40_000, 3)
	var id string
	srv, m := startImageKit(t, nil, func(srv *iktest.Server) {
		a := srv.AddFolder("", "a")
		srv.AddFolder("", "b")
		id = srv.AddFile(a, "f.txt", data)
	})
	uploads := srv.Calls(iktest.UploadsReceived)
	if err := syscall.Rename(m.path("a", "f.txt"), m.path("b", "f.txt")); err != nil {
		t.Fatalf("rename(2) across folders: %v, want it done on the server", err)
	}
	it := ikItem(t, srv, "b/f.txt")
	if it.ID != id {
		t.Errorf("b/f.txt is %s, want the file moved (%s)", it.ID, id)
	}
	if _, ok := srv.ByPath("/a/f.txt"); ok {
		t.Error("a/f.txt is still there")
	}
	if n := srv.Calls(iktest.EndpointMove); n != 1 {
		t.Errorf("%d move calls, want 1", n)
	}
	if n := srv.Calls(iktest.UploadsReceived) - uploads; n != 0 {
		t.Errorf("%d uploads for a move, want none", n)
	}
	if got := readFile(t, m.path("b", "f.txt")); !bytes.Equal(got, data) {
		t.Errorf("b/f.txt reads %d bytes, want %d", len(got), len(data))
	}
}

// mv onto a name another folder holds never merges the two histories
// (the service would append the moved file's versions to the target's):
// the name shows the moved file's bytes, the moved file keeps its own
// versions alone, and the target's versions are not added to.
func TestImageKitMoveOntoExistingNeverMerges(t *testing.T) {
	t.Parallel()
	for _, quirk := range []string{iktest.QuirkMoveMerges, iktest.QuirkMove409} {
		t.Run(quirk, func(t *testing.T) {
			t.Parallel()
			moved, old1, old2 := randomBytes(30_000, 4), randomBytes(20_000, 5), randomBytes(25_000, 6)
			var src, dst string
			srv, m := startImageKit(t, []string{quirk}, func(srv *iktest.Server) {
				a, b := srv.AddFolder("", "a"), srv.AddFolder("", "b")
				src = srv.AddFile(a, "f.txt", moved)
				dst = srv.AddFile(b, "f.txt", old1)
				srv.AddFile(b, "f.txt", old2) // a second version of b/f.txt
			})
			dstRevs := srv.VersionIDs(dst)
			if _, err := shErr("mv", m.path("a", "f.txt"), m.path("b", "f.txt")); err != nil {
				t.Fatalf("mv: %v", err)
			}
			if got := readFile(t, m.path("b", "f.txt")); !bytes.Equal(got, moved) {
				t.Errorf("the mount shows %d bytes at b/f.txt, want the moved file's %d", len(got), len(moved))
			}
			it := ikItem(t, srv, "b/f.txt")
			if b, _ := srv.Content(it.ID, ""); !bytes.Equal(b, moved) {
				t.Errorf("the library holds %d bytes at b/f.txt, want the moved file's", len(b))
			}
			if it.ID == dst {
				if revs := srv.VersionIDs(dst); len(revs) != len(dstRevs) {
					t.Errorf("the moved file was merged into b/f.txt's history: %d versions, had %d", len(revs), len(dstRevs))
				}
			} else if revs := srv.VersionIDs(it.ID); len(revs) != 1 {
				t.Errorf("b/f.txt (%s) has %d versions, want the moved file's one", it.ID, len(revs))
			}
			if revs := srv.VersionIDs(dst); !slices.Equal(revs, dstRevs) {
				t.Errorf("the target's versions changed: %v, were %v", revs, dstRevs)
			}
			if _, ok := srv.ByPath("/a/f.txt"); ok {
				t.Error("a/f.txt is still there")
			}
			if it.ID != src {
				t.Logf("moved as a copy: %s, was %s", it.ID, src)
			}
		})
	}
}

// rmdir removes only a folder a fresh listing shows empty: the service
// deletes a folder with everything in it, for good, so a file another
// client put there since the mount listed it must stop the rmdir.
func TestImageKitRmdirOnlyEmpty(t *testing.T) {
	t.Parallel()
	srv, m := startImageKit(t, nil, nil)
	sh(t, "mkdir", m.path("d"), m.path("e"))
	writeFile(t, m.path("d", "x.txt"), []byte("x"))
	if err := syscall.Rmdir(m.path("d")); err != syscall.ENOTEMPTY {
		t.Errorf("rmdir of a folder holding a file: %v, want ENOTEMPTY", err)
	}
	if _, ok := srv.ByPath("/d/x.txt"); !ok {
		t.Error("d/x.txt is gone")
	}
	// e is empty as the mount listed it; another client adds a file.
	sh(t, "ls", m.path("e"))
	srv.AddFile(ikItem(t, srv, "e").ID, "late.txt", []byte("late"))
	if err := syscall.Rmdir(m.path("e")); err != syscall.ENOTEMPTY {
		t.Errorf("rmdir of a folder another client put a file in: %v, want ENOTEMPTY", err)
	}
	if _, ok := srv.ByPath("/e/late.txt"); !ok {
		t.Fatal("e/late.txt, put there by another client, was deleted with its folder")
	}
	sh(t, "rm", m.path("d", "x.txt"))
	sh(t, "rmdir", m.path("d"))
	if _, ok := srv.ByPath("/d"); ok {
		t.Error("d is still in the library")
	}
}

// With a CDN that serves its old copy a while after a change
// (cdn-stale), a read after an overwrite never gives the old bytes: the
// new ones, or an error.
func TestImageKitStaleCDNNeverOldBytes(t *testing.T) {
	t.Parallel()
	v1, v2 := randomBytes(60_000, 7), randomBytes(60_000, 8) // one length: only the version tells them apart
	srv, m := startImageKit(t, []string{iktest.QuirkCDNStale}, func(srv *iktest.Server) { srv.AddFile("", "doc.txt", v1) })
	if got := readFile(t, m.path("doc.txt")); !bytes.Equal(got, v1) {
		t.Fatalf("the first read: %d bytes, want v1", len(got))
	}
	src := filepath.Join(t.TempDir(), "v2")
	writeFile(t, src, v2)
	sh(t, "cp", src, m.path("doc.txt"))
	for i := range 3 {
		// A new open each time: the CDN serves its old copy for a few
		// reads of each url.
		got, err := os.ReadFile(m.path("doc.txt"))
		if err == nil && bytes.Equal(got, v1) {
			t.Fatalf("read %d after the overwrite gave the old bytes", i)
		}
		if err == nil && !bytes.Equal(got, v2) {
			t.Fatalf("read %d after the overwrite gave %d bytes that are neither version", i, len(got))
		}
	}
	// Another client's overwrite, seen once the listing is asked again.
	// A remount shows the listing the last mount saved at once, and
	// checks it in the background (README: remount): the read waits for
	// that check, and then neither the disk cache (which holds v1 and v2)
	// nor the CDN may give anything but v3.
	v3 := randomBytes(60_000, 9)
	srv.AddFile("", "doc.txt", v3)
	m.stop()
	m2 := mountService(t, ikService{srv: srv}, mountOpt{cacheDir: m.cacheDir})
	sh(t, "ls", m2.dir)
	waitFor(t, "the saved listing to be checked", func() bool {
		return len(logLines(m2.log.String(), `msg="folder changed elsewhere"`, `folder=""`)) > 0
	})
	got, err := os.ReadFile(m2.path("doc.txt"))
	if err == nil && !bytes.Equal(got, v3) {
		t.Errorf("after another client's overwrite and a remount, the mount read %d bytes that are not v3 (v1: %v, v2: %v)", len(got), bytes.Equal(got, v1), bytes.Equal(got, v2))
	}
}

// ImageKit has no trash: a read-write mount with the default
// --delete-mode trash refuses to start, saying what to choose, and
// mounts nothing; the key is in no word it says.
func TestImageKitTrashModeRefused(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	svc := ikBackend{}.start(t, fakeOpts{}).(ikService)
	dir := t.TempDir()
	args := []string{"mount", "--backend", "imagekit", "--api-url", svc.srv.URL, "--upload-url", svc.srv.URL,
		"--url-endpoint", svc.srv.Endpoint, "--cache-dir", t.TempDir(), dir}
	cmd := exec.Command(filepath.Join(binDir, "ghlfs"), args...)
	cmd.Env = append(os.Environ(), "IMAGEKIT_PRIVATE_KEY="+svc.srv.Key(), "XDG_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the mount started:\n%s", out)
	}
	for _, want := range []string{"no trash", "--delete-mode delete", "--read-only"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the refusal does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), svc.srv.Key()) {
		t.Error("the refusal shows the private key")
	}
	if srv := svc.srv; srv.Calls(iktest.EndpointList) != 0 {
		t.Error("the refused mount called the API")
	}
	if isMounted(dir) {
		t.Error("the mountpoint is mounted")
	}
}
