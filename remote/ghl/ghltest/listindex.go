package ghltest

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// listIndex keeps, for the last few listing queries, the matching items in
// their sorted order, so that paging through a folder of hundreds of
// thousands of items costs each page its own items only, not a sort of
// the whole library. An entry is good for one generation of the store:
// every change (store.changed) starts a new one.
type listIndex struct {
	mu      sync.Mutex
	gen     uint64              // guarded by mu: the generation the entries are of
	entries map[listKey][]*item // guarded by mu
}

// listKey is a listQuery without its page.
type listKey struct {
	typ, parentID, search, sortBy string
	all, desc, trashed            bool
}

// maxListIndex bounds how many sorted listings are kept at once.
const maxListIndex = 16

// sortedLocked returns the active items q selects, in q's order (ties
// broken by id). st.mu is held, for reading at least; the slice is only
// good while it is.
func (st *store) sortedLocked(q listQuery) []*item {
	key := listKey{typ: q.typ, parentID: q.parentID, search: q.search, sortBy: q.sortBy, all: q.all, desc: q.desc, trashed: q.trashed}
	ix := &st.index
	ix.mu.Lock()
	if ix.gen != st.gen || ix.entries == nil || len(ix.entries) >= maxListIndex {
		ix.gen, ix.entries = st.gen, make(map[listKey][]*item)
	}
	out, ok := ix.entries[key]
	ix.mu.Unlock()
	if ok {
		return out
	}
	out = nil
	for _, it := range st.items {
		if q.selects(it) {
			out = append(out, it)
		}
	}
	sortItems(out, q.sortBy, q.desc)
	ix.mu.Lock()
	if ix.gen == st.gen {
		ix.entries[key] = out
	}
	ix.mu.Unlock()
	return out
}

// selects reports whether q lists it (whatever its page).
func (q listQuery) selects(it *item) bool {
	listed := it.status == StatusActive || (q.trashed && it.status == StatusTrashed)
	return listed && it.typ == q.typ && (q.all || it.parentID == q.parentID) && (q.match == nil || q.match(it.name))
}

// sortItems sorts items by a listing's sort key, ties by ascending id.
func sortItems(items []*item, sortBy string, desc bool) {
	slices.SortFunc(items, func(a, b *item) int {
		c := sortCompare(a, b, sortBy)
		if desc {
			c = -c
		}
		return cmp.Or(c, strings.Compare(a.id, b.id))
	})
}

// sortCompare compares two items by a listing's sort key.
func sortCompare(a, b *item, sortBy string) int {
	switch sortBy {
	case "name":
		return strings.Compare(a.name, b.name)
	case "updatedAt":
		return a.updatedAt.Compare(b.updatedAt)
	}
	return a.createdAt.Compare(b.createdAt)
}
