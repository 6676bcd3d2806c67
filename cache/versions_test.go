package cache

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/pending"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/memtest"
)

// The write-back queue under the profiles that keep versions under one
// id (ImageKit, OCM) and move files: a replace is a new version, a lost
// answer is found as one, a move of a held file follows it, and a crash
// at each new step recovers with the library right.

// versionProfiles runs fn under each profile that keeps versions under
// one id, on a library behind a backend a crash can cut off.
func versionProfiles(t *testing.T, fn func(t *testing.T, e *pEnv, c *cutBackend), mod ...func(*Options)) {
	for _, p := range profiles {
		if p.of().Caps.NewIDPerUpload {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			var c *cutBackend
			e := newPEnvOver(t, p.of(), 0, func(mt *memtest.Backend) remote.Backend {
				c = &cutBackend{Backend: mt}
				return c
			}, mod...)
			fn(t, e, c)
		})
	}
}

// cutBackend is the library as a Store sees it, until the Store's process
// is gone (cut): every call then fails, having done nothing.
type cutBackend struct {
	*memtest.Backend
	off atomic.Bool
}

func (c *cutBackend) gone() error {
	if c.off.Load() {
		return fmt.Errorf("%w: the process is gone", remote.ErrUnavailable)
	}
	return nil
}

func (c *cutBackend) Check(ctx context.Context) error {
	if err := c.gone(); err != nil {
		return err
	}
	return c.Backend.Check(ctx)
}

func (c *cutBackend) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	if err := c.gone(); err != nil {
		return err
	}
	return c.Backend.List(ctx, q, restart, add)
}

func (c *cutBackend) ListUpdated(ctx context.Context, typ string, visit func(remote.Item) bool) error {
	if err := c.gone(); err != nil {
		return err
	}
	return c.Backend.ListUpdated(ctx, typ, visit)
}

func (c *cutBackend) ReadAt(ctx context.Context, f remote.FileRef, bufs [][]byte, off int64) (int, error) {
	if err := c.gone(); err != nil {
		return 0, err
	}
	return c.Backend.ReadAt(ctx, f, bufs, off)
}

func (c *cutBackend) Stat(ctx context.Context, f remote.FileRef) (remote.FileInfo, error) {
	if err := c.gone(); err != nil {
		return remote.FileInfo{}, err
	}
	return c.Backend.Stat(ctx, f)
}

func (c *cutBackend) CreateFolder(ctx context.Context, parentID, name string) (remote.Item, error) {
	if err := c.gone(); err != nil {
		return remote.Item{}, err
	}
	return c.Backend.CreateFolder(ctx, parentID, name)
}

func (c *cutBackend) Upload(ctx context.Context, up remote.Upload) (remote.Item, error) {
	if err := c.gone(); err != nil {
		return remote.Item{}, err
	}
	return c.Backend.Upload(ctx, up)
}

func (c *cutBackend) FindLanded(ctx context.Context, a remote.Attempt) (remote.Item, bool, error) {
	if err := c.gone(); err != nil {
		return remote.Item{}, false, err
	}
	return c.Backend.FindLanded(ctx, a)
}

func (c *cutBackend) Confirm(ctx context.Context, it remote.Item, rivals []remote.Item, exclude []string) (remote.Item, error) {
	if err := c.gone(); err != nil {
		return remote.Item{}, err
	}
	return c.Backend.Confirm(ctx, it, rivals, exclude)
}

func (c *cutBackend) Rename(ctx context.Context, id, name string) error {
	if err := c.gone(); err != nil {
		return err
	}
	return c.Backend.Rename(ctx, id, name)
}

func (c *cutBackend) Move(ctx context.Context, id, parentID, name string) error {
	if err := c.gone(); err != nil {
		return err
	}
	return c.Backend.Move(ctx, id, parentID, name)
}

func (c *cutBackend) Remove(ctx context.Context, ids []string, permanent bool) error {
	if err := c.gone(); err != nil {
		return err
	}
	return c.Backend.Remove(ctx, ids, permanent)
}

