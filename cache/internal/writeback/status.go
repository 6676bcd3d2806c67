package writeback

import (
	"sync/atomic"

	"github.com/ghlfs/ghlfs/cache/internal/pending"
)

// What the queue is doing, for a status display and the counters of
// metrics: snapshots only, each record read under its own lock, in turn,
// never two at once.

// Uploads reports every file with changes still to send, in no order,
// each with the id of its folder as Folder[0] (the front turns it into
// the folders' names, and sorts them).
func (q *Queue) Uploads() []pending.Upload {
	var out []pending.Upload
	for _, r := range q.ix.All() {
		if u, ok := r.status(); ok {
			out = append(out, u)
		}
	}
	return out
}

// status is the record as an Upload (pending.Facts.Status).
func (r *Record) status() (pending.Upload, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.Status(r.q.ix.Working(r), r.q.isDraining(), r.q.clock.Now())
}

// SpoolUsage reports the bytes of the files in the spool, and how many
// files hold them.
func (q *Queue) SpoolUsage() (bytes int64, files int) {
	q.each(func(r *Record) {
		if r.s.Bytes.Has() && !r.s.Gone {
			bytes += r.s.Bytes.Size()
			files++
		}
	})
	return bytes, files
}

// Stats is what the queue did since it started, and what waits now (the
// front's Stats says what each counts).
type Stats struct {
	Uploads, UploadedBytes, UploadErrors int64
	PendingFiles, PendingUploads         int
	PendingBytes                         int64
}

// counters count the queue's uploads (worker.go).
type counters struct {
	uploads, uploadedBytes, uploadErrors atomic.Int64
}

// Stats reads the counters, and counts what waits.
func (q *Queue) Stats() Stats {
	out := Stats{
		Uploads:       q.stats.uploads.Load(),
		UploadedBytes: q.stats.uploadedBytes.Load(),
		UploadErrors:  q.stats.uploadErrors.Load(),
	}
	q.each(func(r *Record) {
		if !r.s.Gone && r.s.Pending() {
			out.PendingFiles++
			if r.s.UploadDue() {
				out.PendingUploads++
				out.PendingBytes += r.s.Bytes.Size()
			}
		}
	})
	return out
}
