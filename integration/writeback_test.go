package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The write-back queue seen from outside: real tools on a real mount, and
// the library checked through the fake. Each test names the promise of the
// README's "Writing: the write-back queue" it holds ghlfs to.

// wbUploads is how many upload calls the fake has received (rejected ones
// included).
func wbUploads(t testing.TB, srv *ghltest.Server) int {
	t.Helper()
	return getStats(t, srv).ByEndpoint[ghltest.EndpointUpload]
}

// wbNamed returns every file item ever named name (active, trashed or
// deleted), oldest first.
func wbNamed(srv *ghltest.Server, name string) []ghltest.Item {
	var out []ghltest.Item
	for _, it := range srv.Items() {
		if it.Type == ghltest.TypeFile && it.Name == name {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b ghltest.Item) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// wbActive returns the active files named name.
func wbActive(srv *ghltest.Server, name string) []ghltest.Item {
	return slices.DeleteFunc(wbNamed(srv, name), func(it ghltest.Item) bool { return it.Status != ghltest.StatusActive })
}

// wbItems describes every item of the library, for failure messages.
func wbItems(srv *ghltest.Server) string {
	var b strings.Builder
	for _, it := range srv.Items() {
		data, _ := srv.Content(it.ID)
		fmt.Fprintf(&b, "\n  %s %q %s %s %d bytes (%s) %s", it.ID, it.Name, it.Type, it.Status, len(data), it.ContentType, it.URL)
	}
	return b.String()
}

// wbStdout runs a tool and returns its standard output alone; it fails
// the test, with the tool's error output, if the tool fails.
func wbStdout(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// wbSpoolEmpty reports whether the spool holds nothing but spares (empty
// bytes a mount makes ahead for new files, of no record): no record, no
// bytes, no removal.
func wbSpoolEmpty(t testing.TB, cacheDir string) bool {
	t.Helper()
	dir := filepath.Join(cacheDir, "spool")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		id, data := strings.CutSuffix(e.Name(), ".data")
		if !data || spoolNote(filepath.Join(dir, e.Name())) != nil {
			return false
		}
		if _, err := os.Stat(filepath.Join(dir, id+".json")); err == nil {
			return false
		}
		if fi, err := e.Info(); err == nil && fi.Size() != 0 {
			return false
		}
	}
	return true
}

// wbDropCaches makes the kernel forget the pages, dentries and inodes it
// holds, so that the next read of the mount asks ghlfs.
func wbDropCaches(t testing.TB) {
	t.Helper()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		t.Fatalf("dropping the kernel's caches: %v", err)
	}
}

// wbStop unmounts with SIGTERM, as m.stop does, but gives ghlfs only
// limit to exit. If it is still running then, the failure says what the
// library and the spool hold by then, and ghlfs's goroutines (SIGQUIT)
// are in its log.
func wbStop(t *testing.T, srv *ghltest.Server, m *mount, limit time.Duration) {
	t.Helper()
	start := time.Now()
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
		if m.exitErr != nil {
			t.Errorf("ghlfs exited with %v after SIGTERM", m.exitErr)
		}
		if isMounted(m.dir) {
			syscall.Unmount(m.dir, syscall.MNT_DETACH)
			t.Errorf("%s still mounted after ghlfs exited", m.dir)
		}
		return
	case <-time.After(limit):
	}
	uploads, spooled := wbUploads(t, srv), spoolFiles(t, m.cacheDir)
	m.cmd.Process.Signal(syscall.SIGQUIT)
	m.reap()
	t.Fatalf("ghlfs still running %v after SIGTERM; by then the fake had %d upload calls and the spool held %d records %v (its goroutines are in the log below)",
		time.Since(start).Round(time.Millisecond), uploads, len(spooled), spooled)
}

