package cache

import (
	"context"
	"errors"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// writes counts the calls that change the library.
func (e *env) writes() int64 {
	by := e.srv.Stats().ByEndpoint
	return by[ghltest.EndpointDeleteMany] + by[ghltest.EndpointDelete] + by[ghltest.EndpointRename] + by[ghltest.EndpointUpdateMany]
}

// A system folder (isEssential, appFolder) is neither removed nor renamed,
// nor replaced by a rename over it: ErrSystemFolder, before any call. So
// after a remount too, from the listing the last mount saved.
func TestSystemFolderNeverRemovedOrRenamed(t *testing.T) {
	e := newEnv(t, ghltest.Options{Quirks: []string{ghltest.QuirkEssentialFolders}})
	ctx := context.Background()
	mine, err := e.store.Mkdir(ctx, "", "mine")
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		l, err := e.store.ListDir(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var system []Entry
		for _, ent := range l.Entries {
			if ent.System {
				system = append(system, ent)
			}
			if ent.System != (ent.Name == ghltest.EssentialFolder || ent.Name == ghltest.AppFolder) {
				t.Fatalf("round %d: %s shown with System %v", round, ent.Name, ent.System)
			}
		}
		if len(system) != 2 {
			t.Fatalf("round %d: %d system folders, want 2", round, len(system))
		}
		e.srv.ResetStats()
		for _, sys := range system {
			for what, err := range map[string]error{
				"rmdir":          e.store.Rmdir(ctx, sys),
				"rename":         e.store.Rename(ctx, sys, "other", nil),
				"rename over it": e.store.Rename(ctx, mine, sys.Name, &sys),
			} {
				if !errors.Is(err, ErrSystemFolder) {
					t.Fatalf("round %d: %s of %s: %v, want ErrSystemFolder", round, what, sys.Name, err)
				}
			}
		}
		if n := e.writes(); n != 0 {
			t.Fatalf("round %d: %d calls that change the library", round, n)
		}
		if round == 0 {
			if err := e.store.Close(); err != nil {
				t.Fatal(err)
			}
			e.reopen(t)
		}
	}
	// What is inside is ordinary.
	l, _ := e.store.ListDir(ctx, "")
	for _, ent := range l.Entries {
		if ent.Name == ghltest.AppFolder {
			inside, err := e.store.ListDir(ctx, ent.ID)
			if err != nil || len(inside.Entries) != 1 {
				t.Fatalf("the app folder holds %v, %v", inside, err)
			}
			if err := e.store.Remove(ctx, inside.Entries[0]); err != nil {
				t.Fatalf("removing the file inside: %v", err)
			}
		}
	}
}
