package cache

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghltest"
)

// names lists a folder as the mount shows it.
func (e *env) names(t *testing.T, folderID string) []string {
	t.Helper()
	l, err := e.store.ListDir(context.Background(), folderID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range l.Entries {
		out = append(out, x.Name)
	}
	slices.Sort(out)
	return out
}

// A pass over the library fills every folder at once; a poll then costs
// one call per type of item when nothing changed, and applies what did:
// a rename, a move between folders seen as a rename's parent, a new file.
func TestPassThenPollRecent(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	docs := e.srv.AddFolder("", "Docs")
	a := e.srv.AddFile(docs, "a.txt", "text/plain", []byte("a"))
	e.srv.AddFile("", "r.txt", "text/plain", []byte("r"))
	f := e.store.folders
	f.listAll = true
	var told []string
	f.changedFn = func(id string, before, after *folderState) { told = append(told, id) }

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
	apiRename(t, e.srv, a, "b.txt")
	e.srv.AddFile("", "new.txt", "text/plain", []byte("n"))
	e.srv.ResetStats()
	if _, err := f.pollRecent(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.lists(); n > 2 {
		t.Errorf("a poll that found 2 changes made %d calls", n)
	}
	if got := e.names(t, docs); !slices.Equal(got, []string{"b.txt"}) {
		t.Errorf("after the poll Docs shows %q, want [b.txt]", got)
	}
	if got := e.names(t, ""); !slices.Equal(got, []string{"Docs", "new.txt", "r.txt"}) {
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
	f := e.store.folders
	f.listAll = true
	ctx := context.Background()
	if err := f.passOverLibrary(ctx); err != nil {
		t.Fatal(err)
	}
	nextMilli()
	apiRename(t, e.srv, a, "c.txt") // the oldest item is now the newest change
	if _, err := f.pollRecent(ctx); !errors.Is(err, remote.ErrOrderIgnored) {
		t.Fatalf("poll under updated-order-ignored: %v, want ErrOrderIgnored", err)
	}
}

// Listings saved by a mount are shown by the next at once, with no call,
// and a pass replaces them: an item removed meanwhile goes, and a folder
// the library no longer holds is forgotten.
func TestSavedListingsShownThenReplaced(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	docs := e.srv.AddFolder("", "Docs")
	gone := e.srv.AddFile(docs, "gone.txt", "text/plain", []byte("g"))
	e.srv.AddFile(docs, "kept.txt", "text/plain", []byte("k"))
	if got := e.names(t, docs); len(got) != 2 {
		t.Fatalf("Docs shows %q", got)
	}
	e.names(t, "")
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	apiTrash(t, e.srv, gone)

	e.reopen(t)
	e.srv.ResetStats()
	if got := e.names(t, docs); !slices.Equal(got, []string{"gone.txt", "kept.txt"}) {
		t.Fatalf("the saved listing shows %q", got)
	}
	if n := e.lists(); n != 0 {
		t.Errorf("%d listings to show a saved folder, want 0", n)
	}
	f := e.store.folders
	f.listAll = true
	if err := f.passOverLibrary(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, docs); !slices.Equal(got, []string{"kept.txt"}) {
		t.Errorf("after the pass Docs shows %q, want [kept.txt]", got)
	}
}

// nextMilli returns once the wall clock is in a later millisecond: the
// fake stamps items with the real time, in milliseconds, and a test that
// needs two stamps to differ waits for the clock to move on (at most a
// millisecond; nothing else is waited for).
func nextMilli() {
	now := time.Now().Truncate(time.Millisecond)
	for !time.Now().Truncate(time.Millisecond).After(now) {
		runtime.Gosched()
	}
}
