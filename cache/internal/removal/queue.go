package removal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/cache/internal/pending"
	"github.com/ghlfs/ghlfs/remote"
)

// DefaultQuiet is how long the queue waits for another removal, when
// nobody waits for those it holds, before it sends them: longer than
// the gap between two unlinks of one rm on a loaded machine (an unlink
// through FUSE took up to 60 ms in the race-built integration tests),
// short beside the write-back delay.
const DefaultQuiet = time.Second

// maxBackoff bounds the wait before queued removals are sent again after
// a transient failure.
const maxBackoff = 5 * time.Minute

// Config is what a Queue is made with.
type Config struct {
	// Dir is the cache directory: removals are kept in Dir/spool.
	Dir string
	// Location and API name the library: a removal is never sent to
	// another.
	Location, API string
	Clock         clockwork.Clock
	Logger        *slog.Logger
	// Permanent: removals are for good, else to the trash.
	Permanent bool
	// Quiet is how long after the last removal queued the queue sends
	// what it holds, when nobody waits (0: DefaultQuiet).
	Quiet time.Duration
	// RetryBase is the first wait after a transient failure; OpTimeout
	// bounds one call.
	RetryBase, OpTimeout time.Duration
	// Folders are the listings: a removal done is noted in its folder's,
	// a refusal checked against a fresh one.
	Folders *listing.Folders
	// Forget drops what is kept of a removed file by id (its times).
	Forget func(id string)
}

// item is one removal: queued, or in a batch being sent. Its fields
// other than f and sid are guarded by Queue.mu.
type item struct {
	f    File
	sid  string
	sync bool // the unlink itself waits for the answer (no write-back delay)
	// waiter: the unlink still waits, and reports what became of the
	// removal (the fs layer logs the error it returns: the one line);
	// told: apply has left that to it.
	waiter, told bool
	queued       bool // written to the spool and queued (else being written)
	wait         int  // how many wait for it (the unlink, an rmdir, a drain)
	// tries counts the batches it was sent in; sending is set while one
	// is under way.
	tries   int
	sending bool
	failed  error         // why its last batch failed, while it is queued again
	done    chan struct{} // closed once applied (or failed, for a sync one)
	err     error         // why it was not done, once done is closed
}

// refusal is a removal the service refused: the file is shown again,
// and listed as failed in the status until it is removed again.
type refusal struct {
	parentID, name, why string
	at                  time.Time
}

