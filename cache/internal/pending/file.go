package pending

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/spool"
)

// New returns the facts of the record id (its files in sp: id.json and
// id.data) of the file key, in no state yet.
func New(sp *spool.Spool, id, key string, log *slog.Logger) *Facts {
	return &Facts{sp: sp, id: id, key: key, log: log}
}

// DataPath is where the record's bytes are in the spool.
func (f *Facts) DataPath() string { return f.sp.DataPath(f.id) }

// Save writes the record's file, atomically and durably, as it is now in
// memory.
func (f *Facts) Save() error {
	if f.Gone {
		return nil // out of the queue: its file must not come back
	}
	f.File.State = f.State
	if err := f.sp.Save(f.id, &f.File, !f.Saved); err != nil {
		return err
	}
	f.Saved = true
	return nil
}

// Set moves the record to state and saves it; on failure the state in
// memory is what it was.
func (f *Facts) Set(state string) error {
	f.log.Debug("record", "name", f.File.Name, "key", f.key, "from", f.State, "to", state)
	old := f.State
	f.State = state
	if err := f.Save(); err != nil {
		f.State = old
		f.File.State = old
		return err
	}
	return nil
}

// Unsave deletes the record's file: nothing is pending any more.
func (f *Facts) Unsave() {
	if !f.Saved {
		return
	}
	f.sp.Delete(f.id, f.File.Name)
	f.Saved = false
}

// CloseData closes the bytes and takes them out of the spool (open files
// keep their own descriptors).
func (f *Facts) CloseData() {
	f.Bytes.Close()
	if err := f.sp.RemoveData(f.id); err != nil && !errors.Is(err, os.ErrNotExist) {
		f.log.Warn("spool: could not delete a file's bytes", "name", f.File.Name, "err", err)
	}
}

// Fail marks the record as failed by err: its bytes will not be
// uploaded.
func (f *Facts) Fail(err error) {
	f.Failed = err
	f.File.Failed = err.Error()
	if f.Saved {
		if serr := f.Save(); serr != nil {
			f.log.Debug("spool: could not record a failed write", "name", f.File.Name, "err", serr)
		}
	}
}

// Change is called before the bytes change: the first change after an
// upload (or ever) moves the record to writing, on disk first, so that a
// crash from here on never uploads what was being written. A record the
// service refused is taken up again (Unpark); the caller publishes the
// record, as an idle record shows its bytes again, and schedules it.
func (f *Facts) Change() error {
	if f.Failed != nil {
		return f.Failed
	}
	f.Unpark() // new bytes: the service judges them afresh
	switch f.State {
	case Writing, Removed:
		return nil
	case Filling, Copying:
		return entry.ErrNotFound // cannot happen: writers wait for the fill, or the copy
	}
	prev := f.File
	f.File.Content++
	f.File.Due = time.Time{}
	f.File.ModTime = nil // a write sets the time, as on any filesystem
	if err := f.Set(Writing); err != nil {
		f.File = prev
		return err
	}
	CrashPoint("writing", f.File.Name)
	// An fsync waiting for the bytes now being changed will not see them
	// uploaded as they were.
	f.Waiters.Notify(fmt.Errorf("%w: %s was changed by another open file before its upload", entry.ErrUnavailable, f.File.Name))
	return nil
}

// Complete moves a record from writing to complete, due at due; the
// caller schedules it. The record keeps the size and a checksum of the
// bytes: a restart uploads them only if they are still exactly these
// (after a power cut, say, the disk may hold less than was written). That
// costs a read of the bytes, far less than forcing them to the disk on
// every close.
func (f *Facts) Complete(due time.Time) error {
	size, sum, err := f.Bytes.Checksum()
	if err != nil {
		return err
	}
	f.File.Size, f.File.Sum = size, sum
	f.File.Due = due
	if err := f.Set(Complete); err != nil {
		return err
	}
	CrashPoint("complete", f.File.Name)
	return nil
}

// Unpark takes up a record the service refused (Refusal) once its bytes
// or its name changed, and reports whether it was parked. The caller
// schedules it.
func (f *Facts) Unpark() bool {
	if f.Refusal == nil {
		return false
	}
	f.log.Debug("a refused file changed; it will be sent again", "name", f.File.Name)
	f.Refusal, f.Failure, f.RetryAt, f.Tries = nil, "", time.Time{}, 0
	return true
}
