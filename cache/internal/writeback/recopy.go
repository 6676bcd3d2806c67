package writeback

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/remote"
)

// Renames the API refuses. A field report found every rename route it
// tried answering 404 for a Private Integration Token: where the service
// has no rename route (remote.ErrRouteMissing, learnt once per mount), a file
// is renamed the way its bytes are replaced: uploaded again under the new
// name, and its old copy sent to the trash once the new one landed. Its
// id and url change (the README says so). A file whose bytes are not in
// the spool becomes a record in state copying first: the worker copies
// its bytes from the old copy's url, through the content layer, into the
// spool, and it is complete from then on (record.go has the states, and
// the crash points "copying" and "copied" name the two new moments).
// Meanwhile the mount shows the old copy under the new name.

// RenameByCopy renames e, a file of the API with nothing pending, to name
// by uploading it again (see above); replace and target are as for
// rename. The file's key stays.
func (q *Queue) RenameByCopy(e Entry, name string, replace *Entry, target *Record) error {
	if limit := q.LimitFor(name); e.Size > limit {
		return fmt.Errorf("%w: %s is %d bytes, over the upload limit of %d bytes for %s: the API cannot rename it, and it could not be uploaded again under that name", entry.ErrTooLarge, name, e.Size, limit, remote.IntendedType(name))
	}
	_, err := q.renameVia(e, name, replace, target, stateCopying)
	return err
}

// renameVia renames e, a file of the API, through a record the worker
// carries out, which starts in state: copying (renameByCopy), or
// uploaded, with no bytes of its own (its copy in the API stands for the
// file), whose worker looks up its id first (claims.go) and then renames
// it. A record with nothing pending (an idle copy of the bytes) takes
// that state; one with changes pending takes the name, as rename does.
func (q *Queue) renameVia(e Entry, name string, replace *Entry, target *Record, state string) (*Record, error) {
	for {
		r := q.ix.Lookup(e.Key)
		if r == nil {
			var err error
			// A copy needs a spool file to copy into; a rename, no bytes.
			if r, err = q.recordOf(e, state, 0, state == stateCopying); err != nil {
				return nil, err
			}
			if r == nil {
				continue // another change got there first
			}
			if err := q.renameRecord(r, name, replace, target, state, nil); err != nil {
				r.mu.Lock()
				if r.data != nil {
					r.closeDataLocked()
				}
				r.dropLocked()
				r.mu.Unlock()
				return nil, err
			}
			q.log.Debug("a file's rename goes through the queue", "name", e.Name, "to", name, "state", state)
			return r, nil
		}
		err := q.renameRecord(r, name, replace, target, state, nil)
		if err == ErrNoRecord {
			continue // it left the queue meanwhile
		}
		return r, err
	}
}

// RenameVia renames e, a file of the API whose id no listing has shown
// yet, through a record the worker carries out: it looks the id up first
// (claims.go), then renames the file. replace and target are as for
// Rename.
func (q *Queue) RenameVia(e Entry, name string, replace *Entry, target *Record) (*Record, error) {
	return q.renameVia(e, name, replace, target, stateUploaded)
}

// RemoveVia removes e, a file of the API, through a record the worker
// carries out (claims.go: its id is looked up first).
func (q *Queue) RemoveVia(e Entry) (*Record, error) {
	for {
		r := q.ix.Lookup(e.Key)
		made := false
		if r == nil {
			var err error
			if r, err = q.recordOf(e, stateUploaded, 0, false); err != nil {
				return nil, err
			}
			if r == nil {
				continue
			}
			made = true
		}
		err := q.Remove(r)
		switch {
		case err == ErrNoRecord:
			continue
		case err == ErrIdle:
			r.mu.Lock()
			r.state = stateUploaded // nothing pending: its removal goes through it
			r.mu.Unlock()
			continue
		case err != nil && made:
			r.mu.Lock()
			r.dropLocked()
			r.mu.Unlock()
		}
		return r, err
	}
}

