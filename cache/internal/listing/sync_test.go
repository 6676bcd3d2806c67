package listing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/snapshot"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A pass over the library fills every folder at once; a poll then costs
// one call per type of item when nothing changed, and applies what did:
// a rename, a move between folders seen as a rename's parent, a new file.
func TestPassThenPollRecent(t *testing.T) {
	var told []string
	e := newEnv(t, ghltest.Options{}, func(c *Config) {
		c.Changed = func(id string, before, after *State) { told = append(told, id) }
	})
	// Items changed at distinct times (as in any library but a test's),
	// so that a poll finds where the changes it has seen end.
	e.srv.AddFolder("", "Archive")
	nextMilli()
	docs := e.srv.AddFolder("", "Docs")
	nextMilli()
	a := e.srv.AddFile(docs, "a.txt", "text/plain", []byte("a"))
	nextMilli()
	e.srv.AddFile("", "r.txt", "text/plain", []byte("r"))
	nextMilli()
	f := e.f
	f.listAll, f.polling = true, true
	// Every item here changed within the margin a poll looks back over:
	// without it, a poll that finds nothing stops at once.
	defer func(m time.Duration) { markMargin = m }(markMargin)
	markMargin = 0

	ctx := context.Background()
	if err := f.passOverLibrary(ctx); err != nil {
		t.Fatal(err)
	}
	before := e.lists()
	if got := e.names(t, docs); !slices.Equal(got, []string{"a.txt"}) {
		t.Fatalf("Docs shows %q", got)
	}
	if e.lists() != before {
		t.Fatalf("a folder the pass listed was listed again")
	}

	nextMilli() // the poll's mark, the pass's, is behind us
	e.srv.ResetStats()
	if _, err := f.pollRecent(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.lists(); n != 2 {
		t.Errorf("a poll that found nothing new made %d calls, want 2 (one per type)", n)
	}
	if len(told) != 0 {
		t.Errorf("folders %q reported changed when nothing was", told)
	}

	// Elsewhere: a.txt renamed, a file added to the root.
	nextMilli()
	e.renamed(t, a, "b.txt")
	e.srv.AddFile("", "new.txt", "text/plain", []byte("n"))
	e.srv.ResetStats()
	if _, err := f.pollRecent(ctx); err != nil {
		t.Fatal(err)
	}
	// A page per type, and a page that confirms the end of a listing this
	// small (the bench measures a real library's).
	if n := e.lists(); n > 4 {
		t.Errorf("a poll that found 2 changes made %d calls, want at most 4", n)
	}
	if got := e.names(t, docs); !slices.Equal(got, []string{"b.txt"}) {
		t.Errorf("after the poll Docs shows %q, want [b.txt]", got)
	}
	if got := e.names(t, ""); !slices.Equal(got, []string{"Archive", "Docs", "new.txt", "r.txt"}) {
		t.Errorf("after the poll the root shows %q", got)
	}
	slices.Sort(told)
	if !slices.Equal(told, []string{"", docs}) {
		t.Errorf("folders reported changed: %q, want the root and Docs", told)
	}
}

// A server that ignores sortBy=updatedAt is found out, and polled folder
// by folder instead.
func TestPollRecentOrderIgnored(t *testing.T) {
	e := newEnv(t, ghltest.Options{Quirks: []string{ghltest.QuirkUpdatedOrderIgnored}})
	a := e.srv.AddFile("", "a.txt", "text/plain", []byte("a"))
	nextMilli() // b.txt created after a.txt, as the fake's clock tells
	e.srv.AddFile("", "b.txt", "text/plain", []byte("b"))
	f := e.listedAll(t, false)
	ctx := context.Background()
	nextMilli()
	e.renamed(t, a, "c.txt") // the oldest item is now the newest change
	if _, err := f.pollRecent(ctx); !errors.Is(err, remote.ErrOrderIgnored) {
		t.Fatalf("poll under updated-order-ignored: %v, want ErrOrderIgnored", err)
	}
}

// A bulk import, more files of one time than a page holds, which the
// server orders anew at each request, cannot be read by a poll (its
// listing fails, remote.ErrListUnstable, rather than miss some): the
// poll makes a pass instead, which shows every file.
func TestPollUnstableTiesMakesAPass(t *testing.T) {
	e := newEnv(t, ghltest.Options{Quirks: []string{ghltest.QuirkUnstableTies}})
	bulk := e.srv.AddFolder("", "Bulk")
	f := e.listedAll(t, true)
	names := make([]string, ghltest.BulkImportFiles)
	for i := range names {
		names[i] = fmt.Sprintf("f%03d.txt", i)
	}
	e.srv.AddFiles(bulk, names, make([][]byte, len(names)))
	passed := f.pollChanges(context.Background(), time.Minute)
	if got := e.names(t, bulk); !slices.Equal(got, names) {
		t.Fatalf("after a poll Bulk shows %d files (%d distinct), want %d", len(got), len(slices.Compact(slices.Clone(got))), len(names))
	}
	if !passed {
		t.Fatal("the poll made no pass")
	}
}

// Listings saved by a mount are shown by the next at once, without
// waiting for a call, and a pass replaces them: an item removed meanwhile
// goes, and a folder the library no longer holds is forgotten.
func TestSavedListingsShownThenReplaced(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	docs := e.srv.AddFolder("", "Docs")
	gone := e.srv.AddFile(docs, "gone.txt", "text/plain", []byte("g"))
	e.srv.AddFile(docs, "kept.txt", "text/plain", []byte("k"))
	if got := e.names(t, docs); len(got) != 2 {
		t.Fatalf("Docs shows %q", got)
	}
	e.names(t, "")
	e.close(t)
	if !snapshot.HasSavedListings(e.dir, e.cfg.Location, e.cfg.API) || snapshot.HasSavedListings(e.dir, "another", e.cfg.API) {
		t.Errorf("HasSavedListings: %v for this library, %v for another, want true and false",
			snapshot.HasSavedListings(e.dir, e.cfg.Location, e.cfg.API), snapshot.HasSavedListings(e.dir, "another", e.cfg.API))
	}
	e.trashed(t, gone)

	e.reopen(t)
	if snapshot.HasSavedListings(e.dir, e.cfg.Location, e.cfg.API) {
		t.Errorf("a mount under way (or killed) leaves the mark of one that ended cleanly")
	}
	// gone.txt was trashed after the listing was saved: a folder that
	// shows it was shown from what was saved, without waiting for a
	// listing (the one it starts in the background may have landed by
	// the time its calls are counted, so they are not).
	if got := e.names(t, docs); !slices.Equal(got, []string{"gone.txt", "kept.txt"}) {
		t.Fatalf("the saved listing shows %q", got)
	}
	f := e.f
	f.mu.Lock() // a background revalidation reads it
	f.listAll = true
	f.mu.Unlock()
	if err := f.passOverLibrary(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, docs); !slices.Equal(got, []string{"kept.txt"}) {
		t.Errorf("after the pass Docs shows %q, want [kept.txt]", got)
	}
}

// hookRC runs hook once, after a ListUpdated of files has read its pages
// and before pollRecent applies them: a user's call landing meanwhile.
type hookRC struct {
	remote.Backend
	hook    func()
	failAll bool
}

func (r *hookRC) ListUpdated(ctx context.Context, typ string, visit func(remote.Item) bool) error {
	err := r.Backend.ListUpdated(ctx, typ, visit)
	if h := r.hook; h != nil && typ == remote.TypeFile {
		r.hook = nil
		h()
	}
	return err
}

func (r *hookRC) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	if r.failAll && q.All {
		return errors.New("503 on page 7 of the pass")
	}
	return r.Backend.List(ctx, q, restart, add)
}