// TestDiskFullKeepsOriginal: a copy cut short by a full --cache-dir never
// replaces the good original; the fragment waits in CACHE/recovered/.
func TestDiskFullKeepsOriginal(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs as the cache dir needs root")
	}
	cacheDir := t.TempDir()
	sh(t, "mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", cacheDir)
	// Registered after t.TempDir's removal and before mountFS's stop, so it
	// runs after ghlfs exited and before the directory is removed.
	t.Cleanup(func() {
		if out, err := shErr("umount", cacheDir); err != nil {
			t.Errorf("umount %s: %v %s", cacheDir, err, out)
		}
	})

	srv := fake(t, ghltest.Options{})
	orig := randomBytes(500_000, 101)
	origID := srv.AddFile("", "welcome.png", "image/png", orig)
	local := t.TempDir()
	origCopy := filepath.Join(local, "orig.png")
	writeFile(t, origCopy, orig)
	big := randomBytes(6<<20, 102)
	bigSrc := filepath.Join(local, "big.png")
	writeFile(t, bigSrc, big)
	small := []byte("a small file, well under the space\n")
	smallSrc := filepath.Join(local, "small.txt")
	writeFile(t, smallSrc, small)

	m := mountFS(t, srv, mountOpt{cacheDir: cacheDir})
	out, err := shErr("cp", bigSrc, m.path("welcome.png"))
	if err == nil || !strings.Contains(out, "No space left on device") {
		t.Fatalf("cp of 6 MB onto a 3 MB cache dir: err %v, output %q; want a failure saying No space left on device", err, out)
	}

	// The library: welcome.png is the original, active, and nothing else
	// ever reached it.
	checkLibrary := func(when string) {
		t.Helper()
		if n := wbUploads(t, srv); n != 0 {
			t.Errorf("%s: %d upload calls, want none%s", when, n, wbItems(srv))
		}
		items := srv.Items()
		if len(items) != 1 || items[0].ID != origID {
			t.Fatalf("%s: the library holds other items than the original welcome.png (%s):%s", when, origID, wbItems(srv))
		}
		if items[0].Status != ghltest.StatusActive || items[0].Name != "welcome.png" {
			t.Errorf("%s: the original is %s under %q, want active under welcome.png", when, items[0].Status, items[0].Name)
		}
		if data, _ := srv.Content(origID); !bytes.Equal(data, orig) {
			t.Errorf("%s: the original's bytes changed (%d bytes)", when, len(data))
		}
	}
	checkLibrary("after the failed cp")
	// The mount shows the original, through the kernel's caches and
	// without them, once the failed bytes are set aside: at the release
	// of cp's descriptor, which the kernel sends after its close returned.
	waitFor(t, "welcome.png released", func() bool { return len(logLines(m.log.String(), `msg="release /welcome.png"`)) > 0 })
	sh(t, "cmp", origCopy, m.path("welcome.png"))
	wbDropCaches(t)
	sh(t, "cmp", origCopy, m.path("welcome.png"))
	if got := strings.TrimSpace(sh(t, "stat", "-c", "%s", m.path("welcome.png"))); got != itoa(int64(len(orig))) {
		t.Errorf("stat says welcome.png has %s bytes, want %d", got, len(orig))
	}

	// While the cache dir is full, a new small file cannot be queued
	// either: the tool hears it, and nothing is uploaded.
	out, err = shErr("cp", smallSrc, m.path("small.txt"))
	if err == nil || !strings.Contains(out, "No space left on device") {
		t.Errorf("cp of a small file while the cache dir is full: err %v, output %q; want No space left on device", err, out)
	}
	checkLibrary("after the small cp on a full cache dir")
	// The failed file goes when its last descriptor is released: the
	// kernel sends that (RELEASE) after cp's close has returned.
	waitFor(t, "small.txt released", func() bool { return len(logLines(m.log.String(), `msg="release /small.txt"`)) > 0 })
	if out := lines(sh(t, "ls", "-A", m.dir)); !slices.Equal(out, []string{"welcome.png"}) {
		t.Errorf("ls shows %q, want only welcome.png", out)
	}

	if err := m.stop(); err != nil {
		t.Fatalf("stopping ghlfs: %v", err)
	}
	// Make room, and mount again on the same cache dir.
	sh(t, "mount", "-o", "remount,size=64m", cacheDir)
	m2 := mountFS(t, srv, mountOpt{cacheDir: cacheDir})
	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, cacheDir)) == 0 })
	checkLibrary("after the restart")
	sh(t, "cmp", origCopy, m2.path("welcome.png"))

	// The fragment was kept aside, once, and one log line says where. (The
	// small cp's file is kept there as well if any of its bytes were
	// written before the disk was full; an empty one is not kept.)
	rec, err := os.ReadDir(filepath.Join(cacheDir, "recovered"))
	if err != nil {
		t.Fatalf("no recovered/ in the cache dir: %v", err)
	}
	var kept []string
	for _, e := range rec {
		if strings.HasSuffix(e.Name(), "welcome.png") {
			kept = append(kept, e.Name())
		} else if !strings.HasSuffix(e.Name(), "small.txt") {
			t.Errorf("recovered/ holds %s, a file the test never wrote", e.Name())
		}
	}
	if len(kept) != 1 {
		t.Fatalf("recovered/ holds %d fragments of welcome.png, want 1: %v", len(kept), rec)
	}
	fragPath := filepath.Join(cacheDir, "recovered", kept[0])
	frag := readFile(t, fragPath)
	if len(frag) == 0 || len(frag) >= len(big) || !bytes.Equal(frag, big[:len(frag)]) {
		t.Errorf("recovered/ holds %d bytes, want a proper prefix of the 6 MB copy", len(frag))
	}
	logs := m.log.String() + m2.log.String()
	if said := logLines(logs, "welcome.png", fragPath); len(said) != 1 {
		t.Errorf("%d log lines name welcome.png and %s, want 1:\n%s", len(said), fragPath, strings.Join(said, "\n"))
	}

	// With room again, the same tools work.
	sh(t, "cp", smallSrc, m2.path("small.txt"))
	if got := wbActive(srv, "small.txt"); len(got) != 1 {
		t.Errorf("small.txt: %d active copies in the library after cp, want 1:%s", len(got), wbItems(srv))
	} else if data, _ := srv.Content(got[0].ID); !bytes.Equal(data, small) {
		t.Errorf("small.txt in the library holds %q", data)
	}
	sh(t, "cp", bigSrc, m2.path("welcome.png"))
	waitFor(t, "the original to go to the trash", func() bool {
		it, _ := srv.Item(origID)
		return it.Status == ghltest.StatusTrashed && len(spoolFiles(t, cacheDir)) == 0
	})
	if got := wbActive(srv, "welcome.png"); len(got) != 1 {
		t.Errorf("welcome.png: %d active copies, want 1:%s", len(got), wbItems(srv))
	} else if data, _ := srv.Content(got[0].ID); !bytes.Equal(data, big) {
		t.Errorf("welcome.png in the library holds %d bytes, want the 6 MB copy", len(data))
	}
	sh(t, "cmp", bigSrc, m2.path("welcome.png"))
}

// checkShownOnce checks that the mount's root holds only name, with the
// bytes want, whichever way it is read.
func checkShownOnce(t *testing.T, m *mount, name string, want []byte) {
	t.Helper()
	if got := wbStdout(t, "cat", m.path(name)); !bytes.Equal(got, want) {
		t.Errorf("cat %s: %q, want %q", name, got, want)
	}
	if got := wbStdout(t, "dd", "if="+m.path(name), "iflag=direct", "bs=4096", "status=none"); !bytes.Equal(got, want) {
		t.Errorf("dd iflag=direct %s: %q, want %q", name, got, want)
	}
	wbDropCaches(t)
	if got := wbStdout(t, "cat", m.path(name)); !bytes.Equal(got, want) {
		t.Errorf("cat %s after dropping the kernel's caches: %q, want %q", name, got, want)
	}
	if got := strings.TrimSpace(sh(t, "stat", "-c", "%s", m.path(name))); got != itoa(int64(len(want))) {
		t.Errorf("stat %s: %s bytes, want %d", name, got, len(want))
	}
	if got := lines(sh(t, "ls", "-A", m.dir)); !slices.Equal(got, []string{name}) {
		t.Errorf("ls shows %q, want only %s", got, name)
	}
}

