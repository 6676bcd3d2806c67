package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/testlog"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/memtest"
)

// The cache on memtest, under each capability profile: user-level
// scenarios through the front (Store and Handle, as fs calls them), with
// the library's state checked through memtest's own API, never through
// the cache.

// profiles are the kinds of service the cache must serve.
var profiles = []struct {
	name string
	of   func() memtest.Profile
}{
	{"HighLevel", memtest.HighLevel},
	{"ImageKit", memtest.ImageKit},
	{"OCM", memtest.OCM},
}

// pEnv is a Store over a memtest library of one profile, on a fake clock.
type pEnv struct {
	mt    *memtest.Backend
	rc    remote.Backend // what the Store is over: mt, or a wrapper of it
	store *Store
	clock *clockwork.FakeClock
	opts  Options
	log   *testlog.Buf
}

// forProfiles runs scenario under each profile.
func forProfiles(t *testing.T, scenario string, fn func(t *testing.T, e *pEnv)) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			fn(t, newPEnv(t, p.of(), 0))
		})
	}
}

// newPEnv makes the library and a Store over it (pageSize 0: memtest's).
func newPEnv(t *testing.T, p memtest.Profile, pageSize int, mod ...func(*Options)) *pEnv {
	t.Helper()
	return newPEnvOver(t, p, pageSize, nil, mod...)
}

// newPEnvOver is newPEnv with the Store over wrap(the library), when wrap
// is not nil.
func newPEnvOver(t *testing.T, p memtest.Profile, pageSize int, wrap func(*memtest.Backend) remote.Backend, mod ...func(*Options)) *pEnv {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := &pEnv{mt: memtest.New(memtest.Options{Profile: p, Clock: clock, PageSize: pageSize}), clock: clock, log: &testlog.Buf{}}
	e.rc = e.mt
	if wrap != nil {
		e.rc = wrap(e.mt)
	}
	e.opts = Options{DirTTL: time.Minute, Clock: clock, CacheDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, m := range mod {
		m(&e.opts)
	}
	e.start(t)
	return e
}

// start starts a Store on the env's cache dir, closed at the test's end.
func (e *pEnv) start(t *testing.T) {
	t.Helper()
	s, err := New(e.rc, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e.store = s
}

// remount closes the Store and starts another on the same cache dir.
func (e *pEnv) remount(t *testing.T) {
	t.Helper()
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e.start(t)
}

// lookup finds path ("" = the root) as fs does, name by name, exactly.
func (e *pEnv) lookup(t *testing.T, path string) Entry {
	t.Helper()
	var cur Entry
	cur.IsDir = true
	if path == "" {
		return cur
	}
	for _, name := range strings.Split(path, "/") {
		l, err := e.store.ListDir(context.Background(), cur.ID)
		if err != nil {
			t.Fatalf("listing for %s: %v", path, err)
		}
		i := slices.IndexFunc(l.Entries, func(x Entry) bool { return x.Name == name })
		if i < 0 {
			t.Fatalf("%s: no %q in the mount's listing", path, name)
		}
		cur = l.Entries[i]
	}
	return cur
}

// names is a folder's listing through the mount, as "name" or "name/".
func (e *pEnv) names(t *testing.T, path string) []string {
	t.Helper()
	l, err := e.store.ListDir(context.Background(), e.lookup(t, path).ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range l.Entries {
		out = append(out, x.Name+map[bool]string{true: "/"}[x.IsDir])
	}
	return out
}

// read reads a file through the mount, n bytes at off (n < 0: to the end).
func (e *pEnv) read(t *testing.T, x Entry, off, n int64) []byte {
	t.Helper()
	ctx := context.Background()
	h, err := e.store.Open(ctx, x, false, nil)
	if err != nil {
		t.Fatalf("open %s: %v", x.Name, err)
	}
	defer h.Release()
	var out []byte
	for n < 0 || int64(len(out)) < n {
		want := 64 << 10
		if n >= 0 {
			want = min(want, int(n)-len(out))
		}
		bufs, done, err := h.Read(ctx, make([]byte, want), off+int64(len(out)))
		for _, b := range bufs {
			out = append(out, b...)
		}
		done()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", x.Name, err)
		}
	}
	return out
}

// write writes data into an open handle and closes it as close(2) and
// the last release do.
func (e *pEnv) write(t *testing.T, h *Handle, data []byte) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.Write(ctx, data, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	h.Release()
}

// drain waits for every pending change to reach the library.
func (e *pEnv) drain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if left, writing := e.store.Drain(ctx); left != 0 || writing != 0 {
		t.Fatalf("drain: %d left, %d being written", left, writing)
	}
}

// drainAdvancing is drain where the queue waits on the clock to try a
// change again (a removal that failed): the clock moves an hour at a
// time until the queue is empty, since a retry may be set just after a
// move of the clock as well as before it.
func (e *pEnv) drainAdvancing(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		e.clock.Advance(time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		left, writing := e.store.Drain(ctx)
		cancel()
		if left == 0 && writing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("drain: %d left, %d being written", left, writing)
		}
	}
}

// expire lets every listing's TTL pass, as time does between two looks.
func (e *pEnv) expire() { e.clock.Advance(e.opts.DirTTL + time.Second) }

// tree is the library's active items by path, read through memtest,
// with "/" after a folder's path.
func (e *pEnv) tree() map[string]memtest.Item {
	out := map[string]memtest.Item{}
	for p, it := range e.mt.Tree() {
		if it.IsFolder() {
			p += "/"
		}
		out[p] = it
	}
	return out
}

