package integration

import (
	"bytes"
	"fmt"
	"math/rand/v2"
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

// makeTree writes n files of varied sizes in nested folders under dir.
func makeTree(t testing.TB, dir string, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < n; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%d", i%7), fmt.Sprintf("e%d", i%3))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, rng.IntN(40000))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		writeFile(t, filepath.Join(sub, fmt.Sprintf("f%03d.bin", i)), data)
	}
}

// checkRemoteMatches compares a local tree with the fake's library under
// prefix, through the API and direct downloads.
func checkRemoteMatches(t *testing.T, srv *ghltest.Server, local, prefix string) {
	t.Helper()
	tree := remoteTree(t, srv)
	n := 0
	err := filepath.Walk(local, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == local {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		rf, ok := tree[filepath.Join(prefix, rel)]
		if !ok {
			t.Errorf("%s: not in the library", rel)
			return nil
		}
		if fi.IsDir() != (rf.Type == "folder") {
			t.Errorf("%s: type %s", rel, rf.Type)
		}
		if !fi.IsDir() {
			n++
			if got := download(t, rf.URL); !bytes.Equal(got, readFile(t, p)) {
				t.Errorf("%s: the library holds other bytes", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing more than the local tree under prefix.
	for p, rf := range tree {
		if rel, ok := strings.CutPrefix(p, prefix+"/"); ok {
			if _, err := os.Lstat(filepath.Join(local, rel)); err != nil {
				t.Errorf("%s (%s): in the library, not in the local tree", p, rf.ID)
			}
		}
	}
	if n == 0 {
		t.Fatal("compared no file")
	}
}

func TestMkdirAndCopyTreeIn(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})

	sh(t, "mkdir", "-p", m.path("a/b/c"))
	tree := remoteTree(t, srv)
	for _, p := range []string{"a", "a/b", "a/b/c"} {
		if tree[p].Type != "folder" {
			t.Fatalf("%s: not a folder in the library: %+v", p, tree[p])
		}
	}
	if tree["a/b/c"].ParentID != tree["a/b"].ID || tree["a/b"].ParentID != tree["a"].ID {
		t.Fatalf("parentId links wrong: %+v", tree)
	}

	src := t.TempDir()
	makeTree(t, src, 300, 1)
	sh(t, "cp", "-r", src+"/.", m.path("a/b/c"))
	sh(t, "diff", "-r", src, m.path("a/b/c"))
	checkRemoteMatches(t, srv, src, "a/b/c")
	// A fresh mount (no cache) sees the same.
	m2 := mountFS(t, srv, mountOpt{})
	sh(t, "diff", "-r", src, m2.path("a/b/c"))
}

func TestRenameAndMove(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	sh(t, "mkdir", "-p", m.path("x/sub"), m.path("y"))
	writeFile(t, m.path("x/one.txt"), []byte("one"))
	writeFile(t, m.path("x/sub/deep.txt"), []byte("deep"))
	before := remoteTree(t, srv)

	// Within a folder: one rename call, same id.
	sh(t, "mv", m.path("x/one.txt"), m.path("x/uno.txt"))
	sh(t, "mv", m.path("x/sub"), m.path("x/sub2"))
	after := remoteTree(t, srv)
	if after["x/uno.txt"].ID != before["x/one.txt"].ID || after["x/sub2"].ID != before["x/sub"].ID {
		t.Fatalf("rename within a folder changed ids: %+v", after)
	}
	if _, ok := after["x/one.txt"]; ok {
		t.Fatal("old name still listed")
	}

	// Across folders the API cannot move: rename(2) says EXDEV ...
	if err := os.Rename(m.path("x/uno.txt"), m.path("y/uno.txt")); !isErrno(err, syscall.EXDEV) {
		t.Fatalf("rename across folders: %v, want EXDEV", err)
	}
	// ... and mv copies and deletes, files and folders alike.
	sh(t, "mv", m.path("x/uno.txt"), m.path("y/"))
	sh(t, "mv", m.path("x/sub2"), m.path("y/"))
	if got := string(readFile(t, m.path("y/uno.txt"))); got != "one" {
		t.Fatalf("y/uno.txt = %q", got)
	}
	if got := string(readFile(t, m.path("y/sub2/deep.txt"))); got != "deep" {
		t.Fatalf("y/sub2/deep.txt = %q", got)
	}
	tree := remoteTree(t, srv)
	for _, gone := range []string{"x/uno.txt", "x/sub2", "x/sub2/deep.txt"} {
		if _, ok := tree[gone]; ok {
			t.Errorf("%s still in the library", gone)
		}
	}
	for _, there := range []string{"y/uno.txt", "y/sub2", "y/sub2/deep.txt"} {
		if _, ok := tree[there]; !ok {
			t.Errorf("%s not in the library", there)
		}
	}
	if out := sh(t, "ls", "-A", m.path("x")); out != "" {
		t.Errorf("x should be empty, holds %q", out)
	}

	// Onto an existing name: the target is replaced, and goes to the trash.
	writeFile(t, m.path("y/a.txt"), []byte("A"))
	writeFile(t, m.path("y/b.txt"), []byte("B"))
	old := remoteTree(t, srv)["y/b.txt"].ID
	sh(t, "mv", "-f", m.path("y/a.txt"), m.path("y/b.txt"))
	if got := string(readFile(t, m.path("y/b.txt"))); got != "A" {
		t.Fatalf("b.txt = %q after mv over it", got)
	}
	if it, _ := srv.Item(old); it.Status != "trashed" {
		t.Errorf("the replaced file is %q, want trashed", it.Status)
	}
	tree = remoteTree(t, srv)
	if _, ok := tree["y/a.txt"]; ok || tree["y/b.txt"].ID == old {
		t.Errorf("after mv over: %+v", tree)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	src := t.TempDir()
	makeTree(t, src, 40, 2)
	sh(t, "cp", "-r", src, m.path("old"))

	// rmdir of a folder with something in it: ENOTEMPTY.
	if err := syscall.Rmdir(m.path("old/d1")); !isErrno(err, syscall.ENOTEMPTY) {
		t.Fatalf("rmdir of a full folder: %v", err)
	}
	ids := remoteTree(t, srv)
	t0 := time.Now()
	sh(t, "rm", "-r", m.path("old"))
	t.Logf("rm -r took %v", time.Since(t0))
	if _, err := os.Stat(m.path("old")); !os.IsNotExist(err) {
		t.Fatalf("old still there: %v", err)
	}
	for p, rf := range ids {
		if it, _ := srv.Item(rf.ID); it.Status != "trashed" {
			t.Errorf("%s: %s, want trashed", p, it.Status)
		}
	}
	if len(remoteTree(t, srv)) != 0 {
		t.Errorf("the library still lists: %v", remoteTree(t, srv))
	}

	// --delete-mode delete deletes for good.
	m.stop()
	m2 := mountFS(t, srv, mountOpt{args: []string{"--delete-mode", "delete"}})
	writeFile(t, m2.path("gone.txt"), []byte("x"))
	id := remoteTree(t, srv)["gone.txt"].ID
	sh(t, "rm", m2.path("gone.txt"))
	if it, _ := srv.Item(id); it.Status != "deleted" {
		t.Errorf("gone.txt: %s, want deleted", it.Status)
	}
}

// rsync -a in, change a few files, rsync -a again: only those are
// uploaded, because the times rsync sets are kept. rsync -c back out
// finds nothing different.
func TestRsync(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	src := t.TempDir()
	makeTree(t, src, 120, 3)
	sh(t, "rsync", "-a", src+"/", m.path("site")+"/")
	checkRemoteMatches(t, srv, src, "site")

	resetStats(t, srv)
	sh(t, "rsync", "-a", src+"/", m.path("site")+"/")
	if n := getStats(t, srv).ByEndpoint["POST /medias/upload-file"]; n != 0 {
		t.Errorf("a second rsync -a of an unchanged tree uploaded %d files", n)
	}

	changed := []string{"d0/e0/f000.bin", "d3/e0/f003.bin", "d5/e2/f005.bin"}
	for i, c := range changed {
		writeFile(t, filepath.Join(src, c), []byte(fmt.Sprintf("changed %d", i)))
	}
	resetStats(t, srv)
	sh(t, "rsync", "-a", src+"/", m.path("site")+"/")
	if n := getStats(t, srv).ByEndpoint["POST /medias/upload-file"]; n != len(changed) {
		t.Errorf("rsync -a after changing %d files uploaded %d", len(changed), n)
	}
	checkRemoteMatches(t, srv, src, "site")

	back := t.TempDir()
	sh(t, "rsync", "-a", "-c", m.path("site")+"/", back+"/")
	sh(t, "diff", "-r", src, back)
	if out := sh(t, "rsync", "-a", "-c", "-n", "-i", src+"/", m.path("site")+"/"); strings.TrimSpace(out) != "" {
		t.Errorf("rsync -c still finds differences:\n%s", out)
	}
}

func TestTarSedAndEditorSaves(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	src := t.TempDir()
	makeTree(t, src, 30, 4)
	writeFile(t, filepath.Join(src, "notes.txt"), []byte("alpha\nbeta\n"))
	archive := filepath.Join(t.TempDir(), "t.tar")
	sh(t, "tar", "-C", src, "-cf", archive, ".")
	sh(t, "mkdir", m.path("untar"))
	sh(t, "tar", "-C", m.path("untar"), "-xf", archive)
	sh(t, "diff", "-r", src, m.path("untar"))
	checkRemoteMatches(t, srv, src, "untar")

	// sed -i: a temp file renamed over the original.
	notes := m.path("untar/notes.txt")
	oldID := remoteTree(t, srv)["untar/notes.txt"].ID
	sh(t, "sed", "-i", "s/beta/gamma/", notes)
	if got := string(readFile(t, notes)); got != "alpha\ngamma\n" {
		t.Fatalf("after sed -i: %q", got)
	}
	rf := remoteTree(t, srv)["untar/notes.txt"]
	if got := string(download(t, rf.URL)); got != "alpha\ngamma\n" || rf.ID == oldID {
		t.Fatalf("library after sed -i: %q (id %s, was %s)", got, rf.ID, oldID)
	}
	if it, _ := srv.Item(oldID); it.Status != "trashed" {
		t.Errorf("old notes.txt is %s, want trashed", it.Status)
	}

	// An editor's save: write a new file, then rename it over the old one.
	tmp := m.path("untar/.notes.txt.swp")
	writeFile(t, tmp, []byte("saved by an editor\n"))
	if err := os.Rename(tmp, notes); err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, notes)); got != "saved by an editor\n" {
		t.Fatalf("after the save: %q", got)
	}
	// Overwriting in place (cp over, O_TRUNC) replaces the content too.
	sh(t, "cp", filepath.Join(src, "d0/e0/f000.bin"), notes)
	sh(t, "cmp", filepath.Join(src, "d0/e0/f000.bin"), notes)
	tree := remoteTree(t, srv)
	n := 0
	for p := range tree {
		if strings.HasPrefix(p, "untar/notes.txt") || strings.HasPrefix(p, "untar/.notes") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d items named like notes.txt in the library, want 1: %v", n, tree)
	}
}

func TestTouchTimesAndNames(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})

	// An empty new file is uploaded when its last descriptor is released.
	sh(t, "touch", m.path("empty"))
	if rf := waitRemote(t, srv, "empty"); rf.Size != 0 {
		t.Fatalf("touch: %+v", rf)
	}
	sh(t, "touch", "-d", "2001-02-03 04:05:06", m.path("empty"))
	if got := strings.TrimSpace(sh(t, "date", "-r", m.path("empty"), "+%F %T")); got != "2001-02-03 04:05:06" {
		t.Errorf("mtime after touch -d: %s", got)
	}
	// Kept across mounts with the same cache directory.
	m.stop()
	m = mountFS(t, srv, mountOpt{cacheDir: m.cacheDir})
	if got := strings.TrimSpace(sh(t, "date", "-r", m.path("empty"), "+%F %T")); got != "2001-02-03 04:05:06" {
		t.Errorf("mtime after a remount: %s", got)
	}

	// A '/' typed as its look-alike becomes '/' in the API, and back.
	writeFile(t, m.path("before／after.txt"), []byte("slash"))
	if rf := remoteTree(t, srv)["before/after.txt"]; rf.ID == "" {
		t.Fatalf("no item named before/after.txt: %v", remoteTree(t, srv))
	}
	if got := string(readFile(t, m.path("before／after.txt"))); got != "slash" {
		t.Fatalf("read back %q", got)
	}

	long := strings.Repeat("n", 256)
	if err := os.WriteFile(m.path(long), nil, 0o644); !isErrno(err, syscall.ENAMETOOLONG) {
		t.Errorf("a 256-byte name: %v", err)
	}

	// chmod and chown are accepted (no permissions in the API); links and
	// special files are refused.
	sh(t, "chmod", "600", m.path("empty"))
	sh(t, "chown", fmt.Sprint(os.Getuid()), m.path("empty"))
	for _, c := range [][]string{
		{"ln", m.path("empty"), m.path("hard")},
		{"ln", "-s", "empty", m.path("soft")},
		{"mkfifo", m.path("fifo")},
	} {
		if out, err := shErr(c[0], c[1:]...); err == nil || !strings.Contains(out, "not permitted") {
			t.Errorf("%v: %v %s", c, err, out)
		}
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	resetStats(t, srv)
	out, err := shErr("dd", "if=/dev/zero", "of="+m.path("big.bin"), "bs=1M", "count=26")
	if err == nil || !strings.Contains(out, "File too large") {
		t.Fatalf("26 MB write: %v\n%s", err, out)
	}
	if n := getStats(t, srv).ByEndpoint["POST /medias/upload-file"]; n != 0 {
		t.Errorf("%d uploads after a write past the limit\n%s", n, m.log)
	}
	if rf, ok := remoteTree(t, srv)["big.bin"]; ok {
		t.Errorf("big.bin is in the library: %+v", rf)
	}
	// 25 MB exactly (25,000,000 bytes, the conservative reading) is fine.
	sh(t, "sh", "-c", "head -c 25000000 /dev/urandom > "+m.path("max.bin"))
	if rf := remoteTree(t, srv)["max.bin"]; rf.Size != 25_000_000 {
		t.Errorf("max.bin: %+v", rf)
	}
}

// An upload the API rejects: close fails with EIO, the bytes stay in the
// spool (and in the mount), and the next mount uploads them.
func TestRejectedUploadKeptAndRetried(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	srv.SetFaults(ghltest.Faults{RejectUploads: true})
	src := filepath.Join(t.TempDir(), "precious.txt")
	writeFile(t, src, []byte("do not lose me"))
	out, err := shErr("cp", src, m.path("precious.txt"))
	if err == nil || !strings.Contains(out, "Input/output error") {
		t.Fatalf("cp with uploads rejected: %v %s", err, out)
	}
	waitFor(t, "a log line naming the file and the API's message", func() bool {
		for _, line := range strings.Split(m.log.String(), "\n") {
			if strings.Contains(line, "precious.txt") && strings.Contains(line, "File upload rejected (injected fault)") && strings.Contains(line, "input/output error") {
				return true
			}
		}
		return false
	})
	if got := string(readFile(t, m.path("precious.txt"))); got != "do not lose me" {
		t.Errorf("the mount shows %q", got)
	}
	if spooled := spoolFiles(t, m.cacheDir); len(spooled) != 1 {
		t.Fatalf("spool holds %v", spooled)
	}
	m.stop()

	srv.SetFaults(ghltest.Faults{})
	m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir})
	rf := waitRemote(t, srv, "precious.txt")
	if got := string(download(t, rf.URL)); got != "do not lose me" {
		t.Fatalf("uploaded %q", got)
	}
	waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m2.cacheDir)) == 0 })
}

