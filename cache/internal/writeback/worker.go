package writeback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

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
	r.parked = false
	r.mu.Unlock()
	for {
		more, err := q.step(r)
		if q.ctx.Err() != nil {
			return // closing: the next start takes it up
		}
		r.mu.Lock()
		// An fsync waiting on this record hears now what it waited for, or
		// of the failure, whichever step failed.
		r.settleLocked(err)
		if err == nil && r.refusal == nil {
			r.failure = ""
		}
		r.mu.Unlock()
		if err != nil {
			r.mu.Lock()
			r.tries++
			r.failedAt = q.clock.Now()
			if r.refusal != nil {
				// Refused by the service: sent again only when the file
				// changes (unparkLocked), never on a timer.
				r.failure, r.retryAt = err.Error(), time.Time{}
				if r.timer != nil {
					r.timer.Stop()
					r.timer = nil
				}
				r.mu.Unlock()
				return
			}
			delay := min(q.retry<<min(r.tries-1, 10), 10*time.Minute)
			r.failure, r.retryAt = err.Error(), r.failedAt.Add(delay)
			if r.parked {
				// Nothing will change before the next mount: tried again
				// at the unmount's drain, and at the next start.
				r.retryAt = time.Time{}
			} else {
				r.scheduleLocked(q.clock.Now().Add(delay))
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
	switch {
	case r.state == stateWriting && r.writers == 0 && r.failed == nil && !r.gone && !r.held:
		// Its last writer closed it, but it could not be marked complete
		// then (a full disk, say): again now.
		err := r.completeLocked(q.clock.Now().Add(q.delay))
		r.mu.Unlock()
		if err != nil {
			return false, fmt.Errorf("%s: could not mark it complete: %w", r.rf.Name, err)
		}
		return true, nil
	case r.gone, r.held, r.state == stateFilling, r.state == stateWriting, r.state == stateIdle:
		r.mu.Unlock()
		return false, nil
	case r.rf.Attempt != nil:
		return q.findAttempt(r)
	case r.state == stateCopying:
		return q.copyIn(r)
	case r.needsConfirmLocked():
		return q.confirmRecord(r)
	case r.state == stateRemoved:
		return q.retire(r, true)
	case r.state == stateComplete && r.refusal != nil:
		// Parked: the service refused these bytes under this name.
		r.mu.Unlock()
		return false, nil
	case r.state == stateComplete || r.state == stateUploading:
		if r.state == stateComplete && q.clock.Now().Before(r.rf.Due) && !q.isDraining() {
			r.scheduleLocked(r.rf.Due)
			r.mu.Unlock()
			return false, nil
		}
		switch {
		case q.caps.UniqueNames && len(r.rf.Replaces) > 0:
			// The copies it supersedes hold the name it takes: they go
			// first (the service refuses a taken name, or makes the upload
			// a version of another file).
			return q.retire(r, false)
		case r.rf.RemoteID != "" && r.rf.RemoteParentID != nil:
			// Moved: the copy follows first (an upload into the new folder
			// would be another file).
			return q.moveRemote(r)
		case !q.caps.NewIDPerUpload && r.elsewhereLocked():
			// The upload makes a new version of the copy that holds the
			// name: that copy takes the new name first.
			return q.renameRemote(r)
		}
		return q.upload(r)
	case r.elsewhereLocked():
		if q.caps.UniqueNames && len(r.rf.Replaces) > 0 {
			return q.retire(r, false) // they hold the name it takes
		}
		if r.rf.RemoteParentID != nil {
			return q.moveRemote(r)
		}
		return q.renameRemote(r)
	case len(r.rf.Replaces) > 0:
		return q.retire(r, false)
	default: // uploaded or retiring, with nothing left
		crashPoint("done", r.rf.Name)
		r.state = stateIdle
		r.unsaveLocked()
		r.publishLocked()
		r.mu.Unlock()
		return false, nil
	}
}

// away lets go of the record for a call to the API: meanwhile it is being
// acted on, and a rename over it waits (hold).
func (r *Record) away() {
	r.acting = true
	r.mu.Unlock()
}

// back takes the record again after a call to the API, and reports
// whether it is still in the queue (the caller then unlocks it).
func (r *Record) back() bool {
	r.mu.Lock()
	r.acting = false
	r.cond.Broadcast()
	return !r.gone
}

func (q *Queue) isDraining() bool { return q.ix.Draining() }

// opContext bounds one call to the API made by a worker.
func (q *Queue) opContext(extra time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(q.ctx, q.timeout+extra)
}

// findAttempt looks for an upload whose answer was lost, before anything
// is sent again. Found with the bytes the record still holds, it is the
// upload; found with other bytes (or for a file removed since), it goes to
// the trash with the other superseded copies. Called with r.mu held; it
// lets go of it.
func (q *Queue) findAttempt(r *Record) (bool, error) {
	a := *r.rf.Attempt
	exclude := append(slices.Clone(r.rf.Replaces), r.rf.RemoteID)
	exclude = append(exclude, r.claimURLsLocked()...)
	r.away()
	exclude = append(exclude, q.ix.KnownIDs()...)

	ctx, cancel := q.opContext(0)
	found, ok, err := q.rc.FindLanded(ctx, remote.Attempt{ParentID: a.ParentID, Name: a.Name, Size: a.Size, At: a.At, Exclude: exclude,
		Into: a.Into, BaseRev: a.BaseRev})
	cancel()

	alive := r.back()
	defer r.mu.Unlock()
	if err != nil {
		return false, fmt.Errorf("looking for an earlier upload of %s: %w", a.Name, entry.Translate(err))
	}
	if !alive {
		return false, nil
	}
	if r.rf.Attempt == nil || *r.rf.Attempt != a {
		return true, nil // changed meanwhile: look again
	}
	switch {
	case !ok:
		r.rf.Attempt = nil
		if r.state == stateUploading {
			r.state = stateComplete
		}
		if (r.data == nil || r.aside) && r.state != stateRemoved {
			// Nothing to send (bytes set aside at a restart): what remains
			// is the copy that owns the name.
			r.dataLessLocked()
			return true, nil
		}
	case a.Content == r.rf.Content && (r.state == stateComplete || r.state == stateUploading):
		q.log.Info("an earlier upload had landed; not sending it again", "name", a.Name, "id", found.ID)
		r.landedLocked(found, a)
		return true, nil
	case found.ID == r.rf.RemoteID && r.state != stateRemoved:
		// A version, of other bytes, of the copy that holds the file
		// (versions under one id): the next upload makes another; the
		// copy is never retired.
		r.rf.Attempt = nil
		r.rf.RemoteRev = found.Rev
		if r.state == stateUploading {
			r.state = stateComplete
		}
	default:
		// Bytes that were changed since, or a file removed since.
		if !slices.Contains(r.rf.Replaces, found.ID) {
			r.rf.Replaces = append(r.rf.Replaces, found.ID)
		}
		r.rf.Attempt = nil
		if r.state == stateUploading {
			r.state = stateComplete
		}
	}
	if err := r.saveLocked(); err != nil {
		return false, err
	}
	return true, nil
}

// upload sends a complete record's bytes. While it does, writes to them
// wait, so that what is sent is what was complete. Called with r.mu held;
// it lets go of it.
func (q *Queue) upload(r *Record) (bool, error) {
	if r.data == nil || r.aside {
		r.dataLessLocked()
		r.mu.Unlock()
		return true, nil
	}
	if limit := q.LimitFor(r.rf.Name); r.size > limit {
		// Queued by a run with a larger --max-upload-size: the API would
		// refuse it.
		err := fmt.Errorf("%w: %s is %d bytes, over the upload limit of %d bytes for %s", entry.ErrTooLarge, r.rf.Name, r.size, limit, uploadType(r.rf.Name))
		q.stats.uploadErrors.Add(1)
		r.notifyLocked(err)
		q.setAside(r, err.Error())
		r.dataLessLocked()
		r.mu.Unlock()
		return true, nil
	}
	a := spool.Attempt{At: q.clock.Now(), Name: r.rf.Name, ParentID: r.rf.ParentID, Size: r.size, Content: r.rf.Content}
	if !q.caps.NewIDPerUpload && !r.elsewhereLocked() {
		// The upload lands as a new version of the copy that holds the
		// name (none for a new file): a lost answer is looked for as one.
		a.Into, a.BaseRev = r.rf.RemoteID, r.rf.RemoteRev
	}
	r.rf.Attempt = &a
	if err := r.setLocked(stateUploading); err != nil {
		r.rf.Attempt = nil
		r.mu.Unlock()
		return false, err
	}
	crashPoint("uploading", a.Name)
	// From now on a listing may hold the upload before its answer is in:
	// the folder's overlay takes it for this file (index: overlay.isSent).
	r.publishLocked()
	r.sending = true
	r.progress = remote.NewProgress(q.clock)
	progress := r.progress
	data := r.data
	exclude := append(slices.Clone(r.rf.Replaces), r.rf.RemoteID)
	exclude = append(exclude, r.claimURLsLocked()...)
	r.away()
	exclude = append(exclude, q.ix.KnownIDs()...)

	// The deadline grows with the size: a slow link must still be able to
	// send a large file (64 KiB/s on top of the usual deadline).
	ctx, cancel := q.opContext(time.Duration(a.Size>>16) * time.Second)
	ctype := uploadType(a.Name)
	item, err := q.rc.Upload(ctx, remote.Upload{
		ParentID:    a.ParentID,
		Name:        a.Name,
		ContentType: ctype,
		Size:        a.Size,
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.NewSectionReader(data, 0, a.Size)), nil
		},
		Exclude:  exclude,
		Progress: progress,
	})
	cancel()

	r.back() // a record being sent never leaves the queue
	defer r.mu.Unlock()
	r.sending, r.progress = false, nil
	r.cond.Broadcast()
	if err != nil {
		if q.ctx.Err() == nil { // not an upload stopped by the unmount
			q.stats.uploadErrors.Add(1)
		}
		if refused(err) {
			r.rf.Attempt = nil // the API said no: nothing landed
		}
		if r.state == stateUploading {
			r.state = stateComplete
		}
		if serr := r.saveLocked(); serr != nil {
			q.log.Warn("spool: could not update a record", "name", a.Name, "err", serr)
		}
		// It waits now: let the bytes outlive the machine, not just ghlfs.
		if serr := data.Sync(); serr != nil {
			q.log.Warn("spool: could not flush a file's bytes to the disk", "name", a.Name, "err", serr)
		}
		if refusedContent(err) && r.state == stateComplete && r.rf.Name == a.Name && r.rf.Content == a.Content {
			// Sending it again unchanged would be refused again: it waits
			// for a change, its bytes in the spool (the README's
			// semantics table names the place).
			err = fmt.Errorf("uploading %s (sent as %s): %w; its bytes are kept in %s; not sent again until the file is changed or renamed, or at the next mount",
				a.Name, ctype, entry.Translate(err), r.dataPath())
			r.refusal = err
		} else {
			err = fmt.Errorf("uploading %s: %w (kept in the spool, will retry)", a.Name, entry.Translate(err))
		}
		if q.ctx.Err() == nil && len(r.waiters) == 0 {
			q.log.Error(err.Error(), "name", a.Name) // else the fsync or close waiting reports it
		}
		return false, err
	}
	crashPoint("upload-answered", a.Name)
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
	if old := r.rf.RemoteID; old != "" && old != item.ID && !slices.Contains(r.rf.Replaces, old) {
		r.rf.Replaces = append(r.rf.Replaces, old)
	}
	r.rf.Replaces = slices.DeleteFunc(r.rf.Replaces, func(id string) bool { return id == item.ID })
	r.rf.RemoteID, r.rf.RemoteName, r.rf.RemoteURL, r.rf.Uploaded = item.ID, a.Name, item.URL, a.Content
	r.rf.RemoteRev, r.rf.RemoteParentID = item.Rev, nil
	if a.ParentID != r.rf.ParentID {
		// Sent before the file was moved: the copy follows it (moveRemote).
		from := a.ParentID
		r.rf.RemoteParentID = &from
	}
	r.rf.Attempt = nil
	if item.Unconfirmed {
		// The answer's id: nothing is changed by it until a listing shows
		// the file (claims.go).
		e.SetCreated(q.clock.Now())
		c := listing.Claim{ParentID: e.ParentID, Name: e.Name, URL: e.URL(), Size: e.Size, At: e.Created(),
			Sent: item.SentAt, Answered: item.CreatedAt}
		r.keepClaimLocked(item.ID, c)
	}
	if r.state == stateUploading || r.state == stateComplete {
		r.state = stateUploaded
	}
	// The time the user set goes with the upload before the landing is
	// recorded: a crash in between finds the upload again, and sets it again.
	if mt := r.rf.ModTime; mt != nil {
		if err := q.times.Set(item.ID, *mt); err != nil {
			q.log.Warn("could not keep a file time", "name", a.Name, "err", err)
		}
	}
	if err := r.saveLocked(); err != nil {
		// A restart looks for the upload and finds it.
		q.log.Warn("spool: could not record an upload", "name", a.Name, "err", err)
	}
	crashPoint("uploaded", a.Name)
	// The record hides the new copy (it shows its own bytes) before the
	// copy is known as the file's and before the listings hold it. A view
	// shows one entry per key whatever the order (Queue.View), but this
	// keeps each step's overlay true on its own.
	r.publishLocked()
	q.setLatest(r.key, e, r.rf.Replaces)
	q.folders.NotePut(a.ParentID, e)
	r.tries = 0
}

