package cache

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/memtest"
)

// A rename onto a file of the library, where names are unique (ImageKit:
// the service answers 409 to a rename onto a taken name), removes that
// file first; these are the moments that went wrong.

// The renamed file's upload lands, and its record leaves the queue,
// while the rename is under way (looked up with a record, handed to the
// queue without one): the file replaced still goes first. (Before: the
// rename was sent while that file held the name, and the service's 409
// was EIO; fsrand faults on ImageKit failed at op 86, rename a.bin -> e.)
func TestUniqueRenameAsUploadLands(t *testing.T) {
	for _, p := range profiles {
		if !p.of().Caps.UniqueNames {
			continue // no name to check: nothing is listed
		}
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0, func(o *Options) { o.WriteBackDelay = time.Minute })
			ctx := context.Background()
			e.mt.AddFile("", "e", []byte("E"))
			h, x, err := e.store.Create(ctx, "", "a.bin")
			if err != nil {
				t.Fatal(err)
			}
			e.write(t, h, []byte("A")) // waits out the write-back delay
			rep := e.lookup(t, "e")
			up := e.mt.Hold(memtest.OpUpload)
			e.clock.Advance(time.Minute + time.Second) // the upload is due; the listing is stale
			<-up.Reached()
			// The rename finds the record uploading, then lists the folder
			// to check the name: held there until the upload landed.
			list := e.mt.Hold(memtest.OpList)
			errc := make(chan error, 1)
			go func() { errc <- e.store.Rename(ctx, x, "e", &rep) }()
			select {
			case <-list.Reached():
			case err := <-errc:
				t.Fatalf("the rename listed nothing: %v", err)
			}
			up.Open()
			e.drain(t)
			list.Open()
			if err := <-errc; err != nil {
				t.Fatalf("rename onto e as a.bin's upload landed: %v", err)
			}
			e.drain(t)
			want(t, "the library", e.paths(), []string{"e"})
			if got := e.content(t, "e"); string(got) != "A" {
				t.Fatalf("e holds %q, want a.bin's bytes", got)
			}
			e.expire()
			want(t, "the mount", e.names(t, ""), []string{"e"})
			if got := e.read(t, e.lookup(t, "e"), 0, -1); string(got) != "A" {
				t.Fatalf("the mount reads %q", got)
			}
		})
	}
}

// A rename onto a file whose record rests (idle: its upload landed, and
// it is still open), with the removal of that file or the rename
// answered 500 or cut (after the service acted): the queue takes the
// rename, removes the file first, and retries each step until done.
// Never ErrExists: the rename is not sent while the file holds the name.
// (With no write-back delay the tool hears of the failed step, EIO, as
// a close does of an upload's: the change stays queued.)
func TestUniqueRenameOntoIdleRecordFaults(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Minute} {
		for _, f := range []struct {
			name string
			set  func(mt *memtest.Backend)
		}{
			{"none", func(*memtest.Backend) {}},
			{"remove-500", func(mt *memtest.Backend) { mt.FailNext(memtest.OpRemove, 1, nil) }},
			{"remove-cut", func(mt *memtest.Backend) { mt.LoseAnswer(memtest.OpRemove, 1) }},
			{"rename-500", func(mt *memtest.Backend) { mt.FailNext(memtest.OpRename, 1, nil) }},
			{"rename-cut", func(mt *memtest.Backend) { mt.LoseAnswer(memtest.OpRename, 1) }},
		} {
			t.Run(delay.String()+"/"+f.name, func(t *testing.T) {
				e := newPEnv(t, memtest.ImageKit(), 0, func(o *Options) { o.WriteBackDelay = delay })
				ctx := context.Background()
				e.mt.AddFile("", "a.bin", []byte("A"))
				h, x, err := e.store.Create(ctx, "", "e")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.Write(ctx, []byte("E"), 0); err != nil {
					t.Fatal(err)
				}
				r, err := e.store.Open(ctx, x, false, nil) // keeps e's record once it rests
				if err != nil {
					t.Fatal(err)
				}
				defer r.Release()
				if err := h.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				h.Release()
				e.drain(t)
				f.set(e.mt)
				rep := e.lookup(t, "e")
				err = e.store.Rename(ctx, e.lookup(t, "a.bin"), "e", &rep)
				if err != nil && (delay > 0 || f.name == "none" || errors.Is(err, ErrExists)) {
					t.Fatalf("rename: %v", err)
				}
				want(t, "the mount", e.names(t, ""), []string{"e"})
				for range 3 { // a failed step is tried again
					e.clock.Advance(time.Hour)
					dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					e.store.Drain(dctx) // returns once the step failed, or all is done
					cancel()
				}
				e.drain(t)
				want(t, "the library", e.paths(), []string{"e"})
				if got := e.content(t, "e"); string(got) != "A" {
					t.Fatalf("e holds %q, want a.bin's bytes", got)
				}
			})
		}
	}
}