// kill -9 while an upload is under way: the next mount uploads the file,
// once.
func TestCrashWithPendingUpload(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	srv.SetFaults(ghltest.Faults{UploadDelay: ghltest.Duration(time.Minute)})
	data := bytes.Repeat([]byte("crash-safe "), 10000)
	src := filepath.Join(t.TempDir(), "report.bin")
	writeFile(t, src, data)
	cp := startCmd(t, "cp", src, m.path("report.bin"))
	waitFor(t, "the upload to start", func() bool { return getStats(t, srv).ByEndpoint["POST /medias/upload-file"] > 0 })
	m.kill()
	cp.Wait()
	srv.SetFaults(ghltest.Faults{})
	if _, ok := remoteTree(t, srv)["report.bin"]; ok {
		t.Fatal("the cut upload was stored")
	}

	m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir})
	if got := readFile(t, m2.path("report.bin")); !bytes.Equal(got, data) {
		t.Errorf("while pending, the mount shows %d bytes", len(got))
	}
	rf := waitRemote(t, srv, "report.bin")
	if got := download(t, rf.URL); !bytes.Equal(got, data) {
		t.Fatalf("uploaded %d bytes, want %d", len(got), len(data))
	}
	waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m2.cacheDir)) == 0 })
	n := 0
	for p := range remoteTree(t, srv) {
		if strings.HasPrefix(p, "report.bin") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d copies of report.bin in the library; stats %+v", n, getStats(t, srv))
		for _, it := range srv.Items() {
			t.Logf("%+v", it)
		}
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{Seed: "demo"})
	m := mountFS(t, srv, mountOpt{args: []string{"--read-only"}})
	before := len(srv.Items())
	for _, c := range [][]string{
		{"mkdir", m.path("new")},
		{"touch", m.path("new.txt")},
		{"rm", m.path("README.txt")},
		{"mv", m.path("README.txt"), m.path("README2.txt")},
		{"rmdir", m.path("Logos")},
	} {
		if out, err := shErr(c[0], c[1:]...); err == nil || !strings.Contains(out, "Read-only file system") {
			t.Errorf("%v: %v %s", c, err, out)
		}
	}
	if err := os.WriteFile(m.path("README.txt"), []byte("x"), 0o644); !isErrno(err, syscall.EROFS) {
		t.Errorf("write: %v", err)
	}
	sh(t, "cat", m.path("README.txt"))
	if len(srv.Items()) != before || getStats(t, srv).ByEndpoint["POST /medias/upload-file"] != 0 {
		t.Error("the library changed")
	}
}

