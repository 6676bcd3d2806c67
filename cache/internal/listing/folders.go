package listing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/snapshot"
	"github.com/ghlfs/ghlfs/remote"
)

// Folders holds the listings of folders as the API gives them, each
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
type Folders struct {
	rc       remote.Backend
	clock    clockwork.Clock
	ttl      time.Duration
	log      *slog.Logger
	delete   bool          // Config.Delete: removals are for good, not to the trash
	listAll  bool          // Config.ListAll, where the service can (Caps.ListAll)
	oneList  bool          // Caps.OneListing: one listing gives files and folders
	listWait time.Duration // Config.ListWait
	cfg      Config        // the rest: intervals and the functions above (see Config)
	// saved keeps every stored listing for the next mount.
	saved *snapshot.Snapshot

	// ctx ends every listing under way and the background work (Stop).
	ctx  context.Context
	stop context.CancelFunc
	// bg counts the background work: the passes and polls Start starts,
	// and the revalidations of saved listings (Close waits for them).
	bg sync.WaitGroup

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
	stopped  bool                 // guarded by mu: Stop was called; no background work starts
	// started is set by Start: the front is whole, and Config.Adopted
	// and Known may be called from a claim (before it, the write-back
	// queue is still being made, and its records' claims taken up).
	started bool // guarded by mu
	// revalidating holds the folders being listed again in the background.
	revalidating map[string]bool // guarded by mu
	passes       int             // guarded by mu: passes over the whole library completed
	// marks holds, by type of item, the time of the latest change the last
	// poll (or pass) saw: the next poll looks back to it.
	marks map[string]time.Time // guarded by mu
	// polling is set when polls ask for the latest changes (ListAll with
	// a PollInterval); recentOff once the server was seen to ignore that
	// order.
	polling, recentOff bool // guarded by mu

	// Uploads whose answer's id no listing has shown yet (claims.go).
	claims   map[string]map[string]Claim // guarded by mu: folder id -> answer's id -> the upload
	adopted  map[string]Entry            // guarded by mu: answer's id -> the file as listed
	listedAs map[string]string           // guarded by mu: listed id -> answer's id, where they differ

	// lmu guards listings, every listing learnt, fresh or not (freshness
	// is judged on State.fetched): a stale listing is what a look-up shows
	// while a background pass revalidates it. It is changed only with mu
	// held too (storeLocked), so that what is saved is in the order
	// stored; it is read with lmu alone (a look-up, a scan of them all).
	lmu      sync.RWMutex
	listings map[string]*State // guarded by lmu: folder id -> its listing
}

// Config is what Folders are made with; nothing is set on them after.
type Config struct {
	// TTL is how long a listing is trusted.
	TTL    time.Duration
	Clock  clockwork.Clock
	Logger *slog.Logger
	// Delete makes removals permanent; by default they go to the trash.
	Delete bool
	// ListAll lists the whole library in the background (sync.go), and
	// ListWait is how long a look-up of a folder not listed yet waits
	// for a pass under way.
	ListAll  bool
	ListWait time.Duration
	// PollInterval, FullSyncInterval and RetryBase pace the background
	// work Start starts: polls, whole passes, and retries of a failed
	// first pass (sync.go, poll.go).
	PollInterval, FullSyncInterval, RetryBase time.Duration

	// Dir is the cache directory, which keeps the listings for the next
	// mount (package snapshot); Location and API name the library they are of,
	// and EarlierAPI, when set, the name an earlier ghlfs gave the same
	// API (its saved listings are this library's).
	Dir, Location, API, EarlierAPI string

	// The links up, each called with no lock of this package held; all
	// four are set.
	//
	// Fetched is told of the entries of every listing fetched from the
	// API (the content part learns the sizes a listing lacked).
	Fetched func([]Entry)
	// Changed is told of each folder whose stored listing a pass over
	// the library, a poll or a revalidation found changed.
	Changed func(folderID string, before, after *State)
	// Adopted is told of each upload found listed under the id listed
	// (claims.go): the write-back queue re-keys it as the file.
	Adopted func(answerID string, listed Entry)
	// Known tells whether an API id is a copy the write-back queue knows
	// as a file (made, changed or retired in this mount): no upload is
	// guessed to be it (adoptGuesses).
	Known func(id string) bool
}

