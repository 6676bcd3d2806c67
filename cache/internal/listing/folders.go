package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/ghlfs/ghlfs/remote"
)

// folders holds the listings of folders as the API gives them, each
// trusted for a while and fetched once however many callers ask, and the
// journal of the changes made through the mount.
//
// The journal is what keeps a listing true while changes land: a listing
// whose fetch began before a change (an upload, a rename, a removal) may
// not show it, so every change is kept, with its sequence number, until
// no fetch that began before it is still under way (and a short grace
// has passed, for a server slow to show its own changes). A fetched
// listing is stored with every change newer than the fetch's start
// applied to it: it never loses a file that landed, nor brings back one
// that left.
//
// Whole-library answers (a pass with fetchAll, a poll by last change) may
// lag behind a folder's own listing, and show a change made through the
// mount only some time after it was made (one report; quirk
// fetchall-lag). So while the mount lists the whole library, a change is
// held until a whole-library answer shows it (it is then settled), or
// for lagAllowance at most. A whole-library answer that does not show a
// change held in a folder is not taken for that folder: the folder is
// listed on its own instead (such a listing does not lag, and shows a
// change undone elsewhere meanwhile, such as a file restored from the
// trash), and a poll does not apply an item such a change is about. The
// changes held when the mount ends are saved with the listings, for the
// next mount's first answers.
type folders struct {
	rc      remote.Backend
	clock   clockwork.Clock
	ttl     time.Duration
	log     *slog.Logger
	delete  bool // Options.Delete: removals are for good, not to the trash
	listAll bool // Options.ListAll
	// fetched, when set, is told of every listing fetched from the API
	// (the content part learns the sizes a listing lacked).
	fetched func([]Entry)
	// closing, when set, ends every listing under way (Store.Close).
	closing context.Context

	// listWait is how long a look-up waits for a pass over the whole
	// library under way before listing its folder on its own.
	listWait time.Duration
	// saved, when set, keeps every stored listing for the next mount.
	saved listingSaver
	// changedFn, when set, is told of each folder whose stored listing a
	// pass over the library, a poll or a revalidation found changed.
	changedFn func(folderID string, before, after *folderState)
	// bg counts the background revalidations (Store.Close waits).
	bg *sync.WaitGroup

	// cache holds every listing learnt, fresh or not (freshness is judged
	// on folderState.fetched): a stale listing is what a look-up shows
	// while a background pass revalidates it.
	cache   *gocache.Cache     // folder id -> *folderState
	flights singleflight.Group // coalesces fetches

	mu       sync.Mutex
	seq      uint64               // guarded by mu: the last change's number
	journal  map[string][]change  // guarded by mu: folder id -> changes, oldest first
	inflight map[uint64]int       // guarded by mu: fetches under way, by the seq they began at
	swept    time.Time            // guarded by mu: when the whole journal was last pruned
	used     map[string]time.Time // guarded by mu: folders listed lately (for the poller)
	allOff   bool                 // guarded by mu: the server was seen to ignore fetchAll
	checked  bool                 // guarded by mu: whether that was looked at
	pass     *libraryPass         // guarded by mu: the pass over the whole library under way, if any
	stopped  bool                 // guarded by mu: Close began; no background work starts
	// revalidating holds the folders being listed again in the background.
	revalidating map[string]bool // guarded by mu
	passes       int             // guarded by mu: passes over the whole library completed
	// marks holds, by type of item, the time of the latest change the last
	// poll (or pass) saw: the next poll looks back to it.
	marks map[string]time.Time // guarded by mu
	// polling is set when polls ask for the latest changes (keepInSync);
	// recentOff once the server was seen to ignore that order.
	polling, recentOff bool // guarded by mu

	// Uploads whose answer's id no listing has shown yet (claims.go).
	claims   map[string]map[string]claimFile // guarded by mu: folder id -> answer's id -> the upload
	adopted  map[string]Entry                // guarded by mu: answer's id -> the file as listed
	listedAs map[string]string               // guarded by mu: listed id -> answer's id, where they differ
	// adoptedFn, when set, is told of each adoption, outside mu.
	adoptedFn func(answerID string, listed Entry)
	// knownFn, when set, tells whether an API id is a copy the queue
	// knows (see adoptGuesses); called outside mu.
	knownFn func(id string) bool
}

