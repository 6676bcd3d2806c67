package writeback

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/content"
	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/cache/internal/spool"
	"github.com/ghlfs/ghlfs/cache/internal/times"
	"github.com/ghlfs/ghlfs/remote"
)

// Queue is the write-back queue: it owns every pending change to a file's
// bytes, as records with explicit states (record.go), and publishes them
// to the API in the background (worker.go). It also keeps what a file is
// across uploads: the key the filesystem knows it by.
type Queue struct {
	rc       remote.Backend
	folders  *listing.Folders
	content  *content.Cache
	times    *times.Log
	clock    clockwork.Clock
	log      *slog.Logger
	spool    *spool.Spool // records and their bytes, on disk
	location string
	api      string
	delay    time.Duration // the write-back delay
	retry    time.Duration // first wait after a failed attempt
	timeout  time.Duration
	caps     remote.Caps // the backend's, read once

	// takenOver is the library the cache directory was the cache of, when
	// it was another (TakenOver).
	takenOver *spool.Owner

	ctx     context.Context // done when the queue closes
	cancel  context.CancelFunc
	workers sync.WaitGroup

	mu   sync.Mutex
	cond *sync.Cond // on mu: work to do, or closing
	// progress is broadcast, and steps counted, whenever a record finished
	// a step or left.
	progress *sync.Cond                  // on mu
	steps    uint64                      // guarded by mu
	byKey    map[string]*Record          // guarded by mu: records by file key
	byID     map[string]*Record          // guarded by mu: records by spool id
	index    map[string]*overlay         // guarded by mu: what each folder's records show and hide
	views    map[*Record]recView         // guarded by mu: each record's part of that
	byFolder map[string]map[*Record]bool // guarded by mu: the records with a part, by folder
	// stale are the folders whose overlay in index is older than their
	// records' parts: rebuilt when next asked for (overlayLocked), so that
	// many records changing at once (a resume of thousands, a cp -r) cost
	// one rebuild a read, not one a change. Guarded by mu.
	stale    map[string]bool
	keys     map[string]string // guarded by mu: API id -> key, for copies made, changed or retired in this mount
	keysGen  uint64            // guarded by mu: counts the changes to keys (setKeyLocked)
	retires  uint64            // guarded by mu: counts the keys given to retired copies
	latest   map[string]Entry  // guarded by mu: key -> the copy in the API that now holds it
	work     []*Record         // guarded by mu: records to process
	closed   bool              // guarded by mu
	draining bool              // guarded by mu: unmounting; complete records are due at once
	stats    counters          // for Stats (status.go)
}

// overlay is what the records of one folder change in its listing.
type overlay struct {
	gen     uint64            // counts the changes
	hidden  map[string]bool   // API ids not shown
	renamed map[string]string // API id -> the name shown for it
	shown   []Entry           // records shown with their own bytes
	sent    []spool.Attempt   // uploads under way (or whose answer was lost)
}

// recView is one record's part of its folder's overlay.
type recView struct {
	parentID string
	hides    []string
	rename   map[string]string
	entry    *Entry
	sent     *spool.Attempt
}

func (v recView) empty() bool {
	return v.entry == nil && len(v.hides) == 0 && len(v.rename) == 0 && v.sent == nil
}

const workers = 4

// Config is what a Queue is made with; nothing is set on it after.
type Config struct {
	// Folders, Content and Times are the parts the queue calls: the
	// listings it notes its changes in, the file bytes it copies in from,
	// and the file times users set.
	Folders *listing.Folders
	Content *content.Cache
	Times   *times.Log
	// Dir is the cache directory: the records and their bytes are in
	// Dir/spool, bytes set aside in Dir/recovered, and Dir/owner.json says
	// which library the directory is the cache of.
	Dir    string
	Clock  clockwork.Clock
	Logger *slog.Logger
	// Location and API name the library: records carry them, and records
	// of another library are refused (recover.go). LegacyAPI and
	// EarlierAPI are the names earlier versions of ghlfs gave API
	// (cache.Options says what becomes of their records).
	Location, API, LegacyAPI, EarlierAPI string
	// WriteBackDelay is how long a closed file waits, quiet, before it is
	// uploaded; RetryBase the first delay before a failed step is tried
	// again; OpTimeout bounds each call to the API.
	WriteBackDelay, RetryBase, OpTimeout time.Duration
}

