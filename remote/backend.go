package remote

import (
	"context"
	"io"
	"math"
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
	// SentAt, in an upload's answer, is when the upload was sent, and
	// CreatedAt when its answer came, both by this machine's clock: the
	// file's createdAt in a listing falls between them, on the service's
	// clock (Backend.Confirm). Never read from an answer.
	SentAt time.Time `json:"-"`
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
	// Into and BaseRev are as in Attempt: the file the name holds and its
	// version, where the service keeps versions under one id ("": none).
	// A backend that looks for an attempt whose answer was lost before
	// it sends the bytes again judges by them.
	Into, BaseRev string
	// Rivals are the uploads of its folder whose answers no listing has
	// shown yet (their answers, as Backend.Confirm takes them): a file
	// one of them may stand for is not taken for this upload by its name,
	// size and time alone (Attempt.Rivals).
	Rivals []Item
	// Progress, when set, counts the file's bytes as they are sent
	// (progress.go).
	Progress *Progress
}

// Backend is one media store as the cache sees it: the one interface the
// layers above use (cache.New takes one; cmd builds it, at the edge where
// flags become options). Caps says what the service does; a method the
// service cannot do fails with an error matching ErrNotSupported.
//
// Errors match the kinds of errors.go with errors.Is (ErrNotFound,
// ErrInvalid, ErrTooLarge, ErrRouteMissing ...), and an answer of the
// service is an *Error. No error carries a token, or a url's query.
//
// Calls made with a context from Background are background calls: each
// waits until no foreground call wants the rate limit (pacer.go).
type Backend interface {
	// Caps says what the service does.
	Caps() Caps
	// Check makes one call that proves the credentials and the library
	// work.
	Check(ctx context.Context) error
	// List reads every item q selects, page by page, and hands each to
	// add once, as its page comes in. When the listing has to be read
	// again from the start (its pages did not line up), restart is called
	// first, and add then sees the items again. A listing that cannot be
	// read whole fails (ErrListUnstable, ErrListTooLong,
	// ErrAnswerTooLarge): a folder shown without some of its files is
	// worse than an error.
	List(ctx context.Context, q ListQuery, restart func(), add func(Item)) error
	// ListUpdated reads every item of type typ in the whole library, most
	// recently changed first, and calls visit with each until visit
	// returns false (Caps.ListRecent). Removals do not show. A service
	// that turns out not to list in that order fails with
	// ErrOrderIgnored, one that answers the whole library at once with
	// ErrUnpaged: the caller finds changes another way. A listing whose
	// pages did not line up (items of one time of change that the
	// service orders anew at each request, more than a page of them)
	// fails with ErrListUnstable, never ends as if whole having missed
	// some: the caller lists the library another way.
	ListUpdated(ctx context.Context, typ string, visit func(Item) bool) error
	// ReadAt fills bufs in turn with the bytes of file f from off on. It
	// returns io.EOF, with the bytes read so far, when the file ends
	// first.
	ReadAt(ctx context.Context, f FileRef, bufs [][]byte, off int64) (int, error)
	// Stat asks the service for a file's size and time, for listings
	// that do not carry them.
	Stat(ctx context.Context, f FileRef) (FileInfo, error)
	// CreateFolder creates a folder named name in parentID ("" = the
	// root), and returns it.
	CreateFolder(ctx context.Context, parentID, name string) (Item, error)
	// Upload sends a file. With Caps.NewIDPerUpload the file is a new
	// item, whatever else holds its name (the caller retires the copy it
	// replaces); else an upload onto a name makes a new version (Rev) of
	// the file holding it.
	Upload(ctx context.Context, up Upload) (Item, error)
	// FindLanded looks for an upload whose answer was lost (a cut
	// connection, a crash): the file a, and nothing of a.Exclude, landed
	// as, if any.
	FindLanded(ctx context.Context, a Attempt) (Item, bool, error)
	// Confirm finds in its folder's listing the file an upload's answer
	// described (it, with Unconfirmed set: a service may list an upload
	// under another id than its answer gave) and returns it as listed;
	// ErrUnconfirmed when no listed item is surely it (with
	// ErrAmbiguousUpload when more than one could be). it carries the
	// times the upload was under way (SentAt, CreatedAt: this machine's
	// clock), as Upload's answer does; rivals are the other uploads of its
	// folder no listing has shown yet (their answers), and exclude lists
	// ids (and urls of files whose listed id is not known yet) of files
	// known to be others: neither is ever taken for it. Called only for
	// items the backend marked Unconfirmed.
	Confirm(ctx context.Context, it Item, rivals []Item, exclude []string) (Item, error)
	// PickCreated is Confirm's choice among a folder's files as listed
	// (all), where neither the upload's id nor its url told it: by name,
	// size and time of creation. It makes no call: the cache applies it to
	// every listing of a folder that holds uploads no listing has shown.
	PickCreated(all []Item, it Item, rivals []Item, exclude []string) (Item, error)
	// Rename gives item id a new name in its folder. A *NotDoneError says
	// the service did not act (or a retry found it done): a listing
	// decides.
	Rename(ctx context.Context, id, name string) error
	// Move puts item id in folder parentID under name (Caps.Move,
	// Caps.MoveFolders); else ErrNotSupported.
	Move(ctx context.Context, id, parentID, name string) error
	// Remove removes items, to the trash (Caps.Trash) or, permanent, for
	// good (Caps.Permanent), Caps.BulkRemove of them per call at most. A
	// *NotDoneError names the ids the service did not remove (the others
	// it did); after a retry they may have been removed by the first
	// attempt: a listing decides.
	Remove(ctx context.Context, ids []string, permanent bool) error
	// Versions lists a file's versions, the oldest first and the current
	// one last (Caps.Versions; else ErrNotSupported), by Num: where the
	// service can make an earlier version current again in place
	// (ImageKit's restore), that one is marked Current where it stands.
	// ErrNotFound when the file is gone.
	Versions(ctx context.Context, id string) ([]Version, error)
	// RemoveVersion removes one version of a file, never its current one
	// (ErrBusy: the caller removes the file instead). ErrNotFound when
	// the version or the file is gone.
	RemoveVersion(ctx context.Context, id, rev string) error
	// FolderWrites is nil unless the service was seen putting a new item
	// elsewhere than the folder asked for; then it is that error (every
	// create into a folder fails with it, ErrMisplaced).
	FolderWrites() error
	// Observer is what the service was sent, for status and metrics.
	Observer
}