// checkShownAfterListing runs ls until ghlfs has listed the root afresh
// (its listing is trusted for --dir-cache-time), checking every ls on the
// way, and then checks the mount once more on that fresh listing.
func checkShownAfterListing(t *testing.T, srv *ghltest.Server, m *mount, name string, want []byte) {
	t.Helper()
	before := getStats(t, srv).ByEndpoint[ghltest.EndpointList]
	waitFor(t, "ghlfs to list the root again", func() bool {
		if got := lines(sh(t, "ls", "-A", m.dir)); !slices.Equal(got, []string{name}) {
			t.Fatalf("ls shows %q, want only %s", got, name)
		}
		return getStats(t, srv).ByEndpoint[ghltest.EndpointList] > before
	})
	checkShownOnce(t, m, name, want)
}

// TestTrashFailureAfterReplace: a replace is finished by the queue. The new
// copy owns the name once it landed; the old one goes to the trash when
// the API lets it, also across a restart, and the mount never shows it
// meanwhile, under any name.
func TestTrashFailureAfterReplace(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	oldBytes := []byte("old\n")
	oldID := srv.AddFile("", "README.txt", "text/plain", oldBytes)
	args := []string{"--dir-cache-time", "1s", "--upload-retry", "200ms", "--unmount-grace", "1s"}
	m := mountFS(t, srv, mountOpt{args: args})

	srv.SetFaults(ghltest.Faults{FailDeletes: true})
	newBytes := []byte("new content, longer than the old\n")
	src := filepath.Join(t.TempDir(), "README.txt")
	writeFile(t, src, newBytes)
	sh(t, "cp", src, m.path("README.txt")) // write-back delay 0: returns once uploaded

	// The library holds both copies, active: the old one could not go.
	active := wbActive(srv, "README.txt")
	if len(active) != 2 || active[0].ID != oldID {
		t.Fatalf("with deletes failing, the library holds %d active README.txt, want the old and the new:%s", len(active), wbItems(srv))
	}
	newID := active[1].ID
	if data, _ := srv.Content(newID); !bytes.Equal(data, newBytes) {
		t.Fatalf("the new copy holds %q", data)
	}
	checkShownOnce(t, m, "README.txt", newBytes)
	checkShownAfterListing(t, srv, m, "README.txt", newBytes)

	srv.SetFaults(ghltest.Faults{})
	waitFor(t, "the old copy to go to the trash and the spool to empty", func() bool {
		it, _ := srv.Item(oldID)
		return it.Status == ghltest.StatusTrashed && len(spoolFiles(t, m.cacheDir)) == 0
	})
	if active := wbActive(srv, "README.txt"); len(active) != 1 || active[0].ID != newID {
		t.Fatalf("once deletes work, the library holds %d active README.txt, want the new one (%s):%s", len(active), newID, wbItems(srv))
	}
	checkShownOnce(t, m, "README.txt", newBytes)
	checkShownAfterListing(t, srv, m, "README.txt", newBytes)

	// The same across a restart: ghlfs stops while the replaced copy is
	// still in the library, and mounts again while deletes still fail.
	srv.SetFaults(ghltest.Faults{FailDeletes: true})
	newer := []byte("newer content, replaced again\n")
	writeFile(t, src, newer)
	sh(t, "cp", src, m.path("README.txt"))
	active = wbActive(srv, "README.txt")
	if len(active) != 2 || active[0].ID != newID {
		t.Fatalf("with deletes failing, the library holds %d active README.txt, want the new and the newer:%s", len(active), wbItems(srv))
	}
	newerID := active[1].ID
	if err := m.stop(); err != nil {
		t.Fatalf("stopping ghlfs: %v", err)
	}
	if it, _ := srv.Item(newID); it.Status != ghltest.StatusActive {
		t.Fatalf("the replaced copy is %s although deletes fail", it.Status)
	}
	if len(spoolFiles(t, m.cacheDir)) != 1 {
		t.Fatalf("the spool holds %v after the stop, want the one record whose old copy is to be trashed", spoolFiles(t, m.cacheDir))
	}
	m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir, args: args})
	checkShownOnce(t, m2, "README.txt", newer)
	checkShownAfterListing(t, srv, m2, "README.txt", newer)
	srv.SetFaults(ghltest.Faults{})
	waitFor(t, "the replaced copy to go to the trash and the spool to empty", func() bool {
		it, _ := srv.Item(newID)
		return it.Status == ghltest.StatusTrashed && len(spoolFiles(t, m2.cacheDir)) == 0
	})
	if active := wbActive(srv, "README.txt"); len(active) != 1 || active[0].ID != newerID {
		t.Fatalf("after the restart, the library holds %d active README.txt, want the newer one (%s):%s", len(active), newerID, wbItems(srv))
	}
	if data, _ := srv.Content(newerID); !bytes.Equal(data, newer) {
		t.Fatalf("the newer copy holds %q", data)
	}
	if n := wbUploads(t, srv); n != 2 {
		t.Errorf("%d upload calls, want 2 (one per cp)", n)
	}
	checkShownAfterListing(t, srv, m2, "README.txt", newer)
}