// The removal of the file replaced fails for a while (after the request
// core's retries): the rename is not sent while that file holds the
// name. Either the rename is done, or it fails and both files stay as
// they were, also once the removals queued are sent (never the file
// replaced gone with the rename not done).
func TestUniqueRenameRemovalFails(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Minute} {
		t.Run(delay.String(), func(t *testing.T) {
			for _, p := range profiles {
				if !p.of().Caps.UniqueNames {
					continue
				}
				t.Run(p.name, func(t *testing.T) {
					e, down := newRemovalDownEnv(t, p.of(), func(o *Options) { o.WriteBackDelay = delay })
					ctx := context.Background()
					e.mt.AddFile("", "a.bin", []byte("A"))
					e.mt.AddFile("", "e", []byte("E"))
					rep := e.lookup(t, "e")
					down.failing.Store(true)
					err := e.store.Rename(ctx, e.lookup(t, "a.bin"), "e", &rep)
					down.failing.Store(false)
					e.clock.Advance(time.Hour) // any removal queued again is due
					e.drain(t)
					if err == nil {
						want(t, "the library after the rename", e.paths(), []string{"e"})
						if got := e.content(t, "e"); string(got) != "A" {
							t.Fatalf("e holds %q, want a.bin's bytes", got)
						}
						return
					}
					if errors.Is(err, ErrExists) || e.mt.Calls(memtest.OpRename) != 0 {
						t.Fatalf("the rename was sent while e held the name: %v", err)
					}
					want(t, "the library after the failed rename", e.paths(), []string{"a.bin", "e"})
					if got := e.content(t, "e"); string(got) != "E" {
						t.Fatalf("e holds %q", got)
					}
					e.expire()
					want(t, "the mount after the failed rename", e.names(t, ""), []string{"a.bin", "e"})
				})
			}
		})
	}
}

// failingRemoval is a library whose removals fail (a 503, after the
// request core's retries) while failing is set.
type failingRemoval struct {
	*memtest.Backend
	failing atomic.Bool
}

// newRemovalDownEnv is newPEnv over a failingRemoval of the library.
func newRemovalDownEnv(t *testing.T, p memtest.Profile, mod ...func(*Options)) (*pEnv, *failingRemoval) {
	t.Helper()
	down := &failingRemoval{}
	e := newPEnvOver(t, p, 0, func(mt *memtest.Backend) remote.Backend {
		down.Backend = mt
		return down
	}, mod...)
	return e, down
}

func (f *failingRemoval) Remove(ctx context.Context, ids []string, permanent bool) error {
	if f.failing.Load() {
		return memtest.ErrFault
	}
	return f.Backend.Remove(ctx, ids, permanent)
}

// A file created on the name of a file whose removal is queued, while
// that removal fails (after the request core's retries): the name is the
// old file's until the removal is sent, so the create fails (EIO) rather
// than go on, to be taken by the removal once sent (where an upload onto
// a taken name is a new version of the file there, the new file went
// with it, silently: before, on ImageKit and OCM). Once the removal is
// sent, the name is free.
func TestUniqueCreateWhileRemovalFails(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			e, down := newRemovalDownEnv(t, p.of(), withWriteBack)
			ctx := context.Background()
			e.mt.AddFile("", "e", []byte("E"))
			if err := e.store.Remove(ctx, e.lookup(t, "e")); err != nil {
				t.Fatal(err)
			}
			down.failing.Store(true)
			h, _, err := e.store.Create(ctx, "", "e")
			if err == nil {
				e.write(t, h, []byte("new"))
				e.clock.Advance(time.Hour) // the upload lands; the removal fails again
				dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				e.store.Drain(dctx)
				cancel()
			} else if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("create while the name's removal fails: %v, want ErrUnavailable", err)
			}
			down.failing.Store(false)
			e.drainAdvancing(t) // the removal is sent
			if err != nil {
				// Refused at first: the name is free now.
				if h, _, err = e.store.Create(ctx, "", "e"); err != nil {
					t.Fatalf("create once the removal was sent: %v", err)
				}
				e.write(t, h, []byte("new"))
				e.drain(t)
			}
			want(t, "the library", e.paths(), []string{"e"})
			if got := e.content(t, "e"); string(got) != "new" {
				t.Fatalf("e holds %q, want the new file's bytes", got)
			}
			e.expire()
			if got := e.read(t, e.lookup(t, "e"), 0, -1); string(got) != "new" {
				t.Fatalf("the mount reads %q", got)
			}
		})
	}
}

