package writeback

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/spool"
	"github.com/ghlfs/ghlfs/remote"
)

// The states of a pending file. Each is written to the record's file
// before it is acted on; the table says what a restart does with a record
// found in it.
//
//	writing    bytes changed and a writer may still be at it, or a write
//	           failed: never uploaded on its own. On restart the bytes go
//	           to recovered/ and the copy in the API stays as it was.
//	complete   its last writer closed it (or fsynced it) without an error;
//	           uploaded once quiet for the write-back delay. On restart:
//	           uploaded.
//	uploading  the upload may have been sent. On restart it is looked for
//	           first (uploaded if found, else complete again). Where the
//	           service keeps versions under one id (not
//	           Caps.NewIDPerUpload) the attempt names the copy that held
//	           the name and its version (Attempt.Into, BaseRev): found as
//	           a later version of it, it is the upload.
//	uploaded   the new copy is in the API and owns the name; a rename made
//	           meanwhile is sent, then the copies it supersedes retire.
//	           With versions under one id the copy is usually the file's
//	           own, a new version: it never retires; a rename is sent
//	           before the upload, which then versions the renamed copy.
//	retiring   the superseded copies are being sent to the trash; retried
//	           with backoff, also across restarts, and hidden until done.
//	           Where names are unique (Caps.UniqueNames) they go before
//	           the record takes the name (upload, rename or move): they
//	           hold it, and the service would refuse it, or version
//	           another file's history with this one's bytes.
//	moved      not a state of its own, an extension of the others: the
//	           file was moved to another folder (Queue.Move, Caps.Move).
//	           The record's folder is the new one at once, saved like a
//	           rename; RemoteParentID says where its copy in the API still
//	           is. The worker moves that copy (Backend.Move) before it
//	           uploads anything. Crash points: "moving" (the move saved,
//	           nothing sent; a restart carries it on from the record) and
//	           "moved" (Backend.Move answered, not yet noted; a restart
//	           sends it again, which finds the copy in place).
//	removed    the user removed the file: its copies in the API go to the
//	           trash, a possible upload is looked for first.
//	copying    the file was renamed, and the API cannot rename it (no
//	           route for this token): its bytes are copied from its copy
//	           in the API (RemoteID, at RemoteURL) into the spool, to be
//	           uploaded under the new name (complete next), after which
//	           the old copy retires, as a replaced one does. Meanwhile the
//	           mount shows the old copy under the new name. An old copy
//	           a fresh listing no longer shows (removed elsewhere) ends
//	           it: removed next, without that copy (copyLostLocked). On
//	           restart: copied again from the start.
//
// Two states live in memory only: filling (its bytes are being copied in
// from the API before a change) and idle (nothing left to do: the record
// only lives on for the open files that read its bytes). A complete record
// whose upload the service refused is parked (record.refusal, in memory
// too): no timer sends it again, a change to its bytes or name does, and a
// restart tries it once.
const (
	stateWriting   = "writing"
	stateComplete  = "complete"
	stateUploading = "uploading"
	stateUploaded  = "uploaded"
	stateRetiring  = "retiring"
	stateRemoved   = "removed"
	stateCopying   = "copying"
	stateFilling   = "filling"
	stateIdle      = "idle"
)

// record is one file with pending changes.
type Record struct {
	q   *Queue
	id  string // its files in the spool: id.json and id.data
	key string // the file's identity (Entry.Key); never changes

	mu   sync.Mutex
	cond *sync.Cond // on mu: a send or a fill ended

	rf       spool.RecordFile // guarded by mu; as saved, once saved
	saved    bool             // guarded by mu: rf is on disk
	state    string           // guarded by mu: rf.State, or filling or idle
	data     *os.File         // guarded by mu: the bytes; nil when there are none
	size     int64            // guarded by mu
	writers  int              // guarded by mu: open files that changed it
	readers  int              // guarded by mu: open files that read it
	sending  bool             // guarded by mu: an upload reads the bytes; writes wait
	acting   bool             // guarded by mu: a worker's call to the API is under way
	fillErr  error            // guarded by mu: why filling failed
	failed   error            // guarded by mu: a write failed
	touched  time.Time        // guarded by mu: the last write
	tries    int              // guarded by mu: failed attempts in a row
	failedAt time.Time        // guarded by mu: when the last one failed
	// For status (status.go): why the last step failed ("" once one
	// succeeds), when the next try is due, and the upload under way.
	failure  string           // guarded by mu
	retryAt  time.Time        // guarded by mu
	progress *remote.Progress // guarded by mu: set while sending
	// refusal is set when the service refused the upload of these bytes
	// under this name (refusedContent): the record is parked, sent again
	// only once they or the name change (unparkLocked), or by the next
	// mount. Not saved: a restart tries once more.
	refusal error // guarded by mu
	timer   clockwork.Timer
	waiters []*waiter // guarded by mu: fsyncs waiting for an upload
	gone    bool      // guarded by mu: out of the queue
	// aside is set once the bytes are known never to be published (a write
	// failed): the record no longer stands for the file, only does what
	// remains to do in the API, and open files keep reading what they had.
	aside bool // guarded by mu
	// copyErr is why the last copy of a copying record's bytes failed
	// (nil while one is under way or none failed): a change waiting for
	// the copy hears it.
	copyErr error // guarded by mu
	// copied is set on a copying record whose spool file holds its copy's
	// bytes already (an idle copy of them): nothing is downloaded.
	copied bool // guarded by mu
	// kept holds spool files a record no longer uses that open files
	// still read: the bytes set aside when a write failed, once the
	// record copies its copy in the API into a spool file of its own
	// (recopyLocked). Each open file reads the file it had (Handle.data);
	// these close with the last of them (finishLocked).
	kept []*os.File // guarded by mu
	// parked is set when the record's last step failed in a way only a
	// new mount can change (the API refuses to trash): it is not tried
	// again on its own, but at the unmount's drain and the next start.
	parked bool // guarded by mu

	// left is closed when the record leaves the queue.
	left chan struct{}

	// held is set while another record is renamed over this one: it does
	// nothing in the API meanwhile.
	held bool // guarded by mu
}

