package writeback

import (
	"os"
	"sync"

	"github.com/ghlfs/ghlfs/cache/internal/pending"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
)

// record is one file with pending changes.
type Record struct {
	q   *Queue
	id  string // its files in the spool: id.json and id.data
	key string // the file's identity (Entry.Key); never changes

	mu   sync.Mutex
	cond *sync.Cond // on mu: a send or a fill ended

	s     *pending.Facts // guarded by mu: its file, state and bytes
	timer clockwork.Timer
	// urgent is set while a user waits on the worker's step (step): its
	// calls to the API go ahead of background work. Written and read only
	// by the worker processing the record (one at a time: index busy).
	urgent bool
	// left is closed when the record leaves the queue.
	left chan struct{}
}

// InAPI reports whether the copy in the API holds the bytes the record's
// file shows (pending.Facts.InAPI).
func (r *Record) InAPI() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.InAPI()
}

// APICopy is the copy in the API that owns the record's name while its
// bytes are pending (spool.Record.RemoteID: the file it changes, or its
// last upload), as an entry of its id, version, url and folder, under
// the record's key; false when there is none (a file never uploaded). An
// id no listing has shown yet comes marked unconfirmed.
func (r *Record) APICopy() (Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := &r.s.File
	if f.RemoteID == "" {
		return Entry{}, false
	}
	e := Entry{Key: r.key, ID: f.RemoteID, Rev: f.RemoteRev, Name: f.RemoteName, ParentID: r.s.RemoteParent(), Size: -1}
	e.SetURL(f.RemoteURL)
	_, claimed := f.Claims[f.RemoteID]
	e.SetUnconfirmed(claimed)
	return e, true
}

// entryLocked is the record as a listing entry.
func (r *Record) entryLocked() Entry {
	return Entry{Key: r.key, Name: r.s.File.Name, ParentID: r.s.File.ParentID, Size: -1, Pending: true}
}

// changeLocked readies the record for a change to its bytes
// (pending.Facts.Change).
func (r *Record) changeLocked() error {
	if err := r.s.Change(); err != nil {
		return err
	}
	r.publishLocked() // an idle record shows its bytes again
	return nil
}

// tooLargeLocked refuses a write or truncate past the upload limit. Bytes
// being changed (writing) are then a fragment that is never uploaded; a
// complete file, not changed yet, only refuses this one call.
func (r *Record) tooLargeLocked() error {
	err := pending.TooLarge(r.s.File.Name, r.q.LimitFor(r.s.File.Name))
	if r.s.State == pending.Writing {
		r.s.Fail(err)
	}
	return err
}

// WriteAt writes b at off. It waits while an upload reads the bytes.
func (r *Record) WriteAt(b []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.changeableLocked(off + int64(len(b))); err != nil {
		return 0, err
	}
	n, err := r.s.Bytes.WriteAt(b, off, r.q.clock.Now())
	if err != nil {
		r.s.Fail(err)
	}
	return n, err
}

// Truncate sets the size of the bytes.
func (r *Record) Truncate(size int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.changeableLocked(size); err != nil {
		return err
	}
	err := r.s.Bytes.Truncate(size, r.q.clock.Now())
	if err != nil {
		r.s.Fail(err)
	}
	return err
}

// changeableLocked waits while an upload reads the bytes, and readies
// them for a change that makes them end at end (changeLocked).
func (r *Record) changeableLocked(end int64) error {
	for r.s.Bytes.Sending() {
		r.cond.Wait()
	}
	if !r.s.Bytes.Has() {
		return entry.ErrNotFound
	}
	if end > r.q.LimitFor(r.s.File.Name) {
		return r.tooLargeLocked()
	}
	return r.changeLocked()
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
func (r *Record) Writers() int { return r.s.Bytes.Writers() }

// File returns the spool file an open file of the record reads from now
// on (see pending.Bytes). It stays open as long as the caller is counted
// as a reader or writer.
func (r *Record) File() *os.File { return r.s.Bytes.File() }

// Stat returns the record as an entry with its size and time.
func (r *Record) Stat() Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statLocked()
}

func (r *Record) statLocked() Entry {
	e := r.entryLocked()
	e.Size = r.s.Bytes.Size()
	e.ModTime = r.s.ModTime()
	return e
}

// StatShown is stat, for a record whose bytes the mount shows.
func (r *Record) StatShown() (Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.s.Visible() {
		return Entry{}, false
	}
	return r.statLocked(), true
}
