package ghl_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// tiedLibrary is a fake holding groups of size files each, the files of a
// group created (and so updated) at one time, a second after the group
// before; and a client that lists pages of 10. It returns the names.
func tiedLibrary(t *testing.T, groups, size int, quirks ...string) (*ghl.Client, []string) {
	t.Helper()
	clk := &stepClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	c, srv := quirkClient(t, ghltest.Options{Now: clk.Now, Quirks: quirks}, func(cfg *ghl.Config) { cfg.PageSize = 10 })
	var names []string
	for g := range groups {
		clk.Step()
		for i := range size {
			names = append(names, fmt.Sprintf("g%02d-%02d", g, i))
			srv.AddFile("", names[len(names)-1], "", []byte{byte(i)})
		}
	}
	clk.Step()
	slices.Sort(names)
	return c, names
}

// readUpdated reads the whole listing by last change, and returns the
// names visited, sorted.
func readUpdated(c *ghl.Client) ([]string, error) {
	var got []string
	err := c.ListUpdated(context.Background(), remote.TypeFile, func(it remote.Item) bool {
		got = append(got, it.Name)
		return true
	})
	slices.Sort(got)
	return got, err
}

// Runs of 8 files of one updatedAt, which the server orders anew at each
// request, across the ends of pages of 10: every listing visits every
// file once, and ends without an error.
func TestListUpdatedUnstableTies(t *testing.T) {
	c, want := tiedLibrary(t, 10, 8, ghltest.QuirkUnstableTies)
	for i := range 30 {
		got, err := readUpdated(c)
		if err != nil {
			t.Fatalf("listing %d: %v", i, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("listing %d visited %d files (%d distinct), want %d: missing %q", i, len(got), len(slices.Compact(slices.Clone(got))), len(want), missing(want, got))
		}
	}
}

// A run of one updatedAt longer than a page, which the server orders anew
// at each request, cannot be read page by page: the listing fails with
// ErrListUnstable rather than end as if whole having missed some. Where
// the server keeps ties in one order, it is read whole.
func TestListUpdatedTiesLongerThanAPage(t *testing.T) {
	c, want := tiedLibrary(t, 1, 25, ghltest.QuirkUnstableTies)
	for i := range 20 {
		got, err := readUpdated(c)
		if err == nil && !slices.Equal(got, want) {
			t.Fatalf("listing %d ended without an error, missing %q", i, missing(want, got))
		}
		if err != nil && !errors.Is(err, remote.ErrListUnstable) {
			t.Fatalf("listing %d: %v, want ErrListUnstable", i, err)
		}
	}
	c, want = tiedLibrary(t, 1, 25)
	if got, err := readUpdated(c); err != nil || !slices.Equal(got, want) {
		t.Fatalf("ties in one order: %v, missing %q", err, missing(want, got))
	}
}

// missing are the names of want that got lacks.
func missing(want, got []string) []string {
	var out []string
	for _, n := range want {
		if !slices.Contains(got, n) {
			out = append(out, n)
		}
	}
	return out
}