// renameRemote gives the copy that owns the name the name the user gave
// the file meanwhile. Called with r.mu held; it lets go of it.
func (q *Queue) renameRemote(r *Record) (bool, error) {
	id, name, parent := r.rf.RemoteID, r.rf.Name, r.rf.ParentID
	r.away()
	ctx, cancel := q.opContext(0)
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
	if errors.Is(err, remote.ErrRouteMissing) && alive && r.rf.RemoteID == id && r.state != stateRemoved {
		// The API cannot rename this file (no route for this token): it
		// is uploaded again under its new name (recopy.go).
		q.log.Info(fmt.Sprintf("%s: the API cannot rename it; uploading it again under its new name (its id and url change)", name), "name", name)
		if err := r.recopyLocked(); err != nil {
			return false, err
		}
		return true, nil
	}
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: could not rename it in the library (will retry): %v", name, err), "name", name)
		return false, err
	}
	if !alive {
		return false, nil
	}
	crashPoint("renamed", name)
	if r.rf.RemoteID == id {
		r.rf.RemoteName = name
		if err := r.saveLocked(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// moveRemote moves the copy that owns the name to the folder the file
// was moved to, under its name (Backend.Move), as renameRemote renames
// it. Called with r.mu held; it lets go of it.
func (q *Queue) moveRemote(r *Record) (bool, error) {
	id, name, parent, from := r.rf.RemoteID, r.rf.Name, r.rf.ParentID, r.remoteParentLocked()
	e := Entry{ID: id, Key: r.key, Name: r.rf.RemoteName, ParentID: from, Size: -1}
	if latest, ok := q.ix.Latest(r.key); ok && latest.ID == id {
		e = latest
	} else if st, ok := q.folders.Cached(from); ok {
		if i := slices.IndexFunc(st.Entries(), func(x Entry) bool { return x.ID == id }); i >= 0 {
			e = st.Entries()[i]
		}
	}
	e.ParentID = from
	r.away()
	ctx, cancel := q.opContext(0)
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
	if err != nil {
		q.log.Error(fmt.Sprintf("%s: could not move it in the library (will retry): %v", name, err), "name", name)
		return false, err
	}
	if !alive {
		return false, nil
	}
	crashPoint("moved", name)
	if r.rf.RemoteID == id {
		r.rf.RemoteName = name
		r.rf.RemoteParentID = nil
		if parent != r.rf.ParentID { // moved on meanwhile
			r.rf.RemoteParentID = &parent
		}
		if err := r.saveLocked(); err != nil {
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
	ids := slices.Clone(r.rf.Replaces)
	// What stays, or could not be trashed yet, for the log line.
	kept, failed := "uploaded; the copy it replaces", "uploaded, but the copy it replaces"
	if all {
		if r.rf.RemoteID != "" {
			ids = append(ids, r.rf.RemoteID)
		}
		kept, failed = "removed here, but its copy", "removed, but its copy"
	} else {
		if r.state == stateUploaded {
			if err := r.setLocked(stateRetiring); err != nil {
				r.mu.Unlock()
				return false, err
			}
		}
		crashPoint("retiring", r.rf.Name)
	}
	name, parent := r.rf.Name, r.rf.ParentID
	var away []string // the copy still in the folder the file was moved from
	if all && r.rf.RemoteParentID != nil && r.rf.RemoteID != "" {
		ids, away = slices.DeleteFunc(ids, func(id string) bool { return id == r.rf.RemoteID }), []string{r.rf.RemoteID}
	}
	from := r.remoteParentLocked()
	r.away()
	err := q.trash(name, from, away)
	if err == nil {
		err = q.trash(name, parent, ids)
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
		r.rf.Replaces, r.rf.RemoteID = nil, ""
		r.unsaveLocked()
		r.dropLocked()
		r.finishLocked()
		return false, nil
	}
	r.rf.Replaces = slices.DeleteFunc(r.rf.Replaces, func(id string) bool { return slices.Contains(ids, id) })
	if err := r.saveLocked(); err != nil {
		return false, err
	}
	r.publishLocked()
	return true, nil
}

// trash removes ids from the library; ids already gone count as done.
func (q *Queue) trash(name, parentID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := q.opContext(0)
	err := q.folders.Remove(ctx, parentID, ids...)
	if errors.Is(err, entry.ErrNotFound) && len(ids) > 1 {
		// Which of them is gone? One at a time tells.
		err = nil
		for _, id := range ids {
			if e := q.folders.Remove(ctx, parentID, id); e != nil && !errors.Is(e, entry.ErrNotFound) {
				err = e
			} else if e != nil {
				q.folders.NoteDrop(parentID, id)
			}
		}
	} else if errors.Is(err, entry.ErrNotFound) {
		q.folders.NoteDrop(parentID, ids[0])
		err = nil
	}
	cancel()
	if err != nil {
		return err
	}
	crashPoint("retire-answered", name)
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
	r.parked = true
	return true
}

// refusedContent reports whether the API refused an upload for what was
// sent (its type, its size, its form): a 4xx other than 401 and 403 (a new
// token or scope may cure them), 404 and 410 (its folder is gone, and may
// come back from the trash) and 408 and 429 (they ask to try later). The
// same bytes under the same name would be refused again.
func refusedContent(err error) bool {
	var e *remote.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case 401, 403, 404, 408, 410, 429:
		return false
	}
	return e.Status >= 400 && e.Status < 500
}

// refused reports whether the API answered a request with a definite no
// (a 4xx other than 408 and 429): it was not carried out.
func refused(err error) bool {
	var e *remote.Error
	if errors.Is(err, remote.ErrMisplaced) {
		return true // nothing is where it was asked for; what landed elsewhere was taken back
	}
	return errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}
