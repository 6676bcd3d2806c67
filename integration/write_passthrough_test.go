package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Writes of new files by passthrough (fs/passthrough.go): the kernel
// writes a file made in the mount straight into its spool file, and no
// WRITE reaches ghlfs, which learns what was written at each close. The
// debug log tells such an open ("open PATH: passthrough"); what the tools
// see and what the library holds must be what ordinary writes give.

// remoteBytes returns the bytes the library holds for the file at p (a
// path of API names), once it is there.
func remoteBytes(t testing.TB, srv *ghltest.Server, p string) []byte {
	t.Helper()
	f := waitRemote(t, srv, p)
	b, ok := srv.Content(f.ID)
	if !ok {
		t.Fatalf("%s: the fake holds no bytes for %s", p, f.ID)
	}
	return b
}

// tar -x of files of several sizes (none, a few bytes, several MiB) into
// the mount: every create is written by passthrough, each file reads back
// as it was, with its time, and the library holds exactly those bytes.
func TestWritePassthroughTar(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	src := filepath.Join(t.TempDir(), "src")
	sizes := map[string]int{"empty.txt": 0, "small.txt": 17, "page.txt": 4096, "d/big.bin": 3<<20 + 5, "d/e/mid.txt": 70_000}
	for name, size := range sizes {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(src, name), randomBytes(size, uint64(size)))
	}
	sh(t, "touch", "-d", "2001-02-03 04:05:06", filepath.Join(src, "small.txt"))
	tarball := filepath.Join(t.TempDir(), "t.tar")
	sh(t, "tar", "-cf", tarball, "-C", src, ".")
	sh(t, "tar", "-xf", tarball, "-C", m.dir)
	local := t.TempDir()
	sh(t, "tar", "-xf", tarball, "-C", local)

	sh(t, "diff", "-r", local, m.dir)
	want := sh(t, "find", local, "-type", "f", "-printf", "%P %s %T@\n")
	got := sh(t, "find", m.dir, "-type", "f", "-printf", "%P %s %T@\n")
	if strings.Join(sortedLines(got), "\n") != strings.Join(sortedLines(want), "\n") {
		t.Errorf("names, sizes and times:\n%s\nwant\n%s", got, want)
	}
	for name := range sizes {
		if n := passOpens(m, "/"+name); n != 1 {
			t.Errorf("%s: %d opens by passthrough, want 1 (the create)", name, n)
		}
		if b := remoteBytes(t, srv, name); !bytes.Equal(b, readFile(t, filepath.Join(src, name))) {
			t.Errorf("%s: the library holds %d bytes, not the file's %d", name, len(b), sizes[name])
		}
	}
	if n := strings.Count(m.log.String(), "msg=\"fuse\""); n != 0 {
		t.Errorf("go-fuse complained %d times:\n%s", n, m.log.String())
	}
}

// A writer that keeps its file open: another open of it passes through
// the same spool file (a reader sees what was written), a close of a
// duplicated descriptor (a child's) while the file stays open uploads
// nothing yet, and the file is uploaded once, whole, after the last close.
func TestWritePassthroughOpenFileShared(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "100ms"}})
	resetStats(t, srv)
	// The same script in a local folder says what the mount must give:
	// the append lands at the end, and fd 3, not opened to append, then
	// writes over it from where it was; a truncate(2) cuts it, and fd 3
	// writes on past a hole. The child's close of its copy of
	// fd 3 completes the file, which then waits out the write-back delay
	// (0.1 s) and more while fd 3 stays open: no upload may go while it
	// can still be written.
	script := `set -e
exec 3>"$1"
printf one >&3
cat "$1"; echo
printf two >> "$1"
sh -c 'printf three >&3'
sleep 0.3
truncate -s 5 "$1"
printf four >&3
cat "$1"; echo
exec 3>&-
`
	local := filepath.Join(t.TempDir(), "shared.txt")
	want := sh(t, "sh", "-c", script, "sh", local)
	out := sh(t, "sh", "-c", script, "sh", m.path("shared.txt"))
	if out != want {
		t.Errorf("the readers saw %q, want %q", out, want)
	}
	if got, want := remoteBytes(t, srv, "shared.txt"), readFile(t, local); !bytes.Equal(got, want) {
		t.Errorf("the library holds %q, want %q", got, want)
	}
	if n := getStats(t, srv).ByEndpoint["POST /medias/upload-file"]; n != 1 {
		t.Errorf("%d uploads, want 1: none while the file was open", n)
	}
	if n := passOpens(m, "/shared.txt"); n != 5 {
		t.Errorf("%d opens by passthrough, want 5 (the create, two cats, the append, the truncate)", n)
	}
}