// New returns the queue of the backend rc, with the records a previous
// run left in the spool taken up (recover.go); its workers start at
// Start. A cache directory holding records of another library is
// refused.
func New(rc remote.Backend, cfg Config) (*Queue, error) {
	q := &Queue{
		rc:       rc,
		folders:  cfg.Folders,
		content:  cfg.Content,
		times:    cfg.Times,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		spool:    spool.New(cfg.Dir, cfg.Clock, cfg.Logger),
		location: cfg.Location,
		api:      cfg.API,
		delay:    cfg.WriteBackDelay,
		retry:    cfg.RetryBase,
		timeout:  cfg.OpTimeout,
		caps:     rc.Caps(),
		byKey:    make(map[string]*Record),
		byID:     make(map[string]*Record),
		index:    make(map[string]*overlay),
		views:    make(map[*Record]recView),
		byFolder: make(map[string]map[*Record]bool),
		stale:    make(map[string]bool),
		keys:     make(map[string]string),
		latest:   make(map[string]Entry),
	}
	q.cond = sync.NewCond(&q.mu)
	q.progress = sync.NewCond(&q.mu)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	// Whose cache the directory was, before it is claimed (recoverSpool).
	if prev, owned := spool.ReadOwner(cfg.Dir); owned && prev != (spool.Owner{Location: cfg.Location, API: cfg.API}) &&
		(cfg.EarlierAPI == "" || prev != (spool.Owner{Location: cfg.Location, API: cfg.EarlierAPI})) {
		q.takenOver = &prev
	}
	lib := spool.Library{Location: cfg.Location, API: cfg.API, LegacyAPI: cfg.LegacyAPI, EarlierAPI: cfg.EarlierAPI}
	if err := q.recoverSpool(cfg.Dir, lib); err != nil {
		q.cancel()
		return nil, err
	}
	return q, nil
}

// TakenOver returns the library the cache directory was the cache of
// before New claimed it, when that was another library (nothing of its
// queue was left: New refuses those). Its cached contents and file times
// are keyed by that library's ids, and must not show in this one.
func (q *Queue) TakenOver() (spool.Owner, bool) {
	if q.takenOver == nil {
		return spool.Owner{}, false
	}
	return *q.takenOver, true
}

// Start runs the workers.
func (q *Queue) Start() {
	for range workers {
		q.workers.Add(1)
		go q.worker()
	}
}