// Queue is the queue of removals (doc.go).
type Queue struct {
	rc    remote.Backend
	cfg   Config
	dir   string
	bound int // Caps.BulkRemove: ids per call at most, 0 = no bound
	log   *slog.Logger
	clock clockwork.Clock

	mu       sync.Mutex
	queue    []*item            // queued, not in a batch: oldest first
	byID     map[string]*item   // queued or being sent, by file id
	inFolder map[string]int     // how many of byID each folder holds
	gens     map[string]uint64  // each folder's view generation
	refused  map[string]refusal // by file id
	last     time.Time          // when the last removal was queued
	retryAt  time.Time          // no batch before, unless one waits
	fails    int                // transient failures in a row
	round    chan struct{}      // closed after each batch, then made anew

	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns the queue of removals of the cache directory cfg.Dir, with
// those a previous run left queued (hidden from now on, sent once the
// worker starts).
func New(rc remote.Backend, cfg Config) (*Queue, error) {
	if cfg.Quiet <= 0 {
		cfg.Quiet = DefaultQuiet
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Forget == nil {
		cfg.Forget = func(string) {}
	}
	q := &Queue{rc: rc, cfg: cfg, dir: filepath.Join(cfg.Dir, "spool"), bound: rc.Caps().BulkRemove,
		log: cfg.Logger, clock: cfg.Clock,
		byID: map[string]*item{}, inFolder: map[string]int{}, gens: map[string]uint64{}, refused: map[string]refusal{},
		round: make(chan struct{}), kick: make(chan struct{}, 1), stop: make(chan struct{})}
	left, err := q.load()
	if err != nil {
		return nil, err
	}
	for _, fd := range left {
		if _, dup := q.byID[fd.f.ID]; dup {
			q.drop(fd.sid, fd.f.Name) // one removal of the id is enough
			continue
		}
		q.log.Info(fmt.Sprintf("%s: a removal queued before the last stop is sent now", fd.f.Name), "name", fd.f.Name)
		q.addLocked(&item{f: fd.f, sid: fd.sid, done: make(chan struct{})})
	}
	return q, nil
}

// Start starts the worker.
func (q *Queue) Start() {
	q.wg.Add(1)
	go q.run()
}

// Close stops the worker and waits for it. Removals still queued stay in
// the spool for the next mount; an unlink waiting for one is told so.
func (q *Queue) Close() {
	close(q.stop)
	q.wg.Wait()
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.byID {
		if it.sync {
			it.err = fmt.Errorf("%w: unmounting: %s is removed at the next mount", entry.ErrUnavailable, it.f.Name)
			close(it.done)
			it.sync = false
		}
	}
}

// addLocked queues it: hidden from its folder's view from now on. mu
// held (or the queue not shared yet).
func (q *Queue) addLocked(it *item) {
	it.queued = true
	q.queue = append(q.queue, it)
	q.byID[it.f.ID] = it
	q.inFolder[it.f.ParentID]++
	q.gens[it.f.ParentID]++
	delete(q.refused, it.f.ID)
	q.last = q.clock.Now()
}

// finishLocked takes it out of the queue: its folder's view shows it
// again unless its listing dropped it. mu held.
func (q *Queue) finishLocked(it *item, err error) {
	delete(q.byID, it.f.ID)
	if q.inFolder[it.f.ParentID]--; q.inFolder[it.f.ParentID] <= 0 {
		delete(q.inFolder, it.f.ParentID)
	}
	q.gens[it.f.ParentID]++
	it.err = err
	close(it.done)
}

func (q *Queue) poke() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Remove queues the removal of e, a file of the API with no pending
// bytes, written to the spool before it returns. With wait (no
// write-back delay) it returns the API's answer: nil once the file is
// gone, else why not (the file is shown again).
func (q *Queue) Remove(ctx context.Context, e entry.Entry, permanent, wait bool) error {
	it := &item{sid: newSID(), sync: wait, done: make(chan struct{}), f: File{
		Format: Format, Kind: Kind, Location: q.cfg.Location, API: q.cfg.API, State: StateQueued,
		ID: e.ID, ParentID: e.ParentID, Name: e.Name, Permanent: permanent, Queued: q.clock.Now(),
	}}
	if wait {
		it.wait, it.waiter = 1, true
	}
	q.mu.Lock()
	if _, ok := q.byID[e.ID]; ok {
		q.mu.Unlock()
		return fmt.Errorf("%w: %s is being removed already", entry.ErrNotFound, e.Name)
	}
	// Held by its id before the file is written: a second unlink of the
	// same file finds it; the view hides it once it is queued.
	q.byID[e.ID] = it
	q.mu.Unlock()
	if err := q.save(it.sid, &it.f); err != nil {
		q.mu.Lock()
		delete(q.byID, e.ID)
		q.mu.Unlock()
		return fmt.Errorf("%w: %s could not be queued for removal: %w", entry.ErrUnavailable, e.Name, err)
	}
	q.mu.Lock()
	q.addLocked(it)
	q.mu.Unlock()
	q.poke()
	if !wait {
		return nil
	}
	select {
	case <-it.done:
		return it.err
	case <-ctx.Done():
		q.mu.Lock()
		if it.told {
			// The answer is being applied, and left to this unlink to
			// report: it is moments away.
			q.mu.Unlock()
			<-it.done
			return it.err
		}
		it.wait--
		it.waiter = false // the queue logs what becomes of it
		q.mu.Unlock()
		return fmt.Errorf("%w: waiting for the removal of %s (it is still sent): %w", entry.ErrTimeout, e.Name, ctx.Err())
	}
}

// Gen is the generation of folderID's part in the views: it changes
// whenever a removal of one of its files is queued or ends.
func (q *Queue) Gen(folderID string) uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.gens[folderID]
}

// Filter returns entries, of folder folderID, without the files whose
// removal is queued or under way (a new slice when any is left out).
func (q *Queue) Filter(folderID string, entries []entry.Entry) []entry.Entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inFolder[folderID] == 0 {
		return entries
	}
	return slices.DeleteFunc(slices.Clone(entries), func(e entry.Entry) bool {
		it, ok := q.byID[e.ID]
		return ok && e.ID != "" && it.f.ParentID == folderID
	})
}