// listingSaver keeps listings across mounts (snapshot.go).
type listingSaver interface {
	put(folderID string, entries []Entry, listed time.Time)
	drop(folderID string)
}

// journalGrace is how long a change outlives the fetches it could be
// missing from.
const journalGrace = 10 * time.Second

// lagAllowance is how long at most a change made through the mount is
// held over whole-library answers that do not show it yet: past it, such
// an answer is taken as it comes (the change was undone elsewhere, or the
// service lags more than that).
const lagAllowance = 10 * time.Minute

// folderState is a folder's listing as stored; never changed once stored.
type folderState struct {
	entries []Entry // as the API lists them, with the journal applied; sorted (sortEntries)
	fetched time.Time
	start   uint64 // the journal's seq when the fetch began
	// upto is the journal's seq when this state was built: every change
	// noted up to it is in entries (refresh applies the later ones).
	upto uint64
	// stale marks a listing an earlier mount saved: shown at once, and
	// revalidated in the background, never trusted as fresh.
	stale bool
}

type changeKind int

const (
	putEntry changeKind = iota // add or replace an entry (by ID)
	dropID                     // remove the entry with an id
	renameID                   // give the entry with an id a new name
	locateID                   // give the entry with an id the url of e, if it has none
)

// change is one change made through the mount to a folder's listing.
type change struct {
	seq  uint64
	at   time.Time
	kind changeKind
	e    Entry  // putEntry, locateID
	id   string // dropID, renameID
	name string // renameID
	// settled is set once the change is held over whole-library answers
	// no more: one showed it.
	settled bool
}

// itemID is the id of the item the change is about.
func (c change) itemID() string {
	if c.kind == putEntry || c.kind == locateID {
		return c.e.ID
	}
	return c.id
}

// shownBy reports whether a listing in which the item is e (or, when not
// found, is absent) shows the change made.
func (c change) shownBy(e Entry, found bool) bool {
	switch c.kind {
	case putEntry:
		return found && e.Name == c.e.Name
	case dropID:
		return !found
	case renameID:
		return found && e.Name == c.name
	}
	return true // locateID: nothing a listing could undo
}

// applyAll returns entries with the changes cs made, in order; entries
// may be changed. It costs one pass over entries, whatever the number of
// changes (a whole-library answer may take thousands at once).
func applyAll(entries []Entry, cs []change) []Entry {
	if len(cs) <= 4 {
		for _, c := range cs {
			entries = c.apply(entries)
		}
		return entries
	}
	at := make(map[string]int, len(entries)) // id -> index; -1: dropped
	for i, e := range entries {
		at[e.ID] = i
	}
	dropped := false
	for _, c := range cs {
		i, ok := at[c.itemID()]
		if ok && i < 0 {
			ok = false
		}
		switch c.kind {
		case putEntry:
			if ok {
				entries[i] = c.e
			} else {
				at[c.e.ID] = len(entries)
				entries = append(entries, c.e)
			}
		case dropID:
			if ok {
				at[c.id] = -1
				entries[i].ID, dropped = "", true
			}
		case renameID:
			if ok {
				entries[i].Name = c.name
			}
		case locateID:
			if ok && entries[i].URL() == "" {
				entries[i].SetURL(c.e.URL())
			}
		}
	}
	if dropped {
		entries = slices.DeleteFunc(entries, func(e Entry) bool { return e.ID == "" })
	}
	return entries
}