// TestWrongLocationCacheDir: a cache dir belongs to one location. Mounting
// another location on one that holds pending files is refused, nothing is
// uploaded there, and the files still go to their own library.
func TestWrongLocationCacheDir(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--unmount-grace", "1s"}})
	srv.SetFaults(ghltest.Faults{RejectUploads: true})
	data := []byte("for loc-integration only\n")
	src := filepath.Join(t.TempDir(), "pending.txt")
	writeFile(t, src, data)
	// Write-back delay 0: close reports the rejected upload; the bytes stay
	// queued.
	if out, err := shErr("cp", src, m.path("pending.txt")); err == nil || !strings.Contains(out, "Input/output error") {
		t.Fatalf("cp with uploads rejected: err %v, output %q; want Input/output error", err, out)
	}
	if err := m.stop(); err != nil {
		t.Fatalf("stopping ghlfs: %v", err)
	}
	if got := spoolFiles(t, m.cacheDir); len(got) != 1 {
		t.Fatalf("after the stop the spool holds %v, want the one pending file", got)
	}
	// (TestUnmountUploadsWhatIsDue holds the retries during the unmount
	// grace to their backoff; here the count is only reported.)
	t.Logf("%d rejected upload calls for one file, before and during the 1s unmount grace", wbUploads(t, srv))

	// Another location, served by another fake, on the same cache dir.
	other := fake(t, ghltest.Options{LocationID: "other-location"})
	mp := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "ghlfs"), "mount", "--location", "other-location", "--api-url", other.URL,
		"--cache-dir", m.cacheDir, "--log-level", "debug", "--rate-limit", "0", "--write-back-delay", "0", mp)
	cmd.Env = append(os.Environ(), "GHL_TOKEN="+testToken, "XDG_CONFIG_HOME="+t.TempDir())
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		syscall.Unmount(mp, syscall.MNT_DETACH)
		t.Fatalf("ghlfs for another location on this cache dir did not exit within 30s:\n%s", stderr.String())
	}
	if isMounted(mp) {
		syscall.Unmount(mp, syscall.MNT_DETACH)
		t.Errorf("ghlfs mounted another location on a cache dir holding pending files")
	}
	var exitErr *exec.ExitError
	if err == nil || !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
		t.Errorf("ghlfs for another location exited with %v, want a failure", err)
	}
	msg := stderr.String()
	t.Logf("ghlfs for another location said:\n%s", msg)
	for _, want := range []string{m.cacheDir, "pending.txt", testLocation} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal does not name %q:\n%s", want, msg)
		}
	}
	if n := wbUploads(t, other); n != 0 {
		t.Errorf("the other location received %d upload calls:%s", n, wbItems(other))
	}
	if items := other.Items(); len(items) != 0 {
		t.Errorf("the other location's library changed:%s", wbItems(other))
	}
	if got := spoolFiles(t, m.cacheDir); len(got) != 1 {
		t.Fatalf("after the refusal the spool holds %v, want the one pending file", got)
	}

	// Its own location, uploads allowed again: it goes up there.
	srv.SetFaults(ghltest.Faults{})
	m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir})
	rf := waitRemote(t, srv, "pending.txt")
	if got := download(t, rf.URL); !bytes.Equal(got, data) {
		t.Errorf("pending.txt in the library holds %q, want %q", got, data)
	}
	waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m2.cacheDir)) == 0 })
	if got := wbActive(srv, "pending.txt"); len(got) != 1 {
		t.Errorf("%d active pending.txt in the library, want 1:%s", len(got), wbItems(srv))
	}
	if n := wbUploads(t, other); n != 0 {
		t.Errorf("the other location received %d upload calls", n)
	}
}

// checkUnlinkedOpen drives an open descriptor of a file that is removed
// while open: it keeps reading and writing its bytes, fstat says nlink 0,
// and the name is gone. f holds want at the call; it is closed on return.
func checkUnlinkedOpen(t *testing.T, m *mount, f *os.File, name string, want []byte) {
	t.Helper()
	if err := os.Remove(m.path(name)); err != nil {
		t.Fatalf("rm of %s while open: %v", name, err)
	}
	readAll := func(when string, want []byte) {
		t.Helper()
		buf := make([]byte, 4096)
		n, err := f.ReadAt(buf, 0)
		if err != nil && err != io.EOF {
			t.Fatalf("%s: pread: %v", when, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Errorf("%s: the open descriptor reads %q, want %q", when, buf[:n], want)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatalf("%s: fstat: %v", when, err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Nlink != 0 {
			t.Errorf("%s: fstat says nlink %d, want 0", when, st.Nlink)
		}
		if fi.Size() != int64(len(want)) {
			t.Errorf("%s: fstat says %d bytes, want %d", when, fi.Size(), len(want))
		}
	}
	readAll("after rm", want)
	if got := lines(sh(t, "ls", "-A", m.dir)); slices.Contains(got, name) {
		t.Errorf("ls still shows %s after rm: %q", name, got)
	}
	if _, err := os.Stat(m.path(name)); !os.IsNotExist(err) {
		t.Errorf("stat %s after rm: %v, want no such file", name, err)
	}
	more := []byte(" and more after rm")
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(more); err != nil {
		t.Fatalf("write after rm: %v", err)
	}
	readAll("after a write after rm", append(slices.Clone(want), more...))
	if err := f.Close(); err != nil {
		t.Errorf("close after rm: %v", err)
	}
}

// TestUnlinkedOpenFileKeepsItsBytes: rm of a file still open, as on a disk:
// its descriptors keep their bytes, fstat says nlink 0, nothing is
// uploaded, and the queue frees them at the last close.
func TestUnlinkedOpenFileKeepsItsBytes(t *testing.T) {
	t.Parallel()
	t.Run("existing", func(t *testing.T) {
		srv := fake(t, ghltest.Options{})
		id := srv.AddFile("", "a.txt", "text/plain", []byte("remote content"))
		// Not uploads at close: a parallel test's fork while f is open
		// gives its child a copy of f, closed at the child's exec, and
		// that close is a flush, which would upload what f wrote so far.
		m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "5s"}})
		f, err := os.OpenFile(m.path("a.txt"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte("Hello"), 0); err != nil {
			t.Fatalf("pwrite: %v", err)
		}
		checkUnlinkedOpen(t, m, f, "a.txt", []byte("Helloe content"))
		waitFor(t, "a.txt to go to the trash and the spool to empty", func() bool {
			it, _ := srv.Item(id)
			return it.Status == ghltest.StatusTrashed && wbSpoolEmpty(t, m.cacheDir)
		})
		if err := m.stop(); err != nil { // what is due would go up now
			t.Fatalf("stopping ghlfs: %v", err)
		}
		if n := wbUploads(t, srv); n != 0 {
			t.Errorf("%d upload calls, want none:%s", n, wbItems(srv))
		}
		if items := srv.Items(); len(items) != 1 || items[0].ID != id || items[0].Status != ghltest.StatusTrashed {
			t.Errorf("the library should hold only a.txt, trashed:%s", wbItems(srv))
		}
		if data, _ := srv.Content(id); string(data) != "remote content" {
			t.Errorf("a.txt in the trash holds %q", data)
		}
	})
	t.Run("new", func(t *testing.T) {
		srv := fake(t, ghltest.Options{})
		m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "5s"}})
		f, err := os.OpenFile(m.path("new.txt"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write([]byte("brand new bytes")); err != nil {
			t.Fatalf("write: %v", err)
		}
		checkUnlinkedOpen(t, m, f, "new.txt", []byte("brand new bytes"))
		waitFor(t, "the spool to empty", func() bool { return wbSpoolEmpty(t, m.cacheDir) })
		if err := m.stop(); err != nil { // what is due would go up now
			t.Fatalf("stopping ghlfs: %v", err)
		}
		if said := logLines(m.log.String(), "msg=unmounted", "pending_uploads=0"); len(said) != 1 {
			t.Errorf("want one log line saying it unmounted with pending_uploads=0, got %q", said)
		}
		if n := wbUploads(t, srv); n != 0 {
			t.Errorf("%d upload calls, want none:%s", n, wbItems(srv))
		}
		if items := srv.Items(); len(items) != 0 {
			t.Errorf("the library should be empty:%s", wbItems(srv))
		}
	})
}

