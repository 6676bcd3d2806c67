package pending

import (
	"fmt"
	"time"
)

// DataLess leaves the record with no bytes to publish (a write failed,
// or a restart found them unfit): the copy in the API (if any) owns the
// name, and what remains to do for it is done by the record as a chore.
// It returns the state that takes: uploading, when an earlier, complete
// version was sent and its answer lost (if it landed, it owns the name:
// it is looked for first); uploaded, when the copy in the API has a
// rename or copies to retire pending; else idle, nothing left to do.
func (f *Facts) DataLess() string {
	f.Aside = true
	if a := f.File.Attempt; a != nil {
		f.File.Content = a.Content
		return Uploading
	}
	f.File.Content = f.File.Uploaded
	if len(f.File.Replaces) > 0 && f.File.RemoteID != "" || f.Elsewhere() {
		return Uploaded
	}
	return Idle
}

// Resumed is what a restart does with a record found in the spool, by
// the table of states (facts.go), besides what Resume changed in Facts.
type Resumed struct {
	Aside  string // why its bytes go to recovered/ ("": they do not)
	Drop   bool   // its bytes leave the spool
	Forget bool   // nothing is pending: its record file goes, and so does it
	Save   bool   // its record file is saved again
	Key    bool   // this mount knows its copy in the API as the file's
}

// Resume takes up a record found in the spool at start, now; an error is
// a state this version does not know.
func (f *Facts) Resume(now time.Time) (Resumed, error) {
	var do Resumed
	dataLess := func() {
		f.State = f.DataLess()
		do.Forget, do.Save = f.State == Idle, f.State != Idle
	}
	switch f.State {
	case Writing:
		// Still being written when ghlfs stopped, or a write failed: never
		// uploaded on its own.
		if f.Bytes.Has() {
			do.Aside = "it was still being written when ghlfs stopped"
			if f.File.Failed != "" {
				do.Aside = "a write failed: " + f.File.Failed
			}
		}
		if f.File.Attempt == nil {
			f.File.Failed = ""
		}
		dataLess()
	case Complete, Uploading:
		// Closed before the restart: quiet long enough.
		f.File.Due = now
		if why := f.Bytes.Damaged(&f.File); why != "" {
			// The bytes are not what was complete (a power cut, say): never
			// uploaded as they are.
			if f.Bytes.Has() {
				do.Aside = why
			}
			dataLess()
		}
	case Removed:
		do.Drop = true
	case Copying:
		// Renamed where the API cannot rename: its bytes are copied in
		// again, from the start (the copy truncates what a copy left).
		f.Copied = false
	case Uploaded, Retiring:
		// The copy in the API holds these bytes; if the spool's copy is not
		// them any more (a power cut), it goes, and the API's stands.
		do.Drop = f.Bytes.Has() && (f.File.Content != f.File.Uploaded || f.Bytes.Damaged(&f.File) != "")
		if do.Drop || !f.Bytes.Has() {
			f.Aside = true
		}
		do.Key = true
	case Idle, Filling:
		// Nothing was pending (these states are never meant to be saved).
		do.Drop, do.Forget = true, true
	default:
		return do, fmt.Errorf("in an unknown state %q", f.State)
	}
	return do, nil
}