// paths is tree's keys, sorted.
func (e *pEnv) paths() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for p := range e.tree() {
			if !yield(p) {
				return
			}
		}
	})
}

// content is the current bytes of the file at path in the library.
func (e *pEnv) content(t *testing.T, path string) []byte {
	t.Helper()
	it, ok := e.tree()[path]
	if !ok {
		t.Fatalf("the library holds no %s: %v", path, e.paths())
	}
	b, _ := e.mt.Content(it.ID, "")
	return b
}

func want(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestProfileListPaged(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 7)
			dir := e.mt.AddFolder("", "Photos")
			var wantNames []string
			for i := range 30 {
				name := fmt.Sprintf("p%02d.png", i)
				e.mt.AddFile(dir, name, []byte{byte(i)})
				wantNames = append(wantNames, name)
			}
			for i := range 9 {
				name := fmt.Sprintf("sub%d", i)
				e.mt.AddFolder(dir, name)
				wantNames = append(wantNames, name+"/")
			}
			slices.Sort(wantNames)
			want(t, "the mount's listing", e.names(t, "Photos"), wantNames)
			l, _ := e.store.ListDir(context.Background(), dir)
			for _, x := range l.Entries {
				if !x.IsDir && x.Size != 1 {
					t.Fatalf("%s: size %d", x.Name, x.Size)
				}
			}
		})
	}
}

func TestProfileReadRanges(t *testing.T) {
	forProfiles(t, "read", func(t *testing.T, e *pEnv) {
		data := randomBytes(3<<20+12345, 1)
		e.mt.AddFile("", "big.bin", data)
		x := e.lookup(t, "big.bin")
		if x.Size != int64(len(data)) {
			t.Fatalf("size %d, want %d", x.Size, len(data))
		}
		for _, r := range [][2]int64{{0, 10}, {1 << 20, 1 << 20}, {3<<20 - 5, 100}, {int64(len(data)) - 7, 100}} {
			got := e.read(t, x, r[0], r[1])
			end := min(r[0]+r[1], int64(len(data)))
			if !bytes.Equal(got, data[r[0]:end]) {
				t.Fatalf("read %d bytes at %d: got %d bytes, not the library's", r[1], r[0], len(got))
			}
		}
		if got := e.read(t, x, 0, -1); !bytes.Equal(got, data) {
			t.Fatalf("whole read: %d bytes, not the library's", len(got))
		}
	})
}

func TestProfileMkdir(t *testing.T) {
	forProfiles(t, "mkdir", func(t *testing.T, e *pEnv) {
		e.mt.AddFolder("", "Docs")
		d := e.lookup(t, "Docs")
		if _, err := e.store.Mkdir(context.Background(), d.ID, "Sub"); err != nil {
			t.Fatal(err)
		}
		want(t, "the library", e.paths(), []string{"Docs/", "Docs/Sub/"})
		want(t, "the mount", e.names(t, "Docs"), []string{"Sub/"})
		want(t, "the new folder", e.names(t, "Docs/Sub"), nil)
	})
}

func TestProfileCreate(t *testing.T) {
	forProfiles(t, "create", func(t *testing.T, e *pEnv) {
		e.mt.AddFolder("", "Docs")
		d := e.lookup(t, "Docs")
		h, _, err := e.store.Create(context.Background(), d.ID, "new.txt")
		if err != nil {
			t.Fatal(err)
		}
		e.write(t, h, []byte("hello"))
		e.drain(t)
		want(t, "the library", e.paths(), []string{"Docs/", "Docs/new.txt"})
		if got := e.content(t, "Docs/new.txt"); string(got) != "hello" {
			t.Fatalf("the library holds %q", got)
		}
		e.expire()
		if got := e.read(t, e.lookup(t, "Docs/new.txt"), 0, -1); string(got) != "hello" {
			t.Fatalf("read back %q", got)
		}
	})
}