// checkSavedOnce checks that name was uploaded once, under its own name and
// content type, holds want, and that the copy it replaced (oldID) is in
// the trash; no item ever carried the temporary name tmp.
func checkSavedOnce(t *testing.T, srv *ghltest.Server, name, tmp, oldID string, want []byte, ctype, ext string) {
	t.Helper()
	all := wbNamed(srv, name)
	if len(all) != 2 || all[0].ID != oldID {
		t.Fatalf("%s: want the original and one upload in the library:%s", name, wbItems(srv))
	}
	it := all[1]
	if it.Status != ghltest.StatusActive {
		t.Errorf("%s: the upload is %s", name, it.Status)
	}
	if data, _ := srv.Content(it.ID); !bytes.Equal(data, want) {
		t.Errorf("%s: the upload holds %q, want %q", name, data, want)
	}
	if !strings.HasPrefix(it.ContentType, ctype) {
		t.Errorf("%s: uploaded as %q, want %s", name, it.ContentType, ctype)
	}
	if !strings.HasSuffix(it.URL, ext) {
		t.Errorf("%s: served from %s, want a URL ending in %s", name, it.URL, ext)
	}
	// As another client of the API sees it.
	if rf := remoteTree(t, srv)[name]; rf.ID != it.ID || !strings.HasSuffix(rf.URL, ext) {
		t.Errorf("%s: the API lists %+v, want %s with a URL ending in %s", name, rf, it.ID, ext)
	}
	if old, _ := srv.Item(oldID); old.Status != ghltest.StatusTrashed {
		t.Errorf("%s: the original is %s, want trashed", name, old.Status)
	}
	if got := wbNamed(srv, tmp); len(got) != 0 {
		t.Errorf("%d items named %s reached the library:%s", len(got), tmp, wbItems(srv))
	}
}

// TestEditorSaveUploadsOnceUnderFinalName: saving through a temporary name
// (vim's swap-then-rename, atomic-save libraries) uploads once, under the
// final name and its content type.
func TestEditorSaveUploadsOnceUnderFinalName(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	oldNotes := srv.AddFile("", "notes.md", "text/markdown", []byte("# old notes\n"))
	oldPhoto := srv.AddFile("", "photo.png", "image/png", randomBytes(20_000, 501))
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "2s"}})

	notes := []byte("# notes\n\nsaved through a swap file\n")
	sh(t, "sh", "-c", `printf '# notes\n\nsaved through a swap file\n' > "$1/.notes.md.swp" && mv "$1/.notes.md.swp" "$1/notes.md"`, "sh", m.dir)
	if got := readFile(t, m.path("notes.md")); !bytes.Equal(got, notes) {
		t.Errorf("the mount shows notes.md as %q", got)
	}
	waitFor(t, "notes.md to be uploaded and the spool to empty", func() bool {
		for _, it := range wbActive(srv, "notes.md") {
			if data, _ := srv.Content(it.ID); bytes.Equal(data, notes) {
				return len(spoolFiles(t, m.cacheDir)) == 0
			}
		}
		return false
	})
	if n := wbUploads(t, srv); n != 1 {
		t.Errorf("%d upload calls for one save, want 1:%s", n, wbItems(srv))
	}
	checkSavedOnce(t, srv, "notes.md", ".notes.md.swp", oldNotes, notes, "text/markdown", ".md")

	photo := randomBytes(40_000, 502)
	src := filepath.Join(t.TempDir(), "photo.png")
	writeFile(t, src, photo)
	sh(t, "sh", "-c", `cat "$2" > "$1/.photo.png.tmp" && mv "$1/.photo.png.tmp" "$1/photo.png"`, "sh", m.dir, src)
	waitFor(t, "photo.png to be uploaded and the spool to empty", func() bool {
		for _, it := range wbActive(srv, "photo.png") {
			if data, _ := srv.Content(it.ID); bytes.Equal(data, photo) {
				return len(spoolFiles(t, m.cacheDir)) == 0
			}
		}
		return false
	})
	if n := wbUploads(t, srv); n != 2 {
		t.Errorf("%d upload calls for two saves, want 2:%s", n, wbItems(srv))
	}
	checkSavedOnce(t, srv, "photo.png", ".photo.png.tmp", oldPhoto, photo, "image/png", ".png")

	if got := lines(sh(t, "ls", "-A", m.dir)); !slices.Equal(got, []string{"notes.md", "photo.png"}) {
		t.Errorf("ls shows %q, want notes.md and photo.png", got)
	}
	sh(t, "cmp", src, m.path("photo.png"))
}

