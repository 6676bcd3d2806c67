package integration

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The tests that hold for every media store ghlfs serves (the differential
// random test, the crash-point table) reach the store through a
// backendFixture: its fake, started for one test, the flags that mount
// ghlfs on it, the library read back through the service's own wire
// format, its counters. Each such test runs once per entry of backends(),
// under the backend's name. Tests of one service's own ways keep using its
// fake directly (ghltest, for HighLevel).

// backends are the media stores the tests that hold for every one run
// against.
func backends() []backendFixture {
	return []backendFixture{ghlBackend{}, ikBackend{}, ocmBackend{}}
}

// backendFixture is one media store as those tests drive it.
type backendFixture interface {
	// name names the backend in test names ("ghl").
	name() string
	// start starts a fresh fake for one test, with an empty library (or
	// what the service puts in a new one), stopped when t ends.
	start(t testing.TB, o fakeOpts) service
	// quirks are the fake's quirks that give behaviour b; false when the
	// fake has none such (a test case that needs it is skipped, saying
	// so).
	quirks(b behaviour) ([]string, bool)
}

// behaviour is a way of a service a test case needs its fake to have.
type behaviour string

// noRename: the service refuses every rename (ghlfs copies the bytes to
// the new name instead).
const noRename behaviour = "no-rename"

// fakeOpts are what a test asks of a fake, in words every fake reads.
type fakeOpts struct {
	// quirks are the fake's own quirk names.
	quirks []string
	faults faultSet
	// rand drives the fake's random draws (nil: its own), so that a run
	// can be repeated.
	rand *rand.Rand
	// pageCap is the most items one listing answer holds (0: the fake's
	// default).
	pageCap int
}

// faultSet are the failures a fake injects, as fractions of API requests
// and delays.
type faultSet struct {
	// fail500, fail429: answered 500, 429, before anything is done.
	fail500, fail429 float64
	// cut: carried out in full, then the connection is closed unanswered
	// (a storage read is cut half way).
	cut float64
	// uploadDelay: an upload waits this long before it is stored.
	uploadDelay time.Duration
}

// service is one running fake as the tests see it.
type service interface {
	// mountArgs are the flags of ghlfs mount that name the service (its
	// address, the library); mountEnv the environment it needs
	// (credentials). The test's own flags come after.
	mountArgs() []string
	mountEnv() []string
	// tree is the library's active items by path, read through the
	// service's own wire format, as any other client would see it.
	tree(t testing.TB) map[string]remoteFile
	// items is every item the fake holds, removed ones too, and each
	// earlier version of a file (statusOldVersion); content is the bytes
	// of a file's version ("" the current one), whatever its status.
	items() []libItem
	content(id, rev string) ([]byte, bool)
	// addFolder and addFile change the library as another client would,
	// and return the new item's id.
	addFolder(parentID, name string) string
	addFile(parentID, name string, data []byte) string
	// setFaults replaces the faults injected.
	setFaults(f faultSet)
	// counts are the calls the fake answered.
	counts(t testing.TB) callCounts
	// traits say how the service's ways show in the mount.
	traits() traits
}

// restorer is a service whose fake can take a file out of the trash, as
// its web UI does.
type restorer interface {
	restore(id string) error
}

// libItem is one item as a fake holds it.
type libItem struct {
	ID, Name, ParentID string
	// Rev is a file's version ("" where every upload is a new item).
	Rev    string
	Folder bool
	// Status is statusActive, statusTrashed, statusDeleted, or, for an
	// earlier version of a file, statusOldVersion.
	Status    string
	Size      int64
	CreatedAt time.Time
	// System marks a folder the service protects (it refuses to remove
	// or rename it).
	System bool
}

const (
	statusActive     = "active"
	statusTrashed    = "trashed"
	statusDeleted    = "deleted"
	statusOldVersion = "old-version"
)

// callCounts are what a fake answered.
type callCounts struct {
	api, uploads, storage int
	// byEndpoint is for logs.
	byEndpoint map[string]int
}

// traits are the ways of a service that show in the mount.
type traits struct {
	// moves: the service moves an item to another folder; else a rename
	// across folders is EXDEV, and mv copies.
	moves bool
	// noRename: the service refuses renames, so a folder's rename in
	// place is EXDEV too.
	noRename bool
	// versions: an upload onto a name is a new version of the file
	// holding it (the same id); else every upload is a new item.
	versions bool
	// keepsVersions: the service keeps a file's earlier versions, and
	// the mount shows them in each folder's .versions view
	// (Caps.Versions; versions_test.go); else there is no view.
	keepsVersions bool
	// noTrash: a removal is for good (the mount runs --delete-mode
	// delete).
	noTrash bool
	// caseInsensitive: names differing only in case are one name in a
	// folder, files and folders together; a create, mkdir, rename or
	// move onto a name another item of the folder holds in another case
	// is EEXIST (look-ups stay exact).
	caseInsensitive bool
	// validName says whether the service keeps a new name as given; a
	// create, mkdir, rename or move to one it would rewrite is EINVAL.
	// nil: every name is kept.
	validName func(name string, dir bool) bool
	// refusedName says whether the service refuses a file of this path
	// (by the content type its name gives): its bytes stay in the spool.
	// nil: none is refused.
	refusedName func(rel string) bool
}