func newID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func (q *Queue) newRecord(id, key string) *Record {
	r := &Record{q: q, id: id, key: key, left: make(chan struct{})}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// ErrNoRecord says a record left the queue (its file is a file of the API
// now, or its bytes were set aside) between a look-up and its use.
var ErrNoRecord = errors.New("no pending record")

// ErrIdle says a record has nothing pending: its API copy holds its bytes,
// and a rename or removal goes to the API directly (then apiRenamed or
// apiRemoved tell the record).
var ErrIdle = errors.New("nothing pending")

// Lookup returns the record of a file key, if it has one.
func (q *Queue) Lookup(key string) *Record {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.byKey[key]
}

// knownIDs returns every API id the mount has uploaded or retired: an
// upload looked for after its answer was lost is none of them.
func (q *Queue) knownIDs() []string {
	q.mu.Lock()
	ids := make([]string, 0, len(q.keys))
	for id := range q.keys {
		ids = append(ids, id)
	}
	q.mu.Unlock()
	// Uploads known only by their answer: by their url.
	return append(ids, q.folders.ClaimURLs()...)
}

// Knows reports whether the API id is a copy the mount made, changed or
// retired (its key is known).
func (q *Queue) Knows(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.keys[id]
	return ok
}

// Latest returns the copy in the API that now holds a key, when a file
// was uploaded under it in this mount.
func (q *Queue) Latest(key string) (Entry, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.latest[key]
	return e, ok
}

// setKeyLocked records that the API copy id holds key; the caller holds
// q.mu.
func (q *Queue) setKeyLocked(id, key string) {
	if q.keys[id] != key {
		q.keys[id] = key
		q.keysGen++
	}
}

// retireKeyLocked records that the API copy id holds nothing any more:
// should it be listed again (restored from the trash), it is a file of
// its own, under a key no other file has. The key is new at each
// retirement: a restored copy that is changed, and so retired again,
// leaves its key to its new copy, and is another file again should it
// come back once more. The caller holds q.mu.
func (q *Queue) retireKeyLocked(id string) {
	if k, ok := q.keys[id]; ok && q.retiredKey(k) {
		if latest, held := q.latest[k]; !held || latest.ID == id {
			return // retired already, and no other copy holds its key
		}
	}
	q.retires++
	q.setKeyLocked(id, "x"+strconv.FormatUint(q.retires, 10)+":"+id)
}

// retiredKey reports whether k is a key retireKeyLocked gives.
func (q *Queue) retiredKey(k string) bool {
	n, _, ok := strings.Cut(k, ":")
	if !ok || len(n) < 2 || n[0] != 'x' {
		return false
	}
	_, err := strconv.ParseUint(n[1:], 10, 64)
	return err == nil
}

// ViewGen tells whether a folder's view is still what its records and the
// keys of the API copies make it.
type ViewGen struct{ overlay, keys uint64 }

// Gen returns the generation a folder's view has now: it changes
// whenever what its records change in its listing, or an API copy's key,
// does.
func (q *Queue) Gen(folderID string) ViewGen {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, gen := q.overlayLocked(folderID)
	return gen
}

func (q *Queue) overlayLocked(folderID string) (*overlay, ViewGen) {
	if q.stale[folderID] {
		delete(q.stale, folderID)
		q.reindexLocked(folderID)
	}
	o := q.index[folderID]
	if o == nil {
		return nil, ViewGen{keys: q.keysGen}
	}
	return o, ViewGen{o.gen, q.keysGen}
}

// View returns a folder's listing st as the mount shows it, the listing
// it was built from and the generation of the records' part. The records
// are taken first, and then the listing (Folders.Refresh) and the keys of
// the API copies, at one instant: a record that lands shows its upload in
// the listing before it stops showing its own entry, so taken the other
// way round, or apart, a file showed twice (the record's entry beside its
// upload, keyed as the file already) or not at all.
func (q *Queue) View(folderID string, st *listing.State) ([]Entry, *listing.State, ViewGen) {
	q.mu.Lock()
	o, gen := q.overlayLocked(folderID)
	st = q.folders.Refresh(folderID, st) // lock order: queue.mu, then folders.mu
	entries := st.Entries()
	// A file listed under another id than its upload's answer gave is
	// known by the answer's until the queue learns the listed one.
	alias := q.folders.Aliases(entries)
	if len(q.keys) > 0 {
		keyed := entries
		for i, e := range entries {
			k, ok := q.keys[e.ID]
			if !ok && alias != nil {
				k, ok = q.keys[alias[e.ID]]
			}
			if ok {
				if &keyed[0] == &entries[0] {
					keyed = slices.Clone(entries)
				}
				keyed[i].Key = k
			}
		}
		entries = keyed
	}
	q.mu.Unlock()
	return o.apply(entries, alias), st, gen // o is never changed once built
}

// publishLocked recomputes the record's part of its folder's overlay; the
// caller holds r.mu.
func (r *Record) publishLocked() {
	v := recView{parentID: r.rf.ParentID}
	switch {
	case r.gone || r.state == stateFilling:
		v = recView{}
	case r.state == stateRemoved:
		v.hides = append(slices.Clone(r.rf.Replaces), r.rf.RemoteID)
		if a := r.rf.Attempt; a != nil {
			// Removed while its upload was under way: should that land, a
			// listing may hold it before the answer is in; the file stays
			// gone (the upload is trashed once its answer is in).
			sent := *a
			v.sent = &sent
		}
	case r.visibleLocked():
		e := r.entryLocked()
		v.entry = &e
		v.hides = append(slices.Clone(r.rf.Replaces), r.rf.RemoteID)
		if a := r.rf.Attempt; a != nil {
			// An upload that may have landed: until its answer is in (or
			// it is found), a listing may hold it as a file ghlfs does not
			// know yet. It is this file, shown by the record already.
			sent := *a
			v.sent = &sent
		}
	default:
		// No bytes of its own: the copy in the API shows, under the name
		// the user gave it.
		v.hides = slices.Clone(r.rf.Replaces)
		if r.rf.RemoteID != "" && r.rf.Name != r.rf.RemoteName {
			v.rename = map[string]string{r.rf.RemoteID: r.rf.Name}
		}
	}
	r.q.setView(r, v)
}

// setView stores a record's part of its folder's overlay and rebuilds it.
func (q *Queue) setView(r *Record, v recView) {
	q.mu.Lock()
	defer q.mu.Unlock()
	old, had := q.views[r]
	if had {
		delete(q.byFolder[old.parentID], r)
		if len(q.byFolder[old.parentID]) == 0 {
			delete(q.byFolder, old.parentID)
		}
	}
	if v.empty() {
		delete(q.views, r)
	} else {
		q.views[r] = v
		if q.byFolder[v.parentID] == nil {
			q.byFolder[v.parentID] = make(map[*Record]bool)
		}
		q.byFolder[v.parentID][r] = true
	}
	if had {
		q.stale[old.parentID] = true
	}
	if !had || old.parentID != v.parentID {
		q.stale[v.parentID] = true
	}
}

func (q *Queue) reindexLocked(folderID string) {
	o := &overlay{hidden: map[string]bool{}, renamed: map[string]string{}}
	if prev := q.index[folderID]; prev != nil {
		o.gen = prev.gen
	}
	o.gen++
	for r := range q.byFolder[folderID] {
		v := q.views[r]
		for _, id := range v.hides {
			if id != "" {
				o.hidden[id] = true
			}
		}
		for id, name := range v.rename {
			o.renamed[id] = name
		}
		if v.entry != nil {
			o.shown = append(o.shown, *v.entry)
		}
		if v.sent != nil {
			o.sent = append(o.sent, *v.sent)
		}
	}
	q.index[folderID] = o
}

// sentSkew is how far a server's clock may be behind this one: a copy
// created up to that long before an upload was sent may be that upload.
const sentSkew = 10 * time.Minute

// isSent reports whether e, a file no record knows, looks like an upload
// under way: same name, same size, created since it was sent.
func (o *overlay) isSent(e Entry) bool {
	for _, a := range o.sent {
		if e.Name == a.Name && (e.Size < 0 || e.Size == a.Size) && (e.ModTime.IsZero() || !e.ModTime.Before(a.At.Add(-sentSkew))) {
			return true
		}
	}
	return false
}

// apply returns a folder's API entries as the mount shows them. alias
// gives, for a listed id, the id an upload's answer gave the same file:
// the records may know it by that one still.
func (o *overlay) apply(entries []Entry, alias map[string]string) []Entry {
	if o == nil || (len(o.hidden) == 0 && len(o.renamed) == 0 && len(o.shown) == 0 && len(o.sent) == 0) {
		return entries
	}
	// A file shown by its record is shown once: an API copy that holds
	// the same key (the record's upload, landed) gives way to it.
	shownKeys := make(map[string]bool, len(o.shown))
	for _, e := range o.shown {
		shownKeys[e.Key] = true
	}
	out := make([]Entry, 0, len(entries)+len(o.shown))
	for _, e := range entries {
		a, aliased := alias[e.ID]
		if o.hidden[e.ID] || (aliased && o.hidden[a]) || shownKeys[e.Key] || (e.Key == e.ID && !e.IsDir && o.isSent(e)) {
			continue
		}
		if name, ok := o.renamed[e.ID]; ok {
			e.Name = name
		} else if name, ok := o.renamed[a]; ok && aliased {
			e.Name = name
		}
		out = append(out, e)
	}
	return append(out, o.shown...)
}

// Renamed records that the API copy id was renamed (by a worker, or
// through the API for a file with no record): if it is the latest copy of
// a key, it holds the new name.
func (q *Queue) Renamed(id, name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.renamedLocked(id, name)
}

func (q *Queue) renamedLocked(id, name string) {
	key, ok := q.keys[id]
	if !ok {
		key = id
	}
	if e, ok := q.latest[key]; ok && e.ID == id {
		e.Name = name
		q.latest[key] = e
	}
}

// setLatest records that key is now held by the API copy e, and that the
// copies in gone no longer hold anything: should one of them be listed
// again (taken back out of the trash), it is another file.
func (q *Queue) setLatest(key string, e Entry, gone []string) {
	q.mu.Lock()
	e.Key = key
	q.setKeyLocked(e.ID, key)
	q.latest[key] = e
	for _, id := range gone {
		if id != e.ID && id != "" {
			q.retireKeyLocked(id)
		}
	}
	q.mu.Unlock()
	if x, ok := q.folders.AdoptedOf(e.ID); ok && e.Unconfirmed() {
		// A listing found the upload before its landing was recorded here
		// (adoptedAs found no key then): the listed id takes the key now.
		q.AdoptedAs(e.ID, x)
	}
}

// scheduleLocked hands the record to a worker at time at (now when zero
// or past).
func (r *Record) scheduleLocked(at time.Time) {
	q := r.q
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.gone {
		return
	}
	d := time.Duration(0)
	if !at.IsZero() {
		d = q.clock.Until(at)
	}
	if d <= 0 {
		q.enqueue(r)
		return
	}
	r.timer = q.clock.AfterFunc(d, func() { q.enqueue(r) })
}

// enqueue adds r to the work list.
func (q *Queue) enqueue(r *Record) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if r.busy {
		r.again = true
		return
	}
	if r.queued {
		return
	}
	r.queued = true
	q.work = append(q.work, r)
	q.cond.Signal()
}

