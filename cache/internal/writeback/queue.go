package writeback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/pending"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/content"
	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/index"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/cache/internal/locate"
	"github.com/ghlfs/ghlfs/cache/internal/spool"
	"github.com/ghlfs/ghlfs/cache/internal/times"
	"github.com/ghlfs/ghlfs/remote"
)

// Queue is the write-back queue: it owns every pending change to a file's
// bytes, as records with explicit states (internal/pending), and publishes them
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
	spares   *spool.Spares
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

	// ix is the records' index, what they change in their folders'
	// listings, the keys of the API copies, and the work list.
	ix *index.Index[*Record]
	// loc finds files in the library: an upload's listed id, where its
	// bytes are.
	loc   *locate.Locator
	stats counters // for Stats (status.go)
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
	// Spares is how many empty files for new records are kept made
	// ahead, in the background, from a second after Start (spool.Spares,
	// sparesSettle). 0: each is made when needed.
	Spares int
}

// sparesSettle is how long after the start the spare files are first
// made: making 2,048 of them took a fifth off the speed of the first
// read of a fresh mount (20 MB: a median of 42 ms against 35 ms without
// spares), the kernel's work on the disk competing with the read's
// however low the goroutine's priority. A mount's first look-ups and
// reads come first; a copy in its first second makes its own files.
const sparesSettle = time.Second

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
		ix:       index.New[*Record](cfg.Folders),
	}
	q.spares = q.spool.NewSpares(cfg.Spares, sparesSettle)
	q.loc = locate.New(locate.Config{Backend: rc, Folders: cfg.Folders, Content: cfg.Content, Clock: cfg.Clock, Logger: cfg.Logger,
		Exclusions: q.exclusions, Sending: q.sending, RemoteName: q.remoteName, Located: q.ix.Located})
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
	q.spares.Start()
	for range workers {
		q.workers.Add(1)
		go q.worker()
	}
}

func newID() string { return spool.NewID() }