func TestProfileReplace(t *testing.T) {
	forProfiles(t, "replace", func(t *testing.T, e *pEnv) {
		id := e.mt.AddFile("", "a.txt", []byte("old bytes"))
		x := e.lookup(t, "a.txt")
		if got := e.read(t, x, 0, -1); string(got) != "old bytes" {
			t.Fatalf("read %q", got)
		}
		h, err := e.store.Open(context.Background(), x, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.write(t, h, []byte("new"))
		e.drain(t)
		want(t, "the library", e.paths(), []string{"a.txt"})
		if got := e.content(t, "a.txt"); string(got) != "new" {
			t.Fatalf("the library holds %q", got)
		}
		caps := e.mt.Caps()
		if !caps.NewIDPerUpload {
			// A new version under the same id: the file was never removed.
			if it := e.tree()["a.txt"]; it.ID != id {
				t.Fatalf("a.txt is %s now, not %s: %+v", it.ID, id, e.mt.Items())
			}
			for _, it := range e.mt.Items() {
				if it.Status != memtest.Active {
					t.Fatalf("%s (%s) was removed", it.Name, it.ID)
				}
			}
		}
		e.expire()
		if got := e.read(t, e.lookup(t, "a.txt"), 0, -1); string(got) != "new" {
			t.Fatalf("read back %q", got)
		}
	})
}

func TestProfileRenameInFolder(t *testing.T) {
	forProfiles(t, "rename", func(t *testing.T, e *pEnv) {
		d := e.mt.AddFolder("", "Docs")
		e.mt.AddFile(d, "a.txt", []byte("A"))
		e.mt.AddFolder(d, "Sub")
		if err := e.store.Rename(context.Background(), e.lookup(t, "Docs/a.txt"), "b.txt", nil); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Rename(context.Background(), e.lookup(t, "Docs/Sub"), "Sub2", nil); err != nil {
			t.Fatal(err)
		}
		want(t, "the library", e.paths(), []string{"Docs/", "Docs/Sub2/", "Docs/b.txt"})
		want(t, "the mount", e.names(t, "Docs"), []string{"Sub2/", "b.txt"})
		if got := e.content(t, "Docs/b.txt"); string(got) != "A" {
			t.Fatalf("b.txt holds %q", got)
		}
	})
}

func TestProfileRenameOntoAFile(t *testing.T) {
	forProfiles(t, "rename-onto", func(t *testing.T, e *pEnv) {
		e.mt.AddFile("", "a.txt", []byte("A"))
		e.mt.AddFile("", "c.txt", []byte("C"))
		c := e.lookup(t, "c.txt")
		if err := e.store.Rename(context.Background(), e.lookup(t, "a.txt"), "c.txt", &c); err != nil {
			t.Fatal(err)
		}
		e.drain(t)
		want(t, "the library", e.paths(), []string{"c.txt"})
		if got := e.content(t, "c.txt"); string(got) != "A" {
			t.Fatalf("c.txt holds %q", got)
		}
		want(t, "the mount", e.names(t, ""), []string{"c.txt"})
	})
}

func TestProfileMoveAcrossFolders(t *testing.T) {
	forProfiles(t, "move", func(t *testing.T, e *pEnv) {
		src := e.mt.AddFolder("", "Src")
		e.mt.AddFolder("", "Dst")
		e.mt.AddFile(src, "a.txt", []byte("A"))
		sub := e.mt.AddFolder(src, "Sub")
		e.mt.AddFile(sub, "x.txt", []byte("x"))
		dst := e.lookup(t, "Dst")
		want(t, "the mount: the folder moved", e.names(t, "Src/Sub"), []string{"x.txt"})
		ctx := context.Background()
		errFile := e.store.Move(ctx, e.lookup(t, "Src/a.txt"), dst.ID, "b.txt", nil)
		errDir := e.store.Move(ctx, e.lookup(t, "Src/Sub"), dst.ID, "Sub", nil)
		caps := e.mt.Caps()
		if !caps.Move {
			if !errors.Is(errFile, ErrCrossFolder) || !errors.Is(errDir, ErrCrossFolder) {
				t.Fatalf("moves without Caps.Move: %v, %v; want ErrCrossFolder", errFile, errDir)
			}
			if calls := e.mt.Calls(memtest.OpMove); calls != 0 {
				t.Fatalf("%d Move calls", calls)
			}
			want(t, "the library", e.paths(), []string{"Dst/", "Src/", "Src/Sub/", "Src/Sub/x.txt", "Src/a.txt"})
			return
		}
		if errFile != nil || errDir != nil {
			t.Fatalf("moves: %v, %v", errFile, errDir)
		}
		want(t, "the library", e.paths(), []string{"Dst/", "Dst/Sub/", "Dst/Sub/x.txt", "Dst/b.txt", "Src/"})
		want(t, "the mount: source", e.names(t, "Src"), nil)
		want(t, "the mount: target", e.names(t, "Dst"), []string{"Sub/", "b.txt"})
		want(t, "the mount: the folder moved", e.names(t, "Dst/Sub"), []string{"x.txt"})
		if got := e.read(t, e.lookup(t, "Dst/b.txt"), 0, -1); string(got) != "A" {
			t.Fatalf("b.txt reads %q", got)
		}
	})
}

func TestProfileUnlink(t *testing.T) {
	forProfiles(t, "unlink", func(t *testing.T, e *pEnv) {
		id := e.mt.AddFile("", "a.txt", []byte("A"))
		e.mt.AddFile("", "b.txt", []byte("B"))
		if err := e.store.Remove(context.Background(), e.lookup(t, "a.txt")); err != nil {
			t.Fatal(err)
		}
		want(t, "the library", e.paths(), []string{"b.txt"})
		want(t, "the mount", e.names(t, ""), []string{"b.txt"})
		it, _ := e.mt.Item(id)
		// To the trash where there is one (the default), else for good.
		if wantStatus := map[bool]memtest.Status{true: memtest.Trashed, false: memtest.Deleted}[e.mt.Caps().Trash]; it.Status != wantStatus {
			t.Fatalf("a.txt is %s, want %s", it.Status, wantStatus)
		}
	})
}

func TestProfileRmdir(t *testing.T) {
	forProfiles(t, "rmdir", func(t *testing.T, e *pEnv) {
		e.mt.AddFolder("", "Empty")
		full := e.mt.AddFolder("", "Full")
		e.mt.AddFile(full, "f.txt", []byte("F"))
		ctx := context.Background()
		if err := e.store.Rmdir(ctx, e.lookup(t, "Full")); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("rmdir of a folder holding a file: %v, want ErrNotEmpty", err)
		}
		if err := e.store.Rmdir(ctx, e.lookup(t, "Empty")); err != nil {
			t.Fatal(err)
		}
		want(t, "the library", e.paths(), []string{"Full/", "Full/f.txt"})
		want(t, "the mount", e.names(t, ""), []string{"Full/"})
		if calls := e.mt.Calls(memtest.OpRemove); calls != 1 {
			t.Fatalf("%d Remove calls, want 1", calls)
		}
	})
}

