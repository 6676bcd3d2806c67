package pending

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/spool"
	"github.com/ghlfs/ghlfs/remote"
)

// Step is what a worker does next with a record (Next).
type Step int

const (
	None    Step = iota // nothing now
	Recheck             // complete again: its last writer closed it, but it could not be marked complete then
	Find                // look for an upload whose answer was lost
	Copy                // copy a copying record's bytes in
	Confirm             // look up the answers' ids no listing has shown
	Remove              // trash every copy of a removed file
	Wait                // complete, not quiet for the write-back delay yet: at File.Due
	Send                // upload the bytes
	Move                // move the copy that owns the name to the file's folder
	Rename              // give the copy that owns the name the name the user gave
	Retire              // trash the copies a landed upload supersedes
	Done                // nothing left: idle
)

// Next is the step the record needs now; draining: the queue drains, and
// nothing waits out the write-back delay; caps: the service's.
func (f *Facts) Next(now time.Time, draining bool, caps remote.Caps) Step {
	s := f.next(now, draining, caps)
	if f.Refusal != nil && (s == Send || s == Rename || s == Move) {
		// Parked: the service refused it as it is (its bytes under this
		// name, or its copy's rename or move onto a name another item
		// holds); a change of the user's takes it up again (Unpark).
		return None
	}
	return s
}

func (f *Facts) next(now time.Time, draining bool, caps remote.Caps) Step {
	rf := &f.File
	switch {
	case f.State == Writing && f.Bytes.Writers() == 0 && f.Failed == nil && !f.Gone && !f.Held:
		return Recheck
	case f.State == Writing && f.hurried(caps) && rf.Attempt == nil && len(f.ToConfirm()) == 0 && !(caps.UniqueNames && len(rf.Replaces) > 0):
		// Another item waits for the name its copy holds: the copy takes
		// the file's name and folder now, whatever the writers do to the
		// bytes (copies it supersedes hold the name first: not while it
		// is being written).
		if rf.RemoteParentID != nil {
			return Move
		}
		return Rename
	case f.Gone, f.Held, f.State == Filling, f.State == Writing, f.State == Idle:
		return None
	case rf.Attempt != nil:
		return Find
	case f.State == Copying:
		return Copy
	case len(f.ToConfirm()) > 0:
		return Confirm
	case f.State == Removed:
		return Remove
	case f.State == Complete && f.Refusal != nil:
		return None // parked: the service refused these bytes under this name
	case f.State == Complete && now.Before(rf.Due) && !draining && !f.hurried(caps):
		return Wait
	case f.State == Complete || f.State == Uploading:
		switch {
		case caps.UniqueNames && len(rf.Replaces) > 0:
			// The copies it supersedes hold the name it takes: they go
			// first (the service refuses a taken name, or makes the upload
			// a version of another file).
			return Retire
		case rf.RemoteID != "" && rf.RemoteParentID != nil:
			// Moved: the copy follows first (an upload into the new folder
			// would be another file).
			return Move
		case !caps.NewIDPerUpload && f.Elsewhere():
			// The upload makes a new version of the copy that holds the
			// name: that copy takes the new name first.
			return Rename
		}
		return Send
	case f.Elsewhere():
		if caps.UniqueNames && len(rf.Replaces) > 0 {
			return Retire // they hold the name it takes
		}
		if rf.RemoteParentID != nil {
			return Move
		}
		return Rename
	case len(rf.Replaces) > 0:
		return Retire
	}
	return Done // uploaded or retiring, with nothing left
}

// hurried reports whether the record is to rename or move its copy in
// the API now (Hurry): its copy is elsewhere, and follows the file
// before any upload (a move; a rename where uploads are versions).
func (f *Facts) hurried(caps remote.Caps) bool {
	rf := &f.File
	return f.Hurry && !f.Gone && !f.Held && f.Elsewhere() && (rf.RemoteParentID != nil || !caps.NewIDPerUpload)
}