func (q *Queue) newRecord(id, key string) *Record {
	r := &Record{q: q, id: id, key: key, s: pending.New(q.spool, id, key, q.log), left: make(chan struct{})}
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
func (q *Queue) Lookup(key string) *Record { return q.ix.Lookup(key) }

// Knows reports whether the API id is a copy the mount made, changed or
// retired (its key is known).
func (q *Queue) Knows(id string) bool { return q.ix.Knows(id) }

// Latest returns the copy in the API that now holds a key, when a file
// was uploaded under it in this mount.
func (q *Queue) Latest(key string) (Entry, bool) { return q.ix.Latest(key) }

// Newer returns the copy that now holds e's key, if the mount uploaded it
// since e was listed (index.Index.Newer).
func (q *Queue) Newer(e Entry) (Entry, bool) { return q.ix.Newer(e) }

// Locate returns e with the address of its bytes
// (locate.Locator.Locate).
func (q *Queue) Locate(ctx context.Context, e Entry) (Entry, error) { return q.loc.Locate(ctx, e) }

// Renamed records that the API copy id was renamed (by a worker, or
// through the API for a file with no record): if it is the latest copy of
// a key, it holds the new name.
func (q *Queue) Renamed(id, name string) { q.ix.Renamed(id, name) }

// Moved records that the API copy id was moved to folder parentID under
// name (through the API, for a file with no record or an idle one): if
// it is the latest copy of a key, it is there now.
func (q *Queue) Moved(id, parentID, name string) { q.ix.Moved(id, parentID, name) }

// ViewGen tells whether a folder's view is still what its records and the
// keys of the API copies make it.
type ViewGen = index.ViewGen

// Gen returns the generation a folder's view has now: it changes
// whenever what its records change in its listing, or an API copy's key,
// does.
func (q *Queue) Gen(folderID string) ViewGen { return q.ix.Gen(folderID) }

// ShowsName reports whether the records of a folder show an entry named
// name in it (index.Index.Shows).
func (q *Queue) ShowsName(folderID, name string) bool { return q.ix.Shows(folderID, name) }

// View returns a folder's listing st as the mount shows it, the listing
// it was built from and the generation of the records' part
// (index.Index.View).
func (q *Queue) View(folderID string, st *listing.State) ([]Entry, *listing.State, ViewGen) {
	return q.ix.View(folderID, st)
}

// publishLocked recomputes the record's part of its folder's overlay; the
// caller holds r.mu.
func (r *Record) publishLocked() {
	r.q.ix.SetPart(r, r.s.Part(r.entryLocked()))
}

// setLatest records that key is now held by the API copy e, and that the
// copies in gone no longer hold anything: should one of them be listed
// again (taken back out of the trash), it is another file. a is the
// attempt that landed as e: the version it was sent over is older.
func (q *Queue) setLatest(key string, e Entry, gone []string, a spool.Attempt) {
	q.ix.SetLatest(key, e, gone, a.Into, a.BaseRev)
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
	r.stopTimerLocked()
	if r.s.Gone {
		return
	}
	d := time.Duration(0)
	if !at.IsZero() {
		d = q.clock.Until(at)
	}
	if d <= 0 {
		q.ix.Enqueue(r)
		return
	}
	r.timer = q.clock.AfterFunc(d, func() { q.ix.Enqueue(r) })
}

// stopTimerLocked stops the record's timer, if it has one.
func (r *Record) stopTimerLocked() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

// worker processes records from the work list, one record at a time per
// worker and one worker at a time per record, until the queue closes.
func (q *Queue) worker() {
	defer q.workers.Done()
	for {
		r, ok := q.ix.Next()
		if !ok {
			return
		}
		q.process(r)
		if q.ix.Done(r) {
			q.ix.Enqueue(r)
		}
		r.mu.Lock()
		r.finishLocked()
		r.mu.Unlock()
	}
}

// each calls fn with each record of the queue, under its lock, in turn.
func (q *Queue) each(fn func(r *Record)) {
	for _, r := range q.ix.All() {
		r.mu.Lock()
		fn(r)
		r.mu.Unlock()
	}
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
	q.each(func(r *Record) {
		switch {
		case r.s.Gone:
		case r.s.Pending():
			due++
			if r.s.Refusal != nil {
				failing++
			} else if !since.IsZero() && !r.s.FailedAt.IsZero() && !r.s.FailedAt.Before(since) {
				if !q.ix.Working(r) {
					failing++
				}
			}
		case r.s.State == pending.Writing:
			writing++
		}
	})
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
	q.ix.Drain()
	all := q.ix.All()
	for _, r := range all {
		r.mu.Lock()
		if r.s.Pending() && r.s.Refusal == nil {
			r.scheduleLocked(time.Time{})
		}
		r.mu.Unlock()
	}
	q.ix.Watch(ctx, func() bool {
		var failing int
		left, writing, failing = q.count(start)
		return left == 0 || left == failing
	})
	return left, writing
}

// RefusedCount counts the records the service refused, which wait for a
// change to their file.
func (q *Queue) RefusedCount() int {
	n := 0
	q.each(func(r *Record) {
		if !r.s.Gone && r.s.Refusal != nil {
			n++
		}
	})
	return n
}

// Close stops the workers and the timers; what is pending stays in the
// spool for the next start.
func (q *Queue) Close() {
	q.ix.Close()
	all := q.ix.All()
	q.cancel() // an upload under way stops; it is looked for at the next start
	q.workers.Wait()
	q.spares.Close()
	for _, r := range all {
		r.mu.Lock()
		// An fsync still waiting gets an answer.
		r.s.Waiters.Notify(fmt.Errorf("%w: ghlfs is stopping; the upload is done at the next mount", entry.ErrUnavailable))
		r.stopTimerLocked()
		// What is left for the next start outlives the machine too, as
		// after an fsync: the unmount is the user's last word.
		if err := r.s.MakeDurable(); err != nil {
			q.log.Warn("spool: could not write a file's bytes to the disk", "name", r.s.File.Name, "err", err)
		}
		r.s.Bytes.Close()
		r.s.Bytes.CloseKept()
		r.mu.Unlock()
	}
}
