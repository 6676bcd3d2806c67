package remote

import (
	"io"
	"time"
)

// Item kinds.
const (
	TypeFile   = "file"
	TypeFolder = "folder"
)

// Item is one file or folder of a library, as every backend gives it.
//
// Services are loose about which fields they send, so the zero value of
// each optional field means "not sent": Size is -1 when unknown, times are
// zero when unknown, ParentID is "" at the root whatever form the server
// used.
type Item struct {
	ID          string
	Name        string
	Type        string // TypeFile or TypeFolder
	ParentID    string // "" = the library's root
	URL         string // files: where the bytes are (a storage host, not the API)
	Path        string
	ContentType string
	Size        int64 // -1 when the listing did not say
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Rev is the file's version token, when the service keeps versions
	// under one id (ImageKit's versionInfo.id, OCM's version): the bytes
	// under ID may change, never those under ID and Rev. Empty where an
	// id's bytes never change (HighLevel: every upload is a new id).
	Rev     string
	Deleted bool // deleted, or trashed
	// System marks a system folder the service protects: the web UI
	// will not delete one, and the API may refuse to remove or rename it.
	System bool
	// Unconfirmed marks an id taken from an upload's answer, which no
	// listing has shown yet: the service may list the file under another
	// id (see Confirm), and a change sent by this one may act on
	// nothing.
	Unconfirmed bool
}

// IsFolder reports whether the item is a folder.
func (it Item) IsFolder() bool { return it.Type == TypeFolder }

// ModTime is the best modification time the item's fields give:
// UpdatedAt, else CreatedAt. The zero time means none is known.
func (it Item) ModTime() time.Time {
	if !it.UpdatedAt.IsZero() {
		return it.UpdatedAt
	}
	return it.CreatedAt
}

// Upload is a file to send.
type Upload struct {
	ParentID    string
	Name        string
	ContentType string // "" = let the server guess
	Size        int64
	// Open returns the bytes from the start; it is called once per attempt.
	Open func() (io.ReadCloser, error)
	// Exclude lists ids known to exist before this upload (an earlier
	// upload of the same file, the file it replaces), and the urls of
	// such files whose listed id is not known yet: when an attempt's
	// answer is lost and the upload is looked for, they are never taken
	// for it.
	Exclude []string
	// Progress, when set, counts the file's bytes as they are sent
	// (progress.go).
	Progress *Progress
}
