package writeback

import (
	"context"
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
	"github.com/ghlfs/ghlfs/remote"
)

// The changes made to files with pending bytes: what a user's create,
// write, close, rename, removal and fsync do to a record. The worker
// (worker.go) then carries them to the API.

// Create makes a new, empty file named name in folder parentID, with one
// writer: the caller.
func (q *Queue) Create(parentID, name string) (*Record, error) {
	r := q.newRecord(newID(), "n:"+newID())
	f, err := q.spool.CreateData(r.id)
	if err != nil {
		return nil, err
	}
	now := q.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data, r.touched, r.writers = f, now, 1
	r.rf = spool.RecordFile{Format: spool.Format, Location: q.location, API: q.api, Key: r.key, ParentID: parentID, Name: name, Content: 1, Created: now}
	if err := r.setLocked(stateWriting); err != nil {
		f.Close()
		q.spool.RemoveData(r.id)
		return nil, err
	}
	crashPoint("writing", name)
	q.log.Debug("new file", "name", name, "key", r.key, "parent", parentID)
	q.ix.Add(r.id, r.key, r)
	r.publishLocked()
	return r, nil
}

// TestHookAsideWait, when set (by the front's tests, which cannot reach
// this package's own names), is called as a change begins to wait for a
// record with its bytes set aside to leave the queue.
var TestHookAsideWait func()

// Modify returns the record through which the bytes of e (a file of the
// API, or one with a record already) are changed, with one more writer:
// the caller. A new record starts as a copy of e's bytes, unless truncate
// is set; then it starts empty. Changes to one file at once share one
// record.
func (q *Queue) Modify(ctx context.Context, e Entry, truncate bool) (*Record, error) {
	for {
		r, latest, ok := q.ix.LookupLatest(e.Key)
		if ok && r == nil && latest.ID != e.ID {
			e = latest // uploaded, and out of the queue, since e was resolved
		}
		mine := false
		if r == nil && e.Pending {
			return nil, entry.ErrNotFound
		}
		if r == nil {
			var err error
			if r, err = q.reserve(e); err != nil {
				return nil, err
			}
			if r == nil {
				continue // another change got there first
			}
			q.fill(ctx, r, e, truncate)
			mine = true // reserve counted the caller as a writer
		}
		r.mu.Lock()
		for r.state == stateFilling && !r.gone {
			r.cond.Wait()
		}
		// Renamed where the API cannot rename: its bytes are being copied
		// in, to be uploaded under the new name; a change starts from them.
		if err := r.copyWaitLocked(); err != nil {
			if mine {
				r.writers--
				r.finishLocked()
			}
			r.mu.Unlock()
			return nil, err
		}
		switch {
		case r.gone && r.fillErr != nil:
			err := r.fillErr
			r.mu.Unlock()
			return nil, err
		case r.gone:
			r.mu.Unlock()
			continue // it left the queue between the look and the lock
		case r.aside:
			// Its bytes were set aside and what it still has to do in the API
			// (look for a lost upload, a rename, a trash) decides what the
			// file is: the change starts once that is done.
			left := r.left
			r.mu.Unlock()
			wait, cancel := context.WithTimeout(ctx, q.timeout)
			if TestHookAsideWait != nil {
				TestHookAsideWait()
			}
			select {
			case <-left:
				cancel()
				// What it did (a rename) is the file now: the name the
				// change was asked under may be older (resolved before the
				// rename landed).
				r.mu.Lock()
				e.Name, e.ParentID = r.rf.Name, r.rf.ParentID
				r.mu.Unlock()
				continue
			case <-wait.Done():
				cancel()
				return nil, fmt.Errorf("%w: %s: its last changes are still being sent (%v)", entry.ErrBusy, e.Name, wait.Err())
			}
		case r.state == stateRemoved:
			if mine {
				r.writers--
				r.finishLocked()
			}
			r.mu.Unlock()
			return nil, entry.ErrNotFound
		}
		if !mine {
			r.writers++
		}
		var err error
		if truncate {
			err = r.truncateLocked0()
		}
		r.mu.Unlock()
		if err != nil {
			r.Release(true)
			return nil, err
		}
		return r, nil
	}
}