// worker processes records from the work list, one record at a time per
// worker and one worker at a time per record, until the queue closes.
func (q *Queue) worker() {
	defer q.workers.Done()
	for {
		q.mu.Lock()
		for len(q.work) == 0 && !q.closed {
			q.cond.Wait()
		}
		if q.closed {
			q.mu.Unlock()
			return
		}
		r := q.work[0]
		q.work = q.work[1:]
		r.queued = false
		r.busy = true
		q.mu.Unlock()

		q.process(r)

		q.mu.Lock()
		r.busy = false
		again := r.again
		r.again = false
		q.stepped()
		q.mu.Unlock()
		if again {
			q.enqueue(r)
		}
		r.mu.Lock()
		r.finishLocked()
		r.mu.Unlock()
	}
}

// records returns every record of the queue.
func (q *Queue) records() []*Record {
	q.mu.Lock()
	defer q.mu.Unlock()
	all := make([]*Record, 0, len(q.byID))
	for _, r := range q.byID {
		all = append(all, r)
	}
	return all
}

// Pending counts the records with work left in the API, and those still
// being written.
func (q *Queue) Pending() (due, writing int) {
	due, writing, _ = q.count(time.Time{})
	return due, writing
}

// count is pending, and also counts the records whose last attempt failed
// after since and that no worker has now (they wait out a retry), and
// those the service refused (they wait for a change).
func (q *Queue) count(since time.Time) (due, writing, failing int) {
	for _, r := range q.records() {
		r.mu.Lock()
		switch {
		case r.gone:
		case r.pendingLocked():
			due++
			if r.refusal != nil {
				failing++
			} else if !since.IsZero() && !r.failedAt.IsZero() && !r.failedAt.Before(since) {
				q.mu.Lock()
				if !r.busy && !r.queued {
					failing++
				}
				q.mu.Unlock()
			}
		case r.state == stateWriting:
			writing++
		}
		r.mu.Unlock()
	}
	return due, writing, failing
}

