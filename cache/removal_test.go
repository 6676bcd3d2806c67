package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/memtest"
)

// Bulk removals (internal/removal): unlinks of settled files are queued,
// hidden at once, and sent in Remove calls of at most Caps.BulkRemove ids.

// bulkProfiles are the profiles the removal tests run under: ImageKit
// (100 ids a call, a call naming a missing id refused whole), HighLevel
// to the trash (its default, no bound) and HighLevel deleting.
var bulkProfiles = []struct {
	name   string
	of     func() memtest.Profile
	delete bool
}{
	{"ImageKit", memtest.ImageKit, true},
	{"HighLevel", memtest.HighLevel, false},
	{"HighLevel-delete", memtest.HighLevel, true},
}

func forBulk(t *testing.T, fn func(t *testing.T, e *pEnv, cb *cutBackend), mod ...func(*Options)) {
	for _, p := range bulkProfiles {
		t.Run(p.name, func(t *testing.T) {
			var cb *cutBackend
			mods := append([]func(*Options){func(o *Options) { o.Delete = p.delete }}, mod...)
			e := newPEnvOver(t, p.of(), 0, func(mt *memtest.Backend) remote.Backend {
				cb = &cutBackend{Backend: mt}
				return cb
			}, mods...)
			fn(t, e, cb)
		})
	}
}

func withWriteBack(o *Options) { o.WriteBackDelay = 5 * time.Second }

// files adds n files to a new folder dir of the library.
func files(e *pEnv, dir string, n int) (string, []string) {
	d := e.mt.AddFolder("", dir)
	var ids []string
	for i := range n {
		ids = append(ids, e.mt.AddFile(d, fmt.Sprintf("f%03d.txt", i), []byte{byte(i)}))
	}
	return d, ids
}

// rmAll removes every file of dir through the Store, one at a time as rm
// does, and returns the first error.
func rmAll(t *testing.T, e *pEnv, dir string) error {
	t.Helper()
	l, err := e.store.ListDir(context.Background(), e.lookup(t, dir).ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range l.Entries {
		if err := e.store.Remove(context.Background(), x); err != nil {
			return err
		}
	}
	return nil
}

// removedStatus is what a removed item is in the library under e's mode.
func removedStatus(e *pEnv) memtest.Status {
	if e.opts.Delete {
		return memtest.Deleted
	}
	return memtest.Trashed
}

func errorLines(e *pEnv) []string { return e.log.Lines("ERROR") }

// TestBulkRemoveBatches: 250 unlinks return at once, hide their files at
// once, and go in 3 calls on ImageKit (100 a call), 1 on HighLevel (no
// bound), to the trash or for good as the mode says.
func TestBulkRemoveBatches(t *testing.T) {
	forBulk(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		_, ids := files(e, "Many", 250)
		e.mt.ResetCalls()
		if err := rmAll(t, e, "Many"); err != nil {
			t.Fatal(err)
		}
		want(t, "Many right after rm", e.names(t, "Many"), nil)
		e.drain(t)
		calls := 1
		if b := e.mt.Caps().BulkRemove; b > 0 {
			calls = (250 + b - 1) / b
		}
		if n := e.mt.Calls(memtest.OpRemove); n != calls {
			t.Errorf("250 removals in %d calls, want %d", n, calls)
		}
		for _, id := range ids {
			if it, _ := e.mt.Item(id); it.Status != removedStatus(e) {
				t.Fatalf("%s is %s, want %s", it.Name, it.Status, removedStatus(e))
			}
		}
		e.expire()
		want(t, "Many listed afresh", e.names(t, "Many"), nil)
		if l := errorLines(e); len(l) > 0 {
			t.Errorf("error lines: %q", l)
		}
	}, withWriteBack)
}

