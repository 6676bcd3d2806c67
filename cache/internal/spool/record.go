package spool

import (
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/listing"
)

// Format is the version of the record file's layout.
const Format = 2

// RecordFile is what a record's file holds. Its layout is the spool's
// format on disk: a field renamed here is a spool an earlier ghlfs left
// that this one can no longer read.
type RecordFile struct {
	Format int `json:"format"`
	// Seq counts the record's writes (Spool.Save, Note, NoteOn): of the
	// file and a note on the bytes, the one with the higher is the
	// record as last written.
	Seq uint64 `json:"seq,omitempty"`
	// Location and API name the library the record belongs to: it is
	// never sent anywhere else.
	Location string `json:"location"`
	API      string `json:"api"`
	Key      string `json:"key"`
	State    string `json:"state"`
	ParentID string `json:"parentId"`
	Name     string `json:"name"`
	// ModTime is a time the user set; nil means the time of the last write.
	ModTime *time.Time `json:"modTime,omitempty"`
	// Content is the version of the bytes in the spool, counted up by the
	// first change after each upload.
	Content uint64 `json:"content"`
	// RemoteID is the copy in the API that owns the name while the record
	// is pending: the file it changes, or its last upload. It holds version
	// Uploaded of the bytes, under the name RemoteName.
	RemoteID   string `json:"remoteId,omitempty"`
	RemoteName string `json:"remoteName,omitempty"`
	// RemoteURL is where RemoteID's bytes are, when known: a copying
	// record reads them from there.
	RemoteURL string `json:"remoteUrl,omitempty"`
	// RemoteRev is RemoteID's version when known (remote.Item.Rev, where
	// the service keeps versions under one id): an upload onto it makes
	// the next, and a lost one is looked for as a version other than
	// this one (Attempt.BaseRev).
	RemoteRev string `json:"remoteRev,omitempty"`
	// RemoteParentID is the folder RemoteID is in, when the file was
	// moved from there (ParentID is where the mount shows it) and the
	// copy has not followed yet (the worker moves it: Backend.Move); nil
	// when the copy is in ParentID.
	RemoteParentID *string `json:"remoteParentId,omitempty"`
	Uploaded       uint64  `json:"uploaded"`
	// Replaces lists other copies in the API the file supersedes (a file
	// it was renamed over, an upload whose answer was lost): they go to
	// the trash once a copy of this file owns the name, and are hidden
	// until then.
	Replaces []string `json:"replaces,omitempty"`
	// Attempt is an upload that may have landed without its answer coming
	// back: it is looked for before anything is sent again.
	Attempt *Attempt `json:"attempt,omitempty"`
	// Claims are the ids among RemoteID and Replaces that came from an
	// upload's answer and that no listing has shown yet (the write-back
	// queue's claims.go): nothing is renamed or trashed by them before
	// they are looked up.
	Claims map[string]listing.Claim `json:"claims,omitempty"`
	// Size and Sum (CRC-32C) are the size and checksum of the bytes when
	// they were complete.
	Size int64  `json:"size"`
	Sum  uint32 `json:"sum"`
	// Due is when a complete record is uploaded (the write-back delay).
	Due time.Time `json:"due,omitzero"`
	// Failed says why a write failed; such bytes are never uploaded.
	Failed string `json:"failed,omitempty"`
	// Supersedes lists records (by spool id) this one was renamed over:
	// if they are still there after a crash, they are dropped.
	Supersedes []string  `json:"supersedes,omitempty"`
	Created    time.Time `json:"created"`
}

// Attempt is one upload whose outcome is not known.
type Attempt struct {
	At       time.Time `json:"at"` // when it was sent, by this machine's clock
	Name     string    `json:"name"`
	ParentID string    `json:"parentId"`
	Size     int64     `json:"size"`
	Content  uint64    `json:"content"`
	// Into and BaseRev, where the service keeps versions under one id
	// (not Caps.NewIDPerUpload), are the copy that held the name when the
	// upload was sent and its version then: landed, the upload is a later
	// version of Into (remote.Attempt). Empty: the name held no copy of
	// the file, or the spool is of an earlier ghlfs.
	Into    string `json:"into,omitempty"`
	BaseRev string `json:"baseRev,omitempty"`
}