// Scratch returns a record for a file removed while a descriptor was open
// on it, which writes to it now: a copy of its bytes (or empty, with
// truncate) that lives as long as the descriptors, and is never uploaded.
func (q *Queue) Scratch(ctx context.Context, e Entry, truncate bool) (*Record, error) {
	r := q.newRecord(newID(), "removed:"+e.Key)
	f, err := q.spool.CreateData(r.id)
	if err != nil {
		return nil, err
	}
	q.spool.RemoveData(r.id) // never seen by a restart
	var size int64
	if !truncate && !e.Pending {
		ctx, cancel := context.WithTimeout(ctx, q.timeout)
		size, err = q.loc.Download(ctx, e, f)
		cancel()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %s was removed while open, and its bytes can no longer be read to change them: %v", entry.ErrUnavailable, e.Name, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rf = spool.RecordFile{Key: r.key, Name: e.Name, ParentID: e.ParentID}
	r.data, r.size, r.writers, r.touched = f, size, 1, q.clock.Now()
	r.state = stateRemoved
	r.gone = true // in no map, never saved, never scheduled
	close(r.left)
	return r, nil
}

// truncateLocked0 empties the bytes (open with O_TRUNC).
func (r *Record) truncateLocked0() error {
	for r.sending {
		r.cond.Wait()
	}
	if r.size == 0 && r.state == stateWriting {
		return nil
	}
	if err := r.changeLocked(); err != nil {
		return err
	}
	if err := r.data.Truncate(0); err != nil {
		err = fmt.Errorf("spool: %w", err)
		r.failLocked(err)
		return err
	}
	r.size = 0
	r.touched = r.q.clock.Now()
	return nil
}

// reserve registers a record for e in state filling, so that a second
// change to e waits for it; nil if one is there already.
func (q *Queue) reserve(e Entry) (*Record, error) {
	r, err := q.recordOf(e, stateFilling, 1, true)
	if r != nil {
		q.log.Debug("changing a file", "name", e.Name, "key", e.Key, "remote", e.ID)
	}
	return r, err
}

// recordOf registers a record, in memory only, whose file is e (a file of
// the API), in state with writers writers, and an empty spool file when
// data is set (else no bytes at all: its copy in the API stands for the
// file, as for a record whose bytes were set aside); nil if e has a
// record already.
func (q *Queue) recordOf(e Entry, state string, writers int, data bool) (*Record, error) {
	r := q.newRecord(newID(), e.Key)
	var f *os.File
	if data {
		var err error
		if f, err = q.spool.CreateData(r.id); err != nil {
			return nil, err
		}
	}
	r.data, r.state, r.writers, r.aside = f, state, writers, !data
	r.rf = spool.RecordFile{Format: spool.Format, Location: q.location, API: q.api, Key: e.Key, ParentID: e.ParentID, Name: e.Name,
		RemoteID: e.ID, RemoteName: e.Name, RemoteURL: e.URL(), RemoteRev: e.Rev, Created: q.clock.Now()}
	if t, ok := q.times.Get(e.ID); ok {
		r.rf.ModTime = &t
	}
	r.addClaimLocked(e)
	r.touched = e.ModTime
	if !q.ix.Reserve(r.id, r.key, r, e.ID) {
		if f != nil {
			f.Close()
			q.spool.RemoveData(r.id)
		}
		return nil, nil
	}
	return r, nil
}

// fill copies e's bytes into a reserved record (unless truncate), and
// makes it idle: a copy of e, changed by nothing yet.
func (q *Queue) fill(ctx context.Context, r *Record, e Entry, truncate bool) {
	var err error
	var size int64
	if !truncate {
		ctx, cancel := context.WithTimeout(ctx, q.timeout)
		size, err = q.loc.Download(ctx, e, r.data)
		cancel()
		if err != nil {
			err = fmt.Errorf("copying %s to change it: %w", e.Name, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.cond.Broadcast()
	if err != nil {
		r.fillErr = err
		r.data.Close()
		r.data = nil
		q.spool.RemoveData(r.id)
		r.dropLocked()
		return
	}
	r.size = size
	r.state = stateIdle
	r.publishLocked()
}

// Read returns the record of key with one more reader, and the spool
// file that reader reads, if it has bytes the mount shows.
func (q *Queue) Read(key string) (*Record, *os.File) {
	r := q.Lookup(key)
	if r == nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.visibleLocked() {
		return nil, nil
	}
	r.readers++
	return r, r.data
}

// Shows reports whether the record of key has bytes the mount shows (as
// read would find them), without counting a reader.
func (q *Queue) Shows(key string) bool {
	r := q.Lookup(key)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.visibleLocked()
}

// Release counts one reader or writer fewer. When the last writer goes,
// the bytes are complete (and wait out the write-back delay), or, if a
// write failed, are set aside unpublished. When no one is left and
// nothing remains to do, the record goes.
func (r *Record) Release(writer bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if writer {
		r.writers--
		if r.writers == 0 {
			r.closedLocked()
		}
	} else {
		r.readers--
	}
	r.finishLocked()
}

// closedLocked handles the last writer's close.
func (r *Record) closedLocked() {
	q := r.q
	switch {
	case r.state == stateRemoved || r.gone:
	case r.failed != nil:
		if r.rf.Content > r.rf.Uploaded {
			level := slog.LevelWarn
			if errors.Is(r.failed, entry.ErrTooLarge) {
				level = slog.LevelInfo // the write past the limit said it
			}
			q.spool.SetAsideAt(level, r.id, r.rf.Name, "a write failed: "+r.failed.Error())
		}
		r.failed = nil
		r.rf.Failed = ""
		r.dataLessLocked()
	case r.state == stateWriting:
		if err := r.completeLocked(q.clock.Now().Add(q.delay)); err != nil {
			q.log.Error(fmt.Sprintf("%s: could not mark it complete (tried again later; unpublished until then): %v", r.rf.Name, err), "name", r.rf.Name)
			r.tries++
			r.scheduleLocked(q.clock.Now().Add(min(q.retry<<min(r.tries-1, 10), 10*time.Minute)))
		}
	}
}

// completeLocked moves a record from writing to complete, due at due. The
// record keeps the size and a checksum of the bytes: a restart uploads
// them only if they are still exactly these (after a power cut, say, the
// disk may hold less than was written). That costs a read of the bytes,
// far less than forcing them to the disk on every close.
func (r *Record) completeLocked(due time.Time) error {
	sum, err := spool.Checksum(r.data, r.size)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	r.rf.Size, r.rf.Sum = r.size, sum
	r.rf.Due = due
	if err := r.setLocked(stateComplete); err != nil {
		return err
	}
	crashPoint("complete", r.rf.Name)
	r.scheduleLocked(due)
	return nil
}

// dataLessLocked leaves a record with no bytes to publish: the copy in
// the API (if any) owns the name, and what remains to do for it (a rename,
// retiring the copies it superseded) is done by the record as a chore. The
// file's key is free for a new record from then on; open files keep
// reading the bytes they had, as with a file removed while open.
func (r *Record) dataLessLocked() {
	q := r.q
	r.notifyLocked(fmt.Errorf("%w: %s was not uploaded (a write failed)", entry.ErrUnavailable, r.rf.Name))
	r.aside = true
	switch {
	case r.rf.Attempt != nil:
		// An earlier, complete version was sent, and its answer lost: if it
		// landed, it owns the name. It is looked for first.
		r.rf.Content = r.rf.Attempt.Content
		if err := r.setLocked(stateUploading); err != nil {
			q.log.Error(fmt.Sprintf("%s: could not update its record: %v", r.rf.Name, err), "name", r.rf.Name)
		}
		r.scheduleLocked(time.Time{})
	case len(r.rf.Replaces) > 0 && r.rf.RemoteID != "" || r.elsewhereLocked():
		r.rf.Content = r.rf.Uploaded
		if err := r.setLocked(stateUploaded); err != nil {
			q.log.Error(fmt.Sprintf("%s: could not update its record: %v", r.rf.Name, err), "name", r.rf.Name)
		}
		r.scheduleLocked(time.Time{})
	default:
		// Nothing left to do: the key is free for the next change at once.
		r.rf.Content = r.rf.Uploaded
		r.state = stateIdle
		r.unsaveLocked()
		q.ix.Unkey(r.key, r)
	}
	r.publishLocked()
}

// finishLocked drops the record once no one has it open and nothing
// remains to do.
func (r *Record) finishLocked() {
	if r.writers+r.readers > 0 || r.sending {
		return
	}
	for _, f := range r.kept {
		f.Close()
	}
	r.kept = nil
	if r.gone {
		if r.data != nil { // the last open file of a record out of the queue
			r.closeDataLocked()
		}
		return
	}
	if r.state == stateRemoved {
		// The bytes go now; the record stays until its copies are gone.
		r.closeDataLocked()
		return
	}
	if r.state != stateIdle {
		return
	}
	if r.q.ix.Busy(r) {
		return // the worker drops it when it is done
	}
	r.closeDataLocked()
	r.unsaveLocked()
	r.dropLocked()
}

func (r *Record) closeDataLocked() {
	if r.data != nil {
		r.data.Close()
		r.data = nil
	}
	if err := r.q.spool.RemoveData(r.id); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.q.log.Warn("spool: could not delete a file's bytes", "name", r.rf.Name, "err", err)
	}
}

// dropLocked takes the record out of the queue.
func (r *Record) dropLocked() {
	r.q.log.Debug("record out of the queue", "name", r.rf.Name, "key", r.key, "state", r.state, "remote", r.rf.RemoteID)
	if !r.gone {
		close(r.left)
	}
	r.gone = true
	r.cond.Broadcast()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	for _, w := range r.waiters {
		w.done <- nil
	}
	r.waiters = nil
	q := r.q
	q.ix.Drop(r.id, r.key, r)
	r.publishLocked()
}

// setAside moves a record's bytes, which must not be uploaded, to
// recovered/, and says where in one log line.
func (q *Queue) setAside(r *Record, why string) {
	q.spool.SetAside(r.id, r.rf.Name, why)
}

// Rename gives a record's file a new name in its folder. If it replaces
// another file, that is superseded: an API copy (replace) goes to the
// trash once this file owns the name; another record (target) is dropped
// and its API copies go the same way.
func (q *Queue) Rename(r *Record, name string, replace *Entry, target *Record) error {
	return q.renameRecord(r, name, replace, target, "", nil)
}

// Move puts a record's file in folder parentID under name, replacing
// replace or target as Rename does. The record's folder changes at once
// (saved in its file, as a rename is: the extended state "moved", with
// RemoteParentID set while its copy in the API is still in the folder it
// left); the worker then moves that copy (Backend.Move) before it
// uploads anything. A record that shows no bytes of its own (set aside,
// being copied in), or that still has copies to retire, answers
// ErrCrossFolder: mv then copies the file, which the queue takes as any
// new file, and removes it.
func (q *Queue) Move(r *Record, parentID, name string, replace *Entry, target *Record) error {
	return q.renameRecord(r, name, replace, target, "", &parentID)
}

// renameRecord is rename; idleTo, when not "", is the state an idle
// record (nothing pending: its copy in the API holds its bytes) takes to
// carry the rename out: stateUploaded, the rename is sent by the worker
// (renameVia); stateCopying, the bytes are uploaded again under the new
// name (recopy.go).
//
// dest, when not nil, is the folder the file moves to (Move).
func (q *Queue) renameRecord(r *Record, name string, replace *Entry, target *Record, idleTo string, dest *string) error {
	toCopy := idleTo == stateCopying
	var taken []string
	var claims map[string]listing.Claim // of the ids in taken
	held := false
	if target != nil && target != r {
		taken, claims, held = target.hold()
		if latest, ok := q.Latest(target.key); ok && !held {
			// Its upload landed (and the record left) while the rename
			// waited for it: that copy goes, as the file it was.
			taken = append(taken, latest.ID)
			claims = q.loc.WithClaim(claims, latest)
		}
	}
	r.mu.Lock()
	for r.state == stateFilling && !r.gone {
		r.cond.Wait()
	}
	fail := func(err error) error {
		r.mu.Unlock()
		if held {
			target.unhold()
		}
		return err
	}
	switch {
	case r.gone:
		return fail(ErrNoRecord)
	case r.state == stateIdle && idleTo != "" && r.rf.RemoteID != "":
	case r.state == stateIdle:
		return fail(ErrIdle)
	case r.state == stateRemoved:
		return fail(entry.ErrNotFound)
	}
	fromIdle := idleTo != "" && r.state == stateIdle
	moving := dest != nil && *dest != r.rf.ParentID
	if moving {
		// An upload, or a call to the API, under way ends first: its
		// outcome says where the copy is.
		for (r.sending || r.acting) && !r.gone {
			r.cond.Wait()
		}
		if r.gone || !r.visibleLocked() || fromIdle || r.held || len(r.rf.Replaces) > 0 || len(r.rf.Claims) > 0 {
			return fail(fmt.Errorf("%w: %s: the write-back queue has its last changes still to send", entry.ErrCrossFolder, r.rf.Name))
		}
	}
	if limit := q.LimitFor(name); r.size > limit && (r.rf.Content > r.rf.Uploaded || toCopy) {
		// Bytes still to upload that the new name's type could not take.
		return fail(fmt.Errorf("%w: %s is %d bytes, over the upload limit of %d bytes for %s", entry.ErrTooLarge, name, r.size, limit, remote.IntendedType(name)))
	}
	prev, prevState := r.rf, r.state
	if fromIdle {
		r.state = idleTo
		// Its bytes are those of its copy in the API (when it has them):
		// a copy need not download them again.
		r.copied = toCopy && r.data != nil && !r.aside
	}
	r.rf.Replaces = slices.Clone(r.rf.Replaces)
	r.rf.Name = name
	if moving {
		switch from := r.remoteParentLocked(); {
		case r.rf.RemoteID == "":
		case from == *dest:
			r.rf.RemoteParentID = nil // moved back where its copy is
		default:
			r.rf.RemoteParentID = &from
		}
		r.rf.ParentID = *dest
	}
	if replace != nil {
		taken = append(taken, replace.ID)
		claims = q.loc.WithClaim(claims, *replace)
	}
	r.rf.Claims = maps.Clone(r.rf.Claims)
	for _, id := range taken {
		if id != "" && id != r.rf.RemoteID && !slices.Contains(r.rf.Replaces, id) {
			r.rf.Replaces = append(r.rf.Replaces, id)
			if c, ok := claims[id]; ok {
				r.keepClaimLocked(id, c)
			}
		}
	}
	if held {
		r.rf.Supersedes = append(slices.Clone(r.rf.Supersedes), target.id)
	}
	// A file the service refused goes again under its new name (another
	// extension is another type), once quiet for the write-back delay.
	retry := r.refusal != nil && r.state == stateComplete
	if retry {
		r.rf.Due = q.clock.Now().Add(q.delay)
	}
	if err := r.saveLocked(); err != nil {
		r.rf, r.state = prev, prevState
		r.copied = false
		return fail(err)
	}
	if retry {
		r.unparkLocked()
		r.scheduleLocked(r.rf.Due)
	}
	if r.state == stateUploaded || r.state == stateRetiring {
		r.scheduleLocked(time.Time{})
	}
	if toCopy && r.state == stateCopying {
		crashPoint("copying", name)
		r.scheduleLocked(time.Time{})
	}
	if moving {
		crashPoint("moving", name)
		if r.elsewhereLocked() && r.state != stateWriting {
			r.scheduleLocked(time.Time{})
		}
	}
	r.publishLocked()
	r.mu.Unlock()
	if held {
		q.supersede(target)
	}
	return nil
}

// hold stops a record another is being renamed over from acting in the
// API (after its upload under way, if any, ended), and returns the API
// copies it holds; false if it is gone already.
func (r *Record) hold() ([]string, map[string]listing.Claim, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for (r.sending || r.acting || r.state == stateFilling) && !r.gone {
		r.cond.Wait()
	}
	switch {
	case r.aside && !r.gone:
		// Its bytes were set aside; the copy in the API that holds the
		// name goes too.
		return []string{r.rf.RemoteID}, maps.Clone(r.rf.Claims), false
	case r.gone || r.state == stateRemoved:
		return nil, nil, false
	}
	r.held = true
	return append(slices.Clone(r.rf.Replaces), r.rf.RemoteID), maps.Clone(r.rf.Claims), true
}

// unhold lets a held record act again (the rename over it failed).
func (r *Record) unhold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held = false
	r.scheduleLocked(time.Time{})
}

// supersede drops a held record another was renamed over: its bytes are
// not published, and its API copies are the other record's to retire now.
// An upload of it whose answer was lost is still looked for, and trashed
// if found.
func (q *Queue) supersede(r *Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held = false
	for _, w := range r.waiters {
		w.done <- nil
	}
	r.waiters = nil
	r.rf.RemoteID, r.rf.Replaces = "", nil
	if r.data != nil {
		q.spool.RemoveData(r.id) // open files keep their descriptor
	}
	if r.rf.Attempt != nil {
		r.state = stateRemoved
		if err := r.saveLocked(); err != nil {
			q.log.Warn("spool: could not update a record", "name", r.rf.Name, "err", err)
		}
		q.ix.Unkey(r.key, r)
		r.publishLocked()
		r.scheduleLocked(time.Time{})
		r.finishLocked()
		return
	}
	r.state = stateIdle
	r.unsaveLocked()
	r.dropLocked()
	r.finishLocked()
}

// Remove removes a record's file: its bytes are not published, open files
// keep them until they close, and its copies in the API go to the trash.
func (q *Queue) Remove(r *Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.state == stateFilling && !r.gone {
		r.cond.Wait()
	}
	switch {
	case r.gone:
		return ErrNoRecord
	case r.state == stateIdle:
		return ErrIdle
	case r.state == stateRemoved:
		return entry.ErrNotFound
	}
	for _, w := range r.waiters {
		w.done <- nil
	}
	r.waiters = nil
	nothingRemote := r.rf.RemoteID == "" && len(r.rf.Replaces) == 0 && r.rf.Attempt == nil && !r.sending
	r.unparkLocked() // what the service refused is not to be sent any more
	prevState := r.state
	r.state = stateRemoved
	r.cond.Broadcast() // a change waiting for a copy in
	if nothingRemote {
		r.unsaveLocked()
	} else if err := r.saveLocked(); err != nil {
		r.state = prevState
		return err
	} else {
		crashPoint("removed", r.rf.Name)
	}
	if r.data != nil && !r.sending {
		r.q.spool.RemoveData(r.id) // open files keep their descriptor
	}
	if nothingRemote {
		r.dropLocked()
	} else {
		r.publishLocked()
		r.scheduleLocked(time.Time{})
	}
	r.finishLocked()
	return nil
}

// APIRenamed records that the API copy id of an idle record was renamed
// through the API: the record takes the name, also if a write through a
// descriptor still open changed it meanwhile (its bytes then go up under
// the new name).
func (r *Record) APIRenamed(id, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone || r.rf.RemoteID != id {
		return
	}
	r.rf.Name, r.rf.RemoteName = name, name
	if r.saved {
		if err := r.saveLocked(); err != nil {
			r.q.log.Warn("spool: could not update a record", "name", name, "err", err)
		}
	}
	r.publishLocked()
}

// APIMoved records that the API copy id of an idle record was moved
// through the API to folder parentID under name, as APIRenamed.
func (r *Record) APIMoved(id, parentID, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone || r.rf.RemoteID != id {
		return
	}
	r.rf.ParentID, r.rf.Name, r.rf.RemoteName, r.rf.RemoteParentID = parentID, name, name, nil
	if r.saved {
		if err := r.saveLocked(); err != nil {
			r.q.log.Warn("spool: could not update a record", "name", name, "err", err)
		}
	}
	r.publishLocked()
}

// APIRemoved records that the API copy id of an idle record was removed
// through the API: the record leaves the queue, and its bytes, also if a
// descriptor still open wrote to them meanwhile, are never uploaded (they
// stay for the open descriptors, as a file removed while open).
func (r *Record) APIRemoved(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone || r.rf.RemoteID != id {
		return
	}
	r.state = stateRemoved
	r.unsaveLocked()
	if r.data != nil {
		r.q.spool.RemoveData(r.id) // open files keep their descriptor
	}
	r.dropLocked()
	r.finishLocked()
}

// SetModTime keeps t as the record's time.
func (r *Record) SetModTime(t time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.state == stateFilling && !r.gone {
		r.cond.Wait()
	}
	if r.gone || r.aside {
		return ErrNoRecord
	}
	r.rf.ModTime = &t
	if r.rf.RemoteID != "" && r.rf.Uploaded == r.rf.Content {
		// The copy in the API holds these bytes: it keeps the time too.
		if err := r.q.times.Set(r.rf.RemoteID, t); err != nil {
			return err
		}
	}
	if r.saved {
		return r.saveLocked()
	}
	return nil
}

// Closing makes the record's bytes complete at its only writer's close
// (FLUSH, which close(2) waits for) rather than at the kernel's RELEASE,
// which comes after close returned: once a tool's close returned, a crash
// finds the file complete, and the next mount uploads it instead of
// setting it aside. A write after that (through a duplicate of the
// descriptor) makes it writing again, as after an fsync.
func (q *Queue) Closing(r *Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed != nil || r.gone || r.state != stateWriting {
		return
	}
	if err := r.completeLocked(q.clock.Now().Add(q.delay)); err != nil {
		// The release tries again, and says so if it fails.
		q.log.Debug("could not mark it complete at close", "name", r.rf.Name, "err", err)
	}
}

// Sync makes the record's bytes complete now, uploads them, and returns
// the upload's result (fsync, or a close in sync mode).
func (q *Queue) Sync(ctx context.Context, r *Record) error {
	r.mu.Lock()
	if r.failed != nil {
		err := r.failed
		r.mu.Unlock()
		return err
	}
	switch r.state {
	case stateWriting:
		if err := r.completeLocked(q.clock.Now()); err != nil {
			r.mu.Unlock()
			return err
		}
	case stateComplete:
		if r.refusal != nil {
			// Refused as it is: sending it again would be refused again.
			err := r.refusal
			r.mu.Unlock()
			return err
		}
		r.rf.Due = q.clock.Now()
	case stateRemoved, stateFilling:
		r.mu.Unlock()
		return nil
	}
	if r.gone || r.rf.Uploaded >= r.rf.Content {
		r.mu.Unlock()
		return nil
	}
	w := &waiter{content: r.rf.Content, done: make(chan error, 1)}
	r.waiters = append(r.waiters, w)
	r.scheduleLocked(time.Time{})
	r.mu.Unlock()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		r.mu.Lock()
		r.waiters = slices.DeleteFunc(r.waiters, func(x *waiter) bool { return x == w })
		r.mu.Unlock()
		return ctx.Err()
	}
}

// notifyLocked answers every waiter with err.
func (r *Record) notifyLocked(err error) {
	for _, w := range r.waiters {
		w.done <- err
	}
	r.waiters = nil
}

// settleLocked answers the waiters a worker's step settled: those whose
// version was uploaded (the copies it replaces go to the trash after, and
// a failure to trash them is not theirs), and, when the step failed, those
// whose version was not uploaded, with its error.
func (r *Record) settleLocked(stepErr error) {
	keep := r.waiters[:0]
	for _, w := range r.waiters {
		switch {
		case w.content <= r.rf.Uploaded:
			w.done <- nil
		case w.content > r.rf.Uploaded && stepErr != nil:
			w.done <- stepErr
		default:
			keep = append(keep, w)
		}
	}
	r.waiters = keep
}