// Await waits until r has done what it has to do in the API (it left the
// queue), or one of its steps failed (that error), or ctx ends: for a
// change made through the queue when the tool waits for the API's answer
// (--write-back-delay 0).
func (q *Queue) Await(ctx context.Context, r *Record) error {
	var result error
	done := false
	closed := q.ix.Watch(ctx, func() bool {
		r.mu.Lock()
		gone, failure, tries := r.gone, r.failure, r.tries
		r.mu.Unlock()
		switch {
		case gone:
			done = true
		case failure != "" && tries > 0:
			done, result = true, fmt.Errorf("%w: %s (kept in the queue, will retry)", entry.ErrUnavailable, failure)
		}
		return done
	})
	switch {
	case done:
		return result
	case closed:
		return fmt.Errorf("%w: ghlfs is stopping; the change is done at the next mount", entry.ErrUnavailable)
	}
	return ctx.Err()
}

// recopyLocked turns a record whose copy in the API cannot be renamed
// into a copying one: uploaded again under its name. The caller holds
// r.mu.
func (r *Record) recopyLocked() error {
	if limit := r.q.LimitFor(r.rf.Name); r.size > limit && r.data != nil {
		return fmt.Errorf("%w: %s is %d bytes, over the upload limit of %d bytes for %s: the API cannot rename it, and it cannot be uploaded again under that name", entry.ErrTooLarge, r.rf.Name, r.size, limit, remote.IntendedType(r.rf.Name))
	}
	copied := r.data != nil && !r.aside && r.rf.Content == r.rf.Uploaded
	if r.data != nil && !copied {
		if err := r.keepAsideLocked(); err != nil {
			return err
		}
	}
	if err := r.setLocked(stateCopying); err != nil {
		return err
	}
	r.copied, r.aside = copied, false
	crashPoint("copying", r.rf.Name)
	r.publishLocked()
	return nil
}

// keepAsideLocked leaves the bytes of a record's spool file (set aside:
// a write failed) to the open files that read them, and to recovered/,
// where closedLocked moved them: the copy of its copy in the API goes into
// a spool file of its own (copyIn), never into theirs. If the spool file
// is still there (bytes never moved, or a move that failed), its name is
// freed for the copy: bytes that are not the upload's are set aside
// first, and if they cannot be, the copy waits (an error). The caller
// holds r.mu.
func (r *Record) keepAsideLocked() error {
	fi, err := os.Stat(r.dataPath())
	if cur, cerr := r.data.Stat(); err == nil && cerr == nil && os.SameFile(fi, cur) {
		if r.damagedLocked() != "" {
			r.q.spool.SetAside(r.id, r.rf.Name, "its bytes were not uploaded, and the file is uploaded again from its copy in the library under its new name")
			if _, err := os.Stat(r.dataPath()); err == nil {
				return fmt.Errorf("%w: %s: its bytes set aside could not be moved out of the spool; its copy in the library is uploaded under its new name once they are", entry.ErrUnavailable, r.rf.Name)
			}
		} else if err := r.q.spool.RemoveData(r.id); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
	}
	r.kept = append(r.kept, r.data)
	r.data, r.size = nil, 0
	return nil
}