// Holds counts the removals of files of folderID not applied yet.
func (q *Queue) Holds(folderID string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.inFolder[folderID]
}

// Len counts the removals queued (written to the spool) and not applied
// yet.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, it := range q.byID {
		if it.queued {
			n++
		}
	}
	return n
}

// Removing reports whether id's removal is queued or under way.
func (q *Queue) Removing(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.byID[id]
	return ok
}

// WaitFolder sends now the removals of files of folderID, and waits for
// their answer (an rmdir: the folder is then listed afresh).
func (q *Queue) WaitFolder(ctx context.Context, folderID string) error {
	return q.await(ctx, func(f *File) bool { return f.ParentID == folderID })
}

// WaitName sends now the removal of the file named name in folderID, if
// one is queued, and waits for its answer: a file created, or renamed,
// onto that name must never become a version of the removed one (where
// an upload onto a name adds to the file holding it), nor be removed by
// it. It returns ErrExists when the service refused the removal: the
// name is the old file's again; ErrUnavailable when it failed for a
// transient cause, and is queued again: the name is the old file's
// until it is sent, and a file put there meanwhile would go with it.
// same says whether the service takes two names for one (it may ignore
// case: a removal of a.png holds A.png too until it is sent).
func (q *Queue) WaitName(ctx context.Context, folderID, name string, same func(a, b string) bool) error {
	match := func(f *File) bool { return f.ParentID == folderID && same(f.Name, name) }
	if err := q.await(ctx, match); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.byID {
		if match(&it.f) {
			why := "not sent yet"
			if it.failed != nil {
				why = it.failed.Error()
			}
			return fmt.Errorf("%w: the removal of %s, queued before, has not reached the service (%s; it is sent again later): the name is free once it has", entry.ErrUnavailable, name, why)
		}
	}
	for _, r := range q.refused {
		if r.parentID == folderID && same(r.name, name) {
			return fmt.Errorf("%w: the removal of %s was refused by the service (%s): the file is still there", entry.ErrExists, name, r.why)
		}
	}
	return nil
}

// Drain sends every queued removal now and waits until each was tried
// once; it returns how many are still queued.
func (q *Queue) Drain(ctx context.Context) int {
	q.await(ctx, func(*File) bool { return true })
	return q.Len()
}

// await makes the removals match selects urgent, and waits until each
// was applied, or tried once more and left queued (a transient failure).
func (q *Queue) await(ctx context.Context, match func(*File) bool) error {
	type mark struct {
		it    *item
		tries int
	}
	var marks []mark
	q.mu.Lock()
	for _, it := range q.byID {
		if match(&it.f) {
			it.wait++
			marks = append(marks, mark{it, it.tries})
		}
	}
	q.mu.Unlock()
	if len(marks) == 0 {
		return nil
	}
	defer func() {
		q.mu.Lock()
		for _, m := range marks {
			m.it.wait--
		}
		q.mu.Unlock()
	}()
	q.poke()
	for {
		q.mu.Lock()
		left := slices.ContainsFunc(marks, func(m mark) bool {
			select {
			case <-m.it.done:
				return false
			default:
				return m.it.tries == m.tries
			}
		})
		round := q.round
		q.mu.Unlock()
		if !left {
			return nil
		}
		select {
		case <-round:
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for queued removals: %w", entry.ErrTimeout, ctx.Err())
		case <-q.stop:
			return fmt.Errorf("%w: unmounting", entry.ErrUnavailable)
		}
	}
}

