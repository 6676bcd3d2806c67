package writeback

import (
	"fmt"
	"time"

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
		r.rf, r.state, r.saved = f.File, f.File.State, true
		r.data, r.size, r.touched = f.Data, f.Size, f.ModTime
		records = append(records, r)
	}
	// A record another was renamed over is dropped (its copies in the API
	// are the other record's to retire).
	superseded := map[string]bool{}
	for _, r := range records {
		for _, id := range r.rf.Supersedes {
			superseded[id] = true
		}
	}
	for _, r := range records {
		r.mu.Lock()
		if superseded[r.id] && r.state != stateRemoved {
			r.rf.RemoteID, r.rf.Replaces = "", nil
			if r.rf.Attempt == nil {
				r.closeDataLocked()
				r.unsaveLocked()
				r.mu.Unlock()
				continue
			}
			r.state = stateRemoved
			r.saveLocked()
		}
		q.resume(r)
		r.mu.Unlock()
	}
	return nil
}

// resume puts a record found at start back to work; the caller holds r.mu.
func (q *Queue) resume(r *Record) {
	switch r.state {
	case stateWriting:
		// Still being written when ghlfs stopped, or a write failed: never
		// uploaded on its own.
		if r.data != nil {
			why := "it was still being written when ghlfs stopped"
			if r.rf.Failed != "" {
				why = "a write failed: " + r.rf.Failed
			}
			r.data.Close()
			r.data = nil
			q.setAside(r, why)
		}
		if a := r.rf.Attempt; a != nil {
			// An earlier, complete version may have landed: if it did, it
			// owns the name.
			r.rf.Content = a.Content
			r.state = stateUploading
			r.aside = true
			r.saveLocked()
			break
		}
		r.rf.Failed = ""
		r.aside = true
		r.rf.Content = r.rf.Uploaded
		if len(r.rf.Replaces) > 0 && r.rf.RemoteID != "" || r.elsewhereLocked() {
			r.state = stateUploaded
			r.saveLocked()
			break
		}
		r.unsaveLocked()
		return
	case stateComplete, stateUploading:
		// Closed before the restart: quiet long enough.
		r.rf.Due = q.clock.Now()
		if why := r.damagedLocked(); why != "" {
			// The bytes are not what was complete (a power cut, say): never
			// uploaded as they are.
			if r.data != nil {
				r.data.Close()
				r.data = nil
				q.setAside(r, why)
			}
			r.aside = true
			if a := r.rf.Attempt; a != nil {
				// Sent before: if that upload landed, it owns the name.
				r.rf.Content = a.Content
				r.state = stateUploading
				r.saveLocked()
				break
			}
			r.rf.Content = r.rf.Uploaded
			r.state = stateUploaded
			if r.rf.RemoteID == "" || (len(r.rf.Replaces) == 0 && !r.elsewhereLocked()) {
				r.unsaveLocked()
				return
			}
			r.saveLocked()
		}
	case stateRemoved:
		r.closeDataLocked()
	case stateCopying:
		// Renamed where the API cannot rename: its bytes are copied in
		// again, from the start (copyIn truncates what a copy left).
		r.copied = false
	case stateUploaded, stateRetiring:
		// The copy in the API holds these bytes; if the spool's copy is not
		// them any more (a power cut), it goes, and the API's stands.
		if r.data != nil && (r.rf.Content != r.rf.Uploaded || r.damagedLocked() != "") {
			r.closeDataLocked()
		}
		if r.data == nil {
			r.aside = true
		}
		// This mount knows the upload as the file's.
		q.ix.SetKey(r.rf.RemoteID, r.key)
	case stateIdle, stateFilling:
		// Nothing was pending (these states are never meant to be saved).
		r.closeDataLocked()
		r.unsaveLocked()
		return
	default:
		q.log.Error(fmt.Sprintf("spool: record %s of %s in an unknown state %q; left as it is", r.id, r.rf.Name, r.state))
		if r.data != nil {
			r.data.Close()
		}
		return
	}
	// Also a record whose bytes were set aside, while it still has work: a
	// change to the file waits for it (modify), a rename or removal goes
	// through it; a removed one is found by its spool id alone.
	key := r.key
	if r.state == stateRemoved {
		key = ""
	}
	q.ix.Add(r.id, key, r)
	for id, c := range r.rf.Claims {
		r.keepClaimLocked(id, c) // listings look for it again
	}
	q.log.Info("found a file waiting for upload", "name", r.rf.Name, "state", r.state, "bytes", r.size)
	r.publishLocked()
	r.scheduleLocked(time.Time{})
}

// damagedLocked says how a record's bytes differ from what they were when
// complete; "" if they do not.
func (r *Record) damagedLocked() string {
	return spool.Damaged(r.data, r.size, &r.rf)
}
