package pending

import (
	"cmp"
	"log/slog"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/index"
	"github.com/ghlfs/ghlfs/cache/internal/spool"
	"github.com/ghlfs/ghlfs/remote"
)

// The states of a pending file. Each is written to the record's file
// before it is acted on; the table says what a restart does with a record
// found in it.
//
//	writing    bytes changed and a writer may still be at it, or a write
//	           failed: never uploaded on its own. On restart the bytes go
//	           to recovered/ and the copy in the API stays as it was.
//	complete   its last writer closed it (or fsynced it) without an error;
//	           uploaded once quiet for the write-back delay. Noted at the
//	           close, not durably (Note); the worker makes the bytes
//	           durable before it sends them. On restart: uploaded if the
//	           bytes are still those the checksum taken at the close
//	           names, else set aside (a power cut took some back).
//	uploading  the upload may have been sent. On restart it is looked for
//	           first (uploaded if found, else complete again). Where the
//	           service keeps versions under one id (not
//	           Caps.NewIDPerUpload) the attempt names the copy that held
//	           the name and its version (Attempt.Into, BaseRev): found as
//	           a later version of it, it is the upload.
//	uploaded   the new copy is in the API and owns the name; a rename made
//	           meanwhile is sent, then the copies it supersedes retire.
//	           With versions under one id the copy is usually the file's
//	           own, a new version: it never retires; a rename is sent
//	           before the upload, which then versions the renamed copy.
//	retiring   the superseded copies are being sent to the trash; retried
//	           with backoff, also across restarts, and hidden until done.
//	           Where names are unique (Caps.UniqueNames) they go before
//	           the record takes the name (upload, rename or move): they
//	           hold it, and the service would refuse it, or version
//	           another file's history with this one's bytes.
//	moved      not a state of its own, an extension of the others: the
//	           file was moved to another folder (the queue's Move,
//	           Caps.Move). The record's folder is the new one at once,
//	           saved like a rename; RemoteParentID says where its copy in
//	           the API still is. The worker moves that copy (Backend.Move)
//	           before it uploads anything. Crash points: "moving" (the
//	           move saved, nothing sent; a restart carries it on from the
//	           record) and "moved" (Backend.Move answered, not yet noted;
//	           a restart sends it again, which finds the copy in place).
//	removed    the user removed the file: its copies in the API go to the
//	           trash, a possible upload is looked for first.
//	copying    the file was renamed, and the API cannot rename it (no
//	           route for this token): its bytes are copied from its copy
//	           in the API (RemoteID, at RemoteURL) into the spool, to be
//	           uploaded under the new name (complete next), after which
//	           the old copy retires, as a replaced one does. Meanwhile the
//	           mount shows the old copy under the new name. An old copy
//	           a fresh listing no longer shows (removed elsewhere) ends
//	           it: removed next, without that copy (the queue's
//	           copyLostLocked). On restart: copied again from the start.
//
// Two states live in memory only: filling (its bytes are being copied in
// from the API before a change) and idle (nothing left to do: the record
// only lives on for the open files that read its bytes). A complete record
// whose upload the service refused is parked (Facts.Refusal, in memory
// too): no timer sends it again, a change to its bytes or name does, and a
// restart tries it once.
const (
	Writing   = "writing"
	Complete  = "complete"
	Uploading = "uploading"
	Uploaded  = "uploaded"
	Retiring  = "retiring"
	Removed   = "removed"
	Copying   = "copying"
	Filling   = "filling"
	Idle      = "idle"
)