// A rename onto a name another file holds that the mount does not show
// (put there by another client since the folder was listed): the
// service's 409 is ErrExists (EEXIST), and nothing changed. (Before: EIO,
// as if the service were out of reach.)
func TestUniqueRenameOntoUnseenFile(t *testing.T) {
	for _, p := range profiles {
		if !p.of().Caps.UniqueNames {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0)
			e.mt.AddFile("", "a.bin", []byte("A"))
			a := e.lookup(t, "a.bin")
			e.mt.AddFile("", "e", []byte("E")) // the listing is still fresh
			err := e.store.Rename(context.Background(), a, "e", nil)
			if !errors.Is(err, ErrExists) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("rename onto an unseen file: %v, want ErrExists", err)
			}
			want(t, "the library", e.paths(), []string{"a.bin", "e"})
			if got := e.content(t, "e"); string(got) != "E" {
				t.Fatalf("e holds %q", got)
			}
		})
	}
}

// A file with changes the queue holds is moved (its copy in the library
// stays in the folder it left until the queue moves it), then another
// file is renamed onto it, in its new folder: the copy left behind goes
// to the trash from the folder it is in, and the mount never shows it
// there again. (Before: the file renamed took it as a copy of its own
// folder to retire; the folder left showed it again at once, and kept
// it, trashed in the library, until it was listed again: fsrand
// write-back on ImageKit, seed 1, op 1249, a ghost c.bin.)
func TestUniqueRenameOntoMovedRecord(t *testing.T) {
	for _, p := range profiles {
		if !p.of().Caps.UniqueNames || !p.of().Caps.Move {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0, withWriteBack)
			ctx := context.Background()
			e.mt.AddFile("", "c.bin", []byte("C"))
			a := e.mt.AddFolder("", "a")
			e.mt.AddFile(a, "e.bin", []byte("E"))
			h, err := e.store.Open(ctx, e.lookup(t, "c.bin"), true, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.write(t, h, []byte("C2")) // queued: the write-back delay holds it
			if err := e.store.Move(ctx, e.lookup(t, "c.bin"), a, "c.bin", nil); err != nil {
				t.Fatalf("move c.bin -> a/c.bin: %v", err)
			}
			rep := e.lookup(t, "a/c.bin")
			if err := e.store.Rename(ctx, e.lookup(t, "a/e.bin"), "c.bin", &rep); err != nil {
				t.Fatalf("rename a/e.bin -> a/c.bin: %v", err)
			}
			want(t, "the mount's root after the rename", e.names(t, ""), []string{"a/"})
			want(t, "the mount's a after the rename", e.names(t, "a"), []string{"c.bin"})
			e.clock.Advance(time.Hour) // all is due
			e.drain(t)
			want(t, "the library", e.paths(), []string{"a/", "a/c.bin"})
			if got := e.content(t, "a/c.bin"); string(got) != "E" {
				t.Fatalf("a/c.bin holds %q, want e.bin's bytes", got)
			}
			// The listings are still fresh (an hour on the fake clock is
			// no listing's age: each was changed by what was sent).
			want(t, "the mount's root once sent", e.names(t, ""), []string{"a/"})
			want(t, "the mount's a once sent", e.names(t, "a"), []string{"c.bin"})
			e.expire()
			want(t, "the mount's root listed again", e.names(t, ""), []string{"a/"})
			if got := e.read(t, e.lookup(t, "a/c.bin"), 0, -1); string(got) != "E" {
				t.Fatalf("the mount reads %q", got)
			}
		})
	}
}

