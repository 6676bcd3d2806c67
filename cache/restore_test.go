package cache

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// named returns the entries of the root named name, sorted by id.
func (e *wbEnv) named(t *testing.T, name string) []Entry {
	t.Helper()
	e.store.Invalidate("")
	l, err := e.store.ListDir(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out []Entry
	for _, ent := range l.Entries {
		if ent.Name == name {
			out = append(out, ent)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// rewrite gives the file ent new bytes through the mount and waits for
// the queue to upload them and retire the copy they replace.
func (e *wbEnv) rewrite(t *testing.T, ent Entry, data string) {
	t.Helper()
	h, err := e.store.Open(context.Background(), ent, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeClose(t, h, data)
	e.settle(t)
}

// distinctKeys fails unless the entries have distinct keys, and says
// which ids they are.
func distinctKeys(t *testing.T, when string, entries []Entry) {
	t.Helper()
	keys := map[string]string{}
	for _, ent := range entries {
		if other, dup := keys[ent.Key]; dup {
			t.Fatalf("%s: %s and %s are both shown as file %q", when, other, ent.ID, ent.Key)
		}
		keys[ent.Key] = ent.ID
	}
}

// A copy the queue retired (the old bytes of a file rewritten through the
// mount), taken back out of the trash, is another file: shown beside the
// file under its own key, never taken for the file or for an upload of
// the queue. Changed through the mount in its turn, and so retired again,
// then restored once more, it is a third file, not its own new copy; and
// so after a remount, from the saved listing and from a fresh one.
func TestRestoredCopyIsAnotherFile(t *testing.T) {
	e := newWB(t)
	a := e.srv.AddFile("", "logo.png", "image/png", []byte("v1"))
	file := e.entry(t, "logo.png")
	e.rewrite(t, file, "v2")
	if it, _ := e.srv.Item(a); it.Status != "trashed" {
		t.Fatalf("the old copy is %s", it.Status)
	}
	if _, err := e.srv.Restore(a); err != nil {
		t.Fatal(err)
	}
	got := e.named(t, "logo.png")
	if len(got) != 2 {
		t.Fatalf("after the restore: %+v", got)
	}
	distinctKeys(t, "after the first restore", got)
	var restored Entry
	for _, ent := range got {
		switch {
		case ent.ID == a:
			restored = ent
		case ent.Key != file.Key:
			t.Fatalf("the file's new copy %s lost its key %q: %q", ent.ID, file.Key, ent.Key)
		}
	}
	if e.store.PendingCount() != 0 {
		t.Fatalf("the restore gave the queue %d things to do", e.store.PendingCount())
	}
	if got := e.read(t, restored); got != "v1" {
		t.Fatalf("the restored copy reads %q", got)
	}

	// The restored copy rewritten: its new copy takes its key; the copy
	// retired again and restored again is a file of its own.
	e.rewrite(t, restored, "v3")
	if _, err := e.srv.Restore(a); err != nil {
		t.Fatal(err)
	}
	got = e.named(t, "logo.png")
	if len(got) != 3 {
		t.Fatalf("after the second restore: %+v", got)
	}
	distinctKeys(t, "after the second restore", got)
	reads := map[string]bool{}
	for _, ent := range got {
		reads[e.read(t, ent)] = true
	}
	if len(reads) != 3 {
		t.Fatalf("the three files read %v", reads)
	}
	if e.store.PendingCount() != 0 {
		t.Fatalf("the queue has %d things to do", e.store.PendingCount())
	}

	// A remount: first what the last mount saved, then a fresh listing.
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
	for i := range 2 {
		l, err := e.store.ListDir(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		distinctKeys(t, fmt.Sprintf("after the remount (%d)", i), l.Entries)
		if n := len(l.Entries); n != 3 {
			t.Fatalf("after the remount (%d): %d entries", i, n)
		}
		e.store.Invalidate("")
	}
	if e.store.PendingCount() != 0 {
		t.Fatalf("the queue has %d things to do after the remount", e.store.PendingCount())
	}
}