// Facts is what a record knows of its file. It has no lock of its own:
// the record that holds it guards it with its Record.mu, and every method
// here is called under that lock, taking none but Bytes.mu.
type Facts struct {
	sp      *spool.Spool // where its files are
	id, key string       // its spool id, and the file's key
	log     *slog.Logger

	File  spool.RecordFile // as saved, once saved
	Saved bool             // File is on disk
	// Durable is set while nothing was noted (Note) since the last durable
	// Save, which MakeDurable makes with the bytes synced first.
	Durable bool
	seq     uint64 // the last write's RecordFile.Seq (stamp)
	State   string // File.State, or filling or idle
	Bytes   Bytes  // the bytes and their open files
	// Acting is set while a worker's call to the API is under way.
	Acting   bool
	FillErr  error     // why filling failed
	Failed   error     // a write failed
	Tries    int       // failed attempts in a row
	FailedAt time.Time // when the last one failed
	// For status (Status): why the last step failed ("" once one
	// succeeds), when the next try is due, and the upload under way.
	Failure  string
	RetryAt  time.Time
	Progress *remote.Progress // set while sending
	// Refusal is set when the service refused the upload of these bytes
	// under this name (RefusedContent): the record is parked, sent again
	// only once they or the name change (Unpark), or by the next mount.
	// Not saved: a restart tries once more.
	Refusal error
	Waiters Waiters // fsyncs waiting for an upload
	Gone    bool    // out of the queue
	// Aside is set once the bytes are known never to be published (a
	// write failed): the record no longer stands for the file, only does
	// what remains to do in the API, and open files keep reading what
	// they had.
	Aside bool
	// CopyErr is why the last copy of a copying record's bytes failed
	// (nil while one is under way or none failed): a change waiting for
	// the copy hears it.
	CopyErr error
	// Copied is set on a copying record whose spool file holds its copy's
	// bytes already (an idle copy of them): nothing is downloaded.
	Copied bool
	// Parked is set when the record's last step failed in a way only a
	// new mount can change (the API refuses to trash): it is not tried
	// again on its own, but at the unmount's drain and the next start.
	Parked bool
	// Held is set while another record is renamed over this one: it does
	// nothing in the API meanwhile.
	Held bool
	// Hurry is set while a new item waits for the name this record's
	// copy in the API still holds (the queue's FreeName): its rename or
	// move is sent now, before its write-back delay is out and while it
	// is being written (Next). Not saved: nothing waits across a restart.
	Hurry bool
}

// Visible reports whether the mount shows the record's bytes under its
// name (rather than a copy in the API, or nothing). An idle record is not
// shown: its copy in the API holds the same bytes, and stands for the
// file (renames and removals go to it directly).
func (f *Facts) Visible() bool {
	switch {
	case f.Gone, f.Aside, !f.Bytes.Has():
		return false
	}
	switch f.State {
	case Removed, Filling, Idle, Copying:
		return false
	}
	return true
}

// InAPI reports whether the copy in the API holds the bytes the record's
// file shows: the record shows none of its own (the API's copy shows
// through), or its last upload landed and nothing changed since.
func (f *Facts) InAPI() bool {
	if !f.Visible() {
		return true
	}
	switch f.State {
	case Uploaded, Retiring:
		return f.File.RemoteID != "" && f.File.Uploaded == f.File.Content
	}
	return false
}

// Pending reports whether the record still has work to do in the API
// (for counts and for draining).
func (f *Facts) Pending() bool {
	switch f.State {
	case Complete, Uploading, Uploaded, Retiring, Removed, Copying:
		return true
	case Writing:
		// Closed by its last writer, but not marked complete yet (that
		// failed, and is tried again).
		return f.Bytes.Writers() == 0 && f.Failed == nil
	}
	return false
}

// UploadDue reports whether the record's bytes are yet to be sent (or
// being sent).
func (f *Facts) UploadDue() bool {
	switch f.State {
	case Writing, Complete, Uploading:
		return f.Bytes.Has() && !f.Aside
	}
	return false
}

// Fresh reports whether nothing of the record has reached the API, nor
// will but its upload: a new file, being written or waiting for its
// upload, that owns no copy, supersedes none and was never sent.
func (f *Facts) Fresh() bool {
	return (f.State == Writing || f.State == Complete) && f.File.RemoteID == "" &&
		len(f.File.Replaces) == 0 && len(f.File.Supersedes) == 0 && f.File.Attempt == nil && f.File.RemoteParentID == nil
}

// ModTime is the time the user set, else the time of the last write.
func (f *Facts) ModTime() time.Time {
	if f.File.ModTime != nil {
		return *f.File.ModTime
	}
	return f.Bytes.Touched()
}

// Elsewhere reports whether the copy that owns the name is not where the
// file is: under another name, or in the folder the file was moved from.
// The worker renames or moves it.
func (f *Facts) Elsewhere() bool {
	return f.File.RemoteID != "" && (f.File.Name != f.File.RemoteName || f.File.RemoteParentID != nil)
}

