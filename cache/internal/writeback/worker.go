package writeback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/pending"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/cache/internal/spool"
	"github.com/ghlfs/ghlfs/remote"
)

// What a worker does with a record, state by state. Each step reads the
// record under its lock, writes the state it is about to act in, lets go
// of the lock for the call to the API, and then records the outcome under
// the lock again, relative to the state the record is in by then (a user
// may have renamed or removed the file meanwhile). The crash points name
// the moments a test can stop the process at, as kill -9 would.

// process performs the steps a record's state calls for until nothing
// more can be done now. A failed step is tried again later, with a
// growing delay.
func (q *Queue) process(r *Record) {
	r.mu.Lock()
	r.s.Parked = false
	r.mu.Unlock()
	for {
		more, err := q.step(r)
		if q.ctx.Err() != nil {
			return // closing: the next start takes it up
		}
		r.mu.Lock()
		// An fsync waiting on this record hears now what it waited for, or
		// of the failure, whichever step failed.
		r.s.Waiters.Settle(r.s.File.Uploaded, err)
		if err == nil && r.s.Refusal == nil {
			r.s.Failure = ""
		}
		r.mu.Unlock()
		if err != nil {
			r.mu.Lock()
			switch at, stop := r.s.Failing(err, q.clock.Now(), q.retry); {
			case stop:
				r.stopTimerLocked()
			case !at.IsZero():
				r.scheduleLocked(at)
			}
			r.mu.Unlock()
			return
		}
		if !more {
			return
		}
	}
}

// step does the next thing the record needs and reports whether there is
// more to do at once.
func (q *Queue) step(r *Record) (bool, error) {
	r.mu.Lock()
	// A user waits on this step: an fsync, a new file for the name the
	// record's copy holds, or the unmount.
	r.urgent = r.s.Waiters.Len() > 0 || r.s.Hurry || q.isDraining()
	next := r.s.Next(q.clock.Now(), q.isDraining(), q.caps)
	durable := r.s.MakeDurable
	switch next {
	case pending.Recheck, pending.Wait, pending.Done:
	case pending.Send:
		durable = r.s.SyncBytes // the upload saves its attempt durably next
		fallthrough
	default:
		// What the user's calls noted (a create, a close) is made durable,
		// bytes first, before the API hears of it.
		if err := durable(); err != nil {
			return q.notDurable(r, err)
		}
	}
	switch next {
	case pending.Recheck:
		// Its last writer closed it, but it could not be marked complete
		// then (a full disk, say): again now.
		err := r.completeLocked(q.clock.Now().Add(q.delay))
		r.mu.Unlock()
		if err != nil {
			return false, fmt.Errorf("%s: could not mark it complete: %w", r.s.File.Name, err)
		}
		return true, nil
	case pending.Find:
		return q.findAttempt(r)
	case pending.Copy:
		return q.copyIn(r)
	case pending.Confirm:
		return q.confirmRecord(r)
	case pending.Remove:
		return q.retire(r, true)
	case pending.Wait:
		r.scheduleLocked(r.s.File.Due)
	case pending.Send:
		return q.upload(r)
	case pending.Move:
		return q.moveRemote(r)
	case pending.Rename:
		return q.renameRemote(r)
	case pending.Retire:
		return q.retire(r, false)
	case pending.Done:
		pending.CrashPoint("done", r.s.File.Name)
		r.s.State = pending.Idle
		r.s.Unsave()
		r.publishLocked()
	}
	r.mu.Unlock()
	return false, nil
}

// notDurable ends a step that could not make the record durable (err).
// A complete record's bytes, not sent yet, are then as bytes whose write
// failed (a full cache dir, say): never published, they go to recovered/
// with their note (which says what they were), as the README's row on a
// full --cache-dir says. Anything else (an upload that may have landed)
// is tried again, as a failed call is. Called with r.mu held; it lets go
// of it.
func (q *Queue) notDurable(r *Record, err error) (bool, error) {
	err = fmt.Errorf("%s: could not write its bytes to the disk: %w", r.s.File.Name, err)
	if r.s.State != pending.Complete || !r.s.UploadDue() {
		r.mu.Unlock()
		return false, err
	}
	r.s.Waiters.Notify(err)
	q.setAside(r, err.Error())
	r.dataLessLocked()
	r.mu.Unlock()
	return true, nil
}

// away lets go of the record for a call to the API: meanwhile it is being
// acted on, and a rename over it waits (hold).
func (r *Record) away() {
	r.s.Acting = true
	r.mu.Unlock()
}