// TestUnmountUploadsWhatIsDue: unmounting uploads what is due, ignoring the
// write-back delay, within --unmount-grace, and logs how many files still
// wait; those go up at the next mount.
func TestUnmountUploadsWhatIsDue(t *testing.T) {
	t.Parallel()
	const files = 20
	src := t.TempDir()
	want := map[string][]byte{}
	for i := range files {
		name := fmt.Sprintf("f%02d.txt", i)
		want[name] = []byte(fmt.Sprintf("file %d of %d, written before the unmount\n", i, files))
		writeFile(t, filepath.Join(src, name), want[name])
	}
	// checkUploaded checks that the library's batch folder holds exactly
	// the files, once each.
	checkUploaded := func(t *testing.T, srv *ghltest.Server) {
		t.Helper()
		tree := remoteTree(t, srv)
		for name, data := range want {
			rf, ok := tree["batch/"+name]
			if !ok {
				t.Errorf("batch/%s is not in the library", name)
				continue
			}
			if got := download(t, rf.URL); !bytes.Equal(got, data) {
				t.Errorf("batch/%s holds %q, want %q", name, got, data)
			}
		}
		if len(tree) != files+1 {
			t.Errorf("the library holds %d items, want the folder and %d files: %v", len(tree), files, tree)
		}
	}

	t.Run("uploads-work", func(t *testing.T) {
		srv := fake(t, ghltest.Options{})
		m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "30s"}})
		sh(t, "mkdir", m.path("batch"))
		sh(t, "cp", "-r", src+"/.", m.path("batch"))
		if n := wbUploads(t, srv); n != 0 {
			t.Fatalf("%d uploads within the 30s write-back delay", n)
		}
		if tree := remoteTree(t, srv); len(tree) != 1 {
			t.Fatalf("the library holds more than the folder before the unmount: %v", tree)
		}
		if got := spoolFiles(t, m.cacheDir); len(got) != files {
			t.Fatalf("the spool holds %d records, want %d", len(got), files)
		}
		// 20 small uploads on loopback take well under a second; the default
		// --unmount-grace (1m) is longer than the harness waits.
		wbStop(t, srv, m, 20*time.Second)
		checkUploaded(t, srv)
		if n := wbUploads(t, srv); n != files {
			t.Errorf("%d upload calls, want %d", n, files)
		}
		if !wbSpoolEmpty(t, m.cacheDir) {
			t.Errorf("the spool still holds %v", spoolFiles(t, m.cacheDir))
		}
		if said := logLines(m.log.String(), "msg=unmounted", "pending_uploads=0"); len(said) != 1 {
			t.Errorf("want one log line saying it unmounted with pending_uploads=0, got %q", said)
		}
	})

	t.Run("uploads-rejected", func(t *testing.T) {
		srv := fake(t, ghltest.Options{})
		const grace = 2 * time.Second
		// A write-back delay long enough that nothing is tried before the
		// SIGTERM, short enough that the next mount, which keeps the due
		// time each file got at its close, does not make the test wait long.
		args := []string{"--write-back-delay", "5s", "--unmount-grace", grace.String()}
		m := mountFS(t, srv, mountOpt{args: args})
		srv.SetFaults(ghltest.Faults{RejectUploads: true})
		sh(t, "mkdir", m.path("batch"))
		sh(t, "cp", "-r", src+"/.", m.path("batch"))
		start := time.Now()
		m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.exited:
		case <-time.After(grace + 10*time.Second):
			t.Fatalf("ghlfs still running %v after SIGTERM, with an unmount grace of %v", time.Since(start), grace)
		}
		// Once every file has been tried and refused, waiting out their
		// retries would only delay the exit: ghlfs stops early, within the
		// grace at most.
		took := time.Since(start)
		if took > grace+5*time.Second {
			t.Errorf("ghlfs exited %v after SIGTERM; want the grace (%v) and a few seconds at most", took, grace)
		}
		if n := wbUploads(t, srv); n < files {
			t.Errorf("only %d upload calls for %d files before the exit: each is tried once at unmount", n, files)
		}
		if m.exitErr != nil {
			t.Errorf("ghlfs exited with %v", m.exitErr)
		}
		if isMounted(m.dir) {
			t.Errorf("%s still mounted", m.dir)
		}
		log := m.log.String()
		if said := logLines(log, fmt.Sprintf("unmounted with %d files whose changes still wait", files), fmt.Sprintf("pending_uploads=%d", files), m.cacheDir); len(said) != 1 {
			t.Errorf("want one log line saying %d files still wait, in %s; got %q", files, m.cacheDir, said)
		}
		if got := wbNamed(srv, "f00.txt"); len(got) != 0 {
			t.Fatalf("a rejected upload reached the library:%s", wbItems(srv))
		}
		if got := spoolFiles(t, m.cacheDir); len(got) != files {
			t.Fatalf("the spool holds %d records after the stop, want %d", len(got), files)
		}
		// The unmount sends what is due at once, but a failed upload is
		// retried "with growing waits" (--upload-retry, 30s by default, is
		// the first): within a 2s grace, each file goes up once, maybe
		// twice, never in a loop that re-sends its bytes as fast as the API
		// answers. Three tries a file is the most that respects that.
		attempts := wbUploads(t, srv)
		errLines := len(logLines(log, "level=ERROR", "File upload rejected"))
		if attempts > 3*files {
			t.Errorf("%d upload calls for %d files within the %v unmount grace (%d ERROR lines logged for them), want at most %d: failed uploads are retried without backoff while unmounting",
				attempts, files, grace, errLines, 3*files)
		}

		srv.SetFaults(ghltest.Faults{})
		m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir, args: args})
		// It says what it found (the count at "mounted" may be lower: the
		// uploads start at once).
		if n := len(logLines(m2.log.String(), "found a file waiting for upload")); n != files {
			t.Errorf("the next mount says it found %d files waiting, want %d", n, files)
		}
		waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m2.cacheDir)) == 0 })
		checkUploaded(t, srv)
		if got := attempts + files; wbUploads(t, srv) != got {
			t.Errorf("%d upload calls, want %d rejected and %d that landed", wbUploads(t, srv), attempts, files)
		}
	})
}

