package writeback

import (
	"sync/atomic"
	"time"
)

// What the queue is doing, for a status display and the counters of
// metrics: snapshots only, each record read under its own lock, in turn,
// never two at once.

// The states an Upload is reported in.
const (
	UploadWriting   = "writing"   // open for writing, or closed with a failed write: not uploaded yet
	UploadWaiting   = "waiting"   // complete; uploaded once quiet (Next), or as soon as a worker is free
	UploadChecking  = "checking"  // an earlier attempt's answer was lost: it is looked for first
	UploadUploading = "uploading" // its bytes are being sent (Sent of Size)
	UploadFailed    = "failed"    // the last attempt failed (Error); tried again at Next, or, Refused, once the file changes
	UploadRenaming  = "renaming"  // uploaded; the name given meanwhile is being sent
	UploadRetiring  = "retiring"  // uploaded; the copies it replaces go to the trash
	UploadRemoving  = "removing"  // removed in the mount; its copies go to the trash
	UploadCopying   = "copying"   // renamed where the API cannot rename: its bytes are copied from the library, to be uploaded under the new name
)

// Upload is one file with changes still to send to the API.
type Upload struct {
	// Folder holds the names (as the API has them) of the folders from the
	// root down to the file's; empty at the root. FolderKnown is false when
	// a folder on the way is not in any listing the cache holds.
	Folder      []string
	FolderKnown bool
	Name        string
	State       string
	// Size is the file's size in bytes; Sent how much of it the upload
	// under way has sent (Size once it landed); Rate is in bytes per
	// second, over the last few seconds of the upload under way; Started
	// when that upload began sending.
	Size, Sent int64
	Rate       float64
	Started    time.Time
	// Error is why the last attempt failed (with the API's message), for
	// a failed one; Tries counts the failed attempts in a row.
	Error string
	Tries int
	// Next is when a failed one is tried again, or when a waiting one
	// is due (zero: now).
	Next time.Time
	// Refused is set on a failed one the service refused (its type, its
	// size): it is not tried again until the file is changed or renamed,
	// or at the next mount, and an unmount does not wait for it. Next is
	// zero.
	Refused bool
}

// Uploads reports every file with changes still to send, in no order,
// each with the id of its folder as Folder[0] (the front turns it into
// the folders' names, and sorts them).
func (q *Queue) Uploads() []Upload {
	var out []Upload
	for _, r := range q.ix.All() {
		if u, ok := r.status(); ok {
			out = append(out, u)
		}
	}
	return out
}

// status is the record as an Upload, with the id of its folder as
// Folder[0]; false when it has nothing left to do.
func (r *Record) status() (Upload, bool) {
	q := r.q
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone || r.state == stateIdle || r.state == stateFilling || r.aside && r.state == stateWriting {
		return Upload{}, false
	}
	u := Upload{Folder: []string{r.rf.ParentID}, Name: r.rf.Name, Size: r.size, Tries: r.tries}
	working := q.ix.Working(r)
	switch {
	case r.sending && r.progress != nil:
		u.State = UploadUploading
		u.Sent, u.Rate, u.Started = r.progress.Sent(), r.progress.Rate(), r.progress.Started()
		if r.rf.Attempt != nil {
			u.Size = r.rf.Attempt.Size
		}
	case r.state == stateWriting:
		u.State = UploadWriting
		if r.failed != nil {
			u.Error = r.failed.Error()
		}
	case r.failure != "" && (!working || r.refusal != nil):
		u.State, u.Error, u.Next, u.Refused = UploadFailed, r.failure, r.retryAt, r.refusal != nil
	case r.rf.Attempt != nil:
		u.State = UploadChecking
	case r.state == stateRemoved:
		u.State = UploadRemoving
	case r.state == stateCopying:
		u.State = UploadCopying
	case r.state == stateComplete || r.state == stateUploading:
		u.State = UploadWaiting
		if due := r.rf.Due; due.After(q.clock.Now()) && !q.isDraining() {
			u.Next = due
		}
	case r.elsewhereLocked():
		u.State, u.Sent = UploadRenaming, u.Size
	default:
		u.State, u.Sent = UploadRetiring, u.Size
	}
	if u.State == UploadFailed && r.state != stateComplete && r.state != stateUploading && r.state != stateCopying && r.rf.Attempt == nil {
		u.Sent = u.Size // what failed came after the upload
	}
	return u, true
}

// SpoolUsage reports the bytes of the files in the spool, and how many
// files hold them.
func (q *Queue) SpoolUsage() (bytes int64, files int) {
	for _, r := range q.ix.All() {
		r.mu.Lock()
		if r.data != nil && !r.gone {
			bytes += r.size
			files++
		}
		r.mu.Unlock()
	}
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
	for _, r := range q.ix.All() {
		r.mu.Lock()
		if !r.gone && r.pendingLocked() {
			out.PendingFiles++
			if r.uploadDueLocked() {
				out.PendingUploads++
				out.PendingBytes += r.size
			}
		}
		r.mu.Unlock()
	}
	return out
}

// uploadDueLocked reports whether the record's bytes are yet to be sent
// (or being sent). r.mu is held.
func (r *Record) uploadDueLocked() bool {
	switch r.state {
	case stateWriting, stateComplete, stateUploading:
		return r.data != nil && !r.aside
	}
	return false
}