func TestProfileRemount(t *testing.T) {
	forProfiles(t, "remount", func(t *testing.T, e *pEnv) {
		d := e.mt.AddFolder("", "Docs")
		e.mt.AddFile(d, "a.txt", []byte("A"))
		e.mt.AddFile("", "top.txt", []byte("T"))
		h, _, err := e.store.Create(context.Background(), e.lookup(t, "Docs").ID, "new.txt")
		if err != nil {
			t.Fatal(err)
		}
		e.write(t, h, []byte("N"))
		e.drain(t)
		before := [][]string{e.names(t, ""), e.names(t, "Docs")}
		e.remount(t)
		after := [][]string{e.names(t, ""), e.names(t, "Docs")}
		for i := range before {
			want(t, "after a remount", after[i], before[i])
		}
		if got := e.read(t, e.lookup(t, "Docs/new.txt"), 0, -1); string(got) != "N" {
			t.Fatalf("new.txt reads %q after a remount", got)
		}
	})
}

// What the cache reads from Caps, each against the profile that claims
// it and those that do not.

// spy is a backend that notes what the cache asks of it, refused calls
// too (memtest refuses what Caps rule out before it counts a call).
type spy struct {
	*memtest.Backend
	mu       sync.Mutex
	lists    []remote.ListQuery
	updated  int
	readRefs []remote.FileRef
}

func (s *spy) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	s.mu.Lock()
	s.lists = append(s.lists, q)
	s.mu.Unlock()
	return s.Backend.List(ctx, q, restart, add)
}

func (s *spy) ListUpdated(ctx context.Context, typ string, visit func(remote.Item) bool) error {
	s.mu.Lock()
	s.updated++
	s.mu.Unlock()
	return s.Backend.ListUpdated(ctx, typ, visit)
}

func (s *spy) ReadAt(ctx context.Context, f remote.FileRef, bufs [][]byte, off int64) (int, error) {
	s.mu.Lock()
	s.readRefs = append(s.readRefs, f)
	s.mu.Unlock()
	return s.Backend.ReadAt(ctx, f, bufs, off)
}

func (s *spy) seen() (lists []remote.ListQuery, updated int, reads []remote.FileRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lists), s.updated, slices.Clone(s.readRefs)
}

// newSpyEnv is newPEnv with the store over a spy of the library.
func newSpyEnv(t *testing.T, p memtest.Profile, mod ...func(*Options)) (*pEnv, *spy) {
	t.Helper()
	var sp *spy
	e := newPEnvOver(t, p, 0, func(mt *memtest.Backend) remote.Backend {
		sp = &spy{Backend: mt}
		return sp
	}, mod...)
	return e, sp
}

// Caps.OneListing: a folder is one listing (ListQuery.Type ""), not one
// per type of item.
func TestCapsOneListing(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			e, sp := newSpyEnv(t, p.of())
			d := e.mt.AddFolder("", "Docs")
			e.mt.AddFile(d, "a.txt", []byte("A"))
			e.mt.AddFolder(d, "Sub")
			want(t, "the mount", e.names(t, "Docs"), []string{"Sub/", "a.txt"})
			lists, _, _ := sp.seen()
			var types []string
			for _, q := range lists {
				if q.ParentID == d {
					types = append(types, q.Type)
				}
			}
			slices.Sort(types)
			wantTypes := []string{remote.TypeFile, remote.TypeFolder}
			if e.mt.Caps().OneListing {
				wantTypes = []string{""}
			}
			want(t, "the listings of Docs, by type", types, wantTypes)
		})
	}
}

// Without Caps.ListAll and Caps.ListRecent, Options.ListAll is dropped
// (one INFO line): no whole-library listing and no listing by last
// change is ever asked; polls list the folders in use, and a folder is
// listed again once its TTL has passed.
func TestCapsNoWholeLibrary(t *testing.T) {
	for _, p := range profiles {
		if p.of().Caps.ListAll {
			continue // HighLevel: the pass over the library (sync_test.go)
		}
		t.Run(p.name, func(t *testing.T) {
			const poll = 10 * time.Second
			e, sp := newSpyEnv(t, p.of(), func(o *Options) { o.ListAll, o.PollInterval = true, poll })
			changed := make(chan string, 16)
			e.store.OnChange(func(folderID string, _, _ *Listing) { changed <- folderID })
			d := e.mt.AddFolder("", "Docs")
			want(t, "the mount", e.names(t, "Docs"), nil)
			e.mt.AddFile(d, "elsewhere.txt", []byte("E"))
			// The poller lists the folder in use and reports the change.
			// (Each tick is given a moment to be taken up by the poller,
			// whose ticker may not be waiting yet: the wait only bounds
			// the loop, which ends as soon as the change is told.)
			for polls, found := 0, false; !found; polls++ {
				if polls == 40 {
					t.Fatal("no poll saw the change")
				}
				e.clock.Advance(poll)
				select {
				case id := <-changed:
					found = id == d
				case <-time.After(100 * time.Millisecond):
				}
			}
			e.mt.AddFile(d, "later.txt", []byte("L"))
			e.expire()
			want(t, "the mount after the TTL", e.names(t, "Docs"), []string{"elsewhere.txt", "later.txt"})
			e.store.Close()
			lists, updated, _ := sp.seen()
			for _, q := range lists {
				if q.All {
					t.Fatalf("a whole-library listing was asked: %+v", q)
				}
			}
			if updated != 0 {
				t.Fatalf("%d listings by last change were asked", updated)
			}
			if len(e.log.Lines("WARN")) != 0 || len(e.log.Lines("ERROR")) != 0 {
				t.Fatalf("warnings: %q %q", e.log.Lines("WARN"), e.log.Lines("ERROR"))
			}
			if n := len(slices.DeleteFunc(e.log.Lines("INFO"), func(l string) bool { return !strings.Contains(l, "cannot list the whole library") })); n != 1 {
				t.Fatalf("%d INFO lines say the whole library is not listed, want 1", n)
			}
		})
	}
}