// RemoteParent is the folder the copy that owns the name is in.
func (f *Facts) RemoteParent() string {
	if p := f.File.RemoteParentID; p != nil {
		return *p
	}
	return f.File.ParentID
}

// Part is the record's part of its folder's overlay; e is the record as
// a listing entry.
func (f *Facts) Part(e index.Entry) index.Part {
	v := index.Part{ParentID: f.File.ParentID}
	switch {
	case f.Gone || f.State == Filling:
		v = index.Part{}
	case f.State == Removed:
		v.Hides = append(slices.Clone(f.File.Replaces), f.File.RemoteID)
		if a := f.File.Attempt; a != nil {
			// Removed while its upload was under way: should that land, a
			// listing may hold it before the answer is in; the file stays
			// gone (the upload is trashed once its answer is in).
			v.Sent = []index.Sent{{Name: a.Name, Size: a.Size, At: a.At}}
		}
		f.leave(&v)
		f.hideClaims(&v)
	case f.Visible():
		v.Entry = &e
		v.Hides = append(slices.Clone(f.File.Replaces), f.File.RemoteID)
		if a := f.File.Attempt; a != nil {
			// An upload that may have landed: until its answer is in (or
			// it is found), a listing may hold it as a file ghlfs does not
			// know yet. It is this file, shown by the record already.
			v.Sent = []index.Sent{{Name: a.Name, Size: a.Size, At: a.At}}
		}
		f.leave(&v)
	default:
		// No bytes of its own: the copy in the API shows, under the name
		// the user gave it.
		v.Hides = slices.Clone(f.File.Replaces)
		if f.File.RemoteID != "" && f.File.Name != f.File.RemoteName {
			v.Rename = map[string]string{f.File.RemoteID: f.File.Name}
		}
	}
	return v
}

// leave moves to v.Left what the record hides in the folder it was
// moved from (its copy there, an upload sent there): it is hidden there,
// and shown by the record where the file is now.
func (f *Facts) leave(v *index.Part) {
	var left index.Part
	if p := f.File.RemoteParentID; p != nil && f.File.RemoteID != "" {
		left.ParentID, left.Hides = *p, []string{f.File.RemoteID}
	}
	if a := f.File.Attempt; a != nil && len(v.Sent) > 0 && a.ParentID != f.File.ParentID && (left.Hides == nil || left.ParentID == a.ParentID) {
		left.ParentID, left.Sent, v.Sent = a.ParentID, v.Sent, nil
	}
	if left.Hides != nil || left.Sent != nil {
		v.Left = &left
	}
}

// claimSent is how long before its answer an upload whose sending time a
// claim does not hold may have been sent (the upload of a large file).
const claimSent = 10 * time.Minute

// hideClaims adds to v, a removed record's part, its copies that no
// listing has shown by the id their answers gave (File.Claims): a listing
// may hold them under other ids, by which the removal has not found them
// yet (a look-up cannot tell two uploads of one name and size apart, say).
// They are hidden as uploads under way are, by name and size, created
// while they were sent; the file stays gone, and once the removal finds
// them their listed ids are hidden instead.
//
// A claim in a third folder is not hidden: none is made (a file with
// unconfirmed copies is not moved).
func (f *Facts) hideClaims(v *index.Part) {
	for _, id := range f.ToConfirm() {
		c := f.File.Claims[id]
		// Created while the upload was under way: between the times the
		// claim holds, on the API client's clock (this machine's, but in
		// tests, where it is the fake's), else up to its answer, on this
		// machine's, sent at most claimSent before it.
		s := index.Sent{Name: c.Name, Size: c.Size, At: c.At.Add(-claimSent), Until: c.At}
		if !c.Answered.IsZero() {
			s.At, s.Until = cmp.Or(c.Sent, c.Answered), c.Answered
		}
		switch {
		case c.ParentID == v.ParentID:
			v.Sent = append(v.Sent, s)
		case v.Left != nil && c.ParentID == v.Left.ParentID:
			v.Left.Sent = append(v.Left.Sent, s)
		case v.Left == nil:
			v.Left = &index.Part{ParentID: c.ParentID, Sent: []index.Sent{s}}
		}
	}
}
