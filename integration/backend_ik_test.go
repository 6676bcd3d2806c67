package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/imagekit"
	"github.com/ghlfs/ghlfs/remote/imagekit/iktest"
)

// ikBackend is ImageKit, against iktest: one media library (its url
// endpoint on the fake's address), the private key in the environment.
// ImageKit has no trash: every mount of it is --delete-mode delete.
type ikBackend struct{}

func (ikBackend) name() string { return "imagekit" }

func (ikBackend) start(t testing.TB, o fakeOpts) service {
	t.Helper()
	// o.rand and o.pageCap have no counterpart: the fake draws its faults
	// from its own generator, and answers up to the limit asked for.
	srv, err := iktest.NewServer(iktest.Options{Quirks: o.quirks})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.SetFaults(ikFaults(o.faults))
	return ikService{srv: srv}
}

// quirks: ImageKit always renames (files by PUT /v1/files/rename,
// folders by a job); there is no fake that cannot.
func (ikBackend) quirks(b behaviour) ([]string, bool) { return nil, false }

// ikFaults are iktest's faults for a faultSet.
func ikFaults(f faultSet) iktest.Faults {
	return iktest.Faults{Fault500: f.fail500, Fault429: f.fail429, FaultCut: f.cut, UploadDelay: f.uploadDelay}
}

// ikService is a running iktest.Server.
type ikService struct{ srv *iktest.Server }

func (s ikService) mountArgs() []string {
	return []string{"--backend", "imagekit", "--api-url", s.srv.URL, "--upload-url", s.srv.URL,
		"--url-endpoint", s.srv.Endpoint, "--delete-mode", "delete"}
}

func (s ikService) mountEnv() []string { return []string{"IMAGEKIT_PRIVATE_KEY=" + s.srv.Key()} }

// ikListed is an item of GET /v1/files (type=all), as the API writes it.
type ikListed struct {
	Type        string `json:"type"`
	FileID      string `json:"fileId"`
	FolderID    string `json:"folderId"`
	Name        string `json:"name"`
	URL         string `json:"url"`
	Mime        string `json:"mime"`
	Size        int64  `json:"size"`
	VersionInfo struct {
		ID string `json:"id"`
	} `json:"versionInfo"`
}

// list reads one folder's listing (path "/a/b/") through the API, paged
// by skip, as any other client would.
func (s ikService) list(t testing.TB, dir string) []ikListed {
	t.Helper()
	const limit = 1000
	var out []ikListed
	for skip := 0; ; skip += limit {
		q := url.Values{"type": {"all"}, "path": {dir}, "skip": {strconv.Itoa(skip)}, "limit": {strconv.Itoa(limit)}}
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/v1/files?"+q.Encode(), nil)
		req.SetBasicAuth(s.srv.Key(), "")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page []ikListed
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET /v1/files?%s: %d %v", q.Encode(), res.StatusCode, err)
		}
		out = append(out, page...)
		if len(page) < limit {
			return out
		}
	}
}

// tree walks the library with GET /v1/files?type=all&path=..., keyed by
// path of the names listed.
func (s ikService) tree(t testing.TB) map[string]remoteFile {
	t.Helper()
	tree := map[string]remoteFile{}
	var walk func(folderID, dir string)
	walk = func(folderID, dir string) {
		for _, it := range s.list(t, "/"+dir) {
			rel := path.Join(dir, shown(it.Name))
			if it.Type == "folder" {
				tree[rel] = remoteFile{ID: it.FolderID, Name: it.Name, Type: "folder", ParentID: folderID}
				walk(it.FolderID, rel+"/")
				continue
			}
			tree[rel] = remoteFile{ID: it.FileID, Name: it.Name, Type: "file", ParentID: folderID, URL: it.URL, ContentType: it.Mime, Size: it.Size}
		}
	}
	walk("", "")
	return tree
}

// items: each file's current version as the file (active, or deleted),
// and each earlier version as an item of its own (statusOldVersion), by
// the same id and its Rev. Deletes are for good.
func (s ikService) items() []libItem {
	var out []libItem
	for _, it := range s.srv.Items() {
		status := statusActive
		if it.Deleted {
			status = statusDeleted
		}
		out = append(out, libItem{ID: it.ID, Name: it.Name, ParentID: it.ParentID, Rev: it.Rev, Folder: it.Folder, Status: status, Size: it.Size})
		if it.Folder {
			continue
		}
		for _, rev := range s.srv.VersionIDs(it.ID) {
			if rev == it.Rev {
				continue
			}
			b, _ := s.srv.Content(it.ID, rev)
			out = append(out, libItem{ID: it.ID, Name: it.Name, ParentID: it.ParentID, Rev: rev, Status: statusOldVersion, Size: int64(len(b))})
		}
	}
	return out
}

func (s ikService) content(id, rev string) ([]byte, bool) { return s.srv.Content(id, rev) }

func (s ikService) addFolder(parentID, name string) string { return s.srv.AddFolder(parentID, name) }

func (s ikService) addFile(parentID, name string, data []byte) string {
	return s.srv.AddFile(parentID, name, data)
}

func (s ikService) setFaults(f faultSet) { s.srv.SetFaults(ikFaults(f)) }

// ikAPIEndpoints are the fake's API endpoints (the upload host's and the
// CDN's apart).
var ikAPIEndpoints = []string{iktest.EndpointList, iktest.EndpointDetails, iktest.EndpointVersions, iktest.EndpointVersion,
	iktest.EndpointDeleteVersion, iktest.EndpointRestoreVersion, iktest.EndpointDelete, iktest.EndpointRename, iktest.EndpointMove, iktest.EndpointBulkDelete, iktest.EndpointFolder,
	iktest.EndpointFolderDelete, iktest.EndpointMoveFolder, iktest.EndpointRenameFolder, iktest.EndpointCopyFolder, iktest.EndpointJob}

// counts reads the fake's counters: uploads as they arrive
// (UploadsReceived), so that a test can act while one is under way.
func (s ikService) counts(t testing.TB) callCounts {
	c := callCounts{uploads: s.srv.Calls(iktest.UploadsReceived), storage: s.srv.Calls(iktest.EndpointCDN), byEndpoint: map[string]int{}}
	for _, ep := range append(ikAPIEndpoints, iktest.EndpointUpload) {
		if n := s.srv.Calls(ep); n > 0 {
			c.byEndpoint[ep] = n
			if ep != iktest.EndpointUpload {
				c.api += n
			}
		}
	}
	return c
}

// traits: files and folders move on the server; a replace is a new
// version of the same file, and the earlier ones are kept (.versions);
// names the service would rewrite are EINVAL;
// there is no trash.
func (s ikService) traits() traits {
	return traits{moves: true, versions: true, keepsVersions: true, noTrash: true, validName: func(name string, dir bool) bool {
		return imagekit.ValidName(name, dir) == nil
	}}
}

// ikPath is an item's path in the fake ("/a/b.txt") of a mount's
// relative path.
func ikPath(rel string) string { return "/" + strings.TrimPrefix(rel, "/") }

// ikItem is the active item at rel, failing the test when there is none.
func ikItem(t testing.TB, srv *iktest.Server, rel string) iktest.Item {
	t.Helper()
	it, ok := srv.ByPath(ikPath(rel))
	if !ok {
		t.Fatalf("the library holds nothing at %s", rel)
	}
	return it
}