// An upload that landed but whose answer was lost (the connection cut
// after the API stored it): the next mount finds it instead of uploading
// the bytes a second time.
func TestLostAnswerNotDuplicated(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	// Every answer cut: give up on each operation after a few seconds.
	m := mountFS(t, srv, mountOpt{args: []string{"--op-timeout", "3s"}})
	sh(t, "ls", m.dir) // the root's listing, cached before the cuts begin
	srv.SetFaults(ghltest.Faults{FaultCut: 1})
	src := filepath.Join(t.TempDir(), "minutes.txt")
	writeFile(t, src, []byte("minutes of the meeting"))
	if out, err := shErr("cp", src, m.path("minutes.txt")); err == nil {
		t.Fatalf("cp succeeded with every answer cut: %s", out)
	}
	stored := 0
	for _, it := range srv.Items() {
		if it.Name == "minutes.txt" {
			stored++
		}
	}
	if stored != 1 {
		t.Fatalf("the fake stored %d uploads, want 1", stored)
	}
	m.stop()
	srv.SetFaults(ghltest.Faults{})

	m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir})
	waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m2.cacheDir)) == 0 })
	if got := string(readFile(t, m2.path("minutes.txt"))); got != "minutes of the meeting" {
		t.Fatalf("read %q", got)
	}
	n := 0
	for _, it := range srv.Items() {
		if it.Name == "minutes.txt" && it.Status == "active" {
			n++
		}
	}
	if n != 1 || getStats(t, srv).ByEndpoint["POST /medias/upload-file"] != 1 {
		t.Errorf("%d copies in the library after %d uploads", n, getStats(t, srv).ByEndpoint["POST /medias/upload-file"])
	}
}

