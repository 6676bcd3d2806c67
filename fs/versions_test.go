package fs

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/remote/memtest"
)

// The versions view on a real mount (in this process) over memtest's
// profiles, driven by system calls, the library checked through
// memtest's own API.

// lockedBuf is a log written by the mount and read by the test.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines are the lines logged at level that name s.
func (l *lockedBuf) lines(level, s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, "level="+level) && strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// mountMemtest mounts a library of profile p, which prepare fills first,
// and returns its mountpoint and the mount's log.
func mountMemtest(t *testing.T, p memtest.Profile, prepare func(mt *memtest.Backend)) (string, *memtest.Backend, *lockedBuf) {
	t.Helper()
	needFUSE(t)
	mt := memtest.New(memtest.Options{Profile: p})
	if prepare != nil {
		prepare(mt)
	}
	log := &lockedBuf{}
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := cache.New(mt, cache.Options{CacheDir: t.TempDir(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	mnt := t.TempDir()
	server, err := New(store, Options{Logger: logger}).Mount(mnt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Unmount() })
	return mnt, mt, log
}

// names lists a directory of the mount, or fails the test.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("readdir %s: %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		out = append(out, n)
	}
	return out
}

// revs are the versions memtest holds of file id.
func revs(mt *memtest.Backend, id string) []string {
	it, _ := mt.Item(id)
	var out []string
	for _, v := range it.Versions {
		out = append(out, v.Rev)
	}
	return out
}