// State is a folder's listing as stored; never changed once stored.
type State struct {
	entries []Entry // as the API lists them, with the journal applied; sorted (entry.Sort)
	fetched time.Time
	start   uint64 // the journal's seq when the fetch began
	// upto is the journal's seq when this state was built: every change
	// noted up to it is in entries (refresh applies the later ones).
	upto uint64
	// stale marks a listing an earlier mount saved: shown at once, and
	// revalidated in the background, never trusted as fresh.
	stale bool
}

// Entries are the folder's entries as the API lists them, with the
// changes made through the mount applied, sorted (entry.Sort). They are
// shared: the caller changes none.
func (st *State) Entries() []Entry { return st.entries }

// Has reports whether an entry is named name: a binary search, as the
// entries are sorted by name first.
func (st *State) Has(name string) bool {
	_, found := slices.BinarySearchFunc(st.entries, name, func(e Entry, name string) int { return strings.Compare(e.Name, name) })
	return found
}

// Fetched is when the listing ended: its TTL runs from then.
func (st *State) Fetched() time.Time { return st.fetched }

// New returns the Folders of the backend rc, with the listings an
// earlier mount saved (shown at once, revalidated behind: sync.go) when
// it ended cleanly: one killed may have changed the library after its
// last save. Nothing runs in the background until Start.
func New(rc remote.Backend, cfg Config) *Folders {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	caps := rc.Caps()
	f := &Folders{
		rc:       rc,
		oneList:  caps.OneListing,
		clock:    cfg.Clock,
		ttl:      cfg.TTL,
		log:      cfg.Logger,
		delete:   cfg.Delete,
		listAll:  cfg.ListAll && caps.ListAll,
		listWait: cfg.ListWait,
		cfg:      cfg,
		listings: make(map[string]*State),
		journal:  make(map[string][]change),
		inflight: make(map[uint64]int),
		used:     make(map[string]time.Time),
		polling:  cfg.ListAll && cfg.PollInterval > 0,
		// A service that cannot list by last change is polled folder by
		// folder (Caps.ListRecent).
		recentOff: !rc.Caps().ListRecent,

		revalidating: make(map[string]bool),
		claims:       make(map[string]map[string]Claim),
		adopted:      make(map[string]Entry),
		listedAs:     make(map[string]string),
	}
	f.ctx, f.stop = context.WithCancel(context.Background())
	clean := snapshot.EndedCleanly(cfg.Dir)
	f.saved = snapshot.Open(snapshot.Config{Dir: cfg.Dir, Location: cfg.Location, API: cfg.API, EarlierAPI: cfg.EarlierAPI,
		Clock: cfg.Clock, Logger: cfg.Logger})
	loading := time.Now() // the real clock: this is a measure, not a TTL
	switch saved, err := f.saved.Load(); {
	case err != nil:
		f.log.Warn("could not read the saved listings; listing afresh", "err", err)
	case !clean && len(saved) > 0:
		f.log.Info("the last mount did not end cleanly: listing afresh rather than from what it saved")
		f.saved.DropAll()
	default:
		f.loadSaved(saved, time.Since(loading))
		f.loadChanges(f.saved.LoadedChanges())
	}
	return f
}

// Start starts the background work: with ListAll, passes over the whole
// library and polls of its latest changes (keepInSync); else, with a
// PollInterval, polls of the folders in use. Stop ends it.
func (f *Folders) Start() {
	f.mu.Lock()
	f.started = true
	f.mu.Unlock()
	switch {
	case f.cfg.ListAll:
		f.bg.Add(1)
		go func() {
			defer f.bg.Done()
			f.keepInSync(f.ctx, f.cfg.PollInterval, f.cfg.FullSyncInterval, f.cfg.RetryBase)
		}()
	case f.cfg.PollInterval > 0:
		f.bg.Add(1)
		go func() {
			defer f.bg.Done()
			f.poll(f.ctx, f.cfg.PollInterval)
		}()
	}
}

// Stop ends the listings under way and the background work, and starts
// none from now on. The folders still serve what they hold, and note
// changes (the write-back queue's last ones), until Close.
func (f *Folders) Stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	f.stop()
}

// Close stops what runs in the background and waits for it, then saves
// the listings, and the changes no whole-library answer has shown yet,
// for the next mount; it returns the error of that save.
func (f *Folders) Close() error {
	f.Stop()
	f.bg.Wait()
	f.saved.SetChanges(f.held())
	return f.saved.Close()
}

// MarkClean leaves the mark of a mount that ended cleanly, once its
// listings are saved (Close): the next mount trusts them.
func (f *Folders) MarkClean() { snapshot.MarkClean(f.cfg.Dir) }