// waiter is an fsync (or a close in sync mode) waiting for the upload of
// version content.
type waiter struct {
	content uint64
	done    chan error // buffered
}

func (r *Record) dataPath() string { return r.q.spool.DataPath(r.id) }

// saveLocked writes the record's file, atomically and durably, as it is
// now in memory.
func (r *Record) saveLocked() error {
	if r.gone {
		return nil // out of the queue: its file must not come back
	}
	r.rf.State = r.state
	if err := r.q.spool.Save(r.id, &r.rf, !r.saved); err != nil {
		return err
	}
	r.saved = true
	return nil
}

// setLocked moves the record to state and saves it; on failure the state
// in memory is what it was.
func (r *Record) setLocked(state string) error {
	r.q.log.Debug("record", "name", r.rf.Name, "key", r.key, "from", r.state, "to", state)
	old := r.state
	r.state = state
	if err := r.saveLocked(); err != nil {
		r.state = old
		r.rf.State = old
		return err
	}
	return nil
}

// unsaveLocked deletes the record's file: nothing is pending any more.
func (r *Record) unsaveLocked() {
	if !r.saved {
		return
	}
	r.q.spool.Delete(r.id, r.rf.Name)
	r.saved = false
}

// InAPI reports whether the copy in the API holds the bytes the record's
// file shows: the record shows none of its own (the API's copy shows
// through), or its last upload landed and nothing changed since.
func (r *Record) InAPI() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.visibleLocked() {
		return true
	}
	switch r.state {
	case stateUploaded, stateRetiring:
		return r.rf.RemoteID != "" && r.rf.Uploaded == r.rf.Content
	}
	return false
}

// visibleLocked reports whether the mount shows the record's bytes under
// its name (rather than a copy in the API, or nothing). An idle record is
// not shown: its copy in the API holds the same bytes, and stands for the
// file (renames and removals go to it directly).
func (r *Record) visibleLocked() bool {
	switch {
	case r.gone, r.aside, r.data == nil:
		return false
	}
	switch r.state {
	case stateRemoved, stateFilling, stateIdle, stateCopying:
		return false
	}
	return true
}

// pendingLocked reports whether the record still has work to do in the
// API (for counts and for draining).
func (r *Record) pendingLocked() bool {
	switch r.state {
	case stateComplete, stateUploading, stateUploaded, stateRetiring, stateRemoved, stateCopying:
		return true
	case stateWriting:
		// Closed by its last writer, but not marked complete yet (that
		// failed, and is tried again).
		return r.writers == 0 && r.failed == nil
	}
	return false
}

// elsewhereLocked reports whether the copy that owns the name is not
// where the file is: under another name, or in the folder the file was
// moved from. The worker renames or moves it.
func (r *Record) elsewhereLocked() bool {
	return r.rf.RemoteID != "" && (r.rf.Name != r.rf.RemoteName || r.rf.RemoteParentID != nil)
}

// remoteParentLocked is the folder the copy that owns the name is in.
func (r *Record) remoteParentLocked() string {
	if p := r.rf.RemoteParentID; p != nil {
		return *p
	}
	return r.rf.ParentID
}

// entryLocked is the record as a listing entry.
func (r *Record) entryLocked() Entry {
	return Entry{Key: r.key, Name: r.rf.Name, ParentID: r.rf.ParentID, Size: -1, Pending: true}
}

