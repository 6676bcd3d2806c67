package writeback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/pending"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/cache/internal/spool"
)

// The changes made to files with pending bytes: what a user's create,
// write, close, rename, removal and fsync do to a record. The worker
// (worker.go) then carries them to the API.

// Create makes a new, empty file named name in folder parentID, with one
// writer: the caller.
func (q *Queue) Create(parentID, name string) (*Record, error) {
	id, f, err := q.spares.Take()
	if err != nil {
		return nil, err
	}
	r := q.newRecord(id, "n:"+newID())
	now := q.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Bytes.Set(f, 0, now)
	r.s.Bytes.Join(true)
	r.s.File = spool.RecordFile{Format: spool.Format, Location: q.location, API: q.api, Key: r.key, ParentID: parentID, Name: name, Content: 1, Created: now}
	if err := r.s.Begin(); err != nil {
		f.Close()
		q.spool.RemoveData(r.id)
		return nil, err
	}
	pending.CrashPoint("writing", name)
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
		r, latest, ok := q.ix.LookupNewer(e)
		if ok && r == nil {
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
		for r.s.State == pending.Filling && !r.s.Gone {
			r.cond.Wait()
		}
		// Renamed where the API cannot rename: its bytes are being copied
		// in, to be uploaded under the new name; a change starts from them.
		if err := r.copyWaitLocked(); err != nil {
			if mine {
				r.s.Bytes.Leave(true)
				r.finishLocked()
			}
			r.mu.Unlock()
			return nil, err
		}
		switch {
		case r.s.Gone && r.s.FillErr != nil:
			err := r.s.FillErr
			r.mu.Unlock()
			return nil, err
		case r.s.Gone:
			r.mu.Unlock()
			continue // it left the queue between the look and the lock
		case r.s.Aside:
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
				e.Name, e.ParentID = r.s.File.Name, r.s.File.ParentID
				r.mu.Unlock()
				continue
			case <-wait.Done():
				cancel()
				if err := ctx.Err(); err != nil {
					// The caller's own call was interrupted (a signal to
					// the tool: the kernel then restarts it, or the tool
					// sees EINTR), not kept waiting too long.
					return nil, fmt.Errorf("%s: waiting for its last changes to be sent: %w", e.Name, err)
				}
				return nil, fmt.Errorf("%w: %s: its last changes are still being sent (%v)", entry.ErrBusy, e.Name, wait.Err())
			}
		case r.s.State == pending.Removed:
			if mine {
				r.s.Bytes.Leave(true)
				r.finishLocked()
			}
			r.mu.Unlock()
			return nil, entry.ErrNotFound
		}
		if !mine {
			r.s.Bytes.Join(true)
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
	id, f, err := q.spares.Take()
	if err != nil {
		return nil, err
	}
	r := q.newRecord(id, "removed:"+e.Key)
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
	r.s.File = spool.RecordFile{Key: r.key, Name: e.Name, ParentID: e.ParentID}
	r.s.Bytes.Set(f, size, q.clock.Now())
	r.s.Bytes.Join(true)
	r.s.State = pending.Removed
	r.s.Gone = true // in no map, never saved, never scheduled
	close(r.left)
	return r, nil
}

// truncateLocked0 empties the bytes (open with O_TRUNC).
func (r *Record) truncateLocked0() error {
	for r.s.Bytes.Sending() {
		r.cond.Wait()
	}
	if r.s.Bytes.Size() == 0 && r.s.State == pending.Writing {
		return nil
	}
	if err := r.changeLocked(); err != nil {
		return err
	}
	err := r.s.Bytes.Truncate(0, r.q.clock.Now())
	if err != nil {
		r.s.Fail(err)
	}
	return err
}

// reserve registers a record for e in state filling, so that a second
// change to e waits for it; nil if one is there already.
func (q *Queue) reserve(e Entry) (*Record, error) {
	r, err := q.recordOf(e, pending.Filling, 1, true)
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
	id := newID()
	var f *os.File
	if data {
		var err error
		if id, f, err = q.spares.Take(); err != nil {
			return nil, err
		}
	}
	r := q.newRecord(id, e.Key)
	r.s.State, r.s.Aside = state, !data
	r.s.Bytes.Set(f, 0, e.ModTime)
	for range writers {
		r.s.Bytes.Join(true)
	}
	r.s.File = spool.RecordFile{Format: spool.Format, Location: q.location, API: q.api, Key: e.Key, ParentID: e.ParentID, Name: e.Name,
		RemoteID: e.ID, RemoteName: e.Name, RemoteURL: e.URL(), RemoteRev: e.Rev, Created: q.clock.Now()}
	if t, ok := q.times.Get(e.ID); ok {
		r.s.File.ModTime = &t
	}
	r.addClaimLocked(e)
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
		size, err = q.loc.Download(ctx, e, r.s.Bytes.File())
		cancel()
		if err != nil {
			err = fmt.Errorf("copying %s to change it: %w", e.Name, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.cond.Broadcast()
	if err != nil {
		r.s.FillErr = err
		r.s.Bytes.Close()
		q.spool.RemoveData(r.id)
		r.dropLocked()
		return
	}
	r.s.Bytes.SetSize(size)
	r.s.State = pending.Idle
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
	if !r.s.Visible() {
		return nil, nil
	}
	return r, r.s.Bytes.Join(false)
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
	return r.s.Visible()
}

// Release counts one reader or writer fewer. When the last writer goes,
// the bytes are complete (and wait out the write-back delay), or, if a
// write failed, are set aside unpublished. When no one is left and
// nothing remains to do, the record goes.
func (r *Record) Release(writer bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.s.Bytes.Leave(writer) == 0 && writer {
		r.closedLocked()
	}
	r.finishLocked()
}

// closedLocked handles the last writer's close.
func (r *Record) closedLocked() {
	q := r.q
	switch {
	case r.s.State == pending.Removed || r.s.Gone:
	case r.s.Failed != nil:
		if r.s.File.Content > r.s.File.Uploaded {
			level := slog.LevelWarn
			if errors.Is(r.s.Failed, entry.ErrTooLarge) {
				level = slog.LevelInfo // the write past the limit said it
			}
			q.spool.SetAsideAt(level, r.id, r.s.File.Name, "a write failed: "+r.s.Failed.Error())
		}
		r.s.Failed = nil
		r.s.File.Failed = ""
		r.dataLessLocked()
	case r.s.State == pending.Writing:
		if err := r.completeLocked(q.clock.Now().Add(q.delay)); err != nil {
			q.log.Error(fmt.Sprintf("%s: could not mark it complete (tried again later; unpublished until then): %v", r.s.File.Name, err), "name", r.s.File.Name)
			r.s.Tries++
			r.scheduleLocked(q.clock.Now().Add(pending.Backoff(q.retry, r.s.Tries)))
		}
	}
}

// completeLocked moves a record from writing to complete, due at due
// (pending.Facts.Complete), and schedules it then.
func (r *Record) completeLocked(due time.Time) error {
	if err := r.s.Complete(due); err != nil {
		return err
	}
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
	r.s.Waiters.Notify(fmt.Errorf("%w: %s was not uploaded (a write failed)", entry.ErrUnavailable, r.s.File.Name))
	switch state := r.s.DataLess(); state {
	case pending.Idle:
		// Nothing left to do: the key is free for the next change at once.
		r.s.State = pending.Idle
		r.s.Unsave()
		q.ix.Unkey(r.key, r)
	default:
		if err := r.s.Set(state); err != nil {
			q.log.Error(fmt.Sprintf("%s: could not update its record: %v", r.s.File.Name, err), "name", r.s.File.Name)
		}
		r.scheduleLocked(time.Time{})
	}
	r.publishLocked()
}

// finishLocked drops the record once no one has it open and nothing
// remains to do.
func (r *Record) finishLocked() {
	if r.s.Bytes.InUse() {
		return
	}
	r.s.Bytes.CloseKept()
	if r.s.Gone {
		if r.s.Bytes.Has() { // the last open file of a record out of the queue
			r.s.CloseData()
		}
		return
	}
	if r.s.State == pending.Removed {
		// The bytes go now; the record stays until its copies are gone.
		r.s.CloseData()
		return
	}
	if r.s.State != pending.Idle {
		return
	}
	if r.q.ix.Busy(r) {
		return // the worker drops it when it is done
	}
	r.s.CloseData()
	r.s.Unsave()
	r.dropLocked()
}

// dropLocked takes the record out of the queue.
func (r *Record) dropLocked() {
	r.q.log.Debug("record out of the queue", "name", r.s.File.Name, "key", r.key, "state", r.s.State, "remote", r.s.File.RemoteID)
	if !r.s.Gone {
		close(r.left)
	}
	r.s.Gone = true
	r.cond.Broadcast()
	r.stopTimerLocked()
	r.s.Waiters.Notify(nil)
	q := r.q
	q.ix.Drop(r.id, r.key, r)
	r.publishLocked()
}

// setAside moves a record's bytes, which must not be uploaded, to
// recovered/, and says where in one log line.
func (q *Queue) setAside(r *Record, why string) {
	q.spool.SetAside(r.id, r.s.File.Name, why)
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

// FreeName waits until no record's copy in the API holds name (as the
// service compares names) in folder parentID for a file that is no
// longer there: renamed or moved, the change not sent yet
// (Facts.Elsewhere), or removed, its copies not trashed yet. Where names
// are unique, a new item given the name meanwhile would meet that copy:
// the service refuses it, or makes an upload a version of the other
// file. Each such record sends its change now (hurry). self is the key
// of the item being renamed ("" none): its own copy is no clash.
func (q *Queue) FreeName(ctx context.Context, parentID, name, self string) error {
	same := func(a string) bool { return a == name || q.caps.CaseInsensitive && strings.EqualFold(a, name) }
	return q.hurry(ctx, name, func(r *Record) bool {
		f := &r.s.File
		return r.key != self && f.RemoteID != "" && r.s.RemoteParent() == parentID && same(f.RemoteName) &&
			(r.s.Elsewhere() || r.s.State == pending.Removed)
	}, q.ix.All()...)
}

// Follow waits until the copy in the API of r's file is in the file's
// folder (a move not sent yet is sent now: hurry): a record another is
// renamed or moved over hands its copies over to be trashed from that
// folder, where the other file hides them.
func (q *Queue) Follow(ctx context.Context, r *Record) error {
	r.mu.Lock()
	name := r.s.File.Name
	r.mu.Unlock()
	return q.hurry(ctx, name, func(r *Record) bool { return r.s.File.RemoteID != "" && r.s.File.RemoteParentID != nil }, r)
}

// hurry has each of rs for which holds is true (under its lock) send its
// rename or move now (Facts.Hurry: whatever its write-back delay and its
// writers), and waits until holds is false for every one, or it left
// the queue; a step that failed meanwhile is the error, as Await's.
// name is what waits, for the error.
func (q *Queue) hurry(ctx context.Context, name string, holds func(r *Record) bool, rs ...*Record) error {
	still := func(r *Record) bool { return !r.s.Gone && holds(r) }
	var held []*Record
	for _, r := range rs {
		r.mu.Lock()
		if still(r) {
			r.s.Hurry = true
			r.scheduleLocked(time.Time{})
			held = append(held, r)
		}
		r.mu.Unlock()
	}
	if len(held) == 0 {
		return nil
	}
	var result error
	closed := q.ix.Watch(ctx, func() bool {
		for _, r := range held {
			r.mu.Lock()
			waits, failure, tries, refusal, file := still(r), r.s.Failure, r.s.Tries, r.s.Refusal, r.s.File.Name
			r.mu.Unlock()
			switch {
			case waits && refusal != nil:
				result = fmt.Errorf("%w: %q: the library holds that name for %s, which the service refused to send on (%v)", entry.ErrExists, name, file, refusal)
				return true
			case waits && failure != "" && tries > 0:
				result = fmt.Errorf("%w: %s: waiting for %s (kept in the queue, will retry)", entry.ErrUnavailable, failure, name)
				return true
			case waits:
				return false
			}
		}
		return true
	})
	switch {
	case result != nil:
		return result
	case closed:
		return fmt.Errorf("%w: ghlfs is stopping", entry.ErrUnavailable)
	}
	return ctx.Err()
}

// renameRecord is rename; idleTo, when not "", is the state an idle
// record (nothing pending: its copy in the API holds its bytes) takes to
// carry the rename out: pending.Uploaded, the rename is sent by the worker
// (renameVia); pending.Copying, the bytes are uploaded again under the new
// name (recopy.go).
//
// dest, when not nil, is the folder the file moves to (Move).
func (q *Queue) renameRecord(r *Record, name string, replace *Entry, target *Record, idleTo string, dest *string) error {
	toCopy := idleTo == pending.Copying
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
	for r.s.State == pending.Filling && !r.s.Gone {
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
	case r.s.Gone:
		return fail(ErrNoRecord)
	case r.s.State == pending.Idle && idleTo != "" && r.s.File.RemoteID != "":
	case r.s.State == pending.Idle:
		return fail(ErrIdle)
	case r.s.State == pending.Removed:
		return fail(entry.ErrNotFound)
	}
	fromIdle := idleTo != "" && r.s.State == pending.Idle
	moving := dest != nil && *dest != r.s.File.ParentID
	if moving {
		// An upload, or a call to the API, under way ends first: its
		// outcome says where the copy is.
		for (r.s.Bytes.Sending() || r.s.Acting) && !r.s.Gone {
			r.cond.Wait()
		}
		if r.s.Gone || !r.s.Visible() || fromIdle || r.s.Held || len(r.s.File.Replaces) > 0 || len(r.s.File.Claims) > 0 {
			return fail(fmt.Errorf("%w: %s: the write-back queue has its last changes still to send", entry.ErrCrossFolder, r.s.File.Name))
		}
	}
	if limit := q.LimitFor(name); r.s.Bytes.Size() > limit && (r.s.File.Content > r.s.File.Uploaded || toCopy) {
		// Bytes still to upload that the new name's type could not take.
		return fail(pending.OverLimit(name, r.s.Bytes.Size(), limit, ""))
	}
	prev, prevState := r.s.File, r.s.State
	if fromIdle {
		r.s.State = idleTo
		// Its bytes are those of its copy in the API (when it has them):
		// a copy need not download them again.
		r.s.Copied = toCopy && r.s.Bytes.Has() && !r.s.Aside
	}
	if replace != nil {
		taken = append(taken, replace.ID)
		claims = q.loc.WithClaim(claims, *replace)
	}
	for _, id := range r.s.Rename(name, dest, taken) {
		if c, ok := claims[id]; ok {
			r.keepClaimLocked(id, c)
		}
	}
	if held {
		r.s.File.Supersedes = append(slices.Clone(r.s.File.Supersedes), target.id)
	}
	// A file the service refused goes again under its new name (another
	// extension is another type), once quiet for the write-back delay; a
	// rename or move of its copy refused (the name taken), at once.
	retry := r.s.Refusal != nil
	if retry && r.s.State == pending.Complete {
		r.s.File.Due = q.clock.Now().Add(q.delay)
	}
	// A new file the API knows nothing of yet, renamed onto a free name
	// (rsync's temporary files, an editor's): noted, as its close is; a
	// power cut may lose the rename, as a local disk's may.
	save := r.s.Save
	if replace == nil && target == nil && !moving && r.s.Fresh() {
		save = r.s.Note
	}
	if err := save(); err != nil {
		r.s.File, r.s.State = prev, prevState
		r.s.Copied = false
		return fail(err)
	}
	if retry {
		r.s.Unpark()
		r.scheduleLocked(r.s.File.Due)
	}
	if r.s.State == pending.Uploaded || r.s.State == pending.Retiring {
		r.scheduleLocked(time.Time{})
	}
	if toCopy && r.s.State == pending.Copying {
		pending.CrashPoint("copying", name)
		r.scheduleLocked(time.Time{})
	}
	if moving {
		pending.CrashPoint("moving", name)
		if r.s.Elsewhere() && r.s.State != pending.Writing {
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
	for (r.s.Bytes.Sending() || r.s.Acting || r.s.State == pending.Filling) && !r.s.Gone {
		r.cond.Wait()
	}
	return r.s.Hold()
}

// unhold lets a held record act again (the rename over it failed).
func (r *Record) unhold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Held = false
	r.scheduleLocked(time.Time{})
}

// supersede drops a held record another was renamed over: its bytes are
// not published, and its API copies are the other record's to retire now
// (Hold), but for the copy that owns the name while it is still in the
// folder the file was moved from: the record, removed, trashes it from
// there, and hides it there meanwhile. An upload of it whose answer was
// lost is still looked for, and trashed if found.
func (q *Queue) supersede(r *Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Held = false
	r.s.Waiters.Notify(nil)
	away := r.s.File.RemoteParentID != nil && r.s.File.RemoteID != ""
	if !away {
		r.s.File.RemoteID = ""
	}
	r.s.File.Replaces = nil
	r.s.Unlink() // open files keep their descriptor
	if r.s.File.Attempt != nil || away {
		r.s.State = pending.Removed
		if err := r.s.Save(); err != nil {
			q.log.Warn("spool: could not update a record", "name", r.s.File.Name, "err", err)
		}
		q.ix.Unkey(r.key, r)
		r.publishLocked()
		r.scheduleLocked(time.Time{})
		r.finishLocked()
		return
	}
	r.s.State = pending.Idle
	r.s.Unsave()
	r.dropLocked()
	r.finishLocked()
}

// Remove removes a record's file: its bytes are not published, open files
// keep them until they close, and its copies in the API go to the trash.
func (q *Queue) Remove(r *Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.s.State == pending.Filling && !r.s.Gone {
		r.cond.Wait()
	}
	switch {
	case r.s.Gone:
		return ErrNoRecord
	case r.s.State == pending.Idle:
		return ErrIdle
	case r.s.State == pending.Removed:
		return entry.ErrNotFound
	}
	nothingRemote, err := r.s.Remove()
	r.cond.Broadcast() // a change waiting for a copy in
	if err != nil {
		return err
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
func (r *Record) APIRenamed(id, name string) { r.apiChanged(id, nil, name) }

// APIMoved records that the API copy id of an idle record was moved
// through the API to folder parentID under name, as APIRenamed.
func (r *Record) APIMoved(id, parentID, name string) { r.apiChanged(id, &parentID, name) }

func (r *Record) apiChanged(id string, parentID *string, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.s.Gone || r.s.File.RemoteID != id {
		return
	}
	if parentID != nil {
		r.s.File.ParentID, r.s.File.RemoteParentID = *parentID, nil
	}
	r.s.File.Name, r.s.File.RemoteName = name, name
	if r.s.Saved {
		if err := r.s.Save(); err != nil {
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
	if r.s.Gone || r.s.File.RemoteID != id {
		return
	}
	r.s.State = pending.Removed
	r.s.Unsave()
	r.s.Unlink() // open files keep their descriptor
	r.dropLocked()
	r.finishLocked()
}

// SetModTime keeps t as the record's time.
func (r *Record) SetModTime(t time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.s.State == pending.Filling && !r.s.Gone {
		r.cond.Wait()
	}
	if r.s.Gone || r.s.Aside {
		return ErrNoRecord
	}
	r.s.File.ModTime = &t
	if r.s.File.RemoteID != "" && r.s.File.Uploaded == r.s.File.Content {
		// The copy in the API holds these bytes: it keeps the time too.
		if err := r.q.times.Set(r.s.File.RemoteID, t); err != nil {
			return err
		}
	}
	switch {
	case !r.s.Saved:
	case r.s.State == pending.Writing && r.s.Bytes.Writers() > 0:
		// Noted at its close, with the rest: a crash before sets the bytes
		// aside, whatever their time.
	default:
		return r.s.Note() // durable before the worker acts on it, as a close is
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
	if r.s.Failed != nil || r.s.Gone || r.s.State != pending.Writing {
		return
	}
	if err := r.completeLocked(q.clock.Now().Add(q.delay)); err != nil {
		// The release tries again, and says so if it fails.
		q.log.Debug("could not mark it complete at close", "name", r.s.File.Name, "err", err)
	}
}

// Sync makes the record's bytes complete now, uploads them, and returns
// the upload's result (fsync, or a close in sync mode).
func (q *Queue) Sync(ctx context.Context, r *Record) error {
	r.mu.Lock()
	if r.s.Failed != nil {
		err := r.s.Failed
		r.mu.Unlock()
		return err
	}
	switch r.s.State {
	case pending.Writing:
		if err := r.completeLocked(q.clock.Now()); err != nil {
			r.mu.Unlock()
			return err
		}
	case pending.Complete:
		if r.s.Refusal != nil {
			// Refused as it is: sending it again would be refused again.
			err := r.s.Refusal
			r.mu.Unlock()
			return err
		}
		r.s.File.Due = q.clock.Now()
	case pending.Removed, pending.Filling:
		r.mu.Unlock()
		return nil
	}
	if err := r.s.Refusal; err != nil && !r.s.Gone {
		// Parked (a rename of its copy refused, say): nothing is sent
		// until the user changes the file, so nothing would answer.
		r.mu.Unlock()
		return err
	}
	if r.s.Gone || r.s.File.Uploaded >= r.s.File.Content {
		r.mu.Unlock()
		return nil
	}
	w := r.s.Waiters.Add(r.s.File.Content)
	r.scheduleLocked(time.Time{})
	r.mu.Unlock()
	select {
	case err := <-w.Done():
		return err
	case <-ctx.Done():
		r.mu.Lock()
		r.s.Waiters.Remove(w)
		r.mu.Unlock()
		return ctx.Err()
	}
}
