package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// MayShow, which answers a look-up of a new name without building the
// folder's view, never says "surely not" of a name the view shows, while
// files are made, written, renamed (onto others too), moved between
// folders, removed and uploaded, with the listings fetched again now and
// then; and it says so of names no file has.
func TestMayShowNeverHidesAShownName(t *testing.T) {
	e := newWB(t)
	ctx := context.Background()
	sub, err := e.store.Mkdir(ctx, "", "sub")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		e.srv.AddFile("", fmt.Sprintf("listed%d.txt", i), "", []byte("x"))
	}
	folders := []string{"", sub.ID}
	rng := rand.New(rand.NewPCG(7, 8))
	names := func() string { return fmt.Sprintf("f%d.txt", rng.IntN(12)) }
	shown := func(folder string) []Entry {
		l, err := e.store.ListDir(ctx, folder)
		if err != nil {
			t.Fatal(err)
		}
		return l.Entries
	}
	for step := range 300 {
		folder := folders[rng.IntN(2)]
		ents := shown(folder)
		var files []Entry
		for _, x := range ents {
			if !x.IsDir {
				files = append(files, x)
			}
		}
		switch op := rng.IntN(10); {
		case op < 3 || len(files) == 0:
			h, _, err := e.store.Create(ctx, folder, names())
			if err == nil {
				writeClose(t, h, "new")
			}
		case op < 5:
			x := files[rng.IntN(len(files))]
			var replace *Entry
			to := names()
			for _, y := range ents {
				if y.Name == to && !y.IsDir {
					replace = &y
				}
			}
			if replace != nil && replace.Key == x.Key {
				continue
			}
			_ = e.store.Rename(ctx, x, to, replace)
		case op < 6:
			x := files[rng.IntN(len(files))]
			other := folders[0]
			if folder == other {
				other = folders[1]
			}
			_ = e.store.Move(ctx, x, other, x.Name+".moved", nil)
		case op < 7:
			_ = e.store.Remove(ctx, files[rng.IntN(len(files))])
		case op < 8:
			e.clock.Advance(delay) // uploads, renames and removals go out
		default:
			e.store.Invalidate(folder)
		}
		for _, f := range folders {
			for _, x := range shown(f) {
				may, err := e.store.MayShow(ctx, f, x.Name)
				if err != nil {
					t.Fatal(err)
				}
				// The queue changes the view meanwhile (a move sent shows
				// the file in its new folder): "surely not" is wrong only
				// of a name still shown after it was said.
				if !may && slices.ContainsFunc(shown(f), func(y Entry) bool { return y.Name == x.Name }) {
					t.Fatalf("step %d: %q (key %s) is shown in folder %q before and after MayShow said surely not", step, x.Name, x.Key, f)
				}
			}
			if may, err := e.store.MayShow(ctx, f, "never-made.txt"); err != nil || may {
				t.Fatalf("step %d: MayShow of a name no file has: %v, %v", step, may, err)
			}
		}
	}
	eventually(t, "the queue to finish", func() bool {
		e.clock.Advance(time.Minute)
		return e.store.PendingCount() == 0
	})
}