// Content is cached by id and version (Entry.ContentKey): a file changed
// elsewhere as a new version under its id reads the new bytes once its
// listing shows the new version, from memory, from the disk cache, and
// after a remount; every read names the version (FileRef.Rev).
func TestCapsContentByVersion(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			e, sp := newSpyEnv(t, p.of(), func(o *Options) { o.DiskBytes = 64 << 20 })
			id := e.mt.AddFile("", "a.txt", []byte("version 1"))
			x := e.lookup(t, "a.txt")
			if got := e.read(t, x, 0, -1); string(got) != "version 1" {
				t.Fatalf("read %q", got)
			}
			h, err := e.store.Open(context.Background(), x, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			firstID := h.ContentID()
			h.Release()
			// Another client uploads new bytes, of the same size.
			newID := e.mt.AddFile("", "a.txt", []byte("version 2"))
			if newID != id {
				e.mt.Delete(id, false) // HighLevel: a new file; the old one goes
			}
			e.expire()
			x = e.lookup(t, "a.txt")
			if got := e.read(t, x, 0, -1); string(got) != "version 2" {
				t.Fatalf("after a new version was listed, read %q", got)
			}
			h, err = e.store.Open(context.Background(), x, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if h.ContentID() == firstID {
				t.Fatalf("the kernel is told the bytes are the same: %q", firstID)
			}
			h.Release()
			it, _ := e.mt.Item(newID)
			_, _, reads := sp.seen()
			if last := reads[len(reads)-1]; last.ID != newID || last.Rev != it.Rev {
				t.Fatalf("read %+v, want id %s version %q", last, newID, it.Rev)
			}
			// The disk cache holds both versions; a remount shows the new.
			e.remount(t)
			if got := e.read(t, e.lookup(t, "a.txt"), 0, -1); string(got) != "version 2" {
				t.Fatalf("after a remount, read %q", got)
			}
		})
	}
}

// Caps.ValidName: a name the service would refuse or rewrite is refused
// before anything is sent (ErrInvalid, EINVAL in fs, which logs it
// once), with ValidName's reason; the cache logs nothing of its own.
func TestCapsNameRules(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0)
			e.mt.AddFile("", "a.txt", []byte("A"))
			ctx := context.Background()
			valid := e.mt.Caps().ValidName
			// refused is a name ValidName refuses where it is set: with a
			// space (ImageKit rewrites it), else with a colon (OCM).
			refused := func(name string, dir bool) string {
				for _, sep := range []string{" ", ":"} {
					if n := strings.Replace(name, "_", sep, 1); valid == nil || valid(n, dir) != nil {
						return n
					}
				}
				t.Fatalf("%s: ValidName refuses no form of %q", p.name, name)
				return ""
			}
			names := []string{refused("new_file.txt", false), refused("new_folder", true), refused("a_file.txt", false)}
			_, _, errCreate := e.store.Create(ctx, "", names[0])
			_, errMkdir := e.store.Mkdir(ctx, "", names[1])
			errRename := e.store.Rename(ctx, e.lookup(t, "a.txt"), names[2], nil)
			if valid == nil {
				if errCreate != nil || errMkdir != nil || errRename != nil {
					t.Fatalf("names kept as they are refused: %v, %v, %v", errCreate, errMkdir, errRename)
				}
				return
			}
			for i, err := range []error{errCreate, errMkdir, errRename} {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), valid(names[i], i == 1).Error()) {
					t.Fatalf("a name the service refuses: %v, want ErrInvalid with the service's rule", err)
				}
			}
			want(t, "the library", e.paths(), []string{"a.txt"})
			if n := e.mt.Calls(memtest.OpUpload) + e.mt.Calls(memtest.OpCreateFolder) + e.mt.Calls(memtest.OpRename); n != 0 {
				t.Fatalf("%d calls were made", n)
			}
			if l := append(e.log.Lines("WARN"), e.log.Lines("ERROR")...); len(l) != 0 {
				t.Fatalf("the cache logged %q", l)
			}
		})
	}
}

// Caps.UniqueNames and Caps.CaseInsensitive: a create, a mkdir, a rename
// or a move onto a name another item holds (ignoring case, where the
// service does) is ErrExists (EEXIST), and nothing is sent; a look-up
// stays exact, and an item may take its own name in another case.
func TestCapsTakenNames(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0)
			e.mt.AddFile("", "Report.txt", []byte("R"))
			e.mt.AddFile("", "b.txt", []byte("B"))
			e.mt.AddFolder("", "Docs")
			e.mt.AddFolder("", "Dst")
			dst := e.lookup(t, "Dst")
			caps := e.mt.Caps()
			ctx := context.Background()
			before := e.paths()
			calls := func() int {
				return e.mt.Calls(memtest.OpUpload) + e.mt.Calls(memtest.OpCreateFolder) + e.mt.Calls(memtest.OpRename) + e.mt.Calls(memtest.OpMove)
			}
			// Exactly taken, where names are unique: a folder made onto a
			// folder (ImageKit would answer with the one that exists).
			if _, err := e.store.Mkdir(ctx, "", "Docs"); caps.UniqueNames != errors.Is(err, ErrExists) {
				t.Fatalf("mkdir onto a folder: %v", err)
			}
			if caps.UniqueNames {
				want(t, "the library", e.paths(), before)
			}
			_, _, err := e.store.Create(ctx, "", "report.txt")
			if !caps.CaseInsensitive {
				if err != nil {
					t.Fatalf("a name differing in case, where case counts: %v", err)
				}
				return
			}
			folded := []error{err}
			_, err = e.store.Mkdir(ctx, "", "REPORT.TXT")
			folded = append(folded, err)
			folded = append(folded, e.store.Rename(ctx, e.lookup(t, "b.txt"), "report.TXT", nil))
			e.mt.AddFile(dst.ID, "Moved.txt", []byte("M"))
			if caps.Move {
				folded = append(folded, e.store.Move(ctx, e.lookup(t, "b.txt"), dst.ID, "moved.txt", nil))
			}
			for _, err := range folded {
				if !errors.Is(err, ErrExists) {
					t.Fatalf("a name differing only in case: %v, want ErrExists", err)
				}
			}
			if n := calls(); n != 0 {
				t.Fatalf("%d calls were made", n)
			}
			want(t, "the library", e.paths(), []string{"Docs/", "Dst/", "Dst/Moved.txt", "Report.txt", "b.txt"})
			// Look-ups are exact: "report.txt" is not Report.txt.
			want(t, "the mount", e.names(t, ""), []string{"Docs/", "Dst/", "Report.txt", "b.txt"})
			// Its own name in another case.
			if err := e.store.Rename(ctx, e.lookup(t, "Report.txt"), "REPORT.txt", nil); err != nil {
				t.Fatal(err)
			}
			want(t, "the library", e.paths(), []string{"Docs/", "Dst/", "Dst/Moved.txt", "REPORT.txt", "b.txt"})
		})
	}
}