// crash stops a Store at a crash point of the write-back queue, as kill
// -9 would: the goroutine that reaches it (for the file named name)
// waits there, the backend is cut off, and another Store starts on a
// copy of the cache directory as it was at that instant.
type crash struct {
	hit, release chan struct{}
	once         sync.Once
}

// crashAt arms the crash point; only its first passage stops.
func crashAt(t *testing.T, point, name string) *crash {
	c := &crash{hit: make(chan struct{}), release: make(chan struct{})}
	pending.SetTestHookCrash(func(p, n string) {
		if p != point || n != name {
			return
		}
		stop := false
		c.once.Do(func() { stop = true })
		if stop {
			close(c.hit)
			<-c.release
		}
	})
	t.Cleanup(func() { pending.SetTestHookCrash(nil) }) // after the Stores close
	return c
}

// restart waits for the crash, and starts a Store on what the crashed
// one left on disk, over the library itself.
func (e *pEnv) restart(t *testing.T, c *crash, cb *cutBackend) {
	t.Helper()
	select {
	case <-c.hit:
	case <-time.After(20 * time.Second):
		t.Fatal("the crash point was never reached")
	}
	cb.off.Store(true)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(e.opts.CacheDir)); err != nil {
		t.Fatal(err)
	}
	close(c.release) // the dead Store goes on, cut off, in its own directory
	e.store.Close()
	e.opts.CacheDir, e.rc = dir, cb.Backend
	e.start(t)
}

// withDelay makes closed files wait for the write-back delay (else a
// close waits for the upload).
func withDelay(o *Options) { o.WriteBackDelay = time.Minute }

// drainAway starts a drain that a crash may stop.
func (e *pEnv) drainAway() {
	s := e.store
	go s.Drain(context.Background())
}

// edit changes path's bytes to data through an open file, and closes it.
func (e *pEnv) edit(t *testing.T, path string, data []byte) {
	t.Helper()
	h, err := e.store.Open(context.Background(), e.lookup(t, path), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.write(t, h, data)
}

// versions is the number of versions the library holds of id, and
// whether it is active.
func versions(t *testing.T, mt *memtest.Backend, id string) (int, bool) {
	t.Helper()
	it, ok := mt.Item(id)
	if !ok {
		t.Fatalf("the library never held %s", id)
	}
	return len(it.Versions), it.Status == memtest.Active
}

// noRemovals fails if anything was removed from the library.
func noRemovals(t *testing.T, mt *memtest.Backend) {
	t.Helper()
	if n := mt.Calls(memtest.OpRemove); n != 0 {
		t.Fatalf("%d Remove calls", n)
	}
	for _, it := range mt.Items() {
		if it.Status != memtest.Active {
			t.Fatalf("%s (%s) is %s", it.Name, it.ID, it.Status)
		}
	}
}

// A file renamed while its new bytes wait: the rename goes first, and
// the bytes land as a new version of the same id; nothing is removed.
// (Before: uploaded under the new name as another file, and the file's
// own id, with its history, retired.)
func TestVersionsReplaceRenamed(t *testing.T) {
	versionProfiles(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		id := e.mt.AddFile("", "a.txt", []byte("old"))
		h, err := e.store.Open(context.Background(), e.lookup(t, "a.txt"), true, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.Rename(context.Background(), e.lookup(t, "a.txt"), "b.txt", nil); err != nil {
			t.Fatal(err)
		}
		e.write(t, h, []byte("new bytes"))
		e.drain(t)
		want(t, "the library", e.paths(), []string{"b.txt"})
		if it := e.tree()["b.txt"]; it.ID != id {
			t.Fatalf("b.txt is %s, not the file's own id %s", it.ID, id)
		}
		if n, _ := versions(t, e.mt, id); n != 2 {
			t.Fatalf("%d versions, want 2", n)
		}
		if got := e.content(t, "b.txt"); string(got) != "new bytes" {
			t.Fatalf("b.txt holds %q", got)
		}
		if n := e.mt.Calls(memtest.OpUpload); n != 1 {
			t.Fatalf("%d uploads", n)
		}
		noRemovals(t, e.mt)
	})
}

// A file with pending bytes renamed onto another, where names are
// unique: the other goes first, and the file keeps its own id and
// history; the other's history gets none of its bytes. (Before: the
// bytes landed as a version of the other file, and the file's own id
// was retired: two histories merged.)
func TestVersionsRenamePendingOntoAFile(t *testing.T) {
	versionProfiles(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		a := e.mt.AddFile("", "a.txt", []byte("A"))
		c := e.mt.AddFile("", "c.txt", []byte("C"))
		h, err := e.store.Open(context.Background(), e.lookup(t, "a.txt"), true, nil)
		if err != nil {
			t.Fatal(err)
		}
		target := e.lookup(t, "c.txt")
		if err := e.store.Rename(context.Background(), e.lookup(t, "a.txt"), "c.txt", &target); err != nil {
			t.Fatal(err)
		}
		e.write(t, h, []byte("A2"))
		e.drain(t)
		want(t, "the library", e.paths(), []string{"c.txt"})
		if it := e.tree()["c.txt"]; it.ID != a {
			t.Fatalf("c.txt is %s, not a.txt's id %s", it.ID, a)
		}
		if got := e.content(t, "c.txt"); string(got) != "A2" {
			t.Fatalf("c.txt holds %q", got)
		}
		if n, active := versions(t, e.mt, c); n != 1 || active {
			t.Fatalf("the replaced file has %d versions, active %v; want 1, removed", n, active)
		}
		want(t, "the mount", e.names(t, ""), []string{"c.txt"})
	})
}