func TestVersionsView(t *testing.T) {
	for _, p := range []func() memtest.Profile{memtest.ImageKit, memtest.OCM} {
		t.Run(p().Caps.Kind, func(t *testing.T) {
			data := [][]byte{[]byte("first"), []byte("second!"), []byte("third, longest")}
			var id string
			mnt, mt, log := mountMemtest(t, p(), func(mt *memtest.Backend) {
				docs := mt.AddFolder("", "Docs")
				for _, d := range data {
					id = mt.AddFile(docs, "doc.txt", d)
				}
				mt.AddFile(docs, "notes", []byte("n1"))
				mt.AddFile(docs, "notes", []byte("n2"))
				mt.AddFolder(docs, "Sub")
			})
			docs := filepath.Join(mnt, "Docs")
			view := filepath.Join(docs, versionsName)
			vdir := filepath.Join(view, "doc.txt")

			// Hidden from readdir, there to lookup; a directory per file.
			if got := names(t, docs); !slices.Equal(got, []string{"Sub/", "doc.txt", "notes"}) {
				t.Errorf("readdir of the folder: %q, want no .versions", got)
			}
			if got := names(t, view); !slices.Equal(got, []string{"doc.txt/", "notes/"}) {
				t.Errorf("readdir of .versions: %q", got)
			}
			if got := names(t, vdir); !slices.Equal(got, []string{"v1.txt", "v2.txt", "v3.txt"}) {
				t.Errorf("readdir of .versions/doc.txt: %q", got)
			}
			if got := names(t, filepath.Join(view, "notes")); !slices.Equal(got, []string{"v1", "v2"}) {
				t.Errorf("readdir of .versions/notes: %q, want no extension", got)
			}
			for _, name := range []string{"Sub", "gone.txt", versionsName} {
				if _, err := os.Stat(filepath.Join(view, name)); !errors.Is(err, syscall.ENOENT) {
					t.Errorf("stat .versions/%s: %v, want ENOENT", name, err)
				}
			}
			for _, name := range []string{"v4.txt", "v01.txt", "v1", "v1.txt.txt", "1.txt"} {
				if _, err := os.Stat(filepath.Join(vdir, name)); !errors.Is(err, syscall.ENOENT) {
					t.Errorf("stat .versions/doc.txt/%s: %v, want ENOENT", name, err)
				}
			}

			// Each version: its size, its bytes, its xattrs.
			rs := revs(mt, id)
			for i, d := range data {
				name := filepath.Join(vdir, versionName(i+1, ".txt"))
				fi, err := os.Stat(name)
				if err != nil || fi.Size() != int64(len(d)) || fi.Mode().Perm()&0o222 != 0 {
					t.Errorf("stat v%d: %v, %v; want %d bytes, read-only", i+1, fi, err, len(d))
				}
				if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, d) {
					t.Errorf("read v%d: %q, %v; want %q", i+1, got, err, d)
				}
				buf := make([]byte, 256)
				for attr, want := range map[string]string{"id": id, "version.id": rs[i], "version.num": string(rune('1' + i))} {
					n, err := unix.Getxattr(name, p().Caps.XattrPrefix+attr, buf)
					if err != nil || string(buf[:n]) != want {
						t.Errorf("v%d's %s: %q, %v; want %q", i+1, attr, buf[:max(n, 0)], err, want)
					}
				}
				n, err := unix.Getxattr(name, p().Caps.XattrPrefix+"version.current", buf)
				if current := i == len(data)-1; current != (err == nil && string(buf[:n]) == "1") {
					t.Errorf("v%d's version.current: %q, %v; current %v", i+1, buf[:max(n, 0)], err, current)
				}
			}

			// Every change but a version's removal: EROFS, the library
			// as it was.
			v2 := filepath.Join(vdir, "v2.txt")
			for what, err := range map[string]error{
				"create in .versions":       os.WriteFile(filepath.Join(view, "new.txt"), []byte("x"), 0o644),
				"create in .versions/NAME":  os.WriteFile(filepath.Join(vdir, "v9.txt"), []byte("x"), 0o644),
				"mkdir in .versions":        os.Mkdir(filepath.Join(view, "D"), 0o755),
				"mkdir in .versions/NAME":   os.Mkdir(filepath.Join(vdir, "D"), 0o755),
				"write a version":           os.WriteFile(v2, []byte("x"), 0o644),
				"truncate a version":        os.Truncate(v2, 0),
				"utimes of a version":       os.Chtimes(v2, fi(t, v2).ModTime(), fi(t, v2).ModTime()),
				"rename a version":          os.Rename(v2, filepath.Join(vdir, "v7.txt")),
				"rename a version out":      os.Rename(v2, filepath.Join(docs, "old.txt")),
				"rename a file in":          os.Rename(filepath.Join(docs, "notes"), filepath.Join(vdir, "notes")),
				"rmdir .versions/NAME":      syscall.Rmdir(vdir),
				"rmdir .versions":           syscall.Rmdir(view),
				"rename .versions":          os.Rename(view, filepath.Join(docs, "renamed")),
				"symlink in .versions/NAME": os.Symlink("v1.txt", filepath.Join(vdir, "link")),
			} {
				if !errors.Is(err, syscall.EROFS) {
					t.Errorf("%s: %v, want EROFS", what, err)
				}
			}
			if got := revs(mt, id); !slices.Equal(got, rs) || len(mt.Tree()) != 4 {
				t.Errorf("refused changes changed the library: versions %v, %d items", got, len(mt.Tree()))
			}

			// rm of the current version: EBUSY, one INFO line saying
			// why; of an old one: that version alone.
			if err := os.Remove(filepath.Join(vdir, "v3.txt")); !errors.Is(err, syscall.EBUSY) {
				t.Errorf("rm of the current version: %v, want EBUSY", err)
			}
			if l := log.lines("INFO", "v3.txt"); len(l) != 1 || !strings.Contains(l[0], "rm doc.txt removes it") {
				t.Errorf("log of the refused rm: %q, want one INFO line saying how", l)
			}
			if err := os.Remove(filepath.Join(vdir, "v1.txt")); err != nil {
				t.Fatalf("rm of version 1: %v", err)
			}
			if got := revs(mt, id); !slices.Equal(got, rs[1:]) {
				t.Errorf("after rm of version 1 the library holds %v, want %v", got, rs[1:])
			}
			if got := names(t, vdir); !slices.Equal(got, []string{"v2.txt", "v3.txt"}) {
				t.Errorf("readdir after rm of version 1: %q", got)
			}
			if l := log.lines("ERROR", ""); len(l) != 0 {
				t.Errorf("ERROR lines: %q", l)
			}

			// cp of an old version onto the file: its bytes, the newest
			// version.
			copyFile(t, v2, filepath.Join(docs, "doc.txt"))
			if got, _ := mt.Content(id, ""); !bytes.Equal(got, data[1]) {
				t.Errorf("after cp of v2 onto the file, the library's current bytes are %q, want %q", got, data[1])
			}
			if got := names(t, vdir); !slices.Equal(got, []string{"v2.txt", "v3.txt", "v4.txt"}) {
				t.Errorf("readdir after the restore: %q", got)
			}
			if got, err := os.ReadFile(filepath.Join(vdir, "v4.txt")); err != nil || !bytes.Equal(got, data[1]) {
				t.Errorf("v4 reads %q, %v", got, err)
			}
		})
	}
}