// apply returns entries with c made; entries may be changed.
func (c change) apply(entries []Entry) []Entry {
	switch c.kind {
	case putEntry:
		return append(without(entries, c.e.ID), c.e)
	case dropID:
		return without(entries, c.id)
	case renameID:
		for i := range entries {
			if entries[i].ID == c.id {
				entries[i].Name = c.name
			}
		}
	case locateID:
		for i := range entries {
			if entries[i].ID == c.e.ID && entries[i].URL() == "" {
				entries[i].SetURL(c.e.URL())
			}
		}
	}
	return entries
}

func newFolders(rc remote.Backend, opts Options) *folders {
	return &folders{
		rc:       rc,
		clock:    opts.Clock,
		ttl:      opts.DirTTL,
		log:      opts.Logger,
		delete:   opts.Delete,
		listAll:  opts.ListAll,
		listWait: opts.ListWait,
		cache:    gocache.New(gocache.NoExpiration, 0),
		journal:  make(map[string][]change),
		inflight: make(map[uint64]int),
		used:     make(map[string]time.Time),

		revalidating: make(map[string]bool),
		claims:       make(map[string]map[string]claimFile),
		adopted:      make(map[string]Entry),
		listedAs:     make(map[string]string),
	}
}

// get returns a folder's listing, from the cache while it is fresh.
// Concurrent calls for one folder share a single fetch: two list calls,
// one for folders and one for files, plus any further pages.
func (f *folders) get(ctx context.Context, folderID string) (*folderState, error) {
	f.touch(folderID)
	if st, ok := f.fresh(folderID); ok {
		return st, nil
	}
	if st, ok := f.cached(folderID); ok && st.stale {
		// Saved by an earlier mount: shown now, revalidated behind.
		f.revalidate(folderID)
		return st, nil
	}
	// A pass over the whole library under way may be about to list this
	// folder too: wait for it a little, then list the folder on its own.
	if f.awaitPass(ctx) {
		if st, ok := f.fresh(folderID); ok {
			return st, nil
		}
	}
	return f.loadShared(ctx, folderID)
}

// loadShared fetches a folder's listing and stores it; concurrent calls
// for one folder share a single fetch.
func (f *folders) loadShared(ctx context.Context, folderID string) (*folderState, error) {
	v, err, _ := f.flights.Do("list\x00"+folderID, func() (any, error) {
		ctx, cancel := f.listingContext(ctx)
		defer cancel()
		return f.load(ctx, folderID)
	})
	if err != nil {
		return nil, err
	}
	return v.(*folderState), nil
}

// relisted returns the file e as its folder's listing shows it once
// checked against the server (listed now, unless a fresh listing is
// held), with a url; false if the folder cannot be listed or no longer
// shows the file. The content part asks it when a url from a saved
// listing is refused (Reader.recheck).
func (f *folders) relisted(ctx context.Context, e Entry) (Entry, bool) {
	st, err := f.current(ctx, e.ParentID)
	if err != nil {
		f.log.Debug("could not list a folder again to check a file's url", "name", e.Name, "err", err)
		return e, false
	}
	for _, g := range st.entries {
		if g.ID == e.ID && g.URL() != "" {
			return g, true
		}
	}
	return e, false
}

// current returns a folder's listing as checked against the server: the
// stored one while it is fresh (never one an earlier mount saved), else
// one fetched now. A change it finds is reported as a revalidation's is.
func (f *folders) current(ctx context.Context, folderID string) (*folderState, error) {
	f.touch(folderID)
	if st, ok := f.fresh(folderID); ok {
		return st, nil
	}
	before, _ := f.cached(folderID)
	after, err := f.loadShared(ctx, folderID)
	if err != nil {
		return nil, err
	}
	f.report(folderID, before, after)
	return after, nil
}

// listingContext is the context of a listing fetched for ctx's caller.
// It is detached from that caller (a caller that gives up must not fail
// the others waiting on the same fetch) and ends when the Store closes.
// It has no deadline of its own: each page's call has one (the API
// client's timeout), so a long listing runs as long as its pages keep
// coming, and the API client stops one that never ends.
func (f *folders) listingContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if f.closing == nil {
		return ctx, cancel
	}
	stop := context.AfterFunc(f.closing, cancel)
	return ctx, func() { stop(); cancel() }
}