// GroupConfirmer is a Backend that can find the files of several uploads
// of one name, size and folder taken together, where Confirm cannot tell
// them apart one by one (ErrAmbiguousUpload): those files, all of them,
// paired with its in an order that is arbitrary, fit only for a caller
// that does the same to each (sends them all to the trash). Its failures
// are Confirm's.
type GroupConfirmer interface {
	ConfirmGroup(ctx context.Context, its []Item, rivals []Item, exclude []string) ([]Item, error)
}

// Observer is what a backend's client has sent, against the service's
// limits: what status and metrics show, read at any time.
type Observer interface {
	// Stats are the requests sent, by endpoint and status, the retries,
	// the storage bytes read and the pacer's counters.
	Stats() Stats
	// Usage is the requests over the last window and the day, against
	// the published limits and the server's rate-limit headers.
	Usage() Usage
}

// Caps says what a service does, so that the layers above check a
// capability rather than assume one service's ways. A zero Caps claims
// nothing: no move, no folder rename, no trash, no whole-library or
// recent-changes listing, one listing per item type.
type Caps struct {
	// Kind names the backend in logs ("ghl").
	Kind string
	// XattrPrefix is the prefix of the extended attributes the mount
	// shows for the service's fields ("user.ghl.").
	XattrPrefix string

	// UniqueNames: a folder never holds two items of one name; a create
	// or rename onto a taken name fails, or (with versions) replaces.
	// False: duplicates may exist (HighLevel: a rename lands before the
	// replaced file is removed).
	UniqueNames bool
	// CaseInsensitive: names differing only in case are one name.
	CaseInsensitive bool
	// ValidName says whether the service keeps name as it is: an error
	// (matching ErrInvalid) for a name it would refuse or rewrite
	// silently. Nil: every name is kept (see CheckName).
	ValidName func(name string, dir bool) error

	// NewIDPerUpload: every upload makes a new item, with a new id, and
	// an id's bytes never change; a replace is "upload, then retire the
	// old copy". False: an upload onto a name makes a new version (Rev)
	// under the same id.
	NewIDPerUpload bool
	// Versions: earlier versions of a file are kept, and can be read by
	// FileRef.Rev.
	Versions bool
	// MaxUpload is the largest file of a content type the service takes
	// (see UploadLimit); nil: no limit known.
	MaxUpload func(contentType string) int64

	// RangeReads: a read of part of a file fetches that part only.
	RangeReads bool
	// PublicURL: a file's bytes come from a url given in its listing,
	// with no credentials (Item.URL).
	PublicURL bool

	// Move, MoveFolders: a file, a folder, can be moved to another
	// folder on the server (Backend.Move); else a move across folders
	// is EXDEV, and mv copies.
	Move, MoveFolders bool
	// RenameFolders: a folder can be renamed in place.
	RenameFolders bool
	// Trash: a removal can go to the trash (restorable); Permanent: it
	// can be for good.
	Trash, Permanent bool
	// BulkRemove is the most ids one Remove call takes; 0: no bound is
	// known (HighLevel's bulk call takes a list).
	BulkRemove int

	// OneListing: one listing of a folder gives its files and its
	// folders; else one listing per item type (ListQuery.Type).
	OneListing bool
	// ListAll: the whole library can be listed at once (ListQuery.All),
	// whatever folder items are in.
	ListAll bool
	// ListRecent: the whole library can be listed by last change
	// (ListUpdated).
	ListRecent bool
}