// fi is a stat of name, or the test fails.
func fi(t *testing.T, name string) os.FileInfo {
	t.Helper()
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// copyFile copies from onto to, as cp does: open to O_TRUNC, write, close.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatalf("close %s: %v", to, err)
	}
}

// Where the service keeps no versions there is no view, and an item of
// its name is an ordinary one.
func TestVersionsViewAbsent(t *testing.T) {
	mnt, mt, _ := mountMemtest(t, memtest.HighLevel(), func(mt *memtest.Backend) {
		mt.AddFile("", "a.txt", []byte("a"))
	})
	if _, err := os.Stat(filepath.Join(mnt, versionsName)); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("stat .versions on HighLevel: %v, want ENOENT", err)
	}
	if err := os.Mkdir(filepath.Join(mnt, versionsName), 0o755); err != nil {
		t.Fatalf("mkdir .versions on HighLevel: %v", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, versionsName, "x.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := names(t, mnt); !slices.Equal(got, []string{".versions/", "a.txt"}) {
		t.Errorf("readdir: %q", got)
	}
	if _, ok := mt.Tree()[".versions/x.txt"]; !ok {
		t.Errorf("the library: %v, want .versions/x.txt", mt.Tree())
	}
}

// Where the service keeps versions, a real item named .versions is hidden
// behind the view (one WARN line) and never changed through it.
func TestVersionsViewHidesItem(t *testing.T) {
	var id string
	mnt, mt, log := mountMemtest(t, memtest.ImageKit(), func(mt *memtest.Backend) {
		id = mt.AddFile("", versionsName, []byte("a file of that name"))
		mt.AddFile("", "a.txt", []byte("a"))
	})
	if got := names(t, mnt); !slices.Equal(got, []string{"a.txt"}) {
		t.Errorf("readdir: %q, want the item named .versions hidden", got)
	}
	view := filepath.Join(mnt, versionsName)
	if st := fi(t, view); !st.IsDir() {
		t.Errorf(".versions is %v, want the view", st.Mode())
	}
	if got := names(t, view); !slices.Equal(got, []string{"a.txt/"}) {
		t.Errorf("readdir of the view: %q", got)
	}
	if err := os.Remove(view); !errors.Is(err, syscall.EROFS) {
		t.Errorf("rm .versions: %v, want EROFS", err)
	}
	if err := os.Rename(view, filepath.Join(mnt, "b.txt")); !errors.Is(err, syscall.EROFS) {
		t.Errorf("mv .versions: %v, want EROFS", err)
	}
	if it, ok := mt.Item(id); !ok || it.Status != memtest.Active || it.Name != versionsName {
		t.Errorf("the item named .versions: %+v", it)
	}
	if l := log.lines("WARN", "hidden behind the view"); len(l) != 1 {
		t.Errorf("log: %q, want one WARN line", l)
	}
}
