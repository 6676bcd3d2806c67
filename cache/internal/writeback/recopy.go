package writeback

import (
	"context"
	"errors"
	"fmt"

	"github.com/ghlfs/ghlfs/cache/internal/pending"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
)

// Renames the API refuses. A field report found every rename route it
// tried answering 404 for a Private Integration Token: where the service
// has no rename route (remote.ErrRouteMissing, learnt once per mount), a file
// is renamed the way its bytes are replaced: uploaded again under the new
// name, and its old copy sent to the trash once the new one landed. Its
// id and url change (the README says so). A file whose bytes are not in
// the spool becomes a record in state copying first: the worker copies
// its bytes from the old copy's url, through the content layer, into the
// spool, and it is complete from then on (internal/pending has the states, and
// the crash points "copying" and "copied" name the two new moments).
// Meanwhile the mount shows the old copy under the new name.

// RenameByCopy renames e, a file of the API with nothing pending, to name
// by uploading it again (see above); replace and target are as for
// rename. The file's key stays.
func (q *Queue) RenameByCopy(e Entry, name string, replace *Entry, target *Record) error {
	if limit := q.LimitFor(name); e.Size > limit {
		return pending.OverLimit(name, e.Size, limit, "the API cannot rename it, and it could not be uploaded again under that name")
	}
	_, err := q.renameVia(e, name, replace, target, pending.Copying)
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
			if r, err = q.recordOf(e, state, 0, state == pending.Copying); err != nil {
				return nil, err
			}
			if r == nil {
				continue // another change got there first
			}
			if err := q.renameRecord(r, name, replace, target, state, nil); err != nil {
				r.mu.Lock()
				if r.s.Bytes.Has() {
					r.s.CloseData()
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
	return q.renameVia(e, name, replace, target, pending.Uploaded)
}

// RemoveVia removes e, a file of the API, through a record the worker
// carries out (claims.go: its id is looked up first).
func (q *Queue) RemoveVia(e Entry) (*Record, error) {
	for {
		r := q.ix.Lookup(e.Key)
		made := false
		if r == nil {
			var err error
			if r, err = q.recordOf(e, pending.Uploaded, 0, false); err != nil {
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
			r.s.State = pending.Uploaded // nothing pending: its removal goes through it
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
		gone, failure, tries := r.s.Gone, r.s.Failure, r.s.Tries
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
	if limit := r.q.LimitFor(r.s.File.Name); r.s.Bytes.Size() > limit && r.s.Bytes.Has() {
		return pending.OverLimit(r.s.File.Name, r.s.Bytes.Size(), limit, "the API cannot rename it, and it cannot be uploaded again under that name")
	}
	copied := r.s.Bytes.Has() && !r.s.Aside && r.s.File.Content == r.s.File.Uploaded
	if r.s.Bytes.Has() && !copied {
		if err := r.s.KeepAside(); err != nil {
			return err
		}
	}
	if err := r.s.Set(pending.Copying); err != nil {
		return err
	}
	r.s.Copied, r.s.Aside = copied, false
	pending.CrashPoint("copying", r.s.File.Name)
	r.publishLocked()
	return nil
}

// copyIn copies a copying record's bytes from its copy in the API into
// the spool, and makes them complete: they are uploaded next. Called with
// r.mu held; it lets go of it.
func (q *Queue) copyIn(r *Record) (bool, error) {
	name := r.s.File.Name
	if r.s.Copied && r.s.Bytes.Has() {
		// The spool holds them already.
		r.s.Copied = false
		err := r.completeLocked(q.clock.Now())
		r.cond.Broadcast()
		r.mu.Unlock()
		return err == nil, err
	}
	// What an earlier try copied in goes.
	src, answered, err := r.s.Refill()
	if err != nil {
		r.mu.Unlock()
		return false, err
	}
	data := r.s.Bytes.Send()
	r.s.CopyErr = nil
	r.away()

	ctx, cancel := q.opContext(r, 0)
	size, err := q.loc.Download(ctx, src, data)
	cancel()
	var gone bool
	var moved string
	if errors.Is(err, entry.ErrNotFound) {
		ctx, cancel := q.opContext(r, 0)
		gone, moved = q.loc.Gone(ctx, src, answered)
		cancel()
	}

	r.back() // a record being read into never leaves the queue
	defer r.mu.Unlock()
	r.s.Bytes.Sent()
	r.cond.Broadcast()
	if gone && r.s.State == pending.Copying && r.s.File.RemoteID == src.ID {
		return q.copyLostLocked(r, src)
	}
	if moved != "" && r.s.File.RemoteID == src.ID {
		// Listed at another address: copied from there next time.
		r.s.File.RemoteURL = moved
	}
	if err != nil {
		err = fmt.Errorf("renaming %s: could not copy its bytes from the library to upload them under the new name (the API cannot rename it; will retry): %w", name, err)
		r.s.CopyErr = err
		if q.ctx.Err() == nil {
			q.log.Error(err.Error(), "name", name)
		}
		return false, err
	}
	if r.s.State != pending.Copying {
		return true, nil // removed meanwhile
	}
	r.s.Bytes.SetSize(size)
	if limit := q.LimitFor(r.s.File.Name); size > limit {
		err := pending.OverLimit(r.s.File.Name, size, limit, "the API cannot rename it, and it cannot be uploaded again under that name; rename it back")
		r.s.CopyErr = err
		r.s.Parked = true
		q.log.Error(err.Error(), "name", r.s.File.Name)
		return false, err
	}
	pending.CrashPoint("copied", r.s.File.Name)
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
	name := r.s.File.Name
	q.log.Warn(fmt.Sprintf("%s: renamed from %s where the API cannot rename, but its copy in the library (id %s) is gone (removed elsewhere?), so there is nothing to upload under the new name: the file is gone",
		name, src.Name, src.ID), "name", name, "id", src.ID)
	q.folders.NoteDrop(src.ParentID, src.ID)
	prev := r.s.File
	r.s.File.RemoteID, r.s.File.RemoteURL, r.s.File.RemoteName = "", "", ""
	r.s.State = pending.Removed
	if err := r.s.Save(); err != nil {
		r.s.File, r.s.State = prev, pending.Copying
		return false, err
	}
	pending.CrashPoint("removed", name)
	r.publishLocked()
	r.cond.Broadcast() // a change waiting for the copy: the file is gone
	return true, nil   // what it replaced goes next (retire, all)
}

// copyWaitLocked waits while a copying record's bytes are being copied in,
// and returns why the last copy failed, if it did. The caller holds r.mu.
func (r *Record) copyWaitLocked() error {
	for r.s.State == pending.Copying && r.s.CopyErr == nil && !r.s.Gone {
		r.cond.Wait()
	}
	if r.s.State == pending.Copying && !r.s.Gone {
		return fmt.Errorf("%w: %v", entry.ErrUnavailable, r.s.CopyErr)
	}
	return nil
}