// Caps.UniqueNames and Caps.CaseInsensitive, for a file moved while its
// new bytes wait in the write-back queue: its copy in the API (the
// upload this mount made of it before) follows it only when the bytes
// are due, and is until then in the folder the file left, under its old
// name. A rename of the file in its new folder is judged there: onto a
// file of that folder (replaced) it is done, whatever the folder it left
// holds; onto a name another file of its folder holds (ignoring case,
// where the service does) it is ErrExists. (Before: the names were
// judged in the folder the copy was still in, where another b.txt gave
// EEXIST and a real clash went unseen; fsrand write-back on ImageKit
// failed at op 1687 with rename: EEXIST.)
func TestCapsTakenNamesMovedPending(t *testing.T) {
	for _, p := range profiles {
		caps := p.of().Caps
		if !caps.Move || (!caps.UniqueNames && !caps.CaseInsensitive) {
			continue // nothing moves, or no name is judged (HighLevel)
		}
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0, withDelay)
			ctx := context.Background()
			src := e.mt.AddFolder("", "Src")
			dst := e.mt.AddFolder("", "Dst")
			e.mt.AddFile(src, "b.txt", []byte("Src's b"))
			e.mt.AddFile(dst, "b.txt", []byte("Dst's b"))
			e.mt.AddFile(dst, "Other.txt", []byte("other"))
			h, _, err := e.store.Create(ctx, src, "a.txt")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.Write(ctx, []byte("A1"), 0); err != nil {
				t.Fatal(err)
			}
			if err := h.Fsync(ctx); err != nil { // uploaded: that copy is the file's latest
				t.Fatal(err)
			}
			e.write(t, h, []byte("A2")) // waits for the write-back delay
			if err := e.store.Move(ctx, e.lookup(t, "Src/a.txt"), dst, "a.txt", nil); err != nil {
				t.Fatal(err)
			}
			want(t, "the library while A2 waits", e.paths(), []string{"Dst/", "Dst/Other.txt", "Dst/b.txt", "Src/", "Src/a.txt", "Src/b.txt"})
			clash := "Other.txt"
			if caps.CaseInsensitive {
				clash = "OTHER.TXT"
			}
			if err := e.store.Rename(ctx, e.lookup(t, "Dst/a.txt"), clash, nil); !errors.Is(err, ErrExists) {
				t.Fatalf("rename onto %s, which another file of the folder holds: %v, want ErrExists", clash, err)
			}
			b := e.lookup(t, "Dst/b.txt")
			if err := e.store.Rename(ctx, e.lookup(t, "Dst/a.txt"), "b.txt", &b); err != nil {
				t.Fatalf("rename onto b.txt of the folder, replacing it: %v", err)
			}
			want(t, "the mount: Dst", e.names(t, "Dst"), []string{"Other.txt", "b.txt"})
			want(t, "the mount: Src", e.names(t, "Src"), []string{"b.txt"})
			e.drain(t)
			want(t, "the library", e.paths(), []string{"Dst/", "Dst/Other.txt", "Dst/b.txt", "Src/", "Src/b.txt"})
			for path, bytes := range map[string]string{"Dst/b.txt": "A2", "Src/b.txt": "Src's b", "Dst/Other.txt": "other"} {
				if got := e.content(t, path); string(got) != bytes {
					t.Errorf("%s holds %q, want %q", path, got, bytes)
				}
			}
		})
	}
}