// back takes the record again after a call to the API, and reports
// whether it is still in the queue (the caller then unlocks it).
func (r *Record) back() bool {
	r.mu.Lock()
	r.s.Acting = false
	r.cond.Broadcast()
	return !r.s.Gone
}

func (q *Queue) isDraining() bool { return q.ix.Draining() }

// opContext bounds one call to the API made by a worker for r. It is a
// background call (remote.Background: sent only when no call a user waits
// on is waiting for the pacer) unless someone waits on this one (urgent):
// a folder made in the middle of a copy of many files goes ahead of the
// uploads of the files copied before it.
func (q *Queue) opContext(r *Record, extra time.Duration) (context.Context, context.CancelFunc) {
	ctx := q.ctx
	if !r.urgent {
		ctx = remote.Background(ctx)
	}
	return context.WithTimeout(ctx, q.timeout+extra)
}

// findAttempt looks for an upload whose answer was lost, before anything
// is sent again. Found with the bytes the record still holds, it is the
// upload; found with other bytes (or for a file removed since), it goes to
// the trash with the other superseded copies. Called with r.mu held; it
// lets go of it.
func (q *Queue) findAttempt(r *Record) (bool, error) {
	a := *r.s.File.Attempt
	exclude := r.s.Exclude()
	r.away()
	exclude, rivals := q.lostLookup(exclude, a.ParentID)

	ctx, cancel := q.opContext(r, 0)
	found, ok, err := q.rc.FindLanded(ctx, remote.Attempt{ParentID: a.ParentID, Name: a.Name, Size: a.Size, At: a.At, Exclude: exclude,
		Rivals: rivals, Into: a.Into, BaseRev: a.BaseRev})
	cancel()

	alive := r.back()
	defer r.mu.Unlock()
	if err != nil {
		return false, fmt.Errorf("looking for an earlier upload of %s: %w", a.Name, entry.Translate(err))
	}
	if !alive {
		return false, nil
	}
	switch r.s.Looked(a, found, ok) {
	case pending.LookAgain:
		return true, nil // changed meanwhile: look again
	case pending.NoBytes:
		r.dataLessLocked()
		return true, nil
	case pending.TheUpload:
		q.log.Info("an earlier upload had landed; not sending it again", "name", a.Name, "id", found.ID)
		r.landedLocked(found, a)
		return true, nil
	}
	if err := r.s.Save(); err != nil {
		return false, err
	}
	return true, nil
}

