package writeback

import (
	"fmt"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/pending"

	"github.com/ghlfs/ghlfs/cache/internal/spool"
)

// recoverSpool takes up the records a previous run left, by the table in
// record.go, and queues what they still need. The spool refuses a cache
// directory holding records of another library (spool.Recover).
func (q *Queue) recoverSpool(dir string, lib spool.Library) error {
	found, err := q.spool.Recover(dir, lib)
	if err != nil {
		return err
	}
	records := make([]*Record, 0, len(found))
	for _, f := range found {
		r := q.newRecord(f.ID, f.File.Key)
		r.s.File, r.s.State, r.s.Saved = f.File, f.File.State, true
		r.s.Bytes.Set(f.Data, f.Size, f.ModTime)
		records = append(records, r)
	}
	// A record another was renamed over is dropped (its copies in the API
	// are the other record's to retire).
	superseded := map[string]bool{}
	for _, r := range records {
		for _, id := range r.s.File.Supersedes {
			superseded[id] = true
		}
	}
	for _, r := range records {
		r.mu.Lock()
		if superseded[r.id] && r.s.State != pending.Removed {
			r.s.File.RemoteID, r.s.File.Replaces = "", nil
			if r.s.File.Attempt == nil {
				r.closeDataLocked()
				r.unsaveLocked()
				r.mu.Unlock()
				continue
			}
			r.s.State = pending.Removed
			r.saveLocked()
		}
		q.resume(r)
		r.mu.Unlock()
	}
	return nil
}

// resume puts a record found at start back to work; the caller holds r.mu.
func (q *Queue) resume(r *Record) {
	switch r.s.State {
	case pending.Writing:
		// Still being written when ghlfs stopped, or a write failed: never
		// uploaded on its own.
		if r.s.Bytes.Has() {
			why := "it was still being written when ghlfs stopped"
			if r.s.File.Failed != "" {
				why = "a write failed: " + r.s.File.Failed
			}
			r.s.Bytes.Close()
			q.setAside(r, why)
		}
		if a := r.s.File.Attempt; a != nil {
			// An earlier, complete version may have landed: if it did, it
			// owns the name.
			r.s.File.Content = a.Content
			r.s.State = pending.Uploading
			r.s.Aside = true
			r.saveLocked()
			break
		}
		r.s.File.Failed = ""
		r.s.Aside = true
		r.s.File.Content = r.s.File.Uploaded
		if r.s.File.RemoteID != "" && (len(r.s.File.Replaces) > 0 || r.s.File.Name != r.s.File.RemoteName) {
			r.s.State = pending.Uploaded
			r.saveLocked()
			break
		}
		r.unsaveLocked()
		return
	case pending.Complete, pending.Uploading:
		// Closed before the restart: quiet long enough.
		r.s.File.Due = q.clock.Now()
		if why := r.s.Bytes.Damaged(&r.s.File); why != "" {
			// The bytes are not what was complete (a power cut, say): never
			// uploaded as they are.
			if r.s.Bytes.Has() {
				r.s.Bytes.Close()
				q.setAside(r, why)
			}
			r.s.Aside = true
			if a := r.s.File.Attempt; a != nil {
				// Sent before: if that upload landed, it owns the name.
				r.s.File.Content = a.Content
				r.s.State = pending.Uploading
				r.saveLocked()
				break
			}
			r.s.File.Content = r.s.File.Uploaded
			r.s.State = pending.Uploaded
			if r.s.File.RemoteID == "" || (len(r.s.File.Replaces) == 0 && r.s.File.Name == r.s.File.RemoteName) {
				r.unsaveLocked()
				return
			}
			r.saveLocked()
		}
	case pending.Removed:
		r.closeDataLocked()
	case pending.Copying:
		// Renamed where the API cannot rename: its bytes are copied in
		// again, from the start (copyIn truncates what a copy left).
		r.s.Copied = false
	case pending.Uploaded, pending.Retiring:
		// The copy in the API holds these bytes; if the spool's copy is not
		// them any more (a power cut), it goes, and the API's stands.
		if r.s.Bytes.Has() && (r.s.File.Content != r.s.File.Uploaded || r.s.Bytes.Damaged(&r.s.File) != "") {
			r.closeDataLocked()
		}
		if !r.s.Bytes.Has() {
			r.s.Aside = true
		}
		// This mount knows the upload as the file's.
		q.ix.SetKey(r.s.File.RemoteID, r.key)
	case pending.Idle, pending.Filling:
		// Nothing was pending (these states are never meant to be saved).
		r.closeDataLocked()
		r.unsaveLocked()
		return
	default:
		q.log.Error(fmt.Sprintf("spool: record %s of %s in an unknown state %q; left as it is", r.id, r.s.File.Name, r.s.State))
		r.s.Bytes.Close()
		return
	}
	// Also a record whose bytes were set aside, while it still has work: a
	// change to the file waits for it (modify), a rename or removal goes
	// through it; a removed one is found by its spool id alone.
	key := r.key
	if r.s.State == pending.Removed {
		key = ""
	}
	q.ix.Add(r.id, key, r)
	for id, c := range r.s.File.Claims {
		r.keepClaimLocked(id, c) // listings look for it again
	}
	q.log.Info("found a file waiting for upload", "name", r.s.File.Name, "state", r.s.State, "bytes", r.s.Bytes.Size())
	r.publishLocked()
	r.scheduleLocked(time.Time{})
}