// load fetches a folder's listing and stores it.
func (f *folders) load(ctx context.Context, folderID string) (*folderState, error) {
	start := f.begin()
	defer f.end(start)
	entries, fetched, err := f.fetch(ctx, folderID)
	if err != nil {
		return nil, err
	}
	st, _ := f.keep(folderID, entries, fetched, start, false)
	if f.fetched != nil {
		f.fetched(st.entries)
	}
	return st, nil
}

func (f *folders) fresh(folderID string) (*folderState, bool) {
	v, ok := f.cache.Get(folderID)
	if !ok {
		return nil, false
	}
	st := v.(*folderState)
	if st.stale || f.clock.Since(st.fetched) >= f.ttl {
		return nil, false
	}
	return st, true
}

// cached returns a folder's stored listing, fresh or not.
func (f *folders) cached(folderID string) (*folderState, bool) {
	v, ok := f.cache.Get(folderID)
	if !ok {
		return nil, false
	}
	return v.(*folderState), true
}

// begin notes a fetch that starts now and returns its start.
func (f *folders) begin() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A number of its own: a change noted after it has a larger one, and
	// of two fetches, the one that began later has the larger start.
	f.seq++
	f.inflight[f.seq]++
	return f.seq
}

// end notes that the fetch that began at start is over.
func (f *folders) end(start uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inflight[start]--; f.inflight[start] <= 0 {
		delete(f.inflight, start)
	}
	if now := f.clock.Now(); now.Sub(f.swept) >= journalGrace {
		f.swept = now
		for id := range f.journal {
			f.pruneLocked(id, now)
		}
	}
}

// keep stores a fetched listing with the changes made since its fetch
// began applied, unless a listing fetched later is stored already. A
// whole-library answer (whole) that does not show a change held in the
// folder is not stored: keep reports false, and the folder is to be
// listed on its own.
func (f *folders) keep(folderID string, entries []Entry, fetched time.Time, start uint64, whole bool) (*folderState, bool) {
	f.mu.Lock()
	// Before the journal: a change noted since the fetch began may stand
	// for an upload the fetch shows as listed.
	adopted, guesses := f.matchLocked(folderID, entries)
	apply, ok := f.settleLocked(folderID, entries, start, whole)
	if !ok {
		f.mu.Unlock()
		f.tellAdopted(adopted)
		f.adoptGuesses(guesses)
		return nil, false
	}
	entries = applyAll(entries, apply)
	sortEntries(entries)
	if resolved, changed := f.resolveLocked(entries, true); changed {
		entries = resolved
		sortEntries(entries)
	}
	st := &folderState{entries: entries, fetched: fetched, start: start, upto: f.seq}
	if v, ok := f.cache.Get(folderID); ok && v.(*folderState).start > start {
		st = v.(*folderState) // a later fetch, with these changes in it too
	} else {
		f.storeLocked(folderID, st)
		f.pruneLocked(folderID, f.clock.Now())
	}
	f.mu.Unlock()
	f.tellAdopted(adopted)
	if f.adoptGuesses(guesses) {
		if cur, ok := f.cached(folderID); ok {
			st = cur // with the uploads found in it
		}
	}
	return st, true
}