func TestProfileEditInPlace(t *testing.T) {
	forProfiles(t, "edit", func(t *testing.T, e *pEnv) {
		e.mt.AddFile("", "a.txt", []byte("hello world"))
		h, err := e.store.Open(context.Background(), e.lookup(t, "a.txt"), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Write(context.Background(), []byte("W"), 6); err != nil {
			t.Fatal(err)
		}
		if err := h.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.Release()
		e.drain(t)
		want(t, "the library", e.paths(), []string{"a.txt"})
		if got := e.content(t, "a.txt"); string(got) != "hello World" {
			t.Fatalf("the library holds %q", got)
		}
	})
}

// A move of a file the write-back queue holds: pending bytes, or
// uploaded in this mount.
func TestProfileMoveHeldFile(t *testing.T) {
	for _, scenario := range []string{"move-pending", "move-uploaded"} {
		t.Run(scenario, func(t *testing.T) {
			forProfiles(t, scenario, func(t *testing.T, e *pEnv) {
				e.mt.AddFolder("", "Dst")
				dst := e.lookup(t, "Dst")
				h, x, err := e.store.Create(context.Background(), "", "new.txt")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.Write(context.Background(), []byte("N"), 0); err != nil {
					t.Fatal(err)
				}
				if scenario == "move-uploaded" {
					e.write(t, h, nil)
					e.drain(t)
					x = e.lookup(t, "new.txt")
				} else {
					defer h.Release()
				}
				err = e.store.Move(context.Background(), x, dst.ID, "new.txt", nil)
				if !e.mt.Caps().Move {
					if !errors.Is(err, ErrCrossFolder) {
						t.Fatalf("move without Caps.Move: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if scenario == "move-pending" {
					e.write(t, h, nil)
				}
				e.drain(t)
				want(t, "the library", e.paths(), []string{"Dst/", "Dst/new.txt"})
			})
		})
	}
}

// A file of the API renamed onto a file whose new bytes wait in the
// write-back queue: the rename takes the name, the waiting bytes are
// dropped with the file replaced, and the library ends with the renamed
// file's bytes under the name. Where names are unique (ImageKit), the
// copy of the file replaced holds the name until it is removed: the
// rename waits for that. (Before: the rename was sent while that copy
// held the name, and the service's 409 was EIO; fsrand write-back on
// ImageKit failed at op 387.)
func TestProfileRenameOntoAFileWaiting(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Minute} {
		t.Run(fmt.Sprint(delay), func(t *testing.T) {
			for _, p := range profiles {
				t.Run(p.name, func(t *testing.T) {
					e := newPEnv(t, p.of(), 0, func(o *Options) { o.WriteBackDelay = delay })
					ctx := context.Background()
					e.mt.AddFile("", "a.txt", []byte("A"))
					e.mt.AddFile("", "c.txt", []byte("C"))
					e.edit(t, "c.txt", []byte("C2")) // waits (delay) or is sent
					c := e.lookup(t, "c.txt")
					h, err := e.store.Open(ctx, c, false, nil) // c.txt changed again: waits either way
					if err != nil {
						t.Fatal(err)
					}
					if _, err := h.Write(ctx, []byte("3"), 2); err != nil {
						t.Fatal(err)
					}
					if err := e.store.Rename(ctx, e.lookup(t, "a.txt"), "c.txt", &c); err != nil {
						t.Fatalf("rename onto a file with waiting bytes: %v", err)
					}
					want(t, "the mount", e.names(t, ""), []string{"c.txt"})
					if err := h.Flush(ctx); err != nil {
						t.Logf("flush of the file replaced: %v", err)
					}
					h.Release()
					e.drain(t)
					want(t, "the library", e.paths(), []string{"c.txt"})
					if got := e.content(t, "c.txt"); string(got) != "A" {
						t.Fatalf("c.txt holds %q, want the renamed file's", got)
					}
					want(t, "the mount", e.names(t, ""), []string{"c.txt"})
					if got := e.read(t, e.lookup(t, "c.txt"), 0, -1); string(got) != "A" {
						t.Fatalf("the mount reads %q", got)
					}
				})
			}
		})
	}
}

// A file whose bytes wait in the write-back queue is renamed, or moved,
// and its copy in the API keeps the old name until the worker sends the
// change. Where names are unique, a new file or folder given that name
// meanwhile must not meet that copy: the change goes first. (Before: a
// new file uploaded onto the name became a version of the renamed file,
// whose history then held the other file's bytes; a folder made onto it
// was the service's 409, EIO; fsrand write-back on OCM failed at op 137.)
func TestProfileNameLeftByAQueuedChange(t *testing.T) {
	for _, scenario := range []string{"rename", "move"} {
		for _, p := range profiles {
			t.Run(scenario+"/"+p.name, func(t *testing.T) {
				e := newPEnv(t, p.of(), 0, func(o *Options) { o.WriteBackDelay = time.Minute })
				nameLeftByAQueuedChange(t, e, scenario)
			})
		}
	}
}

func nameLeftByAQueuedChange(t *testing.T, e *pEnv, scenario string) {
	ctx := context.Background()
	caps := e.mt.Caps()
	e.mt.AddFile("", "a.txt", []byte("A"))
	e.mt.AddFolder("", "Dst")
	var wantTree []string
	content := map[string]string{}
	switch scenario {
	case "rename":
		oldID := e.tree()["a.txt"].ID
		a, err := e.store.Open(ctx, e.lookup(t, "a.txt"), true, nil) // still open: being written
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Write(ctx, []byte("A2"), 0); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Rename(ctx, e.lookup(t, "a.txt"), "b.txt", nil); err != nil {
			t.Fatal(err)
		}
		h, _, err := e.store.Create(ctx, "", "a.txt")
		if err != nil {
			t.Fatalf("create onto the name a queued rename left: %v", err)
		}
		if caps.UniqueNames && e.tree()["a.txt"].ID == oldID {
			// Its upload would become a version of the renamed file.
			t.Fatalf("a.txt was created while the renamed file's copy in the library still held the name")
		}
		e.write(t, h, []byte("N"))
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		a.Release()
		wantTree, content = []string{"Dst/", "a.txt", "b.txt"}, map[string]string{"a.txt": "N", "b.txt": "A2"}
	case "move":
		if !caps.Move {
			return
		}
		e.mt.AddFile("", "mm", []byte("M"))
		m, err := e.store.Open(ctx, e.lookup(t, "mm"), true, nil) // still open: being written
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Write(ctx, []byte("M2"), 0); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Move(ctx, e.lookup(t, "mm"), e.lookup(t, "Dst").ID, "mm", nil); err != nil {
			t.Fatal(err)
		}
		dir := "mm"
		if caps.CaseInsensitive {
			dir = "MM"
		}
		if _, err := e.store.Mkdir(ctx, "", dir); err != nil {
			t.Fatalf("mkdir onto the name a queued move left: %v", err)
		}
		if err := m.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		m.Release()
		wantTree, content = []string{"Dst/", "Dst/mm", dir + "/", "a.txt"}, map[string]string{"Dst/mm": "M2", "a.txt": "A"}
	}
	e.drain(t)
	slices.Sort(wantTree)
	want(t, "the library", e.paths(), wantTree)
	for path, data := range content {
		if got := e.content(t, path); string(got) != data {
			t.Errorf("%s holds %q, want %q", path, got, data)
		}
	}
	if tr := e.tree(); scenario == "rename" && tr["a.txt"].ID == tr["b.txt"].ID {
		t.Errorf("a.txt and b.txt are one file, %s", tr["a.txt"].ID)
	}
}

// A file whose copy in the API has not followed its move yet (its
// bytes wait in the queue) is replaced by another file moved onto it:
// that copy goes to the trash from the folder it is still in, and the
// mount shows it there no more. (Before: it was trashed as if in the
// folder the file was moved to, and the listing of the folder it was in
// kept showing it, with its old bytes; fsrand write-back on OCM failed
// at op 199.)
func TestProfileReplacedBeforeItsCopyFollowed(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0, func(o *Options) { o.WriteBackDelay = time.Minute })
			if !e.mt.Caps().Move {
				return
			}
			ctx := context.Background()
			e.mt.AddFolder("", "A")
			e.mt.AddFolder("", "B")
			a, b := e.lookup(t, "A"), e.lookup(t, "B")
			e.mt.AddFile(a.ID, "x", []byte("X"))
			e.edit(t, "A/x", []byte("X2")) // waits the delay out
			if err := e.store.Move(ctx, e.lookup(t, "A/x"), b.ID, "x", nil); err != nil {
				t.Fatal(err)
			}
			h, _, err := e.store.Create(ctx, a.ID, "n")
			if err != nil {
				t.Fatal(err)
			}
			e.write(t, h, []byte("N"))
			x := e.lookup(t, "B/x")
			if err := e.store.Move(ctx, e.lookup(t, "A/n"), b.ID, "x", &x); err != nil {
				t.Fatal(err)
			}
			want(t, "the mount's A", e.names(t, "A"), nil)
			e.drain(t)
			want(t, "the library", e.paths(), []string{"A/", "B/", "B/x"})
			if got := e.content(t, "B/x"); string(got) != "N" {
				t.Fatalf("B/x holds %q", got)
			}
			want(t, "the mount's A", e.names(t, "A"), nil)
			want(t, "the mount's B", e.names(t, "B"), []string{"x"})
		})
	}
}