// An upload whose answer is lost (the service stored it) is found as a
// new version of the file, and not sent twice.
func TestVersionsLostAnswerFound(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) { lostAnswerFound(t, newPEnv(t, p.of(), 0, withDelay)) })
	}
}

func lostAnswerFound(t *testing.T, e *pEnv) {
	{
		id := e.mt.AddFile("", "a.txt", []byte("old"))
		e.mt.LoseAnswer(memtest.OpUpload, 1)
		e.edit(t, "a.txt", []byte("new bytes"))
		// The attempt fails (its answer lost); its retry looks for it.
		for tries := 0; ; tries++ {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			left, _ := e.store.Drain(ctx)
			cancel()
			if left == 0 {
				break
			}
			if tries == 10 {
				t.Fatalf("%d left after %d retries", left, tries)
			}
			e.clock.Advance(10 * time.Minute)
		}
		if n := e.mt.Calls(memtest.OpUpload); n != 1 {
			t.Fatalf("%d uploads, want 1", n)
		}
		want(t, "the library", e.paths(), []string{"a.txt"})
		if got := e.content(t, "a.txt"); string(got) != "new bytes" {
			t.Fatalf("a.txt holds %q", got)
		}
		if e.mt.Caps().NewIDPerUpload {
			return
		}
		if n, _ := versions(t, e.mt, id); n != 2 {
			t.Fatalf("%d versions, want 2", n)
		}
		noRemovals(t, e.mt)
	}
}

// A crash once an upload landed, before its answer was noted: the next
// start looks for it from the spool (Attempt.Into, BaseRev), finds the
// version, and sends nothing again.
func TestVersionsCrashUploadAnswered(t *testing.T) {
	versionProfiles(t, func(t *testing.T, e *pEnv, cb *cutBackend) {
		id := e.mt.AddFile("", "a.txt", []byte("old"))
		c := crashAt(t, "upload-answered", "a.txt")
		e.edit(t, "a.txt", []byte("new bytes"))
		e.drainAway()
		e.restart(t, c, cb)
		e.drain(t)
		if n := e.mt.Calls(memtest.OpUpload); n != 1 {
			t.Fatalf("%d uploads, want 1", n)
		}
		if n, _ := versions(t, e.mt, id); n != 2 {
			t.Fatalf("%d versions, want 2", n)
		}
		want(t, "the library", e.paths(), []string{"a.txt"})
		if got := e.content(t, "a.txt"); string(got) != "new bytes" {
			t.Fatalf("a.txt holds %q", got)
		}
		noRemovals(t, e.mt)
	}, withDelay)
}