// settleLocked returns the changes of a folder's journal that a listing
// of it (entries) that began at start needs applied: those noted since it
// began. A whole-library answer (whole) settles the changes held that it
// shows, each only once every earlier change to the same item is (a file
// uploaded and then removed is absent before it shows, as after); one
// that does not show a change held makes settleLocked report false. The
// folder's own listing settles nothing: that it does not show a change
// may be the doing of another change of the mount's still under way (a
// copy being sent to the trash), and it is taken as it comes anyway.
// f.mu is held.
func (f *folders) settleLocked(folderID string, entries []Entry, start uint64, whole bool) ([]change, bool) {
	j := f.journal[folderID]
	held := whole && f.wholeLocked()
	var out []change
	var byID map[string]Entry
	var blocked map[string]bool
	ok := true
	for i := range j {
		c := &j[i]
		if c.seq > start {
			out = append(out, *c)
			continue
		}
		if !held || c.settled {
			continue
		}
		if byID == nil {
			byID = make(map[string]Entry, len(entries))
			for _, e := range entries {
				byID[e.ID] = e
			}
			blocked = make(map[string]bool)
		}
		id := f.listedIDLocked(c.itemID())
		e, found := byID[id]
		if !blocked[id] && c.shownBy(e, found) {
			c.settled = true
			continue
		}
		blocked[id] = true
		ok = false
	}
	return out, ok
}

// heldLocked reports whether a change made through the mount to item id
// of a folder is held, and a whole-library answer in which the item is e
// (or, when not found, absent) does not show it: then that answer must
// not be taken for the item. f.mu is held.
func (f *folders) heldLocked(folderID, id string, e Entry, found bool) bool {
	if !f.wholeLocked() {
		return false
	}
	for _, c := range f.journal[folderID] {
		if !c.settled && f.listedIDLocked(c.itemID()) == id && !c.shownBy(e, found) {
			return true
		}
	}
	return false
}

// listedIDLocked is the id listings show for the item id: the listed id
// of an upload whose answer gave another (claims.go), else id. A change
// noted under an upload's answer is shown by a listing under the listed
// one. f.mu is held.
func (f *folders) listedIDLocked(id string) string {
	if x, ok := f.adopted[id]; ok {
		return x.ID
	}
	return id
}

// wholeLocked reports whether whole-library answers are in use (and so
// changes are kept until one shows them). f.mu is held.
func (f *folders) wholeLocked() bool { return f.listAll && !f.allOff }

// refresh returns st, a listing of the folder handed out a moment ago,
// with the changes noted since it was built applied (the stored listing
// has them too, but may be gone: invalidated meanwhile; and a report of
// a change must keep its "before"). A view of the folder takes its
// records as they stand now, and then its listing from here: a record
// that left the queue meanwhile has its upload noted by then, so the file
// is in one or the other, never in neither.
func (f *folders) refresh(folderID string, st *folderState) *folderState {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.journal[folderID]
	i := len(j)
	for i > 0 && j[i-1].seq > st.upto {
		i--
	}
	if i == len(j) {
		return st
	}
	entries := slices.Clone(st.entries)
	for _, c := range j[i:] {
		entries = c.apply(entries)
	}
	entries, _ = f.resolveLocked(entries, true)
	sortEntries(entries)
	return &folderState{entries: entries, fetched: st.fetched, start: st.start, upto: j[len(j)-1].seq, stale: st.stale}
}

// storeLocked stores a folder's listing, and keeps it for the next mount;
// the caller holds mu (so that what is saved is in the order stored).
func (f *folders) storeLocked(folderID string, st *folderState) {
	f.cache.SetDefault(folderID, st)
	if f.saved != nil {
		f.saved.put(folderID, st.entries, st.fetched)
	}
}

// note records a change made through the mount, and applies it to the
// stored listing.
func (f *folders) note(folderID string, c change) {
	f.mu.Lock()
	cs := []change{c}
	if a, ok := f.listedAs[c.id]; ok && c.kind == dropID {
		// The file an upload was found to be: the upload's own entry (by
		// its answer's id, which the journal may hold from its landing)
		// goes too, else resolveLocked would bring the file back.
		cs = append(cs, change{kind: dropID, id: a})
	}
	var adopted, guesses []adoption
	for _, c := range cs {
		f.seq++
		c.seq, c.at = f.seq, f.clock.Now()
		f.journal[folderID] = append(f.journal[folderID], c)
		if v, ok := f.cache.Get(folderID); ok {
			old := v.(*folderState)
			if c.kind == putEntry && c.e.Unconfirmed() {
				// The listing may hold the upload already (a listing that
				// began after it landed).
				adopted, guesses = f.matchLocked(folderID, old.entries)
			}
			entries := c.apply(slices.Clone(old.entries))
			sortEntries(entries)
			if resolved, changed := f.resolveLocked(entries, true); changed {
				entries = resolved
				sortEntries(entries)
			}
			f.storeLocked(folderID, &folderState{entries: entries, fetched: old.fetched, start: old.start, upto: c.seq, stale: old.stale})
		}
		f.pruneLocked(folderID, c.at)
	}
	f.mu.Unlock()
	f.tellAdopted(adopted)
	f.adoptGuesses(guesses)
}