// TestBulkRemoveRefused: the service refuses two ids of a batch: exactly
// those stay, reappear in the mount, with one ERROR line each naming the
// file and the service's message, show as failed in the status, and
// are never sent again by themselves.
func TestBulkRemoveRefused(t *testing.T) {
	forBulk(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		_, ids := files(e, "Some", 10)
		e.mt.RefuseRemoval(ids[2], ids[7])
		e.mt.ResetCalls()
		if err := rmAll(t, e, "Some"); err != nil {
			t.Fatal(err)
		}
		e.drain(t)
		want(t, "Some after the refusal", e.names(t, "Some"), []string{"f002.txt", "f007.txt"})
		for i, id := range ids {
			it, _ := e.mt.Item(id)
			if kept := i == 2 || i == 7; (it.Status == memtest.Active) != kept {
				t.Errorf("%s is %s", it.Name, it.Status)
			}
		}
		lines := errorLines(e)
		if len(lines) != 2 || !strings.Contains(lines[0], memtest.RefusalReason) || !strings.Contains(strings.Join(lines, "\n"), "f007.txt") {
			t.Errorf("error lines %q, want one per refused file with the service's message", lines)
		}
		var failed []string
		for _, u := range e.store.Uploads() {
			if u.State == UploadFailed && u.Refused {
				failed = append(failed, u.Name)
			}
		}
		slices.Sort(failed)
		want(t, "failed in the status", failed, []string{"f002.txt", "f007.txt"})
		calls := e.mt.Calls(memtest.OpRemove)
		for range 5 {
			e.clock.Advance(10 * time.Minute)
		}
		e.drain(t)
		if n := e.mt.Calls(memtest.OpRemove); n != calls {
			t.Errorf("%d removal calls after the refusal, want %d: never sent again", n, calls)
		}
		if e.store.PendingCount() != 0 {
			t.Errorf("%d pending", e.store.PendingCount())
		}
	}, withWriteBack)
}

// TestBulkRemoveMissing: ids the service no longer holds count as gone:
// no error, the others removed (ImageKit: the 404 and a second call).
func TestBulkRemoveMissing(t *testing.T) {
	forBulk(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		_, ids := files(e, "Some", 6)
		e.names(t, "Some") // listed: then removed elsewhere
		e.mt.Delete(ids[1], true)
		e.mt.Delete(ids[4], true)
		e.mt.ResetCalls()
		if err := rmAll(t, e, "Some"); err != nil {
			t.Fatal(err)
		}
		e.drain(t)
		for _, id := range ids {
			if it, _ := e.mt.Item(id); it.Status == memtest.Active {
				t.Errorf("%s is left", it.Name)
			}
		}
		e.expire()
		want(t, "Some", e.names(t, "Some"), nil)
		if l := errorLines(e); len(l) > 0 {
			t.Errorf("error lines: %q", l)
		}
		if e.mt.Caps().BulkRemove > 0 { // ImageKit: MissingRefusesRemoval
			if n := e.mt.Calls(memtest.OpRemove); n != 2 {
				t.Errorf("%d calls, want 2 (the 404, then the others)", n)
			}
		}
	}, withWriteBack)
}