// TestWriteBackDelayCoalesces: a file written again and again within the
// write-back delay is uploaded once, with its final bytes.
func TestWriteBackDelayCoalesces(t *testing.T) {
	t.Parallel()
	const delay = 3 * time.Second
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", delay.String()}})
	p := m.path("log.txt")
	want := "first\n"
	closes := []time.Time{}
	sh(t, "sh", "-c", `echo first > "$1"`, "sh", p)
	closes = append(closes, time.Now())
	for i := range 5 {
		line := fmt.Sprintf("append %d", i)
		sh(t, "sh", "-c", `echo "$2" >> "$1"`, "sh", p, line)
		closes = append(closes, time.Now())
		want += line + "\n"
	}
	if got := string(readFile(t, p)); got != want {
		t.Errorf("the mount shows %q, want %q", got, want)
	}
	waitFor(t, "log.txt to be uploaded and the spool to empty", func() bool {
		return len(wbActive(srv, "log.txt")) > 0 && len(spoolFiles(t, m.cacheDir)) == 0
	})
	// Each close restarts the delay, so the file is quiet for the whole
	// delay only after the last append: one upload. A close that came more
	// than the delay after the one before it (a machine too slow to start
	// sh within 3s) lets an upload happen in between, legitimately: allow
	// one more upload for each such gap, and say so.
	allowed := 1
	for i := 1; i < len(closes); i++ {
		if gap := closes[i].Sub(closes[i-1]); gap >= delay {
			t.Logf("write %d came %v after the one before it, longer than the %v delay", i, gap, delay)
			allowed++
		}
	}
	if err := m.stop(); err != nil { // whatever is still due goes up now
		t.Fatalf("stopping ghlfs: %v", err)
	}
	n := wbUploads(t, srv)
	if n < 1 || n > allowed {
		t.Errorf("%d upload calls for 6 writes within the delay, want %d:%s", n, allowed, wbItems(srv))
	}
	active := wbActive(srv, "log.txt")
	if len(active) != 1 {
		t.Fatalf("%d active log.txt in the library, want 1:%s", len(active), wbItems(srv))
	}
	if data, _ := srv.Content(active[0].ID); string(data) != want {
		t.Errorf("the library holds %q, want %q", data, want)
	}
	if got := wbNamed(srv, "log.txt"); len(got) != n {
		t.Errorf("%d items named log.txt for %d uploads:%s", len(got), n, wbItems(srv))
	}
}

// TestSignalsDoNotFailClose: a signal to a tool while its close waits for
// the upload (--write-back-delay 0) interrupts the FUSE request; ghlfs
// lets the upload finish and close report its result, rather than EINTR
// for bytes it goes on to upload anyway. GNU dd prints its progress on
// SIGUSR1, so the signals reach it through a handler, as a Go program's
// own runtime signals reach it.
func TestSignalsDoNotFailClose(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	srv.SetFaults(ghltest.Faults{UploadDelay: ghltest.Duration(700 * time.Millisecond)})
	src := filepath.Join(t.TempDir(), "clip.bin")
	data := randomBytes(3<<20, 77)
	writeFile(t, src, data)
	cmd := exec.Command("dd", "if="+src, "of="+m.path("clip.bin"), "bs=1M", "status=none")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	signals := 0
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-time.After(20 * time.Millisecond):
			cmd.Process.Signal(syscall.SIGUSR1)
			signals++
		}
	}
	if err != nil {
		t.Fatalf("dd, signalled %d times: %v\n%s", signals, err, out.String())
	}
	if signals < 10 {
		t.Fatalf("only %d signals reached dd while it ran", signals)
	}
	got := wbActive(srv, "clip.bin")
	if len(got) != 1 {
		t.Fatalf("%d active copies of clip.bin:%s", len(got), wbItems(srv))
	}
	if b, _ := srv.Content(got[0].ID); !bytes.Equal(b, data) {
		t.Errorf("the library holds %d bytes, want %d", len(b), len(data))
	}
}