// modTimeLocked is the time the user set, else the time of the last write.
func (r *Record) modTimeLocked() time.Time {
	if r.rf.ModTime != nil {
		return *r.rf.ModTime
	}
	return r.touched
}

// changeLocked is called before the bytes change: the first change after
// an upload (or ever) moves the record to writing, on disk first, so that
// a crash from here on never uploads what was being written.
func (r *Record) changeLocked() error {
	if r.failed != nil {
		return r.failed
	}
	r.unparkLocked() // new bytes: the service judges them afresh
	switch r.state {
	case stateWriting, stateRemoved:
		return nil
	case stateFilling, stateCopying:
		return entry.ErrNotFound // cannot happen: writers wait for the fill, or the copy
	}
	prev := r.rf
	r.rf.Content++
	r.rf.Due = time.Time{}
	r.rf.ModTime = nil // a write sets the time, as on any filesystem
	if err := r.setLocked(stateWriting); err != nil {
		r.rf = prev
		return err
	}
	crashPoint("writing", r.rf.Name)
	// An fsync waiting for the bytes now being changed will not see them
	// uploaded as they were.
	r.notifyLocked(fmt.Errorf("%w: %s was changed by another open file before its upload", entry.ErrUnavailable, r.rf.Name))
	r.publishLocked() // an idle record shows its bytes again
	return nil
}

// tooLargeLocked refuses a write or truncate past the upload limit. Bytes
// being changed (writing) are then a fragment that is never uploaded; a
// complete file, not changed yet, only refuses this one call.
func (r *Record) tooLargeLocked() error {
	err := TooLarge(r.rf.Name, r.q.LimitFor(r.rf.Name))
	if r.state == stateWriting {
		r.failLocked(err)
	}
	return err
}

// failLocked marks the record as failed by err: its bytes will not be
// uploaded.
func (r *Record) failLocked(err error) {
	r.failed = err
	r.rf.Failed = err.Error()
	if r.saved {
		if serr := r.saveLocked(); serr != nil {
			r.q.log.Debug("spool: could not record a failed write", "name", r.rf.Name, "err", serr)
		}
	}
}

// WriteAt writes b at off. It waits while an upload reads the bytes.
func (r *Record) WriteAt(b []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.sending {
		r.cond.Wait()
	}
	if r.data == nil {
		return 0, entry.ErrNotFound
	}
	if end := off + int64(len(b)); end > r.q.LimitFor(r.rf.Name) {
		return 0, r.tooLargeLocked()
	}
	if err := r.changeLocked(); err != nil {
		return 0, err
	}
	n, err := r.data.WriteAt(b, off)
	r.size = max(r.size, off+int64(n))
	r.touched = r.q.clock.Now()
	if err != nil {
		err = fmt.Errorf("spool: %w", err)
		r.failLocked(err)
		return n, err
	}
	return n, nil
}

// Truncate sets the size of the bytes.
func (r *Record) Truncate(size int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.sending {
		r.cond.Wait()
	}
	if r.data == nil {
		return entry.ErrNotFound
	}
	if size > r.q.LimitFor(r.rf.Name) {
		return r.tooLargeLocked()
	}
	if err := r.changeLocked(); err != nil {
		return err
	}
	if err := r.data.Truncate(size); err != nil {
		err = fmt.Errorf("spool: %w", err)
		r.failLocked(err)
		return err
	}
	r.size = size
	r.touched = r.q.clock.Now()
	return nil
}

// Scheduled reports whether a timer will hand the record to a worker (a
// retry, a write-back delay): a record the service refused has none
// (refused_test.go, in the front, asks).
func (r *Record) Scheduled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.timer != nil
}

// Writers counts the open files that changed the record's bytes.
func (r *Record) Writers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writers
}

// File returns the spool file an open file of the record reads from now
// on (see kept). It stays open as long as the caller is counted as a
// reader or writer.
func (r *Record) File() *os.File {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.data
}

// Stat returns the record as an entry with its size and time.
func (r *Record) Stat() Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entryLocked()
	e.Size = r.size
	e.ModTime = r.modTimeLocked()
	return e
}

// StatShown is stat, for a record whose bytes the mount shows.
func (r *Record) StatShown() (Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.visibleLocked() {
		return Entry{}, false
	}
	e := r.entryLocked()
	e.Size = r.size
	e.ModTime = r.modTimeLocked()
	return e, true
}

// unparkLocked takes up a record the service refused (refusal) once its
// bytes or its name changed, and reports whether it was parked. The
// caller schedules it.
func (r *Record) unparkLocked() bool {
	if r.refusal == nil {
		return false
	}
	r.q.log.Debug("a refused file changed; it will be sent again", "name", r.rf.Name)
	r.refusal, r.failure, r.retryAt, r.tries = nil, "", time.Time{}, 0
	return true
}