// Drain uploads every complete record now, ignoring the write-back delay,
// and waits until nothing is left to do in the API, or every record left
// has failed since the drain began (the API refuses, or cannot be
// reached: waiting out their retries would only delay the exit) or was
// refused by the service before (it waits for a change: not sent, not
// waited for), or ctx ends. It returns how many records still wait, those
// included, and how many were still being written (those are not
// uploaded).
func (q *Queue) Drain(ctx context.Context) (left, writing int) {
	start := q.clock.Now()
	q.mu.Lock()
	q.draining = true
	q.mu.Unlock()
	all := q.records()
	for _, r := range all {
		r.mu.Lock()
		if r.pendingLocked() && r.refusal == nil {
			r.scheduleLocked(time.Time{})
		}
		r.mu.Unlock()
	}
	q.watch(ctx, func() bool {
		var failing int
		left, writing, failing = q.count(start)
		return left == 0 || left == failing
	})
	return left, writing
}

// watch calls check now and after each step the queue takes (q.steps),
// with no lock held, until check reports that it is done, ctx ends, or
// the queue closes; it reports whether the queue closed.
func (q *Queue) watch(ctx context.Context, check func() bool) (closed bool) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.progress.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	for {
		q.mu.Lock()
		seen := q.steps
		q.mu.Unlock()
		if check() || ctx.Err() != nil {
			return false
		}
		q.mu.Lock()
		for q.steps == seen && ctx.Err() == nil && !q.closed {
			q.progress.Wait()
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return true
		}
	}
}

