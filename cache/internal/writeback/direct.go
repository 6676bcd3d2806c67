package writeback

import (
	"os"

	"github.com/ghlfs/ghlfs/cache/internal/pending"
)

// Files the kernel writes straight into the spool (FUSE passthrough: the
// front's Handle.Direct). Their writes pass the queue by: it learns of
// them from the spool file itself (pending.Bytes.Refresh) at each close
// (FLUSH), fsync, time set and release, and takes a change found then as
// a write made then: the same states, notes and crash points as WriteAt's.
// A stat reads the file's size while such files are open. A complete
// record is not uploaded in the background while one is open (a write may
// still come), only by an fsync's asking (pending.Facts.Next).

// Direct counts an open file of the record whose writes pass the queue
// by (on), or, at its release, learns what it wrote and counts it no
// more (!on): a record the worker left for such files (heldOpen) is
// then scheduled again.
func (r *Record) Direct(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on {
		r.s.Bytes.Direct(true)
		return
	}
	if _, err := r.refreshLocked(); err != nil {
		r.q.log.Debug("a write that passed ghlfs by failed at its release", "name", r.s.File.Name, "err", err)
	}
	r.s.Bytes.Direct(false)
	if r.s.Bytes.Directs() == 0 && r.heldOpen {
		r.heldOpen = false
		r.scheduleLocked(r.s.File.Due)
	}
}

// Refresh learns what writes that passed the queue by did to the bytes:
// a change is a write, past the upload limit refused as WriteAt refuses
// one. It returns the count of changes found so far (pending.Bytes.Changes).
func (r *Record) Refresh() (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.refreshLocked()
	return r.s.Bytes.Changes(), err
}

// DirectChanges counts the changes found so far in bytes written past
// the queue (pending.Bytes.Changes).
func (r *Record) DirectChanges() uint64 { return r.s.Bytes.Changes() }

func (r *Record) refreshLocked() (bool, error) {
	changed, err := r.s.Bytes.Refresh()
	if err != nil {
		r.s.Fail(err)
		return false, err
	}
	if !changed {
		return false, nil
	}
	for r.s.Bytes.Sending() { // an fsync's upload while the file is open
		r.cond.Wait()
	}
	if !r.s.Bytes.Has() {
		return true, nil // removed meanwhile: its bytes went with it
	}
	if r.s.Bytes.Size() > r.q.LimitFor(r.s.File.Name) {
		return true, r.tooLargeLocked()
	}
	return true, r.changeLocked()
}

// ProbeFile returns an empty file in the spool's directory, already
// removed (spool.Spool.ProbeFile). The caller closes it.
func (q *Queue) ProbeFile() (*os.File, error) { return q.spool.ProbeFile() }

// Whole reports whether the record's bytes are all in its spool file:
// not being copied in from the API (a fill, a copy), which writers wait
// for and the kernel would not.
func (r *Record) Whole() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.Bytes.Has() && r.s.State != pending.Filling && r.s.State != pending.Copying && !r.s.Gone
}