// upload sends a complete record's bytes. While it does, writes to them
// wait, so that what is sent is what was complete. Called with r.mu held;
// it lets go of it.
func (q *Queue) upload(r *Record) (bool, error) {
	if !r.s.Bytes.Has() || r.s.Aside {
		r.dataLessLocked()
		r.mu.Unlock()
		return true, nil
	}
	if limit := q.LimitFor(r.s.File.Name); r.s.Bytes.Size() > limit {
		// Queued by a run with a larger --max-upload-size: the API would
		// refuse it.
		err := pending.OverLimit(r.s.File.Name, r.s.Bytes.Size(), limit, "")
		q.stats.uploadErrors.Add(1)
		r.s.Waiters.Notify(err)
		q.setAside(r, err.Error())
		r.dataLessLocked()
		r.mu.Unlock()
		return true, nil
	}
	a := spool.Attempt{At: q.clock.Now(), Name: r.s.File.Name, ParentID: r.s.File.ParentID, Size: r.s.Bytes.Size(), Content: r.s.File.Content}
	if !q.caps.NewIDPerUpload && !r.s.Elsewhere() {
		// The upload lands as a new version of the copy that holds the
		// name (none for a new file): a lost answer is looked for as one.
		a.Into, a.BaseRev = r.s.File.RemoteID, r.s.File.RemoteRev
	}
	r.s.File.Attempt = &a
	durable := r.s.Durable
	if err := r.s.Set(pending.Uploading); err != nil {
		r.s.File.Attempt = nil
		if !durable {
			return q.notDurable(r, err) // only ever noted: as in step
		}
		r.mu.Unlock()
		return false, err
	}
	pending.CrashPoint("uploading", a.Name)
	// From now on a listing may hold the upload before its answer is in:
	// the folder's overlay takes it for this file (index: overlay.isSent).
	r.publishLocked()
	data := r.s.Bytes.Send()
	r.s.Progress = remote.NewProgress(q.clock)
	progress := r.s.Progress
	exclude := r.s.Exclude()
	r.away()
	exclude, rivals := q.lostLookup(exclude, a.ParentID)

	// The deadline grows with the size: a slow link must still be able to
	// send a large file (64 KiB/s on top of the usual deadline).
	ctx, cancel := q.opContext(r, time.Duration(a.Size>>16)*time.Second)
	ctype := pending.UploadType(a.Name)
	item, err := q.rc.Upload(ctx, remote.Upload{
		ParentID: a.ParentID, Name: a.Name,
		ContentType: ctype,
		Size:        a.Size,
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.NewSectionReader(data, 0, a.Size)), nil
		},
		Exclude: exclude,
		Rivals:  rivals,
		// A lost answer is looked for as findAttempt does.
		Into: a.Into, BaseRev: a.BaseRev,
		Progress: progress,
	})
	cancel()

	r.back() // a record being sent never leaves the queue
	defer r.mu.Unlock()
	r.s.Bytes.Sent()
	r.s.Progress = nil
	r.cond.Broadcast()
	if err != nil {
		if q.ctx.Err() == nil { // not an upload stopped by the unmount
			q.stats.uploadErrors.Add(1)
		}
		r.s.SendFailed(err)
		if serr := r.s.Save(); serr != nil {
			q.log.Warn("spool: could not update a record", "name", a.Name, "err", serr)
		}
		// It waits now: let the bytes outlive the machine, not just ghlfs.
		if serr := data.Sync(); serr != nil {
			q.log.Warn("spool: could not flush a file's bytes to the disk", "name", a.Name, "err", serr)
		}
		if pending.RefusedContent(err) && r.s.State == pending.Complete && r.s.File.Name == a.Name && r.s.File.Content == a.Content {
			// Sending it again unchanged would be refused again: it waits
			// for a change, its bytes in the spool (the README's
			// semantics table names the place).
			err = fmt.Errorf("uploading %s (sent as %s): %w; its bytes are kept in %s; not sent again until the file is changed or renamed, or at the next mount",
				a.Name, ctype, entry.Translate(err), r.s.DataPath())
			r.s.Refusal = err
		} else if errors.Is(err, remote.ErrMisplaced) {
			// The account's API puts what is made where it likes: no retry
			// before the next mount can do better (one line, no loop).
			r.s.Parked = true
			err = fmt.Errorf("uploading %s: %w (kept in the spool; tried again at the unmount and the next mount)", a.Name, entry.Translate(err))
		} else {
			err = fmt.Errorf("uploading %s: %w (kept in the spool, will retry)", a.Name, entry.Translate(err))
		}
		if q.ctx.Err() == nil && r.s.Waiters.Len() == 0 {
			q.log.Error(err.Error(), "name", a.Name) // else the fsync or close waiting reports it
		}
		return false, err
	}
	pending.CrashPoint("upload-answered", a.Name)
	q.stats.uploads.Add(1)
	q.stats.uploadedBytes.Add(a.Size)
	r.landedLocked(item, a)
	return true, nil
}

// landedLocked records that attempt a landed as item: the new copy owns
// the name from now on, and the copies it supersedes retire.
func (r *Record) landedLocked(item remote.Item, a spool.Attempt) {
	q := r.q
	e := entry.Of(item)
	e.ParentID, e.Name = a.ParentID, a.Name
	if e.Size < 0 {
		e.Size = a.Size
	}
	r.s.Landed(item, a)
	if item.Unconfirmed {
		// The answer's id: nothing is changed by it until a listing shows
		// the file (claims.go).
		e.SetCreated(q.clock.Now())
		c := listing.Claim{ParentID: e.ParentID, Name: e.Name, URL: e.URL(), Size: e.Size, At: e.Created(),
			Sent: item.SentAt, Answered: item.CreatedAt}
		r.keepClaimLocked(item.ID, c)
	}
	// The time the user set goes with the upload before the landing is
	// recorded: a crash in between finds the upload again, and sets it again.
	if mt := r.s.File.ModTime; mt != nil {
		if err := q.times.Set(item.ID, *mt); err != nil {
			q.log.Warn("could not keep a file time", "name", a.Name, "err", err)
		}
	}
	if err := r.s.Save(); err != nil {
		// A restart looks for the upload and finds it.
		q.log.Warn("spool: could not record an upload", "name", a.Name, "err", err)
	}
	pending.CrashPoint("uploaded", a.Name)
	// The record hides the new copy (it shows its own bytes) before the
	// copy is known as the file's and before the listings hold it. A view
	// shows one entry per key whatever the order (Queue.View), but this
	// keeps each step's overlay true on its own.
	r.publishLocked()
	q.setLatest(r.key, e, r.s.File.Replaces, a)
	q.folders.NotePut(a.ParentID, e)
	r.s.Tries = 0
}