// A file with changes the queue holds is renamed, or moved to another
// folder: its copy in the library keeps the old name, in the old
// folder, until those changes are sent. Another file then takes that
// name there, which the mount shows free: by a rename, or as a new file.
// The copy leaves the name first, and neither file is lost. (Before: the
// rename was sent while the copy held the name, and the service's 409
// was EEXIST: fsrand write-back on ImageKit, seed 1, op 1502, rename
// b/d.txt -> b/b.bin; a new file's upload raced the copy's rename.)
func TestUniqueNameLeftByQueuedChange(t *testing.T) {
	for _, p := range profiles {
		if !p.of().Caps.UniqueNames {
			continue
		}
		for _, how := range []string{"renamed", "moved"} {
			for _, take := range []string{"rename", "create"} {
				t.Run(p.name+"/"+how+"/"+take, func(t *testing.T) {
					if how == "moved" && !p.of().Caps.Move {
						t.Skip("the service moves no file")
					}
					e := newPEnv(t, p.of(), 0, withWriteBack)
					ctx := context.Background()
					b := e.mt.AddFolder("", "b")
					c := e.mt.AddFolder("", "c")
					e.mt.AddFile(b, "b.bin", []byte("B"))
					e.mt.AddFile(b, "d.txt", []byte("D"))
					h, err := e.store.Open(ctx, e.lookup(t, "b/b.bin"), true, nil)
					if err != nil {
						t.Fatal(err)
					}
					e.write(t, h, []byte("B2")) // queued: the write-back delay holds it
					gone := "b/x.bin"
					if how == "moved" {
						gone = "c/b.bin"
						err = e.store.Move(ctx, e.lookup(t, "b/b.bin"), c, "b.bin", nil)
					} else {
						err = e.store.Rename(ctx, e.lookup(t, "b/b.bin"), "x.bin", nil)
					}
					if err != nil {
						t.Fatalf("%s b/b.bin: %v", how, err)
					}
					wantB := []byte("D")
					if take == "rename" {
						err = e.store.Rename(ctx, e.lookup(t, "b/d.txt"), "b.bin", nil)
					} else {
						wantB = []byte("new")
						var h *Handle
						if h, _, err = e.store.Create(ctx, b, "b.bin"); err == nil {
							e.write(t, h, wantB)
						}
					}
					if err != nil {
						t.Fatalf("%s onto b/b.bin: %v", take, err)
					}
					e.clock.Advance(time.Hour) // all is due
					e.drain(t)
					lib := []string{"b/", "b/b.bin", "c/"}
					if take == "create" {
						lib = append(lib, "b/d.txt")
					}
					lib = append(lib, gone)
					slices.Sort(lib)
					want(t, "the library", e.paths(), lib)
					if got := e.content(t, "b/b.bin"); string(got) != string(wantB) {
						t.Fatalf("b/b.bin holds %q, want %q", got, wantB)
					}
					if got := e.content(t, gone); string(got) != "B2" {
						t.Fatalf("%s holds %q, want the file's new bytes", gone, got)
					}
					e.expire()
					if got := e.read(t, e.lookup(t, "b/b.bin"), 0, -1); string(got) != string(wantB) {
						t.Fatalf("the mount reads %q", got)
					}
				})
			}
		}
	}
}

