package remote

import (
	"fmt"
	"slices"
)

// Listings paged by offset whose pages overlap: each page starts
// PageOverlap items before the end of the one before, and must repeat
// them in the same order. An item added or removed while the listing
// runs shifts the pages (items skipped, or seen twice): the pass is read
// again from the start, and a listing no pass of which lines up fails
// with ErrListUnstable, never hands on a folder with a gap.
const (
	PageOverlap = 4
	// MaxListPasses bounds how often one listing is read from the start.
	MaxListPasses = 4
)

// ListOverlapped reads a listing: fetch(offset) is one page and whether
// more follow it. Each item is handed to add once (by id), as its page
// comes in; a pass read again calls restart first. what names the
// listing in errors ("GET /v1/files: listing folder /a/"). More than
// maxItems items is ErrListTooLong.
func ListOverlapped[T any](what string, maxItems int, fetch func(offset int) ([]T, bool, error), id func(T) string, restart func(), add func(T)) error {
	for pass := range MaxListPasses {
		if pass > 0 && restart != nil {
			restart()
		}
		clean, err := overlappedPass(what, maxItems, fetch, id, add)
		if err != nil || clean {
			return err
		}
	}
	return fmt.Errorf("%s: %w: its pages did not line up in %d passes (it kept changing while it was read)", what, ErrListUnstable, MaxListPasses)
}

func overlappedPass[T any](what string, maxItems int, fetch func(int) ([]T, bool, error), id func(T) string, add func(T)) (bool, error) {
	seen := map[string]bool{}
	var anchors []string
	ids := func(items []T) []string {
		out := make([]string, len(items))
		for i, it := range items {
			out[i] = id(it)
		}
		return out
	}
	for offset, received := 0, 0; ; {
		page, more, err := fetch(offset)
		if err != nil {
			return false, err
		}
		n := len(page)
		if offset > 0 && (n < len(anchors) || !slices.Equal(ids(page[:len(anchors)]), anchors)) {
			return false, nil
		}
		if received += n - len(anchors); received > maxItems {
			return false, fmt.Errorf("%s: %w: more than %d items", what, ErrListTooLong, maxItems)
		}
		for _, it := range page[len(anchors):] {
			if k := id(it); !seen[k] {
				seen[k] = true
				add(it)
			}
		}
		if !more {
			return true, nil
		}
		if n <= len(anchors) {
			return false, fmt.Errorf("%s: more items announced after a page of nothing new", what)
		}
		overlap := min(PageOverlap, n/2)
		anchors = ids(page[n-overlap:])
		offset += n - overlap
	}
}