// Get returns a folder's listing, from the cache while it is fresh.
// Concurrent calls for one folder share a single fetch: two list calls,
// one for folders and one for files, plus any further pages.
func (f *Folders) Get(ctx context.Context, folderID string) (*State, error) {
	f.touch(folderID)
	if st, ok := f.fresh(folderID); ok {
		return st, nil
	}
	if st, ok := f.Cached(folderID); ok && st.stale {
		// Saved by an earlier mount: shown now, revalidated behind.
		f.revalidate(folderID)
		return st, nil
	}
	// A pass over the whole library under way will list this folder
	// too: a walk, or a look-up while the pass is young, waits for it.
	if f.awaitPass(ctx, folderID) {
		if st, ok := f.fresh(folderID); ok {
			return st, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err // given up while waiting (EINTR): no listing of its own
	}
	return f.loadShared(ctx, folderID)
}

// loadShared fetches a folder's listing and stores it; concurrent calls
// for one folder share a single fetch.
func (f *Folders) loadShared(ctx context.Context, folderID string) (*State, error) {
	v, err, _ := f.flights.Do("list\x00"+folderID, func() (any, error) {
		ctx, cancel := f.listingContext(ctx)
		defer cancel()
		return f.Load(ctx, folderID)
	})
	if err != nil {
		return nil, err
	}
	return v.(*State), nil
}

// Relisted returns the file e as its folder's listing shows it once
// checked against the server (listed now, unless a fresh listing is
// held), with a url; false if the folder cannot be listed or no longer
// shows the file. The content part asks it when a url from a saved
// listing is refused (Reader.recheck).
func (f *Folders) Relisted(ctx context.Context, e Entry) (Entry, bool) {
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
func (f *Folders) current(ctx context.Context, folderID string) (*State, error) {
	f.touch(folderID)
	if st, ok := f.fresh(folderID); ok {
		return st, nil
	}
	before, _ := f.Cached(folderID)
	after, err := f.loadShared(ctx, folderID)
	if err != nil {
		return nil, err
	}
	f.report(folderID, before, after)
	return after, nil
}

// listingContext is the context of a listing fetched for ctx's caller.
// It is detached from that caller (a caller that gives up must not fail
// the others waiting on the same fetch) and ends at Stop.
// It has no deadline of its own: each page's call has one (the API
// client's timeout), so a long listing runs as long as its pages keep
// coming, and the API client stops one that never ends.
func (f *Folders) listingContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(f.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// Load fetches a folder's listing and stores it.
func (f *Folders) Load(ctx context.Context, folderID string) (*State, error) {
	start := f.begin()
	defer f.end(start)
	entries, fetched, err := f.Fetch(ctx, folderID)
	if err != nil {
		return nil, err
	}
	st, _ := f.keep(folderID, entries, fetched, start, false)
	f.cfg.Fetched(st.entries)
	return st, nil
}

func (f *Folders) fresh(folderID string) (*State, bool) {
	st, ok := f.Cached(folderID)
	if !ok {
		return nil, false
	}
	if st.stale || f.clock.Since(st.fetched) >= f.ttl {
		return nil, false
	}
	return st, true
}

// Cached returns a folder's stored listing, fresh or not.
func (f *Folders) Cached(folderID string) (*State, bool) {
	f.lmu.RLock()
	defer f.lmu.RUnlock()
	st, ok := f.listings[folderID]
	return st, ok
}

// each calls fn for every stored listing until it returns false, with
// lmu held for reading: fn calls nothing of the Folders.
func (f *Folders) each(fn func(folderID string, st *State) bool) {
	f.lmu.RLock()
	defer f.lmu.RUnlock()
	for id, st := range f.listings {
		if !fn(id, st) {
			return
		}
	}
}

// begin notes a fetch that starts now and returns its start.
func (f *Folders) begin() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A number of its own: a change noted after it has a larger one, and
	// of two fetches, the one that began later has the larger start.
	f.seq++
	f.inflight[f.seq]++
	return f.seq
}

// end notes that the fetch that began at start is over.
func (f *Folders) end(start uint64) {
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
func (f *Folders) keep(folderID string, entries []Entry, fetched time.Time, start uint64, whole bool) (*State, bool) {
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
	entry.Sort(entries)
	if resolved, changed := f.resolveLocked(entries, true); changed {
		entries = resolved
		entry.Sort(entries)
	}
	st := &State{entries: entries, fetched: fetched, start: start, upto: f.seq}
	if cur, ok := f.Cached(folderID); ok && cur.start > start {
		st = cur // a later fetch, with these changes in it too
	} else {
		f.storeLocked(folderID, st)
		f.pruneLocked(folderID, f.clock.Now())
	}
	f.mu.Unlock()
	f.tellAdopted(adopted)
	if f.adoptGuesses(guesses) {
		if cur, ok := f.Cached(folderID); ok {
			st = cur // with the uploads found in it
		}
	}
	return st, true
}

// Refresh returns st, a listing of the folder handed out a moment ago,
// with the changes noted since it was built applied (the stored listing
// has them too, but may be gone: invalidated meanwhile; and a report of
// a change must keep its "before"). A view of the folder takes its
// records as they stand now, and then its listing from here: a record
// that left the queue meanwhile has its upload noted by then, so the file
// is in one or the other, never in neither.
func (f *Folders) Refresh(folderID string, st *State) *State {
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
	entry.Sort(entries)
	return &State{entries: entries, fetched: st.fetched, start: st.start, upto: j[len(j)-1].seq, stale: st.stale}
}

// storeLocked stores a folder's listing, and keeps it for the next mount;
// the caller holds mu (so that what is saved is in the order stored).
func (f *Folders) storeLocked(folderID string, st *State) {
	f.lmu.Lock()
	f.listings[folderID] = st
	f.lmu.Unlock()
	f.saved.Put(folderID, st.entries, st.fetched)
}

// Invalidate forgets a folder's stored listing; the next get fetches it.
func (f *Folders) Invalidate(folderID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lmu.Lock()
	delete(f.listings, folderID)
	f.lmu.Unlock()
	f.saved.Drop(folderID)
}

// seed stores a folder known to be empty (one just created), which saves
// the two list calls its first look would cost.
func (f *Folders) seed(folderID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.storeLocked(folderID, &State{fetched: f.clock.Now(), start: f.seq, upto: f.seq})
}

// listBoth lists the folders and the files that q selects, as entries:
// with one listing where the service gives both in one
// (Caps.OneListing), else with one per type (HighLevel), both at once.
// Each page becomes entries as it comes, so that a folder of hundreds of
// thousands of files is never held twice. keep picks the items to keep,
// and may change them; it may be called from two goroutines at once.
func (f *Folders) listBoth(ctx context.Context, q remote.ListQuery, keep func(*remote.Item) bool) (folders, files []Entry, err error) {
	if q.Label == "" {
		q.Label, _ = ctx.Value(pathKey{}).(string)
	}
	if f.oneList {
		q.Type = ""
		err := f.rc.List(ctx, q, func() { folders, files = folders[:0], files[:0] }, func(it remote.Item) {
			if keep(&it) {
				if it.IsFolder() {
					folders = append(folders, entry.Of(it))
				} else {
					files = append(files, entry.Of(it))
				}
			}
		})
		if err != nil {
			return nil, nil, entry.Translate(err)
		}
		return folders, files, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	list := func(typ string, out *[]Entry) func() error {
		return func() error {
			tq := q
			tq.Type = typ
			return f.rc.List(gctx, tq, func() { *out = (*out)[:0] }, func(it remote.Item) {
				if keep(&it) {
					*out = append(*out, entry.Of(it))
				}
			})
		}
	}
	g.Go(list(remote.TypeFolder, &folders))
	g.Go(list(remote.TypeFile, &files))
	if err := g.Wait(); err != nil {
		return nil, nil, entry.Translate(err)
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

// Fetch lists a folder from the API, and says when the listing ended: its
// TTL runs from then, so that a listing that took longer than the TTL (a
// folder of 200,000 files at the API's rate limit takes minutes) is not
// stale as it arrives, and fetched again by the next look-up, for ever.
// (What the listing may have missed meanwhile is what the journal keeps.)
func (f *Folders) Fetch(ctx context.Context, folderID string) ([]Entry, time.Time, error) {
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

// Mkdir creates a folder named name in parentID.
func (f *Folders) Mkdir(ctx context.Context, parentID, name string) (Entry, error) {
	it, err := f.rc.CreateFolder(ctx, parentID, name)
	if err != nil {
		return Entry{}, entry.Translate(err)
	}
	e := entry.Of(it)
	e.ParentID = parentID
	if e.ModTime.IsZero() {
		e.ModTime = f.clock.Now()
	}
	f.note(parentID, change{kind: putEntry, e: e})
	f.seed(e.ID)
	return e, nil
}

// Rename gives the item id of folder parentID the name name.
func (f *Folders) Rename(ctx context.Context, parentID, id, name string) error {
	err := f.rc.Rename(ctx, id, name)
	var notDone *remote.NotDoneError
	if errors.As(err, &notDone) {
		// {"updated": false}: nothing renamed, or a retry of a rename
		// whose first attempt did it. A fresh listing decides.
		entries, _, lerr := f.Fetch(ctx, parentID)
		if lerr != nil {
			return lerr
		}
		if !slices.ContainsFunc(entries, func(e Entry) bool { return e.ID == id && e.Name == name }) {
			return entry.Translate(err)
		}
		err = nil
	}
	if err != nil {
		return entry.Translate(err)
	}
	f.note(parentID, change{kind: renameID, id: id, name: name})
	return nil
}

// Move puts e, an item of folder e.ParentID, in folder parentID under
// name, on the server (Backend.Move: Caps.Move, Caps.MoveFolders). A
// service that cannot is entry.ErrCrossFolder, with no call. The folder
// it left and the one it joined both note the change; a moved folder
// keeps its own listing (its id is the same).
func (f *Folders) Move(ctx context.Context, e Entry, parentID, name string) error {
	if err := f.rc.Move(ctx, e.ID, parentID, name); err != nil {
		if errors.Is(err, remote.ErrNotSupported) {
			return fmt.Errorf("%w: %w", entry.ErrCrossFolder, err)
		}
		return entry.Translate(err)
	}
	from := e.ParentID
	e.ParentID, e.Name = parentID, name
	f.note(from, change{kind: dropID, id: e.ID})
	f.note(parentID, change{kind: putEntry, e: e})
	return nil
}

// RemoveGone is Remove, where an item already gone counts as removed
// (one at a time tells which of several are), and is noted dropped.
func (f *Folders) RemoveGone(ctx context.Context, parentID string, ids ...string) error {
	err := f.Remove(ctx, parentID, ids...)
	if errors.Is(err, entry.ErrNotFound) && len(ids) > 1 {
		err = nil
		for _, id := range ids {
			if e := f.Remove(ctx, parentID, id); e != nil && !errors.Is(e, entry.ErrNotFound) {
				err = e
			} else if e != nil {
				f.NoteDrop(parentID, id)
			}
		}
	} else if errors.Is(err, entry.ErrNotFound) {
		f.NoteDrop(parentID, ids[0])
		err = nil
	}
	return err
}

// Remove trashes (or, with Config.Delete, deletes) items of folder
// parentID. If the API says some were not removed, a fresh listing
// decides: an item it no longer shows is gone (a retried call whose first
// attempt did the work answers that way).
func (f *Folders) Remove(ctx context.Context, parentID string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := f.rc.Remove(ctx, ids, f.delete)
	var notDone *remote.NotDoneError
	if err != nil && !errors.As(err, &notDone) {
		return entry.Translate(err)
	}
	if notDone != nil {
		entries, _, lerr := f.Fetch(ctx, parentID)
		if lerr != nil {
			return lerr
		}
		for _, e := range entries {
			if slices.Contains(notDone.IDs, e.ID) {
				return fmt.Errorf("%w: %w", entry.ErrUnavailable, err)
			}
		}
	}
	for _, id := range ids {
		f.note(parentID, change{kind: dropID, id: id})
	}
	return nil
}

// Tree is every folder the stored listings hold, by id: where each is.
type Tree map[string]FolderRef

// FolderRef is a folder as its parent's listing holds it.
type FolderRef struct{ Parent, Name string }

// Tree returns every folder the stored listings hold.
func (f *Folders) Tree() Tree {
	t := make(Tree)
	f.each(func(id string, st *State) bool {
		for _, e := range st.entries {
			if e.IsDir {
				t[e.ID] = FolderRef{Parent: id, Name: e.Name}
			}
		}
		return true
	})
	return t
}

// Path returns the names of the folders from the root down to id, and
// whether each was known.
func (t Tree) Path(id string) ([]string, bool) {
	var names []string
	for seen := 0; id != ""; seen++ {
		ref, ok := t[id]
		if !ok || seen > len(t) { // unknown, or a loop a server made
			slices.Reverse(names)
			return names, false
		}
		names = append(names, ref.Name)
		id = ref.Parent
	}
	slices.Reverse(names)
	return names, true
}