// run is the worker: it sends each batch once it is due (doc.go).
func (q *Queue) run() {
	defer q.wg.Done()
	for {
		batch, wait := q.take()
		if batch != nil {
			q.send(batch)
			continue
		}
		var timer <-chan time.Time
		var t clockwork.Timer
		if wait > 0 {
			t = q.clock.NewTimer(wait)
			timer = t.Chan()
		}
		select {
		case <-q.stop:
			if t != nil {
				t.Stop()
			}
			return
		case <-q.kick:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// take returns the next batch if one is due, else how long until one is
// (0: until something changes).
func (q *Queue) take() ([]*item, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) == 0 {
		return nil, 0
	}
	now := q.clock.Now()
	urgent := slices.ContainsFunc(q.queue, func(it *item) bool { return it.wait > 0 })
	full := q.bound > 0 && len(q.queue) >= q.bound
	switch {
	case urgent:
	case now.Before(q.retryAt):
		return nil, q.retryAt.Sub(now)
	case full:
	case now.Sub(q.last) < q.cfg.Quiet:
		return nil, q.cfg.Quiet - now.Sub(q.last)
	}
	n := len(q.queue)
	if q.bound > 0 {
		n = min(n, q.bound)
	}
	batch := slices.Clone(q.queue[:n])
	q.queue = slices.Delete(q.queue, 0, n)
	for _, it := range batch {
		it.sending = true
	}
	return batch, 0
}

// outcome is what became of one removal of a batch.
type outcome int

const (
	gone    outcome = iota // removed, or not held by the service
	refused                // the service refused it: the file stays
	again                  // a transient failure: queued again
)

// send sends one batch and applies the answer.
func (q *Queue) send(batch []*item) {
	for _, it := range batch {
		pending.CrashPoint("removal-before-send", it.f.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.OpTimeout)
	defer cancel()
	q.mu.Lock()
	if !slices.ContainsFunc(batch, func(it *item) bool { return it.wait > 0 }) {
		ctx = remote.Background(ctx) // nobody waits: behind the foreground's calls
	}
	q.mu.Unlock()
	ids := make([]string, len(batch))
	for i, it := range batch {
		ids[i] = it.f.ID
	}
	res, why, err := q.call(ctx, batch, ids)
	for _, it := range batch {
		pending.CrashPoint("removal-after-answer", it.f.Name)
	}
	q.apply(batch, res, why, err)
}

// call sends ids (batch's) in one Remove, and says what became of each;
// why holds the service's message for a refused one, err the failure for
// those left queued.
func (q *Queue) call(ctx context.Context, batch []*item, ids []string) (map[string]outcome, map[string]error, error) {
	res := make(map[string]outcome, len(ids))
	why := map[string]error{}
	err := q.rc.Remove(ctx, ids, batch[0].f.Permanent)
	var nd *remote.NotDoneError
	switch {
	case err == nil:
	case errors.As(err, &nd):
		if lerr := q.settleNotDone(ctx, batch, nd, res, why); lerr != nil {
			return res, why, lerr
		}
	case errors.Is(err, remote.ErrNotFound) && len(ids) > 1:
		// One of them is not held, and the call names none: each alone
		// tells which.
		for i, id := range ids {
			r, w, e := q.call(ctx, batch[i:i+1], []string{id})
			res[id] = r[id]
			if w[id] != nil {
				why[id] = w[id]
			}
			if e != nil {
				return res, why, e
			}
		}
	case errors.Is(err, remote.ErrNotFound):
	case transient(err):
		for _, id := range ids {
			res[id] = again
		}
		return res, why, err
	default:
		for _, id := range ids {
			res[id] = refused
			why[id] = entry.Translate(err)
		}
	}
	for _, id := range ids {
		if _, ok := res[id]; !ok {
			res[id] = gone
		}
	}
	return res, why, nil
}

// settleNotDone sorts the ids a *NotDoneError names: missing ones are
// gone; the others, still listed in their folder's fresh listing, were
// refused (with the service's message); those no longer listed are gone
// (a retry whose first attempt removed them answers so).
func (q *Queue) settleNotDone(ctx context.Context, batch []*item, nd *remote.NotDoneError, res map[string]outcome, why map[string]error) error {
	byParent := map[string][]*item{}
	for _, it := range batch {
		if slices.Contains(nd.IDs, it.f.ID) && !slices.Contains(nd.Missing, it.f.ID) {
			byParent[it.f.ParentID] = append(byParent[it.f.ParentID], it)
		}
	}
	for parent, its := range byParent {
		entries, _, err := q.cfg.Folders.Fetch(ctx, parent)
		if err != nil {
			for _, it := range its {
				res[it.f.ID] = again
			}
			return err
		}
		for _, it := range its {
			if !slices.ContainsFunc(entries, func(e entry.Entry) bool { return e.ID == it.f.ID }) {
				continue
			}
			res[it.f.ID] = refused
			msg := nd.Reason(it.f.ID)
			if msg == "" {
				msg = "the service did not remove it, and gave no reason"
			}
			why[it.f.ID] = errors.New(msg)
		}
	}
	return nil
}

// transient reports whether a failed call may succeed if sent again
// later: a 429, a 5xx, a cut connection, a timeout. The request core
// has retried those already; the queue waits longer before the next try.
func transient(err error) bool {
	var apiErr *remote.Error
	if !errors.As(err, &apiErr) {
		return !errors.Is(err, remote.ErrNotSupported) && !errors.Is(err, remote.ErrRouteMissing) &&
			!errors.Is(err, remote.ErrInvalid) && !errors.Is(err, remote.ErrUnauthorized) && !errors.Is(err, remote.ErrForbidden)
	}
	return apiErr.Status == http.StatusTooManyRequests || apiErr.Status == http.StatusRequestTimeout || apiErr.Status >= 500
}

// apply applies a batch's outcomes: the spool's files of the removals
// done or refused are deleted, the listings told, the refusals logged;
// a transient failure queues the batch again (or fails an unlink that
// waits for it).
func (q *Queue) apply(batch []*item, res map[string]outcome, why map[string]error, err error) {
	q.mu.Lock()
	var requeue []*item
	var finished []*item
	for _, it := range batch {
		it.sending = false
		// An unlink still waiting reports the outcome itself (as a
		// waiting close or fsync reports an upload's); else it is logged
		// here.
		it.told = it.sync && it.waiter
		switch res[it.f.ID] {
		case again:
			if !it.sync {
				it.tries++ // a waiter stops waiting for it now
				it.failed = entry.Translate(err)
				requeue = append(requeue, it)
				continue
			}
			why[it.f.ID] = fmt.Errorf("removing %s: %w", it.f.Name, entry.Translate(err))
			finished = append(finished, it)
		case refused:
			r := refusal{parentID: it.f.ParentID, name: it.f.Name, why: why[it.f.ID].Error(), at: q.clock.Now()}
			why[it.f.ID] = fmt.Errorf("removing %s: refused by the service: %w", it.f.Name, why[it.f.ID])
			q.refused[it.f.ID] = r
			finished = append(finished, it)
		default:
			finished = append(finished, it)
		}
	}
	if len(requeue) > 0 {
		q.queue = append(requeue, q.queue...)
		q.fails++
		q.retryAt = q.clock.Now().Add(min(q.cfg.RetryBase<<min(q.fails-1, 10), maxBackoff))
	} else {
		q.fails = 0
	}
	q.mu.Unlock()

	// The listings learn of the removals before the view stops hiding
	// them.
	for _, it := range finished {
		if res[it.f.ID] == gone {
			q.cfg.Folders.NoteDrop(it.f.ParentID, it.f.ID)
			q.cfg.Forget(it.f.ID)
		}
		q.drop(it.sid, it.f.Name)
		if e := why[it.f.ID]; e != nil && !it.told {
			q.log.Error(e.Error(), "name", it.f.Name)
		}
	}
	if len(requeue) > 0 {
		q.log.Warn(fmt.Sprintf("removing %d files (%s first): %v; sent again later", len(requeue), requeue[0].f.Name, entry.Translate(err)))
	}

	q.mu.Lock()
	for _, it := range finished {
		it.tries++
		q.finishLocked(it, why[it.f.ID])
	}
	close(q.round)
	q.round = make(chan struct{})
	q.mu.Unlock()
}

// Status is the removals not applied yet (pending.UploadRemoving) and
// those the service refused (failed, refused), as status rows; each
// row's Folder holds its folder's id alone.
func (q *Queue) Status() []pending.Upload {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []pending.Upload
	for _, it := range q.byID {
		out = append(out, pending.Upload{Folder: []string{it.f.ParentID}, Name: it.f.Name, State: pending.UploadRemoving, Tries: it.tries})
	}
	for _, r := range q.refused {
		out = append(out, pending.Upload{Folder: []string{r.parentID}, Name: r.name, State: pending.UploadFailed,
			Refused: true, Error: "removal refused by the service: " + r.why})
	}
	return out
}