// renameRemote gives the copy that owns the name the name the user gave
// the file meanwhile. Called with r.mu held; it lets go of it.
func (q *Queue) renameRemote(r *Record) (bool, error) {
	id, name, parent := r.s.File.RemoteID, r.s.File.Name, r.s.File.ParentID
	r.away()
	ctx, cancel := q.opContext(r, 0)
	err := q.folders.Rename(ctx, parent, id, name)
	cancel()
	if errors.Is(err, entry.ErrNotFound) {
		q.log.Warn(fmt.Sprintf("%s: its copy in the library is gone; nothing to rename", name), "name", name, "id", id)
		err = nil
	}
	if err == nil {
		q.ix.Renamed(id, name)
	}
	alive := r.back()
	defer r.mu.Unlock()
	if errors.Is(err, remote.ErrRouteMissing) && alive && r.s.File.RemoteID == id && r.s.State != pending.Removed {
		// The API cannot rename this file (no route for this token): it
		// is uploaded again under its new name (recopy.go).
		q.log.Info(fmt.Sprintf("%s: the API cannot rename it; uploading it again under its new name (its id and url change)", name), "name", name)
		if err := r.recopyLocked(); err != nil {
			return false, err
		}
		return true, nil
	}
	if err != nil && alive && r.nameTakenLocked(err, "rename", id, parent, name) {
		return false, r.s.Refusal
	}
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: could not rename it in the library (will retry): %v", name, err), "name", name)
		return false, err
	}
	if !alive {
		return false, nil
	}
	pending.CrashPoint("renamed", name)
	if r.s.File.RemoteID == id {
		r.s.File.RemoteName = name
		r.s.Hurry = r.s.Hurry && r.s.Elsewhere()
		if err := r.s.Save(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// nameTakenLocked reports whether err, the failure of a rename or move
// (what) of the record's copy id to name in folder parent, is the
// service's refusal of a name another item holds there (a 409 where
// names are unique: another client took it since the mount showed it
// free). Sending it again would be refused again: the record is parked
// as a refused upload is (Facts.Refusal: Next sends nothing, an fsync
// hears the refusal), with one ERROR line, until the user renames, moves
// or changes the file, or the next mount; its bytes stay in the spool,
// and the mount shows the file as the user left it. Not for a file
// removed meanwhile: its removal goes on. The caller holds r.mu.
func (r *Record) nameTakenLocked(err error, what, id, parent, name string) bool {
	f := &r.s.File
	if !errors.Is(err, remote.ErrExists) || r.s.State == pending.Removed || f.RemoteID != id || f.Name != name || f.ParentID != parent {
		return false // no longer wanted: the file was removed, renamed or moved on meanwhile
	}
	r.s.Refusal = fmt.Errorf("%s: could not %s it in the library: %w; another item holds the name there; not tried again until the file is renamed, moved or changed, or at the next mount (its bytes, if not sent yet, stay in %s)",
		name, what, entry.Translate(err), r.s.DataPath())
	r.q.log.Error(r.s.Refusal.Error(), "name", name)
	return true
}

// moveRemote moves the copy that owns the name to the folder the file
// was moved to, under its name (Backend.Move), as renameRemote renames
// it. Called with r.mu held; it lets go of it.
func (q *Queue) moveRemote(r *Record) (bool, error) {
	id, name, parent, from := r.s.File.RemoteID, r.s.File.Name, r.s.File.ParentID, r.s.RemoteParent()
	e := Entry{ID: id, Key: r.key, Name: r.s.File.RemoteName, ParentID: from, Size: -1}
	if latest, ok := q.ix.Latest(r.key); ok && latest.ID == id {
		e = latest
	} else if st, ok := q.folders.Cached(from); ok {
		if i := slices.IndexFunc(st.Entries(), func(x Entry) bool { return x.ID == id }); i >= 0 {
			e = st.Entries()[i]
		}
	}
	e.ParentID = from
	r.away()
	ctx, cancel := q.opContext(r, 0)
	err := q.folders.Move(ctx, e, parent, name)
	cancel()
	if errors.Is(err, entry.ErrNotFound) {
		q.log.Warn(fmt.Sprintf("%s: its copy in the library is gone; nothing to move", name), "name", name, "id", id)
		err = nil
	}
	if err == nil {
		q.ix.Moved(id, parent, name)
	}
	alive := r.back()
	defer r.mu.Unlock()
	if err != nil && alive && r.nameTakenLocked(err, "move", id, parent, name) {
		return false, r.s.Refusal
	}
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: could not move it in the library (will retry): %v", name, err), "name", name)
		return false, err
	}
	if !alive {
		return false, nil
	}
	pending.CrashPoint("moved", name)
	if r.s.File.RemoteID == id {
		r.s.File.RemoteName = name
		r.s.File.RemoteParentID = nil
		if parent != r.s.File.ParentID { // moved on meanwhile
			r.s.File.RemoteParentID = &parent
		}
		r.s.Hurry = r.s.Hurry && r.s.Elsewhere()
		if err := r.s.Save(); err != nil {
			return false, err
		}
		r.publishLocked()
	}
	return true, nil
}

// retire sends the copies a landed upload supersedes to the trash; with
// all (a removed file), every copy of the file, and then drops the
// record. Called with r.mu held; it lets go of it.
func (q *Queue) retire(r *Record, all bool) (bool, error) {
	ids := slices.Clone(r.s.File.Replaces)
	// What stays, or could not be trashed yet, for the log line.
	kept, failed := "uploaded; the copy it replaces", "uploaded, but the copy it replaces"
	if all {
		if r.s.File.RemoteID != "" {
			ids = append(ids, r.s.File.RemoteID)
		}
		kept, failed = "removed here, but its copy", "removed, but its copy"
	} else {
		if r.s.State == pending.Uploaded {
			if err := r.s.Set(pending.Retiring); err != nil {
				r.mu.Unlock()
				return false, err
			}
		}
		pending.CrashPoint("retiring", r.s.File.Name)
	}
	name, parent := r.s.File.Name, r.s.File.ParentID
	var away []string // the copy still in the folder the file was moved from
	if all && r.s.File.RemoteParentID != nil && r.s.File.RemoteID != "" {
		ids, away = slices.DeleteFunc(ids, func(id string) bool { return id == r.s.File.RemoteID }), []string{r.s.File.RemoteID}
	}
	from := r.s.RemoteParent()
	r.away()
	err := q.trash(r, name, from, away)
	if err == nil {
		err = q.trash(r, name, parent, ids)
	}
	alive := r.back()
	defer r.mu.Unlock()
	if err != nil && r.cannotTrashLocked(err) {
		q.log.Warn(fmt.Sprintf("%s: %s stays in the library, hidden here, as the API has no route that removes it for this token (%v); tried again at the next mount", name, kept, err), "name", name)
		return false, err
	}
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: %s could not be sent to the trash yet (hidden meanwhile; will retry): %v", name, failed, err), "name", name)
		return false, err
	}
	if !alive {
		return false, nil
	}
	if all {
		r.s.File.Replaces, r.s.File.RemoteID = nil, ""
		r.s.Unsave()
		r.dropLocked()
		r.finishLocked()
		return false, nil
	}
	r.s.File.Replaces = slices.DeleteFunc(r.s.File.Replaces, func(id string) bool { return slices.Contains(ids, id) })
	if err := r.s.Save(); err != nil {
		return false, err
	}
	r.publishLocked()
	return true, nil
}

// trash removes ids from the library; ids already gone count as done.
func (q *Queue) trash(r *Record, name, parentID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := q.opContext(r, 0)
	err := q.folders.RemoveGone(ctx, parentID, ids...)
	cancel()
	if err != nil {
		return err
	}
	pending.CrashPoint("retire-answered", name)
	for _, id := range ids {
		if err := q.times.Forget(id); err != nil {
			q.log.Warn("could not update the file times", "err", err)
		}
	}
	q.ix.Retired(ids)
	return nil
}

// cannotTrashLocked reports whether err says the API offers no way to
// remove (entry.ErrNotPermitted: neither the bulk route nor DELETE
// /medias/{id}): nothing changes before the next mount, so the record is
// parked (see process). The caller holds r.mu.
func (r *Record) cannotTrashLocked(err error) bool {
	if !errors.Is(err, entry.ErrNotPermitted) {
		return false
	}
	r.s.Parked = true
	return true
}
