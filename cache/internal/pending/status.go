package pending

import "time"

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

// Status is the record as an Upload, with the id of its folder as
// Folder[0]; false when it has nothing left to do. working says a worker
// has it now, draining that the queue drains (nothing waits out the
// write-back delay).
func (f *Facts) Status(working, draining bool, now time.Time) (Upload, bool) {
	if f.Gone || f.State == Idle || f.State == Filling || f.Aside && f.State == Writing {
		return Upload{}, false
	}
	u := Upload{Folder: []string{f.File.ParentID}, Name: f.File.Name, Size: f.Bytes.Size(), Tries: f.Tries}
	switch {
	case f.Bytes.Sending() && f.Progress != nil:
		u.State = UploadUploading
		u.Sent, u.Rate, u.Started = f.Progress.Sent(), f.Progress.Rate(), f.Progress.Started()
		if f.File.Attempt != nil {
			u.Size = f.File.Attempt.Size
		}
	case f.State == Writing:
		u.State = UploadWriting
		if f.Failed != nil {
			u.Error = f.Failed.Error()
		}
	case f.Failure != "" && (!working || f.Refusal != nil):
		u.State, u.Error, u.Next, u.Refused = UploadFailed, f.Failure, f.RetryAt, f.Refusal != nil
	case f.File.Attempt != nil:
		u.State = UploadChecking
	case f.State == Removed:
		u.State = UploadRemoving
	case f.State == Copying:
		u.State = UploadCopying
	case f.State == Complete || f.State == Uploading:
		u.State = UploadWaiting
		if due := f.File.Due; due.After(now) && !draining {
			u.Next = due
		}
	case f.Elsewhere():
		u.State, u.Sent = UploadRenaming, u.Size
	default:
		u.State, u.Sent = UploadRetiring, u.Size
	}
	if u.State == UploadFailed && f.State != Complete && f.State != Uploading && f.State != Copying && f.File.Attempt == nil {
		u.Sent = u.Size // what failed came after the upload
	}
	return u, true
}