// applyRemote applies to a folder's stored listing a change made
// elsewhere, seen by a poll that began at start, unless a change to the
// same item was made through the mount since (it is newer than what the
// poll saw), or one held that the poll's answer (a whole-library one,
// which may lag) does not show: then it reports held, and the folder is
// to be listed on its own. It is not journaled: a fetch shows what the
// server holds. It reports whether the listing changed.
func (f *folders) applyRemote(folderID string, c change, start uint64) (changed, held bool) {
	f.mu.Lock()
	id := c.itemID()
	for _, j := range f.journal[folderID] {
		if j.seq > start && j.itemID() == id {
			f.mu.Unlock()
			return false, false
		}
	}
	if f.heldLocked(folderID, id, c.e, c.kind == putEntry) {
		f.mu.Unlock()
		return false, true
	}
	v, ok := f.cache.Get(folderID)
	if !ok {
		f.mu.Unlock()
		return false, false
	}
	old := v.(*folderState)
	entries := c.apply(slices.Clone(old.entries))
	sortEntries(entries)
	adopted, guesses := f.matchLocked(folderID, entries)
	if resolved, changed := f.resolveLocked(entries, true); changed {
		entries = resolved
		sortEntries(entries)
	}
	f.storeLocked(folderID, &folderState{entries: entries, fetched: old.fetched, start: old.start, upto: old.upto, stale: old.stale})
	f.mu.Unlock()
	f.tellAdopted(adopted)
	f.adoptGuesses(guesses)
	return true, false
}

// pruneLocked drops the changes of a folder that every fetch under way
// began after, once they are older than the grace; the caller holds mu.
func (f *folders) pruneLocked(folderID string, now time.Time) {
	oldest := f.seq + 1
	for s := range f.inflight {
		oldest = min(oldest, s+1)
	}
	j := f.journal[folderID]
	whole := f.wholeLocked()
	n := 0
	for n < len(j) && j[n].seq < oldest && now.Sub(j[n].at) >= journalGrace &&
		(!whole || j[n].settled || now.Sub(j[n].at) >= lagAllowance) {
		n++
	}
	switch {
	case n == len(j):
		delete(f.journal, folderID)
	case n > 0:
		f.journal[folderID] = slices.Clone(j[n:])
	}
}

// invalidate forgets a folder's stored listing; the next get fetches it.
func (f *folders) invalidate(folderID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cache.Delete(folderID)
	if f.saved != nil {
		f.saved.drop(folderID)
	}
}

// seed stores a folder known to be empty (one just created), which saves
// the two list calls its first look would cost.
func (f *folders) seed(folderID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.storeLocked(folderID, &folderState{fetched: f.clock.Now(), start: f.seq, upto: f.seq})
}

