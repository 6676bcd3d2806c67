package pending

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
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
	f.stamp()
	if err := f.sp.Save(f.id, &f.File, !f.Durable); err != nil {
		return err
	}
	f.Saved, f.Durable = true, true
	return nil
}

// stamp numbers the write about to be made (RecordFile.Seq), above every
// write before it: a File put back after a failed write (Change, a
// rename) keeps its old number, and the next write must still outrank
// the one that may have reached the disk.
func (f *Facts) stamp() {
	f.seq = max(f.seq, f.File.Seq) + 1
	f.File.Seq = f.seq
}

// Note writes the record's file atomically but not durably, on its bytes
// where it can (spool.NoteOn): for a user's create, close, time set and
// rename of a new file, which the worker makes durable (MakeDurable)
// before it acts on them in the API.
func (f *Facts) Note() error {
	if f.Gone {
		return nil
	}
	f.File.State = f.State
	f.stamp()
	if err := f.sp.NoteOn(f.id, f.Bytes.File(), &f.File); err != nil {
		return err
	}
	f.Saved, f.Durable = true, false
	return nil
}

// MakeDurable makes the record's bytes and file durable, if a Note left
// them otherwise: before the record is acted on in the API (an upload of
// bytes a power cut could still take back would publish what the disk
// does not hold; an fsync waits for that upload), and at the unmount.
func (f *Facts) MakeDurable() error {
	if !f.Saved || f.Durable {
		return nil
	}
	if err := f.SyncBytes(); err != nil {
		return err
	}
	return f.Save()
}

// SyncBytes makes the record's bytes durable if a Note left them
// otherwise, and leaves its file to the Save that follows (an upload's,
// which MakeDurable would make twice).
func (f *Facts) SyncBytes() error {
	if !f.Saved || f.Durable {
		return nil
	}
	return f.Bytes.Sync()
}

// mark moves the record to state and notes it (Note); on failure the
// state in memory is what it was.
func (f *Facts) mark(state string) error { return f.move(state, f.Note) }

// Begin moves a new record to writing, noted (Note): a crash before the
// file's close sets its bytes aside; a power cut that took the note too
// leaves bytes no record names, which the next start deletes, as a local
// disk may lose a file created since its last sync.
func (f *Facts) Begin() error { return f.mark(Writing) }

// Set moves the record to state and saves it; on failure the state in
// memory is what it was.
func (f *Facts) Set(state string) error { return f.move(state, f.Save) }

// move moves the record to state and writes its file with write (Save or
// Note); on failure the state in memory is what it was.
func (f *Facts) move(state string, write func() error) error {
	f.log.Debug("record", "name", f.File.Name, "key", f.key, "from", f.State, "to", state)
	old := f.State
	f.State = state
	if err := write(); err != nil {
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
	f.Saved, f.Durable = false, false // a new file's name is synced again
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
	if err := f.mark(Complete); err != nil {
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

// Unlink takes the bytes out of the spool; open files keep their
// descriptors.
func (f *Facts) Unlink() {
	if f.Bytes.Has() {
		f.sp.RemoveData(f.id)
	}
}

// Remove marks the file removed: its bytes are not published, open files
// keep them until they close, and its copies in the API go to the trash.
// It reports whether the API holds nothing of it (then its record file
// goes, and the caller drops the record); an error is its record file's,
// and changes nothing.
func (f *Facts) Remove() (nothingRemote bool, err error) {
	f.Waiters.Notify(nil)
	sending := f.Bytes.Sending()
	nothingRemote = f.File.RemoteID == "" && len(f.File.Replaces) == 0 && f.File.Attempt == nil && !sending
	f.Unpark() // what the service refused is not to be sent any more
	prevState := f.State
	f.State = Removed
	if nothingRemote {
		f.Unsave()
	} else if err := f.Save(); err != nil {
		f.State = prevState
		return false, err
	} else {
		CrashPoint("removed", f.File.Name)
	}
	if !sending {
		f.Unlink()
	}
	return nothingRemote, nil
}

// Hold stops the record from acting in the API while another is renamed
// over it (its upload or call under way ended: the caller waited), and
// returns the copies in the API it holds in its folder, with their
// claims; false if it is not held (gone, removed, or its bytes set
// aside: then the copy that holds the name goes too). The copy that
// owns the name, while still in the folder the file was moved from
// (RemoteParentID), is not among them: it is not in the folder of the
// file renamed over this one, whose retiring trashes copies there; the
// record, superseded, trashes it from where it is (Queue.supersede).
func (f *Facts) Hold() ([]string, map[string]listing.Claim, bool) {
	switch {
	case f.Aside && !f.Gone:
		return []string{f.File.RemoteID}, maps.Clone(f.File.Claims), false
	case f.Gone || f.State == Removed:
		return nil, nil, false
	}
	f.Held = true
	taken := slices.Clone(f.File.Replaces)
	if f.File.RemoteParentID == nil {
		taken = append(taken, f.File.RemoteID)
	}
	return taken, maps.Clone(f.File.Claims), true
}

// KeepAside leaves the bytes of the record's spool file (set aside: a
// write failed) to the open files that read them, and to recovered/,
// where they were moved: the copy of its copy in the API goes into a
// spool file of its own (Refill), never into theirs. If the spool file is
// still there (bytes never moved, or a move that failed), its name is
// freed for the copy: bytes that are not the upload's are set aside
// first, and if they cannot be, the copy waits (an error).
func (f *Facts) KeepAside() error {
	if f.Bytes.Is(f.DataPath()) {
		if f.Bytes.Damaged(&f.File) != "" {
			f.sp.SetAside(f.id, f.File.Name, "its bytes were not uploaded, and the file is uploaded again from its copy in the library under its new name")
			if _, err := os.Stat(f.DataPath()); err == nil {
				return fmt.Errorf("%w: %s: its bytes set aside could not be moved out of the spool; its copy in the library is uploaded under its new name once they are", entry.ErrUnavailable, f.File.Name)
			}
		} else if err := f.sp.RemoveData(f.id); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
	}
	f.Bytes.Keep()
	return nil
}

// Refill readies the record's own spool file, empty, for its bytes to be
// copied in again (never bytes set aside: KeepAside), and returns the
// copy in the API they come from, and when that was answered, if it is
// an answer no listing has shown (zero otherwise).
func (f *Facts) Refill() (entry.Entry, time.Time, error) {
	if !f.Bytes.Has() {
		file, err := f.sp.OpenData(f.id)
		if err != nil {
			return entry.Entry{}, time.Time{}, err
		}
		f.Bytes.Set(file, 0, f.Bytes.Touched())
	}
	if err := f.Bytes.Truncate(0, f.Bytes.Touched()); err != nil {
		return entry.Entry{}, time.Time{}, err
	}
	src := entry.Entry{Key: f.key, ID: f.File.RemoteID, ParentID: f.File.ParentID, Name: f.File.RemoteName, Size: -1}
	src.SetURL(f.File.RemoteURL)
	c, ok := f.File.Claims[src.ID]
	if !ok {
		return src, time.Time{}, nil
	}
	e := c.Entry(src.ID)
	e.Key = f.key
	return e, c.At, nil
}