// TestBulkRemoveWaits: without a write-back delay each unlink waits for
// its answer; unlinks made while a call is under way go together in the
// next; a refused one fails (EIO: no kind of its own), its file stays.
func TestBulkRemoveWaits(t *testing.T) {
	forBulk(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		_, ids := files(e, "W", 9)
		e.mt.RefuseRemoval(ids[5])
		l, err := e.store.ListDir(context.Background(), e.lookup(t, "W").ID)
		if err != nil {
			t.Fatal(err)
		}
		e.mt.ResetCalls()
		gate := e.mt.Hold(memtest.OpRemove)
		errs := make([]error, len(l.Entries))
		var wg sync.WaitGroup
		start := func(i int) {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = e.store.Remove(context.Background(), l.Entries[i]) }()
		}
		start(0)
		<-gate.Reached()
		for i := 1; i < len(l.Entries); i++ {
			start(i)
		}
		eventually(t, "the unlinks to queue", func() bool { return e.store.PendingCount() == len(l.Entries) })
		gate.Open()
		wg.Wait()
		if n := e.mt.Calls(memtest.OpRemove); n != 2 {
			t.Errorf("%d calls, want 2: the first alone, the 8 that came meanwhile together", n)
		}
		for i, err := range errs {
			switch {
			case i == 5 && err == nil:
				t.Errorf("the refused unlink of %s succeeded", l.Entries[i].Name)
			case i == 5 && (errors.Is(err, ErrPermission) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrBusy)):
				t.Errorf("the refused unlink: %v, want an error of no kind (EIO)", err)
			case i != 5 && err != nil:
				t.Errorf("unlink of %s: %v", l.Entries[i].Name, err)
			}
		}
		want(t, "W", e.names(t, "W"), []string{"f005.txt"})
		// The unlink reports the refusal (the fs layer logs what it
		// returns, the one line): the queue logs nothing of its own.
		if err := errs[5]; err == nil || !strings.Contains(err.Error(), "f005.txt") || !strings.Contains(err.Error(), memtest.RefusalReason) {
			t.Errorf("the refused unlink: %v, want the file and the service's message", err)
		}
		if l := errorLines(e); len(l) != 0 {
			t.Errorf("error lines %q, want none: the waiting unlink reports it", l)
		}
	}, func(o *Options) { o.WriteBackDelay = 0 })
}

// TestBulkRemoveForbidden: a call refused whole with 403 fails each
// waiting unlink with ErrPermission (EACCES), the file stays.
func TestBulkRemoveForbidden(t *testing.T) {
	forBulk(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		files(e, "F", 1)
		x := e.lookup(t, "F/f000.txt")
		e.mt.FailNext(memtest.OpRemove, 1, &remote.Error{Method: "POST", Endpoint: "remove", Status: 403, Message: "not yours"})
		if err := e.store.Remove(context.Background(), x); !errors.Is(err, ErrPermission) {
			t.Fatalf("unlink: %v, want ErrPermission", err)
		}
		want(t, "F", e.names(t, "F"), []string{"f000.txt"})
	}, func(o *Options) { o.WriteBackDelay = 0 })
}

// TestBulkRemoveRmdir: rmdir of a folder whose files' removals are
// queued sends them first, and removes the folder only if a fresh
// listing shows it empty: a refused file keeps it (ErrNotEmpty).
func TestBulkRemoveRmdir(t *testing.T) {
	forBulk(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		d, ids := files(e, "D", 3)
		e.mt.RefuseRemoval(ids[1])
		if err := rmAll(t, e, "D"); err != nil {
			t.Fatal(err)
		}
		dir := e.lookup(t, "D")
		if err := e.store.Rmdir(context.Background(), dir); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("rmdir with a refused file: %v, want ErrNotEmpty", err)
		}
		if it, _ := e.mt.Item(d); it.Status != memtest.Active {
			t.Fatalf("the folder is %s", it.Status)
		}
		if it, _ := e.mt.Item(ids[1]); it.Status != memtest.Active {
			t.Fatalf("the refused file is %s", it.Status)
		}
		want(t, "D", e.names(t, "D"), []string{"f001.txt"})
		e.mt.AllowRemoval()
		if err := rmAll(t, e, "D"); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Rmdir(context.Background(), e.lookup(t, "D")); err != nil {
			t.Fatalf("rmdir once its files are gone: %v", err)
		}
		if it, _ := e.mt.Item(d); it.Status == memtest.Active {
			t.Fatal("the folder is still there")
		}
	}, withWriteBack)
}

// TestBulkRemoveNewFileOnItsName: a file created on the name of a file
// whose removal is queued waits for it: the removal never takes the new
// file (where an upload onto a name is a version of the file there).
func TestBulkRemoveNewFileOnItsName(t *testing.T) {
	forBulk(t, func(t *testing.T, e *pEnv, _ *cutBackend) {
		files(e, "N", 1)
		if err := rmAll(t, e, "N"); err != nil {
			t.Fatal(err)
		}
		h, _, err := e.store.Create(context.Background(), e.lookup(t, "N").ID, "f000.txt")
		if err != nil {
			t.Fatal(err)
		}
		e.write(t, h, []byte("new"))
		e.drain(t)
		if got := e.content(t, "N/f000.txt"); string(got) != "new" {
			t.Fatalf("N/f000.txt holds %q", got)
		}
	}, withWriteBack)
}

