package remote

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestListOverlapped: every item once, pages of any length; a listing
// that shifts under the reader is read again, and one that never stops
// shifting is ErrListUnstable; more items than the bound ErrListTooLong.
func TestListOverlapped(t *testing.T) {
	items := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("i%03d", i))
		}
		return out
	}
	all := items(23)
	shifts := 0 // passes whose second page comes shifted by a removal
	pass := 0
	fetch := func(size int) func(int) ([]string, bool, error) {
		return func(off int) ([]string, bool, error) {
			if off == 0 {
				pass++
			}
			src := all
			if off > 0 && pass <= shifts {
				src = all[1:] // the first item removed meanwhile
			}
			end := min(off+size, len(src))
			return src[min(off, end):end], end < len(src), nil
		}
	}
	id := func(s string) string { return s }
	for _, c := range []struct {
		size, shifts int
		want         error
	}{{5, 0, nil}, {3, 0, nil}, {5, 2, nil}, {5, MaxListPasses, ErrListUnstable}} {
		var got []string
		restarts := 0
		pass, shifts = 0, c.shifts
		err := ListOverlapped("list", 100, fetch(c.size), id, func() { restarts++; got = nil }, func(s string) { got = append(got, s) })
		if !errors.Is(err, c.want) || c.want == nil && !slices.Equal(got, all) {
			t.Errorf("pages of %d, %d shifted passes: %v, %d items, want %v and all %d", c.size, c.shifts, err, len(got), c.want, len(all))
		}
		if c.want == nil && restarts != c.shifts {
			t.Errorf("pages of %d, %d shifted passes: %d restarts", c.size, c.shifts, restarts)
		}
	}
	pass, shifts = 0, 0
	err := ListOverlapped("list", 20, fetch(5), id, nil, func(string) {})
	if !errors.Is(err, ErrListTooLong) || !strings.HasPrefix(err.Error(), "list: ") {
		t.Errorf("23 items over a bound of 20: %v", err)
	}
}