// TestDescriptorOutlivesRenameAndRemove: a descriptor opened before the
// file was renamed or removed writes to the file as it is now: under its
// new name, or, once removed, to bytes of its own that are never uploaded
// (as on a disk).
func TestDescriptorOutlivesRenameAndRemove(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	srv.AddFile("", "a.txt", "text/plain", []byte("original a"))
	srv.AddFile("", "ctrue.txt", "text/plain", []byte("original c"))
	srv.AddFile("", "cfalse.txt", "text/plain", []byte("original c"))
	srv.AddFile("", "B.txt", "text/plain", []byte("original B"))
	srv.AddFile("", "A.txt", "text/plain", []byte("original A"))
	m := mountFS(t, srv, mountOpt{})

	// Renamed while open, then written.
	f, err := os.OpenFile(m.path("a.txt"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	sh(t, "mv", m.path("a.txt"), m.path("b.txt"))
	if _, err := f.WriteAt([]byte("NEW"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// Removed while open, then written: the descriptor writes to bytes
	// of its own, a copy of what it had read; a file it had not read
	// cannot be copied any more (the storage host stops serving a file
	// removed): EIO, and the file does not come back either way.
	for _, read := range []bool{true, false} {
		name := fmt.Sprintf("c%v.txt", read)
		g, err := os.OpenFile(m.path(name), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if read {
			io.ReadAll(g)
		}
		sh(t, "rm", m.path(name))
		_, err = g.WriteAt([]byte("lost"), 0)
		switch {
		case read && err != nil:
			t.Errorf("%s: a write after rm: %v", name, err)
		case read:
			b := make([]byte, 10)
			if n, _ := g.ReadAt(b, 0); string(b[:n]) != "lostinal c" {
				t.Errorf("%s: the removed file's descriptor reads %q", name, b[:n])
			}
		case !isErrno(err, syscall.EIO):
			t.Errorf("%s: a write after rm of a file never read: %v, want EIO", name, err)
		}
		g.Close()
	}

	// Replaced by a rename while open, then written.
	h, err := os.OpenFile(m.path("B.txt"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	io.ReadAll(h)
	sh(t, "mv", m.path("A.txt"), m.path("B.txt"))
	if _, err := h.WriteAt([]byte("gone"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	want := map[string]string{"b.txt": "NEWginal a", "B.txt": "original A"}
	lib := map[string]string{}
	for _, it := range srv.Items() {
		if it.Status == ghltest.StatusActive {
			if _, dup := lib[it.Name]; dup {
				t.Errorf("two %s in the library:%s", it.Name, wbItems(srv))
			}
			b, _ := srv.Content(it.ID)
			lib[it.Name] = string(b)
		}
	}
	if len(lib) != len(want) || lib["b.txt"] != want["b.txt"] || lib["B.txt"] != want["B.txt"] {
		t.Errorf("the library holds %q, want %q%s", lib, want, wbItems(srv))
	}
	if got := lines(sh(t, "ls", m.dir)); !slices.Equal(got, []string{"B.txt", "b.txt"}) {
		t.Errorf("ls shows %q", got)
	}
}

// TestRenameOverAFileBeingUploaded: an editor's second save through a
// temporary name, while the first is still being uploaded: the name ends
// with the second save's bytes, once; the first upload goes to the trash.
func TestRenameOverAFileBeingUploaded(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	srv.SetFaults(ghltest.Faults{UploadDelay: ghltest.Duration(500 * time.Millisecond)})
	first := filepath.Join(t.TempDir(), "first")
	writeFile(t, first, []byte("first save"))
	cp := startCmd(t, "cp", first, m.path("notes.md"))
	waitFor(t, "the first upload to begin", func() bool { return wbUploads(t, srv) > 0 })
	srv.SetFaults(ghltest.Faults{})
	writeFile(t, m.path(".notes.md.tmp"), []byte("second save"))
	sh(t, "mv", m.path(".notes.md.tmp"), m.path("notes.md"))
	if err := cp.Wait(); err != nil {
		t.Fatalf("the first save: %v", err)
	}
	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	got := wbActive(srv, "notes.md")
	if len(got) != 1 {
		t.Fatalf("%d active notes.md:%s", len(got), wbItems(srv))
	}
	if b, _ := srv.Content(got[0].ID); string(b) != "second save" {
		t.Errorf("notes.md holds %q", b)
	}
	if n := len(wbActive(srv, ".notes.md.tmp")); n != 0 {
		t.Errorf("%d .notes.md.tmp in the library", n)
	}
	if got := string(readFile(t, m.path("notes.md"))); got != "second save" {
		t.Errorf("the mount shows %q", got)
	}
}

// Spare files (--spare-files: empty spool files made ahead for new files)
// are never uploaded and never outlive the mount: a clean unmount removes
// them; after kill -9 the next mount does, and the files written before
// the kill are the only ones that reach the library.
func TestSpareFilesLeaveNoTrace(t *testing.T) {
	srv := fake(t, ghltest.Options{})
	spares := func(m *mount) int { return spareFiles(m.cacheDir) }
	m := mountFS(t, srv, mountOpt{args: []string{"--spare-files", "16", "--write-back-delay", "1h"}})
	waitFor(t, "16 spare files", func() bool { return spares(m) == 16 })
	for i := range 40 { // more than the pool holds: some creates make their own
		writeFile(t, m.path(fmt.Sprintf("f%02d.txt", i)), []byte(fmt.Sprint("file ", i)))
	}
	if got := len(spoolFiles(t, m.cacheDir)); got != 40 {
		t.Fatalf("%d records in the spool, want 40", got)
	}
	// Taken, they are made again once the creates pause.
	waitFor(t, "the spare files made again", func() bool { return spares(m) == 16 })
	m.kill()
	if n := spares(m); n == 0 {
		t.Fatal("kill -9 left no spare files: the test proves nothing")
	}
	m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir, args: []string{"--spare-files", "16"}})
	if err := m2.stop(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(m.cacheDir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("after the unmount the spool holds %v", names)
	}
	items := srv.Items()
	if len(items) != 40 {
		t.Fatalf("the library holds %d items, want the 40 files:%s", len(items), wbItems(srv))
	}
	for _, it := range items {
		var i int
		if _, err := fmt.Sscanf(it.Name, "f%02d.txt", &i); err != nil {
			t.Fatalf("unexpected item %q", it.Name)
		}
		if data, _ := srv.Content(it.ID); string(data) != fmt.Sprint("file ", i) {
			t.Errorf("%s holds %q", it.Name, data)
		}
	}
}
