package writeback

import (
	"fmt"
	"os"
	"sync"
	"time"

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

	s     pending.Facts // guarded by mu: its file, state and bytes
	timer clockwork.Timer
	// left is closed when the record leaves the queue.
	left chan struct{}
}

func (r *Record) dataPath() string { return r.q.spool.DataPath(r.id) }

// saveLocked writes the record's file, atomically and durably, as it is
// now in memory.
func (r *Record) saveLocked() error {
	if r.s.Gone {
		return nil // out of the queue: its file must not come back
	}
	r.s.File.State = r.s.State
	if err := r.q.spool.Save(r.id, &r.s.File, !r.s.Saved); err != nil {
		return err
	}
	r.s.Saved = true
	return nil
}

// setLocked moves the record to state and saves it; on failure the state
// in memory is what it was.
func (r *Record) setLocked(state string) error {
	r.q.log.Debug("record", "name", r.s.File.Name, "key", r.key, "from", r.s.State, "to", state)
	old := r.s.State
	r.s.State = state
	if err := r.saveLocked(); err != nil {
		r.s.State = old
		r.s.File.State = old
		return err
	}
	return nil
}

// unsaveLocked deletes the record's file: nothing is pending any more.
func (r *Record) unsaveLocked() {
	if !r.s.Saved {
		return
	}
	r.q.spool.Delete(r.id, r.s.File.Name)
	r.s.Saved = false
}

// InAPI reports whether the copy in the API holds the bytes the record's
// file shows (pending.Facts.InAPI).
func (r *Record) InAPI() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.InAPI()
}

// entryLocked is the record as a listing entry.
func (r *Record) entryLocked() Entry {
	return Entry{Key: r.key, Name: r.s.File.Name, ParentID: r.s.File.ParentID, Size: -1, Pending: true}
}

// changeLocked is called before the bytes change: the first change after
// an upload (or ever) moves the record to writing, on disk first, so that
// a crash from here on never uploads what was being written.
func (r *Record) changeLocked() error {
	if r.s.Failed != nil {
		return r.s.Failed
	}
	r.unparkLocked() // new bytes: the service judges them afresh
	switch r.s.State {
	case pending.Writing, pending.Removed:
		return nil
	case pending.Filling, pending.Copying:
		return entry.ErrNotFound // cannot happen: writers wait for the fill, or the copy
	}
	prev := r.s.File
	r.s.File.Content++
	r.s.File.Due = time.Time{}
	r.s.File.ModTime = nil // a write sets the time, as on any filesystem
	if err := r.setLocked(pending.Writing); err != nil {
		r.s.File = prev
		return err
	}
	crashPoint("writing", r.s.File.Name)
	// An fsync waiting for the bytes now being changed will not see them
	// uploaded as they were.
	r.s.Waiters.Notify(fmt.Errorf("%w: %s was changed by another open file before its upload", entry.ErrUnavailable, r.s.File.Name))
	r.publishLocked() // an idle record shows its bytes again
	return nil
}

// tooLargeLocked refuses a write or truncate past the upload limit. Bytes
// being changed (writing) are then a fragment that is never uploaded; a
// complete file, not changed yet, only refuses this one call.
func (r *Record) tooLargeLocked() error {
	err := TooLarge(r.s.File.Name, r.q.LimitFor(r.s.File.Name))
	if r.s.State == pending.Writing {
		r.failLocked(err)
	}
	return err
}

// failLocked marks the record as failed by err: its bytes will not be
// uploaded.
func (r *Record) failLocked(err error) {
	r.s.Failed = err
	r.s.File.Failed = err.Error()
	if r.s.Saved {
		if serr := r.saveLocked(); serr != nil {
			r.q.log.Debug("spool: could not record a failed write", "name", r.s.File.Name, "err", serr)
		}
	}
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
		r.failLocked(err)
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
		r.failLocked(err)
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

// unparkLocked takes up a record the service refused once its bytes or
// its name changed (pending.Facts.Unpark), and reports whether it was
// parked. The caller schedules it.
func (r *Record) unparkLocked() bool {
	if !r.s.Unpark() {
		return false
	}
	r.q.log.Debug("a refused file changed; it will be sent again", "name", r.s.File.Name)
	return true
}
