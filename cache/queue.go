package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// queue is the write-back queue: it owns every pending change to a file's
// bytes, as records with explicit states (record.go), and publishes them
// to the API in the background (worker.go). It also keeps what a file is
// across uploads: the key the filesystem knows it by.
type queue struct {
	rc       Remote
	folders  *folders
	content  *content
	times    *timeStore
	clock    clockwork.Clock
	log      *slog.Logger
	spool    string // records and their bytes
	rescue   string // recovered/: bytes that must not be uploaded
	location string
	api      string
	delay    time.Duration // the write-back delay
	retry    time.Duration // first wait after a failed attempt
	timeout  time.Duration
	maxSize  int64

	ctx     context.Context // done when the queue closes
	cancel  context.CancelFunc
	workers sync.WaitGroup

	mu   sync.Mutex
	cond *sync.Cond // on mu: work to do, or closing
	// progress is broadcast whenever a record finished a step.
	progress *sync.Cond          // on mu
	byKey    map[string]*record  // guarded by mu: records by file key
	byID     map[string]*record  // guarded by mu: records by spool id
	index    map[string]*overlay // guarded by mu: what each folder's records show and hide
	views    map[*record]recView // guarded by mu: each record's part of that
	keys     map[string]string   // guarded by mu: API id -> key, for copies made in this mount
	latest   map[string]Entry    // guarded by mu: key -> the copy in the API that now holds it
	work     []*record           // guarded by mu: records to process
	closed   bool                // guarded by mu
	draining bool                // guarded by mu: retry at once, ignore the delay
}

// overlay is what the records of one folder change in its listing.
type overlay struct {
	gen     uint64            // counts the changes
	hidden  map[string]bool   // API ids not shown
	renamed map[string]string // API id -> the name shown for it
	shown   []Entry           // records shown with their own bytes
}

// recView is one record's part of its folder's overlay.
type recView struct {
	parentID string
	hides    []string
	rename   map[string]string
	entry    *Entry
}

const workers = 4

func newQueue(rc Remote, f *folders, c *content, times *timeStore, dir string, opts Options) *queue {
	q := &queue{
		rc:       rc,
		folders:  f,
		content:  c,
		times:    times,
		clock:    opts.Clock,
		log:      opts.Logger,
		spool:    filepath.Join(dir, "spool"),
		rescue:   filepath.Join(dir, "recovered"),
		location: opts.Location,
		api:      opts.API,
		delay:    opts.WriteBackDelay,
		retry:    opts.RetryBase,
		timeout:  opts.OpTimeout,
		maxSize:  opts.MaxUploadSize,
		byKey:    make(map[string]*record),
		byID:     make(map[string]*record),
		index:    make(map[string]*overlay),
		views:    make(map[*record]recView),
		keys:     make(map[string]string),
		latest:   make(map[string]Entry),
	}
	q.cond = sync.NewCond(&q.mu)
	q.progress = sync.NewCond(&q.mu)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	return q
}

// start runs the workers.
func (q *queue) start() {
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

func (q *queue) newRecord(id, key string) *record {
	r := &record{q: q, id: id, key: key}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// errNoRecord says a record left the queue (its file is a file of the API
// now, or its bytes were set aside) between a look-up and its use.
var errNoRecord = errors.New("no pending record")

// lookup returns the record of a file key, if it has one.
func (q *queue) lookup(key string) *record {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.byKey[key]
}

// keyOf returns the key of an API id.
func (q *queue) keyOf(id string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if k, ok := q.keys[id]; ok {
		return k
	}
	return id
}

// current returns the copy in the API that now holds a key, when a file
// was uploaded under it in this mount.
func (q *queue) current(key string) (Entry, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.latest[key]
	return e, ok
}

// withKeys gives each API entry its key. entries is not changed.
func (q *queue) withKeys(entries []Entry) []Entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.keys) == 0 {
		return entries
	}
	out := entries
	for i, e := range entries {
		if k, ok := q.keys[e.ID]; ok {
			if &out[0] == &entries[0] {
				out = slices.Clone(entries)
			}
			out[i].Key = k
		}
	}
	return out
}

// overlayOf returns what the records of a folder change in its listing,
// and a number that changes whenever that does.
func (q *queue) overlayOf(folderID string) (*overlay, uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	o := q.index[folderID]
	if o == nil {
		return nil, 0
	}
	return o, o.gen
}