// fsync of a file written by passthrough uploads what was written so far
// and returns once it is in the library; writes after it make a new
// upload at the close, which replaces it.
func TestWritePassthroughFsyncThenMore(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "1h"}})
	f, err := os.Create(m.path("log.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("first\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("fsync: %v", err)
	}
	if rf, ok := remoteTree(t, srv)["log.txt"]; !ok || rf.Size != 6 {
		t.Fatalf("after fsync, the library holds %+v (%v)", rf, ok)
	}
	if _, err := f.WriteString("second\n"); err != nil {
		t.Fatal(err)
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != 13 {
		t.Errorf("fstat while open: %v %v, want 13 bytes", fi, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("fsync: %v", err)
	}
	// The copy the first fsync uploaded is trashed after the second's
	// upload, in the background.
	var tree map[string]remoteFile
	waitFor(t, "one copy of log.txt in the library", func() bool {
		tree = remoteTree(t, srv)
		return len(tree) == 1
	})
	if rf := tree["log.txt"]; rf.Size != 13 {
		t.Errorf("after the second fsync, the library holds %+v", rf)
	}
	if b := remoteBytes(t, srv, "log.txt"); string(b) != "first\nsecond\n" {
		t.Errorf("the library holds %q", b)
	}
}

// A file written by passthrough past the upload limit: its close fails
// with EFBIG (the writes could not be refused one by one), nothing is
// uploaded, and all its bytes are kept in recovered/.
func TestWritePassthroughPastLimit(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--max-upload-size", "1MB"}})
	resetStats(t, srv)
	src := filepath.Join(t.TempDir(), "photo.png")
	writeFile(t, src, randomBytes(2_000_000, 7))
	out, err := shErr("cp", src, m.path("photo.png"))
	if err == nil || !strings.Contains(out, "File too large") {
		t.Fatalf("cp of 2 MB past a 1 MB limit: %v\n%s", err, out)
	}
	if n := getStats(t, srv).ByEndpoint["POST /medias/upload-file"]; n != 0 {
		t.Errorf("%d uploads", n)
	}
	waitFor(t, "the bytes kept in recovered/", func() bool {
		kept, _ := filepath.Glob(filepath.Join(m.cacheDir, "recovered", "*photo.png"))
		return len(kept) == 1 && bytes.Equal(readFile(t, kept[0]), readFile(t, src))
	})
	if p := problems(m.log.String(), "photo.png"); len(p) != 1 || !strings.Contains(p[0], "1000000") {
		t.Errorf("want one line naming photo.png and the limit, got %q", p)
	}
}

// sortedLines returns the lines of out, sorted.
func sortedLines(out string) []string {
	l := lines(out)
	slices.Sort(l)
	return l
}

// kill -9 while a new file is open and half written by passthrough: the
// next mount sets the bytes aside in recovered/ (all the kernel wrote,
// under the file's name) and uploads nothing: a file no writer closed is
// never published. The writes after the kill, which the kernel may still
// take into the spool file, change nothing of that.
func TestWritePassthroughKilledMidWrite(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	half := randomBytes(100_000, 3)
	f, err := os.Create(m.path("half.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(half); err != nil {
		t.Fatal(err)
	}
	if n := passOpens(m, "/half.bin"); n != 1 {
		t.Fatalf("%d opens by passthrough: the test proves nothing", n)
	}
	m.kill()
	_, werr := f.Write([]byte("after"))
	cerr := f.Close()
	t.Logf("after the kill: write %v, close %v", werr, cerr)

	m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir})
	if err := m2.stop(); err != nil {
		t.Fatal(err)
	}
	if len(srv.Items()) != 0 {
		t.Errorf("the library holds %s", wbItems(srv))
	}
	if n := getStats(t, srv).ByEndpoint["POST /medias/upload-file"]; n != 0 {
		t.Errorf("%d uploads", n)
	}
	kept, _ := filepath.Glob(filepath.Join(m.cacheDir, "recovered", "*half.bin"))
	if len(kept) != 1 {
		t.Fatalf("recovered/ holds %v", kept)
	}
	if got := readFile(t, kept[0]); !bytes.HasPrefix(got, half) {
		t.Errorf("recovered/ holds %d bytes, not the %d written before the kill", len(got), len(half))
	}
	if n := len(spoolFiles(t, m.cacheDir)); n != 0 {
		t.Errorf("the spool still holds %d records", n)
	}
}