// RefusedCount counts the records the service refused, which wait for a
// change to their file.
func (q *Queue) RefusedCount() int {
	n := 0
	for _, r := range q.records() {
		r.mu.Lock()
		if !r.gone && r.refusal != nil {
			n++
		}
		r.mu.Unlock()
	}
	return n
}

// stepped notes that a record finished a step or left; the caller holds
// q.mu.
func (q *Queue) stepped() {
	q.steps++
	q.progress.Broadcast()
}

// Close stops the workers and the timers; what is pending stays in the
// spool for the next start.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.progress.Broadcast()
	q.mu.Unlock()
	all := q.records()
	q.cancel() // an upload under way stops; it is looked for at the next start
	q.workers.Wait()
	for _, r := range all {
		r.mu.Lock()
		// An fsync still waiting gets an answer.
		r.notifyLocked(fmt.Errorf("%w: ghlfs is stopping; the upload is done at the next mount", entry.ErrUnavailable))
		if r.timer != nil {
			r.timer.Stop()
			r.timer = nil
		}
		if r.data != nil {
			r.data.Close()
			r.data = nil
		}
		for _, f := range r.kept {
			f.Close()
		}
		r.kept = nil
		r.mu.Unlock()
	}
}

// located notes where the bytes of the API copy id are, once a listing
// said so (an upload's answer may not).
func (q *Queue) located(id, url string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key, ok := q.keys[id]
	if !ok {
		key = id
	}
	if e, ok := q.latest[key]; ok && e.ID == id && e.URL() == "" {
		e.SetURL(url)
		q.latest[key] = e
	}
}