// copyIn copies a copying record's bytes from its copy in the API into
// the spool, and makes them complete: they are uploaded next. Called with
// r.mu held; it lets go of it.
func (q *Queue) copyIn(r *Record) (bool, error) {
	name := r.rf.Name
	if r.copied && r.data != nil {
		// The spool holds them already.
		r.copied = false
		err := r.completeLocked(q.clock.Now())
		r.cond.Broadcast()
		r.mu.Unlock()
		return err == nil, err
	}
	if r.data == nil {
		f, err := q.spool.OpenData(r.id)
		if err != nil {
			r.mu.Unlock()
			return false, err
		}
		r.data = f
	}
	// The record's own spool file, never bytes set aside (recopyLocked):
	// what an earlier try copied in goes.
	if err := r.data.Truncate(0); err != nil {
		r.mu.Unlock()
		return false, fmt.Errorf("spool: %w", err)
	}
	r.size = 0
	src := Entry{Key: r.key, ID: r.rf.RemoteID, ParentID: r.rf.ParentID, Name: r.rf.RemoteName, Size: -1}
	src.SetURL(r.rf.RemoteURL)
	var answered time.Time
	if c, ok := r.rf.Claims[src.ID]; ok {
		src = c.Entry(src.ID)
		src.Key = r.key
		answered = c.At
	}
	data := r.data
	r.sending, r.copyErr = true, nil
	r.away()

	ctx, cancel := q.opContext(0)
	size, err := q.loc.Download(ctx, src, data)
	cancel()
	var gone bool
	var moved string
	if errors.Is(err, entry.ErrNotFound) {
		ctx, cancel := q.opContext(0)
		gone, moved = q.loc.Gone(ctx, src, answered)
		cancel()
	}

	r.back() // a record being read into never leaves the queue
	defer r.mu.Unlock()
	r.sending = false
	r.cond.Broadcast()
	if gone && r.state == stateCopying && r.rf.RemoteID == src.ID {
		return q.copyLostLocked(r, src)
	}
	if moved != "" && r.rf.RemoteID == src.ID {
		// Listed at another address: copied from there next time.
		r.rf.RemoteURL = moved
	}
	if err != nil {
		err = fmt.Errorf("renaming %s: could not copy its bytes from the library to upload them under the new name (the API cannot rename it; will retry): %w", name, err)
		r.copyErr = err
		if q.ctx.Err() == nil {
			q.log.Error(err.Error(), "name", name)
		}
		return false, err
	}
	if r.state != stateCopying {
		return true, nil // removed meanwhile
	}
	r.size = size
	if limit := q.LimitFor(r.rf.Name); size > limit {
		err := fmt.Errorf("%w: %s is %d bytes, over the upload limit of %d bytes for %s: the API cannot rename it, and it cannot be uploaded again under that name; rename it back", entry.ErrTooLarge, r.rf.Name, size, limit, remote.IntendedType(r.rf.Name))
		r.copyErr = err
		r.parked = true
		q.log.Error(err.Error(), "name", r.rf.Name)
		return false, err
	}
	crashPoint("copied", r.rf.Name)
	if err := r.completeLocked(q.clock.Now()); err != nil {
		return false, err
	}
	r.cond.Broadcast()
	return true, nil
}

// copyLostLocked ends a copying record whose copy in the library is gone
// (removed elsewhere while the file was being renamed): there is nothing
// to upload under the new name, and the file is gone, as after its
// removal. What it replaced still goes (the rename asked for that); its
// own copy is not acted on, wherever it may be. One log line says so. The
// caller holds r.mu.
func (q *Queue) copyLostLocked(r *Record, src Entry) (bool, error) {
	name := r.rf.Name
	q.log.Warn(fmt.Sprintf("%s: renamed from %s where the API cannot rename, but its copy in the library (id %s) is gone (removed elsewhere?), so there is nothing to upload under the new name: the file is gone",
		name, src.Name, src.ID), "name", name, "id", src.ID)
	q.folders.NoteDrop(src.ParentID, src.ID)
	prev := r.rf
	r.rf.RemoteID, r.rf.RemoteURL, r.rf.RemoteName = "", "", ""
	r.state = stateRemoved
	if err := r.saveLocked(); err != nil {
		r.rf, r.state = prev, stateCopying
		return false, err
	}
	crashPoint("removed", name)
	r.publishLocked()
	r.cond.Broadcast() // a change waiting for the copy: the file is gone
	return true, nil   // what it replaced goes next (retire, all)
}

// copyWaitLocked waits while a copying record's bytes are being copied in,
// and returns why the last copy failed, if it did. The caller holds r.mu.
func (r *Record) copyWaitLocked() error {
	for r.state == stateCopying && r.copyErr == nil && !r.gone {
		r.cond.Wait()
	}
	if r.state == stateCopying && !r.gone {
		return fmt.Errorf("%w: %v", entry.ErrUnavailable, r.copyErr)
	}
	return nil
}