// ToConfirm returns the ids of answers no listing has shown that the
// record's next step acts on: every copy of a removed file; else the copy
// to rename; else the copies to trash.
func (f *Facts) ToConfirm() []string {
	if len(f.File.Claims) == 0 {
		return nil
	}
	var ids []string
	switch {
	case f.State == Removed:
		ids = append(slices.Clone(f.File.Replaces), f.File.RemoteID)
	case f.Elsewhere():
		ids = []string{f.File.RemoteID}
	default:
		ids = f.File.Replaces
	}
	var out []string
	for _, id := range ids {
		if _, ok := f.File.Claims[id]; ok {
			out = append(out, id)
		}
	}
	return out
}

// Confirmed replaces an answer's id by the listed one wherever the record
// holds it.
func (f *Facts) Confirmed(id, listed string) {
	rf := &f.File
	delete(rf.Claims, id)
	if len(rf.Claims) == 0 {
		rf.Claims = nil
	}
	if rf.RemoteID == id {
		rf.RemoteID = listed
	}
	for i, x := range rf.Replaces {
		if x == id {
			rf.Replaces[i] = listed
		}
	}
	rf.Replaces = slices.Compact(rf.Replaces)
}

// Unlisted drops an answer's id that no listing shows from the copies the
// record is to trash.
func (f *Facts) Unlisted(id string) {
	rf := &f.File
	delete(rf.Claims, id)
	if len(rf.Claims) == 0 {
		rf.Claims = nil
	}
	rf.Replaces = slices.DeleteFunc(rf.Replaces, func(x string) bool { return x == id })
	if rf.RemoteID == id && f.State == Removed {
		rf.RemoteID = ""
	}
}

// ClaimURLs are the urls of the record's unconfirmed answers.
func (f *Facts) ClaimURLs() []string {
	var out []string
	for _, c := range f.File.Claims {
		if c.URL != "" {
			out = append(out, c.URL)
		}
	}
	return out
}

// Exclude are the ids and urls an upload's or a search's answer is not:
// the copies the record holds or is to trash, and its unconfirmed
// answers' urls.
func (f *Facts) Exclude() []string {
	out := append(slices.Clone(f.File.Replaces), f.File.RemoteID)
	return append(out, f.ClaimURLs()...)
}