// A file renamed and then changed keeps its new name: the node the kernel
// holds follows the rename.
func TestEditAfterRename(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	writeFile(t, m.path("a.txt"), []byte("first\n"))
	sh(t, "mv", m.path("a.txt"), m.path("b.txt"))
	sh(t, "sh", "-c", "echo second >> "+m.path("b.txt"))
	if got := string(readFile(t, m.path("b.txt"))); got != "first\nsecond\n" {
		t.Fatalf("b.txt reads %q", got)
	}
	// The old copy goes to the trash after the new one landed.
	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	tree := remoteTree(t, srv)
	if _, ok := tree["a.txt"]; ok {
		t.Errorf("a.txt came back: %v", tree)
	}
	if rf, ok := tree["b.txt"]; !ok || string(download(t, rf.URL)) != "first\nsecond\n" {
		t.Errorf("b.txt in the library: %+v", rf)
	}
	if out := strings.Fields(sh(t, "ls", m.dir)); len(out) != 1 || out[0] != "b.txt" {
		t.Errorf("ls shows %q", out)
	}
}

// New bytes make a new file in the API (new id), but not a new inode: a
// tool holding the inode number sees the same file.
func TestReplacedContentKeepsTheInode(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	writeFile(t, m.path("logo.png"), []byte("first version"))
	ino := strings.TrimSpace(sh(t, "stat", "-c", "%i", m.path("logo.png")))
	oldID := remoteTree(t, srv)["logo.png"].ID
	src := filepath.Join(t.TempDir(), "new.png")
	writeFile(t, src, []byte("second version, longer"))
	sh(t, "cp", src, m.path("logo.png"))
	if got := strings.TrimSpace(sh(t, "stat", "-c", "%i", m.path("logo.png"))); got != ino {
		t.Errorf("inode %s became %s", ino, got)
	}
	// The old copy goes to the trash once the new one landed (cp returns
	// at the landing).
	waitFor(t, "the old copy to go to the trash", func() bool {
		it, _ := srv.Item(oldID)
		return it.Status == "trashed"
	})
	if rf := remoteTree(t, srv)["logo.png"]; rf.ID == oldID || string(download(t, rf.URL)) != "second version, longer" {
		t.Errorf("library: %+v (was %s)", rf, oldID)
	}

	// A file uploaded in the background (made and closed unwritten) keeps
	// its number too, even once the kernel has forgotten it and looks it
	// up afresh.
	sh(t, "touch", m.path("later.txt"))
	ino = strings.TrimSpace(sh(t, "stat", "-c", "%i", m.path("later.txt")))
	waitRemote(t, srv, "later.txt")
	waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0); err != nil {
		t.Fatalf("dropping the kernel's dentries: %v", err)
	}
	if got := strings.TrimSpace(sh(t, "stat", "-c", "%i", m.path("later.txt"))); got != ino {
		t.Errorf("inode %s became %s after the background upload", ino, got)
	}
}