// TestBulkRemoveCrash: a crash before the batch is sent, or after its
// answer, leaves the removals in the spool; the next mount hides the
// files at once and sends them: every file gone, nothing else touched,
// no error.
func TestBulkRemoveCrash(t *testing.T) {
	for _, point := range []string{"removal-before-send", "removal-after-answer"} {
		t.Run(point, func(t *testing.T) {
			forBulk(t, func(t *testing.T, e *pEnv, cb *cutBackend) {
				_, ids := files(e, "C", 5)
				other := e.mt.AddFile("", "other.txt", []byte("kept"))
				c := crashAt(t, point, "f002.txt")
				if err := rmAll(t, e, "C"); err != nil {
					t.Fatal(err)
				}
				e.drainAway()
				e.restart(t, c, cb)
				want(t, "C right after the remount", e.names(t, "C"), nil)
				e.drain(t)
				for _, id := range ids {
					if it, _ := e.mt.Item(id); it.Status != removedStatus(e) {
						t.Errorf("%s is %s", it.Name, it.Status)
					}
				}
				if it, _ := e.mt.Item(other); it.Status != memtest.Active {
					t.Errorf("other.txt is %s", it.Status)
				}
				e.expire()
				want(t, "C", e.names(t, "C"), nil)
				if l := errorLines(e); len(l) > 0 {
					t.Errorf("error lines: %q", l)
				}
				if e.store.PendingCount() != 0 {
					t.Errorf("%d pending after the drain", e.store.PendingCount())
				}
			}, withWriteBack)
		})
	}
}

// A folder whose last file was just removed (the removal queued, sent
// with others after the write-back delay) is empty: another folder
// renamed or moved onto it replaces it, as rmdir would remove it.
// (Before: the removal not yet sent counted as an item, and the rename
// was ENOTEMPTY where the local tree's worked: fsrand write-back on
// ImageKit, seed 4706815308139326131, op 141, rename c/c -> c/b.)
func TestReplaceFolderEmptiedByQueuedRemoval(t *testing.T) {
	for _, p := range profiles {
		for _, how := range []string{"rename", "move"} {
			t.Run(p.name+"/"+how, func(t *testing.T) {
				if how == "move" && !p.of().Caps.MoveFolders {
					t.Skip("the service moves no folder")
				}
				if how == "rename" && !p.of().Caps.RenameFolders {
					t.Skip("the service renames no folder")
				}
				e := newPEnv(t, p.of(), 0, withWriteBack)
				ctx := context.Background()
				c := e.mt.AddFolder("", "c")
				b := e.mt.AddFolder(c, "b")
				e.mt.AddFile(b, "x.txt", []byte("X"))
				var src string
				if how == "move" {
					src = e.mt.AddFolder("", "d")
				} else {
					src = e.mt.AddFolder(c, "c")
				}
				e.mt.AddFile(src, "y.txt", []byte("Y"))
				if err := e.store.Remove(ctx, e.lookup(t, "c/b/x.txt")); err != nil {
					t.Fatal(err)
				}
				rep := e.lookup(t, "c/b")
				var err error
				if how == "move" {
					err = e.store.Move(ctx, e.lookup(t, "d"), c, "b", &rep)
				} else {
					err = e.store.Rename(ctx, e.lookup(t, "c/c"), "b", &rep)
				}
				if err != nil {
					t.Fatalf("%s onto c/b, emptied: %v", how, err)
				}
				e.drainAdvancing(t)
				lib := []string{"c/", "c/b/", "c/b/y.txt"}
				want(t, "the library", e.paths(), lib)
				e.expire()
				want(t, "the mount", e.names(t, "c/b"), []string{"y.txt"})
			})
		}
	}
}