// RefusedContent reports whether the API refused an upload for what was
// sent (its type, its size, its form): a 4xx other than 401 and 403 (a new
// token or scope may cure them), 404 and 410 (its folder is gone, and may
// come back from the trash) and 408 and 429 (they ask to try later). The
// same bytes under the same name would be refused again.
func RefusedContent(err error) bool {
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

// Refused reports whether the API answered a request with a definite no
// (a 4xx other than 408 and 429): it was not carried out.
func Refused(err error) bool {
	var e *remote.Error
	if errors.Is(err, remote.ErrMisplaced) {
		return true // nothing is where it was asked for; what landed elsewhere was taken back
	}
	return errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}

// Backoff is how long a record waits after tries failed attempts in a
// row: retry after the first, twice as long after each next, up to ten
// minutes.
func Backoff(retry time.Duration, tries int) time.Duration {
	return min(retry<<min(tries-1, 10), 10*time.Minute)
}

// Failing records that a step failed with err at now, and returns when
// it is tried again: zero when not on a timer, with stop set when a timer
// set before is to stop too (the service refused it: sent again only
// when the file changes, Unpark); zero without stop when parked (nothing
// will change before the next mount: tried again at the unmount's drain,
// and at the next start).
func (f *Facts) Failing(err error, now time.Time, retry time.Duration) (at time.Time, stop bool) {
	f.Tries++
	f.FailedAt, f.Failure, f.RetryAt = now, err.Error(), time.Time{}
	switch {
	case f.Refusal != nil:
		return time.Time{}, true
	case f.Parked:
		return time.Time{}, false
	}
	f.RetryAt = now.Add(Backoff(retry, f.Tries))
	return f.RetryAt, false
}

// NotSent records that the upload attempted is not in the library: the
// bytes are complete, to be sent again.
func (f *Facts) NotSent() {
	f.File.Attempt = nil
	if f.State == Uploading {
		f.State = Complete
	}
}

// SendFailed records that an upload failed with err: complete again, and
// no upload to look for if the API said no (nothing landed).
func (f *Facts) SendFailed(err error) {
	if Refused(err) {
		f.File.Attempt = nil
	}
	if f.State == Uploading {
		f.State = Complete
	}
}

// Landed records that attempt a landed as item: the new copy owns the
// name from now on, and the copies it supersedes retire.
func (f *Facts) Landed(item remote.Item, a spool.Attempt) {
	rf := &f.File
	if old := rf.RemoteID; old != "" && old != item.ID && !slices.Contains(rf.Replaces, old) {
		rf.Replaces = append(rf.Replaces, old)
	}
	rf.Replaces = slices.DeleteFunc(rf.Replaces, func(id string) bool { return id == item.ID })
	rf.RemoteID, rf.RemoteName, rf.RemoteURL, rf.Uploaded = item.ID, a.Name, item.URL, a.Content
	rf.RemoteRev, rf.RemoteParentID = item.Rev, nil
	if a.ParentID != rf.ParentID {
		// Sent before the file was moved: the copy follows it (the
		// queue's moveRemote).
		from := a.ParentID
		rf.RemoteParentID = &from
	}
	rf.Attempt = nil
	if f.State == Uploading || f.State == Complete {
		f.State = Uploaded
	}
}

// Rename gives the record's file a new name, and the folder dest when it
// is not nil (the copy that owns the name stays where it is until the
// worker moves it: RemoteParentID). The copies in taken it does not hold
// yet are to retire: it returns them, and the caller keeps their claims.
func (f *Facts) Rename(name string, dest *string, taken []string) (added []string) {
	rf := &f.File
	rf.Replaces = slices.Clone(rf.Replaces)
	rf.Name = name
	if dest != nil && *dest != rf.ParentID {
		switch from := f.RemoteParent(); {
		case rf.RemoteID == "":
		case from == *dest:
			rf.RemoteParentID = nil // moved back where its copy is
		default:
			rf.RemoteParentID = &from
		}
		rf.ParentID = *dest
	}
	rf.Claims = maps.Clone(rf.Claims)
	for _, id := range taken {
		if id != "" && id != rf.RemoteID && !slices.Contains(rf.Replaces, id) {
			rf.Replaces = append(rf.Replaces, id)
			added = append(added, id)
		}
	}
	return added
}

// Found is what a search for an upload whose answer was lost decides
// (Looked).
type Found int

const (
	Recorded  Found = iota // recorded in Facts: saved next
	LookAgain              // the record changed meanwhile
	NoBytes                // not landed, and nothing to send: DataLess next
	TheUpload              // landed with the bytes the record holds: Landed next
)

// Looked records what a search for the upload attempted as a found (ok:
// found is it): not landed, it is sent again; landed with the bytes the
// record still holds, it is the upload; a version, of other bytes, of
// the copy that holds the file (versions under one id), the next upload
// makes another, and the copy is never retired; else (bytes changed
// since, or a file removed since) it retires with the other copies.
func (f *Facts) Looked(a spool.Attempt, found remote.Item, ok bool) Found {
	switch {
	case f.File.Attempt == nil || *f.File.Attempt != a:
		return LookAgain
	case !ok:
		f.NotSent()
		if (!f.Bytes.Has() || f.Aside) && f.State != Removed {
			// Nothing to send (bytes set aside at a restart): what remains
			// is the copy that owns the name.
			return NoBytes
		}
	case a.Content == f.File.Content && (f.State == Complete || f.State == Uploading):
		return TheUpload
	case found.ID == f.File.RemoteID && f.State != Removed:
		f.NotSent()
		f.File.RemoteRev = found.Rev
	default:
		if !slices.Contains(f.File.Replaces, found.ID) {
			f.File.Replaces = append(f.File.Replaces, found.ID)
		}
		f.NotSent()
	}
	return Recorded
}