// A process that forks while it holds a file open shares the descriptor
// with its child: each close of either copy is a flush. With uploads at
// close, the parent's close returns only once what it wrote is in the
// library, also when the child's close began that upload. (Seen with the
// integration tests run in parallel: one test's fork inherited another's
// file, and that file's own close returned before its upload landed.)
func TestCloseWaitsForAnUploadAnotherCloseBegan(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	f, err := os.Create(m.path("shared.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("hello"); err != nil {
		t.Fatal(err)
	}
	// The child gets the file as its fd 3, and closes it when told to.
	// (Its exec closes the parent's own number, inherited close-on-exec:
	// that flush uploads "hello" before Start returns.)
	child := exec.Command("sh", "-c", "read go; exec 3>&-; read done")
	child.ExtraFiles = []*os.File{f}
	tell, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer tell.Close()
	if _, err := f.WriteString(" world"); err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(ghltest.Faults{UploadDelay: ghltest.Duration(time.Second)})
	before := srv.Stats().ByEndpoint[ghltest.EndpointUpload]
	if _, err := tell.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child's close to send the upload", func() bool {
		return srv.Stats().ByEndpoint[ghltest.EndpointUpload] > before
	})
	if err := f.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// The copy holding "hello" may still be on its way to the trash.
	var held []string
	for _, it := range activeItems(srv) {
		if it.Name == "shared.txt" {
			data, _ := srv.Content(it.ID)
			held = append(held, string(data))
		}
	}
	if !slices.Contains(held, "hello world") {
		t.Fatalf("once close returned the library holds %q, want %q", held, "hello world")
	}
}