// A file with changes the queue holds is renamed, and another client
// takes the new name in the library before the queue renames the file's
// copy: the service refuses the rename (409). The record waits, its bytes
// kept, with one ERROR line naming the file and the service's message,
// not one a retry; a new change of the user's (a rename to a free name)
// sends it on, and nothing is lost.
func TestUniqueQueuedRenameRefused(t *testing.T) {
	for _, p := range profiles {
		if !p.of().Caps.UniqueNames {
			continue
		}
		for _, how := range []string{"renamed", "moved"} {
			t.Run(p.name+"/"+how, func(t *testing.T) {
				if how == "moved" && !p.of().Caps.Move {
					t.Skip("the service moves no file")
				}
				e := newPEnv(t, p.of(), 0, withWriteBack)
				ctx := context.Background()
				e.mt.AddFile("", "b.bin", []byte("B"))
				dir, at := "", ""
				if how == "moved" {
					dir, at = e.mt.AddFolder("", "c"), "c/"
				}
				key := e.lookup(t, "b.bin").Key
				h, err := e.store.Open(ctx, e.lookup(t, "b.bin"), true, nil)
				if err != nil {
					t.Fatal(err)
				}
				e.write(t, h, []byte("B2"))
				if how == "moved" {
					err = e.store.Move(ctx, e.lookup(t, "b.bin"), dir, "x.bin", nil)
				} else {
					err = e.store.Rename(ctx, e.lookup(t, "b.bin"), "x.bin", nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				// The user's file, as the mount shows it (fs tags the other
				// one of the name).
				mine := func() Entry {
					t.Helper()
					l, err := e.store.ListDir(ctx, dir)
					if err != nil {
						t.Fatal(err)
					}
					for _, x := range l.Entries {
						if x.Key == key {
							return x
						}
					}
					t.Fatalf("the file is not shown: %+v", l.Entries)
					return Entry{}
				}
				e.mt.AddFile(dir, "x.bin", []byte("theirs"))
				for range 12 {
					e.clock.Advance(time.Hour)
					ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
					e.store.Drain(ctx)
					cancel()
				}
				var failed []string
				for _, l := range e.log.Lines("ERROR") {
					if strings.Contains(l, "x.bin") {
						failed = append(failed, l)
					}
				}
				if len(failed) != 1 {
					t.Errorf("%d ERROR lines name x.bin over 12 hours, want 1: %q", len(failed), failed)
				}
				if got := e.content(t, at+"x.bin"); string(got) != "theirs" {
					t.Errorf("x.bin holds %q", got)
				}
				if x := mine(); x.Name != "x.bin" || string(e.read(t, x, 0, -1)) != "B2" {
					t.Errorf("the mount shows the file as %q, reading %q", x.Name, e.read(t, x, 0, -1))
				}
				if err := e.store.Rename(ctx, mine(), "y.bin", nil); err != nil {
					t.Fatal(err)
				}
				e.drainAdvancing(t)
				if got := e.content(t, at+"y.bin"); string(got) != "B2" {
					t.Errorf("after a rename to y.bin the library's y.bin holds %q", got)
				}
				lib := []string{at + "x.bin", at + "y.bin"}
				if how == "moved" {
					lib = append([]string{"c/"}, lib...)
				}
				want(t, "the library", e.paths(), lib)
			})
		}
	}
}

// Where the service takes names without case (OCM), a file's removal,
// queued, holds the name in every case until it is sent: a folder made
// as A.png once a.png is removed waits for a.png's removal, and is made
// under its own name. (fsrand on OCM with faults, seed 1, op 746: mkdir
// C/A.png right after unlink C/a.png was EEXIST: the service had made
// the folder as "A.png(2)", a.png being still there.)
func TestCaseFoldedNameWaitsForItsRemoval(t *testing.T) {
	for _, p := range profiles {
		if !p.of().Caps.CaseInsensitive {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0, withWriteBack) // the removal is queued
			ctx := context.Background()
			e.mt.AddFile("", "a.png", []byte("A"))
			gate := e.mt.Hold(memtest.OpRemove)
			defer gate.Open()
			if err := e.store.Remove(ctx, e.lookup(t, "a.png")); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := e.store.Mkdir(ctx, "", "A.png")
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("mkdir A.png returned before a.png's removal was answered: %v", err)
			case <-gate.Reached():
			}
			gate.Open()
			if err := <-done; err != nil {
				t.Fatalf("mkdir A.png: %v", err)
			}
			want(t, "the library", e.paths(), []string{"A.png/"})
		})
	}
}

// The same with a file, while a.png's removal failed once (a 503) and
// waits to be sent again: A.png is EIO for now, as a.png would be (it
// must not become a version of a.png, an upload onto a taken name being
// one on OCM, which the removal would then send to the trash); once the
// removal is through, A.png is made with its bytes.
func TestCaseFoldedFileAfterARemovalKeepsItsBytes(t *testing.T) {
	for _, p := range profiles {
		if !p.of().Caps.CaseInsensitive {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0, withWriteBack)
			ctx := context.Background()
			e.mt.AddFile("", "a.png", []byte("old"))
			e.mt.FailNext(memtest.OpRemove, 1, nil)
			if err := e.store.Remove(ctx, e.lookup(t, "a.png")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.store.Create(ctx, "", "A.png"); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("create A.png while a.png's removal waits to be sent again: %v, want ErrUnavailable", err)
			}
			e.drainAdvancing(t)
			h, _, err := e.store.Create(ctx, "", "A.png")
			if err != nil {
				t.Fatal(err)
			}
			e.write(t, h, []byte("new bytes"))
			e.drainAdvancing(t)
			want(t, "the library", e.paths(), []string{"A.png"})
			if got := e.content(t, "A.png"); string(got) != "new bytes" {
				t.Fatalf("A.png holds %q", got)
			}
		})
	}
}