// movePending changes Src/a.txt (an existing file) and moves it to Dst
// while its bytes wait; crashing at point.
func movePendingCrash(t *testing.T, e *pEnv, cb *cutBackend, point string) string {
	src := e.mt.AddFolder("", "Src")
	dst := e.mt.AddFolder("", "Dst")
	id := e.mt.AddFile(src, "a.txt", []byte("old"))
	c := crashAt(t, point, "a.txt")
	e.edit(t, "Src/a.txt", []byte("new bytes"))
	x := e.lookup(t, "Src/a.txt")
	moved := make(chan error, 1)
	go func() { moved <- e.store.Move(context.Background(), x, dst, "a.txt", nil) }()
	if point != "moving" {
		if err := <-moved; err != nil {
			t.Fatal(err)
		}
		want(t, "the mount, at once", e.names(t, "Dst"), []string{"a.txt"})
		want(t, "the mount's source, at once", e.names(t, "Src"), nil)
		e.drainAway()
	}
	e.restart(t, c, cb)
	if point == "moving" {
		<-moved
	}
	e.drain(t)
	return id
}

// A crash at each step of a move of a file with pending bytes: just
// after the move was saved ("moving"), and once Backend.Move answered
// but before the record noted it ("moved"). The next start carries the
// move on: the file is in its new folder, its own id with a new version,
// and nothing was removed.
func TestVersionsCrashMovePending(t *testing.T) {
	for _, point := range []string{"moving", "moved"} {
		t.Run(point, func(t *testing.T) {
			versionProfiles(t, func(t *testing.T, e *pEnv, cb *cutBackend) {
				id := movePendingCrash(t, e, cb, point)
				want(t, "the library", e.paths(), []string{"Dst/", "Dst/a.txt", "Src/"})
				if it := e.tree()["Dst/a.txt"]; it.ID != id {
					t.Fatalf("Dst/a.txt is %s, not the file's own id %s", it.ID, id)
				}
				if got := e.content(t, "Dst/a.txt"); string(got) != "new bytes" {
					t.Fatalf("Dst/a.txt holds %q", got)
				}
				if n, _ := versions(t, e.mt, id); n != 2 {
					t.Fatalf("%d versions, want 2", n)
				}
				if n := e.mt.Calls(memtest.OpUpload); n != 1 {
					t.Fatalf("%d uploads", n)
				}
				noRemovals(t, e.mt)
				e.expire()
				want(t, "the mount", e.names(t, "Dst"), []string{"a.txt"})
				want(t, "the mount's source", e.names(t, "Src"), nil)
				if got := e.read(t, e.lookup(t, "Dst/a.txt"), 0, -1); string(got) != "new bytes" {
					t.Fatalf("Dst/a.txt reads %q", got)
				}
			}, withDelay)
		})
	}
}

// A file uploaded in this mount, then moved: the queue's note of its
// latest copy follows it, so a change after the move versions it where
// it is now.
func TestVersionsMoveUploadedThenChange(t *testing.T) {
	versionProfiles(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		dst := e.mt.AddFolder("", "Dst")
		h, x, err := e.store.Create(context.Background(), "", "n.txt")
		if err != nil {
			t.Fatal(err)
		}
		e.write(t, h, []byte("one"))
		e.drain(t)
		id := e.tree()["n.txt"].ID
		if err := e.store.Move(context.Background(), x, dst, "n.txt", nil); err != nil {
			t.Fatal(err)
		}
		e.edit(t, "Dst/n.txt", []byte("two"))
		e.drain(t)
		want(t, "the library", e.paths(), []string{"Dst/", "Dst/n.txt"})
		if it := e.tree()["Dst/n.txt"]; it.ID != id {
			t.Fatalf("Dst/n.txt is %s, not %s", it.ID, id)
		}
		if got := e.content(t, "Dst/n.txt"); string(got) != "two" {
			t.Fatalf("Dst/n.txt holds %q", got)
		}
		noRemovals(t, e.mt)
		if l := slices.Concat(e.log.Lines("WARN"), e.log.Lines("ERROR")); len(l) != 0 {
			t.Fatalf("log: %q", l)
		}
	})
}

