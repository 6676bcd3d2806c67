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
		listed := it.status == StatusActive || (key.trashed && it.status == StatusTrashed)
		if !listed || it.typ != key.typ {
			continue
		}
		if !key.all && it.parentID != key.parentID {
			continue
		}
		if q.match != nil && !q.match(it.name) {
			continue
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b *item) int {
		c := sortCompare(a, b, key.sortBy)
		if key.desc {
			c = -c
		}
		return cmp.Or(c, strings.Compare(a.id, b.id))
	})
	ix.mu.Lock()
	if ix.gen == st.gen {
		ix.entries[key] = out
	}
	ix.mu.Unlock()
	return out
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