// CheckName is ValidName's verdict, nil when there is no rule.
func (c Caps) CheckName(name string, dir bool) error {
	if c.ValidName == nil {
		return nil
	}
	return c.ValidName(name, dir)
}

// UploadLimit is MaxUpload's limit for a content type: the largest file
// of that type the service takes (math.MaxInt64 when none is known).
func (c Caps) UploadLimit(contentType string) int64 {
	if c.MaxUpload == nil {
		return math.MaxInt64
	}
	return c.MaxUpload(contentType)
}

// ListQuery selects what Backend.List reads.
type ListQuery struct {
	// Type is TypeFile or TypeFolder. "" lists both on a service with
	// Caps.OneListing; elsewhere it lists files.
	Type string
	// ParentID is the folder listed ("" = the root); only its own items
	// are handed on, whatever the service answers.
	ParentID string
	// All lists every item of Type in the library, whatever its folder
	// (Caps.ListAll); ParentID is not read.
	All bool
	// Label names the listing in log lines (a folder's path, say); ""
	// names it by its parent's id.
	Label string
}

// Version is one version of a file, as Backend.Versions lists it.
type Version struct {
	// Rev is the version's token, as FileRef.Rev takes it.
	Rev string
	// Num is the version's number as the service shows it (OCM's
	// version, ImageKit's "Version N"), 1 for the first: numbers stay
	// with their versions when an earlier one is removed.
	Num int
	// Size is -1 when unknown.
	Size int64
	// ModTime is when the version was made (zero when unknown).
	ModTime time.Time
	// Current marks the file's current version: the one its name reads.
	Current bool
}

// FileRef names a file's bytes: its id, its version (Rev, "" for the
// current one or a service without versions), and the url its listing
// gave, where the service reads bytes from urls (Caps.PublicURL).
type FileRef struct {
	ID, Rev, URL string
}

// Attempt is an upload whose answer was lost, as Backend.FindLanded
// looks for it.
type Attempt struct {
	ParentID, Name string
	// Size is the file's size; -1 when unknown.
	Size int64
	// At is when it was sent, on this machine's clock: the service's
	// trace of it is no older (less a margin for clock skew).
	At time.Time
	// Exclude lists ids (and urls of files whose listed id is not known
	// yet) of other copies, which are never taken for it.
	Exclude []string
	// Rivals are the uploads of its folder whose answers no listing has
	// shown yet, with the times they were under way (as Backend.Confirm
	// takes them). Where a service tells the upload only by name, size
	// and time, a file that could be one of theirs is not taken for it
	// unless the order the uploads were sent in tells them apart (an
	// earlier upload of the same file, answered without the listed id,
	// is listed beside it, or alone when it did not land).
	Rivals []Item
	// Into and BaseRev, on a service that keeps versions under one id
	// (not Caps.NewIDPerUpload), name the file the name held when the
	// upload was sent and its version then: the upload, landed, is a
	// later version of Into (or a new file, when another took the
	// name), and Into at BaseRev is not it. Into is never excluded by
	// its id. Empty: the name held no file.
	Into, BaseRev string
}