// A file removed through the mount while a poll's pages were in flight
// stays removed: the poll's (older) view of it is not applied.
func TestPollNeverBringsBackWhatTheMountRemoved(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	docs := e.srv.AddFolder("", "Docs")
	x := e.srv.AddFile(docs, "x.txt", "text/plain", []byte("x"))
	f := e.listedAll(t, false)
	ctx := context.Background()
	nextMilli()
	e.renamed(t, x, "x2.txt") // elsewhere: x is now "changed"
	l := e.entries(t, docs)
	if len(l) != 1 {
		t.Fatal(l)
	}
	ent := l[0]
	f.rc = &hookRC{Backend: f.rc, hook: func() {
		if err := f.Remove(ctx, ent.ParentID, ent.ID); err != nil { // rm through the mount
			t.Error(err)
		}
	}}
	if _, err := f.pollRecent(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, docs); len(got) != 0 {
		t.Errorf("Docs shows %q; x was trashed through the mount and the server holds nothing", got)
	}
}

// A poll looks back to the last poll's mark, not to the first item known:
// an item the mount itself made known (mkdir's answer carries updatedAt)
// does not hide older changes made elsewhere.
func TestPollSeesOlderChangesThanTheMountsOwn(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	f := e.listedAll(t, true)
	ctx := context.Background()
	nextMilli()
	e.srv.AddFolder("", "Elsewhere")
	nextMilli()
	if _, err := f.Mkdir(ctx, "", "Mine"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pollRecent(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, ""); !slices.Contains(got, "Elsewhere") {
		t.Errorf("after the poll the root shows %q: the folder made elsewhere is missed (until the full pass)", got)
	}
}

// The same after a listing of one folder (a user's ls after the TTL,
// rmdir's check, a revalidation) made a newer change known.
func TestPollSeesChangesOlderThanARelisting(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	docs := e.srv.AddFolder("", "Docs")
	f := e.listedAll(t, true)
	ctx := context.Background()
	nextMilli()
	e.srv.AddFile(docs, "older.txt", "text/plain", []byte("o"))
	nextMilli()
	e.srv.AddFile("", "newer.txt", "text/plain", []byte("n"))
	if _, err := f.Load(ctx, ""); err != nil { // the root listed on its own
		t.Fatal(err)
	}
	if _, err := f.pollRecent(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, docs); !slices.Contains(got, "older.txt") {
		t.Errorf("after the poll Docs shows %q: older.txt, made elsewhere, is missed", got)
	}
}

// With ListAll, a saved (stale) listing opened while no pass runs (the
// last one failed) is listed again on its own.
func TestSavedListingRevalidatedWhilePassesFail(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	docs := e.srv.AddFolder("", "Docs")
	gone := e.srv.AddFile(docs, "gone.txt", "text/plain", []byte("g"))
	e.names(t, docs)
	e.names(t, "")
	e.close(t)
	e.trashed(t, gone)
	e.reopen(t)
	f := e.f
	f.mu.Lock() // a background revalidation reads it
	f.listAll = true
	f.mu.Unlock()
	f.rc = &hookRC{Backend: f.rc, failAll: true}
	if err := f.passOverLibrary(context.Background()); err == nil {
		t.Fatal("pass should fail")
	}
	e.names(t, docs) // the user opens Docs: shown as saved, checked behind
	f.bg.Wait()      // its revalidation, started by the look-up
	if got := e.names(t, docs); slices.Contains(got, "gone.txt") {
		t.Errorf("Docs, revalidated, shows %q", got)
	}
}

// midPassRC runs hook once, after a pass over the library listed the
// folders (its files' listing runs at the same time).
type midPassRC struct {
	remote.Backend
	once sync.Once
	hook func()
}

func (r *midPassRC) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	err := r.Backend.List(ctx, q, restart, add)
	if q.All && q.Type == remote.TypeFolder {
		r.once.Do(r.hook)
	}
	return err
}

// A listing fetched on its own while a pass runs is newer than the
// pass's: the pass neither replaces it nor forgets the folder.
func TestPassNeverOverwritesANewerListing(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	f := e.f
	f.mu.Lock() // a background revalidation reads it
	f.listAll = true
	f.mu.Unlock()
	ctx := context.Background()
	f.rc = &midPassRC{Backend: f.rc, hook: func() {
		e.srv.AddFolder("", "New")                               // elsewhere, after the pass listed folders
		e.clock.Advance(2 * time.Second)                         // the pass is no longer young: ls lists on its own
		if got := e.names(t, ""); !slices.Contains(got, "New") { // the user's ls
			t.Errorf("ls during the pass shows %q", got)
		}
	}}
	if err := f.passOverLibrary(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, ""); !slices.Contains(got, "New") {
		t.Errorf("after the pass the root shows %q: New, which exists and was shown, is hidden for the TTL", got)
	}
}