// A file just uploaded, still open (its record idle: the copy in the API
// holds its bytes), renamed over another file: where names are unique
// the file replaced goes first, then the rename, as for any file of the
// API. (Before: the rename was sent while the other file held the name,
// and the service's 409 was EIO; fsrand write-back on OCM, op 1363.)
func TestProfileRenameOpenFileOntoAFile(t *testing.T) {
	forProfiles(t, "rename-open", func(t *testing.T, e *pEnv) {
		ctx := context.Background()
		e.mt.AddFile("", "a.txt", []byte("A"))
		h, _, err := e.store.Create(ctx, "", "e.png")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Write(ctx, []byte("E"), 0); err != nil {
			t.Fatal(err)
		}
		if err := h.Flush(ctx); err != nil { // uploaded now (no write-back delay)
			t.Fatal(err)
		}
		defer h.Release() // still open
		a := e.lookup(t, "a.txt")
		if err := e.store.Rename(ctx, e.lookup(t, "e.png"), "a.txt", &a); err != nil {
			t.Fatalf("rename of an open file over a file: %v", err)
		}
		e.drain(t)
		want(t, "the library", e.paths(), []string{"a.txt"})
		if got := e.content(t, "a.txt"); string(got) != "E" {
			t.Fatalf("a.txt holds %q", got)
		}
		want(t, "the mount", e.names(t, ""), []string{"a.txt"})
	})
}

// A folder renamed over an empty folder whose last file's removal is
// still queued (a write-back delay: removals wait to go in bulk): the
// removal goes first, and the rename replaces the folder, as rmdir
// would find it empty. (Before: ENOTEMPTY, where a disk would have done
// it; fsrand write-back on ImageKit, op 956.)
func TestProfileRenameOverFolderEmptied(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0, func(o *Options) { o.WriteBackDelay = time.Minute })
			ctx := context.Background()
			e.mt.AddFolder("", "src")
			dst := e.mt.AddFolder("", "dst")
			e.mt.AddFile(dst, "x", []byte("X"))
			if err := e.store.Remove(ctx, e.lookup(t, "dst/x")); err != nil {
				t.Fatal(err)
			}
			d := e.lookup(t, "dst")
			if err := e.store.Rename(ctx, e.lookup(t, "src"), "dst", &d); err != nil {
				t.Fatalf("rename over a folder emptied: %v", err)
			}
			e.drain(t)
			want(t, "the library", e.paths(), []string{"dst/"})
			want(t, "the mount", e.names(t, ""), []string{"dst/"})
		})
	}
}
