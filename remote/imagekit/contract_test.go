package imagekit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/imagekit"
	"github.com/ghlfs/ghlfs/remote/imagekit/iktest"
	"github.com/ghlfs/ghlfs/remote/remotetest"
)

// The backend keeps the contract against its fake with no quirk on, and
// with each quirk on alone.

const contractPage = 10

// fallbacks are, per quirk, the errors the backend documents for a call
// the quirk makes impossible.
var fallbacks = map[string]map[remotetest.Op][]error{}

// knownBugs are the cases the backend fails under a quirk, by quirk.
var knownBugs = map[string]map[string]string{}

func TestContract(t *testing.T) {
	for _, q := range append([]string{""}, iktest.KnownQuirks()...) {
		name := q
		if name == "" {
			name = "no-quirk"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			remotetest.Run(t, contractFixture(q))
		})
	}
}

// start starts a fake with quirks and a backend against it.
func start(t *testing.T, o iktest.Options, cfg imagekit.Config) (*iktest.Server, *imagekit.Backend) {
	t.Helper()
	srv, err := iktest.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg.PrivateKey = srv.Key()
	cfg.APIURL, cfg.UploadURL, cfg.URLEndpoint = srv.URL, srv.URL, srv.Endpoint
	cfg.RateLimit = -1
	if cfg.PageSize == 0 {
		cfg.PageSize = contractPage
	}
	if cfg.RetryTimeout == 0 {
		cfg.RetryTimeout = 20 * time.Second
	}
	b, err := imagekit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, b
}

func contractFixture(quirk string) remotetest.Fixture {
	return func(t *testing.T) remotetest.Instance {
		var quirks []string
		if quirk != "" {
			quirks = []string{quirk}
		}
		srv, b := start(t, iktest.Options{Quirks: quirks}, imagekit.Config{})
		return remotetest.Instance{Backend: b, Fake: contractFake{srv}, PageSize: contractPage,
			MayFail: fallbacks[quirk], Known: knownBugs[quirk]}
	}
}

// contractFake is an iktest.Server as the contract drives it. A folder's
// id is the one it was made with (FirstID): the backend keeps that id
// for a folder the service gives a new one (folderid-changes-on-rename).
type contractFake struct{ *iktest.Server }

var _ remotetest.Refuser = contractFake{}

func (f contractFake) Items() []remotetest.Item {
	items := f.Server.Items()
	first := map[string]string{}
	for _, it := range items {
		first[it.ID] = it.FirstID
	}
	var out []remotetest.Item
	for _, it := range items {
		status := remotetest.Active
		if it.Deleted {
			status = remotetest.Deleted
		}
		id := it.ID
		if it.Folder {
			id = it.FirstID
		}
		parent := it.ParentID
		if p, ok := first[parent]; ok {
			parent = p
		}
		out = append(out, remotetest.Item{ID: id, Name: it.Name, ParentID: parent, Folder: it.Folder, Status: status,
			Size: it.Size, Rev: it.Rev, Versions: it.Versions})
	}
	return out
}

// current is a folder's id now, for one named by its first id.
func (f contractFake) current(id string) string {
	for _, it := range f.Server.Items() {
		if it.FirstID == id && it.Folder {
			return it.ID
		}
	}
	return id
}

func (f contractFake) AddFolder(parentID, name string) string {
	return f.Server.AddFolder(f.current(parentID), name)
}

func (f contractFake) AddFile(parentID, name string, data []byte) string {
	return f.Server.AddFile(f.current(parentID), name, data)
}

func (f contractFake) Remove(id string) { f.Server.Remove(f.current(id)) }

func (f contractFake) CutNext(op remotetest.Op) {
	eps, ok := map[remotetest.Op][]string{
		remotetest.OpUpload:       {iktest.EndpointUpload},
		remotetest.OpCreateFolder: {iktest.EndpointFolder},
		remotetest.OpRename:       {iktest.EndpointRename, iktest.EndpointRenameFolder},
		remotetest.OpMove:         {iktest.EndpointMove, iktest.EndpointMoveFolder},
		remotetest.OpRemove:       {iktest.EndpointBulkDelete, iktest.EndpointFolderDelete},
	}[op]
	if !ok {
		panic(fmt.Sprintf("contractFake: no endpoint for %s", op))
	}
	f.Server.CutNext(eps...)
}