// listBoth lists the folders and the files that q selects (the API lists
// one type at a time), both at once, as entries: each page becomes
// entries as it comes, so that a folder of hundreds of thousands of files
// is never held twice. keep picks the items to keep, and may change them;
// it is called from two goroutines at once.
func (f *folders) listBoth(ctx context.Context, q remote.ListQuery, keep func(*remote.Item) bool) (folders, files []Entry, err error) {
	if q.Label == "" {
		q.Label, _ = ctx.Value(pathKey{}).(string)
	}
	g, gctx := errgroup.WithContext(ctx)
	list := func(typ string, out *[]Entry) func() error {
		return func() error {
			tq := q
			tq.Type = typ
			return f.rc.List(gctx, tq, func() { *out = (*out)[:0] }, func(it remote.Item) {
				if keep(&it) {
					*out = append(*out, entryOf(it))
				}
			})
		}
	}
	g.Go(list(remote.TypeFolder, &folders))
	g.Go(list(remote.TypeFile, &files))
	if err := g.Wait(); err != nil {
		return nil, nil, translate(err)
	}
	return folders, files, nil
}

// pathKey is the context key of WithPath.
type pathKey struct{}

// WithPath tells the listings fetched for ctx which path of the mount
// they are, for their log lines.
func WithPath(ctx context.Context, path string) context.Context {
	return context.WithValue(ctx, pathKey{}, path)
}

// fetch lists a folder from the API, and says when the listing ended: its
// TTL runs from then, so that a listing that took longer than the TTL (a
// folder of 200,000 files at the API's rate limit takes minutes) is not
// stale as it arrives, and fetched again by the next look-up, for ever.
// (What the listing may have missed meanwhile is what the journal keeps.)
func (f *folders) fetch(ctx context.Context, folderID string) ([]Entry, time.Time, error) {
	folders, files, err := f.listBoth(ctx, remote.ListQuery{ParentID: folderID}, func(it *remote.Item) bool {
		// A server that ignores parentId would hand back the whole
		// location; keep only this folder's children (who then share
		// one parent string).
		if it.ParentID != folderID {
			return false
		}
		it.ParentID = folderID
		return true
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return append(files, folders...), f.clock.Now(), nil
}

// mkdir creates a folder named name in parentID.
func (f *folders) mkdir(ctx context.Context, parentID, name string) (Entry, error) {
	it, err := f.rc.CreateFolder(ctx, parentID, name)
	if err != nil {
		return Entry{}, translate(err)
	}
	e := entryOf(it)
	e.ParentID = parentID
	if e.ModTime.IsZero() {
		e.ModTime = f.clock.Now()
	}
	f.note(parentID, change{kind: putEntry, e: e})
	f.seed(e.ID)
	return e, nil
}

// rename gives the item id of folder parentID the name name.
func (f *folders) rename(ctx context.Context, parentID, id, name string) error {
	err := f.rc.Rename(ctx, id, name)
	var notDone *remote.NotDoneError
	if errors.As(err, &notDone) {
		// {"updated": false}: nothing renamed, or a retry of a rename
		// whose first attempt did it. A fresh listing decides.
		entries, _, lerr := f.fetch(ctx, parentID)
		if lerr != nil {
			return lerr
		}
		if !slices.ContainsFunc(entries, func(e Entry) bool { return e.ID == id && e.Name == name }) {
			return translate(err)
		}
		err = nil
	}
	if err != nil {
		return translate(err)
	}
	f.note(parentID, change{kind: renameID, id: id, name: name})
	return nil
}

// remove trashes (or, with Options.Delete, deletes) items of folder
// parentID. If the API says some were not removed, a fresh listing
// decides: an item it no longer shows is gone (a retried call whose first
// attempt did the work answers that way).
func (f *folders) remove(ctx context.Context, parentID string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := f.rc.Remove(ctx, ids, f.delete)
	var notDone *remote.NotDoneError
	if err != nil && !errors.As(err, &notDone) {
		return translate(err)
	}
	if notDone != nil {
		entries, _, lerr := f.fetch(ctx, parentID)
		if lerr != nil {
			return lerr
		}
		for _, e := range entries {
			if slices.Contains(notDone.IDs, e.ID) {
				return fmt.Errorf("%w: %w", ErrUnavailable, err)
			}
		}
	}
	for _, id := range ids {
		f.note(parentID, change{kind: dropID, id: id})
	}
	return nil
}
