package writeback

import (
	"fmt"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/pending"

	"github.com/ghlfs/ghlfs/cache/internal/spool"
)

// recoverSpool takes up the records a previous run left, by the table in
// internal/pending (facts.go, Resume), and queues what they still need.
// The spool refuses a cache directory holding records of another library
// (spool.Recover).
func (q *Queue) recoverSpool(dir string, lib spool.Library) error {
	found, err := q.spool.Recover(dir, lib)
	if err != nil {
		return err
	}
	records := make([]*Record, 0, len(found))
	for _, f := range found {
		r := q.newRecord(f.ID, f.File.Key)
		r.s.File, r.s.State, r.s.Saved = f.File, f.File.State, true
		// Bytes never written since their record began keep the time
		// their file was made, which for a spare (spool.Spares) is
		// before the record: the record's start is the later.
		touched := f.ModTime
		if f.File.Created.After(touched) {
			touched = f.File.Created
		}
		r.s.Bytes.Set(f.Data, f.Size, touched)
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
				r.s.CloseData()
				r.s.Unsave()
				r.mu.Unlock()
				continue
			}
			r.s.State = pending.Removed
			r.s.Save()
		}
		q.resume(r)
		r.mu.Unlock()
	}
	return nil
}

// resume puts a record found at start back to work; the caller holds r.mu.
func (q *Queue) resume(r *Record) {
	do, err := r.s.Resume(q.clock.Now())
	if err != nil {
		q.log.Error(fmt.Sprintf("spool: record %s of %s %v; left as it is", r.id, r.s.File.Name, err))
		r.s.Bytes.Close()
		return
	}
	if do.Aside != "" {
		r.s.Bytes.Close()
		q.setAside(r, do.Aside)
	}
	if do.Drop {
		r.s.CloseData()
	}
	switch {
	case do.Forget:
		r.s.Unsave()
		return
	case do.Save:
		r.s.Save()
	case do.Key:
		q.ix.SetKey(r.s.File.RemoteID, r.key)
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