// The entry of a file as it was listed before the mount overwrote it
// (what fs's inode keeps while the kernel trusts its look-up) stands for
// the file as it is once the new version landed: its size, its bytes,
// and the bytes a later change starts from are the new version's, though
// the id is the same. (Before: Store.latest followed an upload only to a
// new id, so cp onto a file of ImageKit read back the old bytes, and
// TestImageKitOverwriteAddsVersion failed.) A version listed after the
// upload (another client's) is not taken for an older one.
func TestVersionsOverwriteSeenByOldEntry(t *testing.T) {
	versionProfiles(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		ctx := context.Background()
		id := e.mt.AddFile("", "a.txt", []byte("the first version"))
		old := e.lookup(t, "a.txt")
		if got := e.read(t, old, 0, -1); string(got) != "the first version" {
			t.Fatalf("read %q", got)
		}
		e.edit(t, "a.txt", []byte("v2"))
		e.drain(t)
		if n, _ := versions(t, e.mt, id); n != 2 {
			t.Fatalf("%d versions, want 2", n)
		}
		st, err := e.store.Stat(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size != 2 || st.ID != id {
			t.Fatalf("the old entry stats as %s, %d bytes; want %s, 2", st.ID, st.Size, id)
		}
		if got := e.read(t, old, 0, -1); string(got) != "v2" {
			t.Fatalf("the old entry reads %q, want the new version", got)
		}
		// A change through the old entry starts from the new version.
		h, err := e.store.Open(ctx, old, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Write(ctx, []byte("+"), 2); err != nil {
			t.Fatal(err)
		}
		if err := h.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		h.Release()
		e.drain(t)
		if got := e.content(t, "a.txt"); string(got) != "v2+" {
			t.Fatalf("the library holds %q, want the change made on the new version", got)
		}
		// Another client's version, listed after: shown as listed.
		e.mt.AddFile("", "a.txt", []byte("theirs"))
		e.expire()
		x := e.lookup(t, "a.txt")
		if got := e.read(t, x, 0, -1); string(got) != "theirs" {
			t.Fatalf("another client's version reads %q", got)
		}
	})
}

// A new version made elsewhere of the same size and time as the one
// listed (a service whose times are coarse, or a clock that did not
// move) is a change all the same: a check of the folder tells OnChange,
// for fs to drop what the kernel holds of the file. (Before: listings
// were compared by id, name, size and time, and a version alone went
// unseen.)
func TestVersionsAloneAreAChange(t *testing.T) {
	versionProfiles(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		e.mt.AddFile("", "a.txt", []byte("one"))
		first := e.lookup(t, "a.txt")
		e.remount(t) // the listing saved is shown, and checked behind
		changed := make(chan string, 4)
		e.store.OnChange(func(folderID string, _, _ *Listing) { changed <- folderID })
		e.mt.AddFile("", "a.txt", []byte("two"))
		e.lookup(t, "a.txt")
		select {
		case <-changed:
		case <-time.After(20 * time.Second):
			t.Fatal("the check of the saved listing told no change")
		}
		if x := e.lookup(t, "a.txt"); x.Rev == first.Rev || x.Size != first.Size || !x.ModTime.Equal(first.ModTime) {
			t.Fatalf("listed %q %d %v after %q %d %v: want only the version changed", x.Rev, x.Size, x.ModTime, first.Rev, first.Size, first.ModTime)
		}
	})
}