// publishLocked recomputes the record's part of its folder's overlay; the
// caller holds r.mu.
func (r *record) publishLocked() {
	v := recView{parentID: r.rf.ParentID}
	switch {
	case r.gone || r.state == stateFilling:
		v = recView{}
	case r.state == stateRemoved:
		v.hides = append(slices.Clone(r.rf.Replaces), r.rf.RemoteID)
	case r.visibleLocked():
		e := r.entryLocked()
		v.entry = &e
		v.hides = append(slices.Clone(r.rf.Replaces), r.rf.RemoteID)
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
func (q *queue) setView(r *record, v recView) {
	q.mu.Lock()
	defer q.mu.Unlock()
	old, had := q.views[r]
	if v.entry == nil && len(v.hides) == 0 && len(v.rename) == 0 {
		delete(q.views, r)
	} else {
		q.views[r] = v
	}
	if had {
		q.reindexLocked(old.parentID)
	}
	if !had || old.parentID != v.parentID {
		q.reindexLocked(v.parentID)
	}
}

func (q *queue) reindexLocked(folderID string) {
	o := &overlay{hidden: map[string]bool{}, renamed: map[string]string{}}
	if prev := q.index[folderID]; prev != nil {
		o.gen = prev.gen
	}
	o.gen++
	n := 0
	for _, v := range q.views {
		if v.parentID != folderID {
			continue
		}
		n++
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
	}
	q.index[folderID] = o
	if n == 0 {
		// Keep the generation counting, so that a view cached against an
		// earlier overlay is never taken for this one.
		o.hidden, o.renamed = nil, nil
	}
}

// apply returns a folder's API entries as the mount shows them.
func (o *overlay) apply(entries []Entry) []Entry {
	if o == nil || (len(o.hidden) == 0 && len(o.renamed) == 0 && len(o.shown) == 0) {
		return entries
	}
	out := make([]Entry, 0, len(entries)+len(o.shown))
	for _, e := range entries {
		if o.hidden[e.ID] {
			continue
		}
		if name, ok := o.renamed[e.ID]; ok {
			e.Name = name
		}
		out = append(out, e)
	}
	return append(out, o.shown...)
}

// follow records that the API copy of a key was renamed (through the API,
// with no change pending): an idle record and the key's latest copy take
// the new name.
func (q *queue) follow(key, id, name string) {
	q.mu.Lock()
	r := q.byKey[key]
	if e, ok := q.latest[key]; ok && e.ID == id {
		e.Name = name
		q.latest[key] = e
	}
	q.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == stateIdle && r.rf.RemoteID == id {
		r.rf.Name, r.rf.RemoteName = name, name
	}
}

// forget records that the API copy of a key was removed (through the
// API, with no change pending): an idle record leaves the queue, its open
// files keep its bytes.
func (q *queue) forget(key, id string) {
	q.mu.Lock()
	r := q.byKey[key]
	q.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == stateIdle && r.rf.RemoteID == id && !r.gone {
		r.dropLocked()
		r.finishLocked()
	}
}

// landed records that key is now held by the API copy e, and that the
// copies in gone no longer hold anything: should one of them be listed
// again (taken back out of the trash), it is another file.
func (q *queue) landed(key string, e Entry, gone []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e.Key = key
	q.keys[e.ID] = key
	q.latest[key] = e
	for _, id := range gone {
		if id != e.ID && id != "" {
			q.keys[id] = "x:" + id
		}
	}
}

// create makes a new, empty file named name in folder parentID, with one
// writer: the caller.
func (q *queue) create(parentID, name string) (*record, error) {
	r := q.newRecord(newID(), "n:"+newID())
	f, err := os.OpenFile(r.dataPath(), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	now := q.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data, r.touched, r.writers = f, now, 1
	r.rf = recordFile{Format: recordFormat, Location: q.location, API: q.api, Key: r.key, ParentID: parentID, Name: name, Content: 1, Created: now}
	if err := r.setLocked(stateWriting); err != nil {
		f.Close()
		os.Remove(r.dataPath())
		return nil, err
	}
	crashPoint("writing", name)
	q.mu.Lock()
	q.byKey[r.key], q.byID[r.id] = r, r
	q.mu.Unlock()
	r.publishLocked()
	return r, nil
}

// modify returns the record through which the bytes of e (a file of the
// API, or one with a record already) are changed, with one more writer:
// the caller. A new record starts as a copy of e's bytes, unless truncate
// is set; then it starts empty. Changes to one file at once share one
// record.
func (q *queue) modify(ctx context.Context, e Entry, truncate bool) (*record, error) {
	for {
		q.mu.Lock()
		r := q.byKey[e.Key]
		q.mu.Unlock()
		mine := false
		if r == nil {
			var err error
			if r, err = q.reserve(e); err != nil {
				return nil, err
			}
			if r == nil {
				continue // another change got there first
			}
			q.fill(ctx, r, e, truncate)
			mine = true // reserve counted the caller as a writer
		}
		r.mu.Lock()
		for r.state == stateFilling {
			r.cond.Wait()
		}
		switch {
		case r.gone && r.fillErr != nil:
			err := r.fillErr
			r.mu.Unlock()
			return nil, err
		case r.gone || r.aside:
			r.mu.Unlock()
			continue // it left the queue between the look and the lock
		case r.state == stateRemoved:
			if mine {
				r.writers--
				r.finishLocked()
			}
			r.mu.Unlock()
			return nil, ErrNotFound
		}
		if !mine {
			r.writers++
		}
		var err error
		if truncate {
			err = r.truncateLocked0()
		}
		r.mu.Unlock()
		if err != nil {
			r.release(true)
			return nil, err
		}
		return r, nil
	}
}

// truncateLocked0 empties the bytes (open with O_TRUNC).
func (r *record) truncateLocked0() error {
	for r.sending {
		r.cond.Wait()
	}
	if r.size == 0 && r.state == stateWriting {
		return nil
	}
	if err := r.changeLocked(); err != nil {
		return err
	}
	if err := r.data.Truncate(0); err != nil {
		err = fmt.Errorf("spool: %w", err)
		r.failLocked(err)
		return err
	}
	r.size = 0
	r.touched = r.q.clock.Now()
	return nil
}

// reserve registers a record for e in state filling, so that a second
// change to e waits for it; nil if one is there already.
func (q *queue) reserve(e Entry) (*record, error) {
	r := q.newRecord(newID(), e.Key)
	f, err := os.OpenFile(r.dataPath(), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	r.data, r.state, r.writers = f, stateFilling, 1
	r.rf = recordFile{Format: recordFormat, Location: q.location, API: q.api, Key: e.Key, ParentID: e.ParentID, Name: e.Name,
		RemoteID: e.ID, RemoteName: e.Name, Created: q.clock.Now()}
	if t, ok := q.times.get(e.ID); ok {
		r.rf.ModTime = &t
	}
	r.touched = e.ModTime
	q.mu.Lock()
	if q.byKey[e.Key] != nil {
		q.mu.Unlock()
		f.Close()
		os.Remove(r.dataPath())
		return nil, nil
	}
	q.byKey[r.key], q.byID[r.id] = r, r
	q.mu.Unlock()
	return r, nil
}

// fill copies e's bytes into a reserved record (unless truncate), and
// makes it idle: a copy of e, changed by nothing yet.
func (q *queue) fill(ctx context.Context, r *record, e Entry, truncate bool) {
	var err error
	var size int64
	if !truncate {
		ctx, cancel := context.WithTimeout(ctx, q.timeout)
		size, err = q.download(ctx, e, r.data)
		cancel()
		if err != nil {
			err = fmt.Errorf("copying %s to change it: %w", e.Name, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.cond.Broadcast()
	if err != nil {
		r.fillErr = err
		r.data.Close()
		r.data = nil
		os.Remove(r.dataPath())
		r.dropLocked()
		return
	}
	r.size = size
	r.state = stateIdle
	r.publishLocked()
}

// download copies e's bytes into f and returns how many there were.
func (q *queue) download(ctx context.Context, e Entry, f *os.File) (int64, error) {
	rd := q.content.reader(e)
	buf := make([]byte, 1<<20)
	var off int64
	for {
		n, err := rd.ReadAt(ctx, buf, off)
		if n > 0 {
			if _, werr := f.WriteAt(buf[:n], off); werr != nil {
				return off, fmt.Errorf("spool: %w", werr)
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}

// read returns the record of key with one more reader, if it has bytes
// the mount shows.
func (q *queue) read(key string) *record {
	r := q.lookup(key)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.visibleLocked() {
		return nil
	}
	r.readers++
	return r
}

// release counts one reader or writer fewer. When the last writer goes,
// the bytes are complete (and wait out the write-back delay), or, if a
// write failed, are set aside unpublished. When no one is left and
// nothing remains to do, the record goes.
func (r *record) release(writer bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if writer {
		r.writers--
		if r.writers == 0 {
			r.closedLocked()
		}
	} else {
		r.readers--
	}
	r.finishLocked()
}

// closedLocked handles the last writer's close.
func (r *record) closedLocked() {
	q := r.q
	switch {
	case r.state == stateRemoved || r.gone:
	case r.failed != nil:
		if r.rf.Content > r.rf.Uploaded {
			q.setAside(r, "a write failed: "+r.failed.Error())
		}
		r.failed = nil
		r.rf.Failed = ""
		r.dataLessLocked()
	case r.state == stateWriting:
		if err := r.completeLocked(q.clock.Now().Add(q.delay)); err != nil {
			q.log.Error(fmt.Sprintf("%s: could not mark it complete; it stays unpublished: %v", r.rf.Name, err), "name", r.rf.Name)
		}
	}
}

// completeLocked moves a record from writing to complete, due at due:
// its bytes reach the disk first.
func (r *record) completeLocked(due time.Time) error {
	if err := r.data.Sync(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	r.rf.Size = r.size
	r.rf.Due = due
	if err := r.setLocked(stateComplete); err != nil {
		return err
	}
	crashPoint("complete", r.rf.Name)
	r.scheduleLocked(due)
	return nil
}

// dataLessLocked leaves a record with no bytes to publish: the copy in
// the API (if any) owns the name, and what remains to do for it (a rename,
// retiring the copies it superseded) is done by the record as a chore. The
// file's key is free for a new record from then on; open files keep
// reading the bytes they had, as with a file removed while open.
func (r *record) dataLessLocked() {
	q := r.q
	r.rf.Content = r.rf.Uploaded
	r.rf.Attempt = nil
	r.aside = true
	q.mu.Lock()
	if q.byKey[r.key] == r {
		delete(q.byKey, r.key)
	}
	q.mu.Unlock()
	if r.rf.RemoteID != "" && (len(r.rf.Replaces) > 0 || r.rf.Name != r.rf.RemoteName) {
		if err := r.setLocked(stateUploaded); err != nil {
			q.log.Error(fmt.Sprintf("%s: could not update its record: %v", r.rf.Name, err), "name", r.rf.Name)
		}
		r.scheduleLocked(time.Time{})
	} else {
		r.state = stateIdle
		r.unsaveLocked()
	}
	r.publishLocked()
}

// finishLocked drops the record once no one has it open and nothing
// remains to do.
func (r *record) finishLocked() {
	if r.writers+r.readers > 0 || r.sending {
		return
	}
	if r.gone {
		if r.data != nil { // the last open file of a removed record
			r.data.Close()
			r.data = nil
		}
		return
	}
	if r.state == stateRemoved {
		// The bytes go now; the record stays until its copies are gone.
		r.closeDataLocked()
		return
	}
	if r.state != stateIdle {
		return
	}
	r.q.mu.Lock()
	busy := r.busy
	r.q.mu.Unlock()
	if busy {
		return // the worker drops it when it is done
	}
	if r.aside {
		if r.data != nil {
			r.data.Close()
			r.data = nil
		}
	} else {
		r.closeDataLocked()
	}
	r.unsaveLocked()
	r.dropLocked()
}

func (r *record) closeDataLocked() {
	if r.data != nil {
		r.data.Close()
		r.data = nil
	}
	if err := os.Remove(r.dataPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.q.log.Warn("spool: could not delete a file's bytes", "name", r.rf.Name, "err", err)
	}
}

// dropLocked takes the record out of the queue.
func (r *record) dropLocked() {
	r.gone = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	for _, w := range r.waiters {
		w.done <- nil
	}
	r.waiters = nil
	q := r.q
	q.mu.Lock()
	if q.byKey[r.key] == r {
		delete(q.byKey, r.key)
	}
	delete(q.byID, r.id)
	q.progress.Broadcast()
	q.mu.Unlock()
	r.publishLocked()
}

// setAside moves a record's bytes, which must not be uploaded, to
// recovered/, and says where in one log line.
func (q *queue) setAside(r *record, why string) {
	q.setAsidePath(r.dataPath(), r.rf.Name, r.id, why)
}

// safeFileName makes an API name usable as one local file name.
func safeFileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c == '/' || c == 0 || c < 0x20 {
			b[i] = '_'
		}
	}
	if len(b) > 120 {
		b = b[:120]
	}
	if len(b) == 0 || string(b) == "." || string(b) == ".." {
		return "unnamed"
	}
	return string(b)
}

// rename gives a record's file a new name in its folder. If it replaces
// another file, that is superseded: an API copy (replace) goes to the
// trash once this file owns the name; another record (target) is dropped
// and its API copies go the same way.
func (q *queue) rename(r *record, name string, replace *Entry, target *record) error {
	var taken []string
	if target != nil && target != r {
		target.mu.Lock()
		if !target.gone && target.state != stateRemoved {
			taken = append(slices.Clone(target.rf.Replaces), target.rf.RemoteID)
		}
		target.mu.Unlock()
	}
	r.mu.Lock()
	for r.state == stateFilling && !r.gone {
		r.cond.Wait()
	}
	switch {
	case r.gone || r.aside || r.state == stateIdle:
		r.mu.Unlock()
		return errNoRecord
	case r.state == stateRemoved:
		r.mu.Unlock()
		return ErrNotFound
	}
	prev, prevState := r.rf, r.state
	r.rf.Replaces = slices.Clone(r.rf.Replaces)
	r.rf.Name = name
	if replace != nil {
		taken = append(taken, replace.ID)
	}
	for _, id := range taken {
		if id != "" && id != r.rf.RemoteID && !slices.Contains(r.rf.Replaces, id) {
			r.rf.Replaces = append(r.rf.Replaces, id)
		}
	}
	if target != nil && target != r {
		r.rf.Supersedes = append(slices.Clone(r.rf.Supersedes), target.id)
	}
	if err := r.saveLocked(); err != nil {
		r.rf, r.state = prev, prevState
		r.mu.Unlock()
		return err
	}
	if r.state == stateUploaded || r.state == stateRetiring {
		r.scheduleLocked(time.Time{})
	}
	r.publishLocked()
	r.mu.Unlock()
	if target != nil && target != r {
		q.supersede(target)
	}
	return nil
}

// supersede drops a record another was renamed over: its bytes are not
// published, and its API copies are now the other record's to retire. An
// upload of it whose answer was lost is still looked for, and trashed if
// found.
func (q *queue) supersede(r *record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone || r.state == stateRemoved {
		return
	}
	for _, w := range r.waiters {
		w.done <- nil
	}
	r.waiters = nil
	r.rf.RemoteID, r.rf.Replaces = "", nil
	if r.data != nil && !r.sending {
		os.Remove(r.dataPath()) // open files keep their descriptor
	}
	if r.rf.Attempt != nil || r.sending {
		r.state = stateRemoved
		if err := r.saveLocked(); err != nil {
			q.log.Warn("spool: could not update a record", "name", r.rf.Name, "err", err)
		}
		q.mu.Lock()
		if q.byKey[r.key] == r {
			delete(q.byKey, r.key)
		}
		q.mu.Unlock()
		r.publishLocked()
		r.scheduleLocked(time.Time{})
		r.finishLocked()
		return
	}
	r.state = stateIdle
	r.unsaveLocked()
	r.dropLocked()
	r.finishLocked()
}

// remove removes a record's file: its bytes are not published, open files
// keep them until they close, and its copies in the API go to the trash.
func (q *queue) remove(r *record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.state == stateFilling && !r.gone {
		r.cond.Wait()
	}
	switch {
	case r.gone || r.aside || r.state == stateIdle:
		return errNoRecord
	case r.state == stateRemoved:
		return ErrNotFound
	}
	for _, w := range r.waiters {
		w.done <- nil
	}
	r.waiters = nil
	nothingRemote := r.rf.RemoteID == "" && len(r.rf.Replaces) == 0 && r.rf.Attempt == nil && !r.sending
	prevState := r.state
	r.state = stateRemoved
	if nothingRemote {
		r.unsaveLocked()
	} else if err := r.saveLocked(); err != nil {
		r.state = prevState
		return err
	} else {
		crashPoint("removed", r.rf.Name)
	}
	if r.data != nil && !r.sending {
		os.Remove(r.dataPath()) // open files keep their descriptor
	}
	if nothingRemote {
		r.dropLocked()
	} else {
		r.publishLocked()
		r.scheduleLocked(time.Time{})
	}
	r.finishLocked()
	return nil
}

// setModTime keeps t as the record's time.
func (r *record) setModTime(t time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.state == stateFilling && !r.gone {
		r.cond.Wait()
	}
	if r.gone || r.aside {
		return errNoRecord
	}
	r.rf.ModTime = &t
	if r.rf.RemoteID != "" && r.rf.Uploaded == r.rf.Content {
		// The copy in the API holds these bytes: it keeps the time too.
		if err := r.q.times.set(r.rf.RemoteID, t); err != nil {
			return err
		}
	}
	if r.saved {
		return r.saveLocked()
	}
	return nil
}

// sync makes the record's bytes complete now, uploads them, and returns
// the upload's result (fsync, or a close in sync mode).
func (q *queue) sync(ctx context.Context, r *record) error {
	r.mu.Lock()
	if r.failed != nil {
		err := r.failed
		r.mu.Unlock()
		return err
	}
	switch r.state {
	case stateWriting:
		if err := r.completeLocked(q.clock.Now()); err != nil {
			r.mu.Unlock()
			return err
		}
	case stateComplete:
		r.rf.Due = q.clock.Now()
	case stateRemoved, stateFilling:
		r.mu.Unlock()
		return nil
	}
	if r.gone || r.rf.Uploaded >= r.rf.Content {
		r.mu.Unlock()
		return nil
	}
	w := &waiter{content: r.rf.Content, done: make(chan error, 1)}
	r.waiters = append(r.waiters, w)
	r.scheduleLocked(time.Time{})
	r.mu.Unlock()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		r.mu.Lock()
		r.waiters = slices.DeleteFunc(r.waiters, func(x *waiter) bool { return x == w })
		r.mu.Unlock()
		return ctx.Err()
	}
}

// notifyLocked tells the waiters for versions up to uploaded that their
// upload landed, or all of them that it failed with err.
func (r *record) notifyLocked(err error) {
	keep := r.waiters[:0]
	for _, w := range r.waiters {
		switch {
		case err != nil:
			w.done <- err
		case w.content <= r.rf.Uploaded:
			w.done <- nil
		default:
			keep = append(keep, w)
		}
	}
	r.waiters = keep
}

// scheduleLocked hands the record to a worker at time at (now when zero
// or past).
func (r *record) scheduleLocked(at time.Time) {
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
	q.mu.Lock()
	if q.draining {
		d = min(d, 0)
	}
	q.mu.Unlock()
	if d <= 0 {
		q.enqueue(r)
		return
	}
	r.timer = q.clock.AfterFunc(d, func() { q.enqueue(r) })
}

// enqueue adds r to the work list.
func (q *queue) enqueue(r *record) {
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
func (q *queue) worker() {
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
		q.progress.Broadcast()
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
func (q *queue) records() []*record {
	q.mu.Lock()
	defer q.mu.Unlock()
	all := make([]*record, 0, len(q.byID))
	for _, r := range q.byID {
		all = append(all, r)
	}
	return all
}

// pending counts the records with work left in the API, and those still
// being written.
func (q *queue) pending() (due, writing int) {
	all := q.records()
	for _, r := range all {
		r.mu.Lock()
		switch {
		case r.gone:
		case r.pendingLocked():
			due++
		case r.state == stateWriting:
			writing++
		}
		r.mu.Unlock()
	}
	return due, writing
}

// drain uploads every complete record now, ignoring the write-back delay,
// and waits until nothing is left to do in the API or ctx ends. It
// returns how many records still wait, and how many were still being
// written (those are not uploaded).
func (q *queue) drain(ctx context.Context) (left, writing int) {
	q.mu.Lock()
	q.draining = true
	q.mu.Unlock()
	all := q.records()
	for _, r := range all {
		r.mu.Lock()
		if r.pendingLocked() {
			r.scheduleLocked(time.Time{})
		}
		r.mu.Unlock()
	}
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.progress.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	for {
		left, writing = q.pending()
		if left == 0 || ctx.Err() != nil {
			return left, writing
		}
		q.mu.Lock()
		if ctx.Err() == nil {
			q.progress.Wait()
		}
		q.mu.Unlock()
	}
}

// close stops the workers and the timers; what is pending stays in the
// spool for the next start.
func (q *queue) close() {
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
		if r.timer != nil {
			r.timer.Stop()
			r.timer = nil
		}
		if r.data != nil {
			r.data.Close()
			r.data = nil
		}
		r.mu.Unlock()
	}
}
