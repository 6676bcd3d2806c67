package remotetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// Fixture starts, for one case of the contract, a fresh fake of one
// service with an empty library (or one holding only what the service
// itself puts in a new library), and the backend under test talking to
// it. It stops them both in t's cleanup.
type Fixture func(t *testing.T) Instance

// Instance is one backend against its own fake.
type Instance struct {
	// Backend is the client under test.
	Backend remote.Backend
	// Fake is the service's side: its library, read and changed without
	// the client, and the faults the contract injects.
	Fake Fake
	// PageSize is the most items one listing call of Backend brings: the
	// contract lists a folder of more.
	PageSize int
	// MayFail lists, by operation, the errors the backend may answer
	// against this fake (a quirk under which the service cannot do it:
	// a missing route, a folder ignored): the contract then checks that
	// the library did not change, and logs the refusal. Any other
	// failure fails the contract; so does a success that did not do
	// what it says. A *remote.NotDoneError stands for every one.
	MayFail map[Op][]error
	// Known names the cases this backend is known to fail against this
	// fake, each with the bug it shows: Run skips them, saying so, until
	// the bug is fixed. Never a stand-in for MayFail: a known case is a
	// bug, not a documented refusal.
	Known map[string]string
	// TrashMayDelete says a removal to the trash may remove for good
	// against this fake: the service has no other way to remove, and the
	// backend documents it (HighLevel without its bulk route, whose
	// DELETE /medias/{id} may delete for good). The contract then takes
	// either status.
	TrashMayDelete bool
	// VersionCap is the most versions the fake keeps of a file, the
	// oldest removed beyond it (an admin's cap); 0: no cap.
	VersionCap int
	// Settle, when set, lets what the service shows late catch up (an
	// index fed behind its store): called before the whole library is
	// listed.
	Settle func()
	// Now is the backend's clock, which upload attempts are timed by
	// (remote.Attempt.At); nil: time.Now.
	Now func() time.Time
}

// Fake is a service's fake as the contract drives it.
type Fake interface {
	// Items is every item of the library, removed ones too.
	Items() []Item
	// Content is the bytes of a file's version rev ("" the current one),
	// whatever its status.
	Content(id, rev string) ([]byte, bool)
	// AddFolder and AddFile change the library as another client would,
	// and return the new item's id (AddFile, where the service keeps
	// versions under one id, the id of the file holding the name).
	AddFolder(parentID, name string) string
	AddFile(parentID, name string, data []byte) string
	// Remove removes an item as another client would: for good where
	// the service can, else to the trash.
	Remove(id string)
	// CutNext makes the service carry out the next call of op it is
	// sent (the next request of it, where one op takes several), and cut
	// the connection before any answer.
	CutNext(op Op)
}

// Refuser is a Fake that can make the service refuse some ids of a
// removal while it removes the others (per-id results).
type Refuser interface {
	RefuseRemoval(ids ...string)
}

// Op names a kind of call, for CutNext and MayFail.
type Op string

const (
	OpUpload       Op = "upload"
	OpCreateFolder Op = "create-folder"
	OpRename       Op = "rename"
	OpMove         Op = "move"
	OpRemove       Op = "remove"
	OpListRecent   Op = "list-recent"
)

// Item is one item as the fake holds it.
type Item struct {
	ID, Name, ParentID string
	Folder             bool
	Status             string // Active, Trashed or Deleted
	Size               int64
	// Rev is the current version's token; Versions how many versions
	// the service keeps (1 where every upload is a new item).
	Rev      string
	Versions int
}

// Item statuses.
const (
	Active  = "active"
	Trashed = "trashed"
	Deleted = "deleted"
)

// matches reports whether err is want: errors.Is, or, for a
// *remote.NotDoneError, of that type.
func matches(err, want error) bool {
	var nd *remote.NotDoneError
	if _, ok := want.(*remote.NotDoneError); ok {
		return errors.As(err, &nd)
	}
	return errors.Is(err, want)
}