// The rename of a file still open for writing is refused (the name taken
// by another client, found when a new file wants the old name and hurries
// the rename): an fsync of it then answers the refusal at once, rather
// than wait for an upload a parked record never sends; and a removal of
// a file whose rename was refused goes on, retried as any removal is.
func TestUniqueRenameRefusedWhileOpen(t *testing.T) {
	for _, p := range profiles {
		if !p.of().Caps.UniqueNames || p.of().Caps.NewIDPerUpload {
			continue // the rename goes first only where uploads are versions
		}
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0, withWriteBack)
			ctx := context.Background()
			e.mt.AddFile("", "b.bin", []byte("B"))
			h, err := e.store.Open(ctx, e.lookup(t, "b.bin"), true, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.Write(ctx, []byte("B2"), 0); err != nil {
				t.Fatal(err)
			}
			if err := e.store.Rename(ctx, e.lookup(t, "b.bin"), "x.bin", nil); err != nil {
				t.Fatal(err)
			}
			e.mt.AddFile("", "x.bin", []byte("theirs"))
			if _, _, err := e.store.Create(ctx, "", "b.bin"); err == nil {
				t.Fatal("a new b.bin was made while the library's b.bin is the renamed file's")
			}
			done := make(chan error, 1)
			go func() { done <- h.Fsync(ctx) }()
			select {
			case err := <-done:
				if !errors.Is(err, ErrExists) {
					t.Errorf("fsync: %v, want the refusal (ErrExists)", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("fsync of a file whose rename was refused still waits after 10s")
			}
			h.Release()
			e.removeFailingOnce(t, e.pendingNamed(t, "", "x.bin"))
		})
	}
}

// The file is removed while its copy's refused rename is under way: the
// refusal, coming after, does not park the removal, which goes on (and
// is retried when it fails once).
func TestUniqueRemovedDuringRefusedRename(t *testing.T) {
	for _, p := range profiles {
		if !p.of().Caps.UniqueNames || p.of().Caps.NewIDPerUpload {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			e := newPEnv(t, p.of(), 0, withWriteBack)
			ctx := context.Background()
			e.mt.AddFile("", "b.bin", []byte("B"))
			h, err := e.store.Open(ctx, e.lookup(t, "b.bin"), true, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.write(t, h, []byte("B2"))
			if err := e.store.Rename(ctx, e.lookup(t, "b.bin"), "x.bin", nil); err != nil {
				t.Fatal(err)
			}
			e.mt.AddFile("", "x.bin", []byte("theirs"))
			gate := e.mt.Hold(memtest.OpRename)
			defer gate.Open()
			e.clock.Advance(time.Hour)
			<-gate.Reached()
			e.removeFailingOnce(t, e.pendingNamed(t, "", "x.bin"), gate.Open)
		})
	}
}

// pendingNamed is the file of folder dir shown as name with bytes of its
// own (a record's), beside another of that name in the library.
func (e *pEnv) pendingNamed(t *testing.T, dir, name string) Entry {
	t.Helper()
	l, err := e.store.ListDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range l.Entries {
		if x.Name == name && x.Pending {
			return x
		}
	}
	t.Fatalf("no file of its own shown as %s: %+v", name, l.Entries)
	return Entry{}
}

// removeFailingOnce removes x, the user's x.bin, its first trash failing
// (a 503); then (after calls each of after: say a held rename let go)
// the queue settles, and the library holds the other client's x.bin
// alone.
func (e *pEnv) removeFailingOnce(t *testing.T, x Entry, after ...func()) {
	t.Helper()
	e.mt.FailNext(memtest.OpRemove, 1, nil)
	if err := e.store.Remove(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	for _, f := range after {
		f()
	}
	e.drainAdvancing(t)
	want(t, "the library", e.paths(), []string{"x.bin"})
	if got := e.content(t, "x.bin"); string(got) != "theirs" {
		t.Errorf("x.bin holds %q", got)
	}
}
