package index

import (
	"context"
	"sync"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
)

// Entry is a file or folder as the filesystem sees it (entry.Entry).
type Entry = entry.Entry

// Index is what the write-back queue shares among its records, under one
// lock: the records by file key and by spool id, what each folder's
// records change in its listing (view.go), what the API copies are across
// uploads (keys.go), and the work list (work.go). R is the queue's record
// (a pointer); the index never calls it, it only hands it back.
type Index[R comparable] struct {
	folders *listing.Folders

	mu   sync.Mutex
	cond *sync.Cond // on mu: work to do, or closing
	// progress is broadcast, and steps counted, whenever a record finished
	// a step or left.
	progress *sync.Cond            // on mu
	steps    uint64                // guarded by mu
	byKey    map[string]R          // guarded by mu: records by file key
	byID     map[string]R          // guarded by mu: records by spool id
	overlays map[string]*overlay   // guarded by mu: what each folder's records show and hide
	parts    map[R]Part            // guarded by mu: each record's part of that
	byFolder map[string]map[R]bool // guarded by mu: the records with a part, by folder
	// stale are the folders whose overlay is older than their records'
	// parts: rebuilt when next asked for (overlayLocked), so that many
	// records changing at once (a resume of thousands, a cp -r) cost one
	// rebuild a read, not one a change. Guarded by mu.
	stale map[string]bool
	// names counts, by folder, the records' parts that show each name
	// there (Part.names), kept up as parts are set: Shows needs no
	// rebuild. Guarded by mu.
	names   map[string]map[string]int
	keys    map[string]string // guarded by mu: API id -> key, for copies made, changed or retired in this mount
	keysGen uint64            // guarded by mu: counts the changes to keys (setKeyLocked)
	retires uint64            // guarded by mu: counts the keys given to retired copies
	latest  map[string]Entry  // guarded by mu: key -> the copy in the API that now holds it
	// superseded are the versions (Entry.ContentKey) that an upload of
	// this mount replaced by a later version under the same id, where
	// the service keeps versions (Newer). Guarded by mu.
	superseded map[string]bool
	work       []R // guarded by mu: records to process
	// A record is queued while it is in work, busy while a worker has it,
	// and again when it was queued while busy. Guarded by mu.
	queued, busy, again map[R]bool
	closed              bool // guarded by mu
	draining            bool // guarded by mu: unmounting; complete records are due at once
}

// New returns an empty index; folders is where a view takes its listings
// from.
func New[R comparable](folders *listing.Folders) *Index[R] {
	ix := &Index[R]{
		folders:    folders,
		byKey:      make(map[string]R),
		byID:       make(map[string]R),
		overlays:   make(map[string]*overlay),
		parts:      make(map[R]Part),
		byFolder:   make(map[string]map[R]bool),
		stale:      make(map[string]bool),
		names:      make(map[string]map[string]int),
		keys:       make(map[string]string),
		latest:     make(map[string]Entry),
		superseded: make(map[string]bool),
		queued:     make(map[R]bool),
		busy:       make(map[R]bool),
		again:      make(map[R]bool),
	}
	ix.cond = sync.NewCond(&ix.mu)
	ix.progress = sync.NewCond(&ix.mu)
	return ix
}

// Lookup returns the record of a file key; the zero R if it has none.
func (ix *Index[R]) Lookup(key string) R {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.byKey[key]
}

// LookupNewer returns the record of e's file key (the zero R if it has
// none), and the copy in the API that now holds the key, if the mount
// uploaded it since e was listed (Newer), at one instant.
func (ix *Index[R]) LookupNewer(e Entry) (R, Entry, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	latest, ok := ix.newerLocked(e)
	return ix.byKey[e.Key], latest, ok
}

// Add indexes the record r by its spool id and, unless key is "", by its
// file key.
func (ix *Index[R]) Add(id, key string, r R) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if key != "" {
		ix.byKey[key] = r
	}
	ix.byID[id] = r
}

// Reserve indexes the record r of the API copy apiID by its spool id and
// file key, unless the key has a record already (then it reports false).
// The copy holds the key from then on, unless it held one before.
func (ix *Index[R]) Reserve(id, key string, r R, apiID string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var none R
	if ix.byKey[key] != none {
		return false
	}
	ix.byKey[key], ix.byID[id] = r, r
	if _, ok := ix.keys[apiID]; !ok && apiID != "" {
		// The copy being changed: a look-up of an upload by name, size
		// and time never takes it for the upload (writeback/claims.go).
		ix.setKeyLocked(apiID, key)
	}
	return true
}

// Unkey frees the file key from r, if r is its record: the next change
// to the file makes a record of its own.
func (ix *Index[R]) Unkey(key string, r R) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.byKey[key] == r {
		delete(ix.byKey, key)
	}
}

// Drop takes the record r out of the index: it left the queue.
func (ix *Index[R]) Drop(id, key string, r R) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.byKey[key] == r {
		delete(ix.byKey, key)
	}
	delete(ix.byID, id)
	ix.steppedLocked()
}

// All returns every record in the index.
func (ix *Index[R]) All() []R {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	all := make([]R, 0, len(ix.byID))
	for _, r := range ix.byID {
		all = append(all, r)
	}
	return all
}

// Watch calls check now and after each step the queue takes (Done, Drop),
// with no lock held, until check reports that it is done, ctx ends, or
// the index closes; it reports whether the index closed.
func (ix *Index[R]) Watch(ctx context.Context, check func() bool) (closed bool) {
	stop := context.AfterFunc(ctx, func() {
		ix.mu.Lock()
		ix.progress.Broadcast()
		ix.mu.Unlock()
	})
	defer stop()
	for {
		ix.mu.Lock()
		seen := ix.steps
		ix.mu.Unlock()
		if check() || ctx.Err() != nil {
			return false
		}
		ix.mu.Lock()
		for ix.steps == seen && ctx.Err() == nil && !ix.closed {
			ix.progress.Wait()
		}
		closed := ix.closed
		ix.mu.Unlock()
		if closed {
			return true
		}
	}
}

// steppedLocked notes that a record finished a step or left; the caller
// holds ix.mu.
func (ix *Index[R]) steppedLocked() {
	ix.steps++
	ix.progress.Broadcast()
}
