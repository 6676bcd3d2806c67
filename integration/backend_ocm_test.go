package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ocm"
	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
)

// ocmBackend is Oracle Content Management, against ocmtest: the home
// folder of an instance (the fake's address), through the identity
// domain's client credentials (the fake's token endpoint, on the same
// address), in the environment. Removals go to the trash.
type ocmBackend struct{}

func (ocmBackend) name() string { return "ocm" }

// ocmFixtureToken is a bearer token the fake always takes: the fixture
// reads the library with it, as another client of the user would.
const ocmFixtureToken = "ocm-fixture-token-not-secret"

func (ocmBackend) start(t testing.TB, o fakeOpts) service {
	t.Helper()
	// o.rand has no counterpart: the fake draws its faults from its own
	// generator. o.pageCap is its page-cap quirk.
	q := o.quirks
	if o.pageCap > 0 {
		q = append(q, ocmtest.QuirkPageCap+"="+strconv.Itoa(o.pageCap))
	}
	return startOCM(t, ocmtest.Options{Quirks: q}, o.faults)
}

// startOCM starts an ocmtest fake of opts, with the faults f, stopped
// when t ends.
func startOCM(t testing.TB, opts ocmtest.Options, f faultSet) ocmService {
	t.Helper()
	opts.StaticToken = ocmFixtureToken
	srv, err := ocmtest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.SetFaults(ocmFaults(f))
	return ocmService{srv: srv}
}

// quirks: OCM always renames (PUT files/{id}, PUT folders/{id}); there is
// no fake that cannot.
func (ocmBackend) quirks(b behaviour) ([]string, bool) { return nil, false }

// ocmFaults are ocmtest's faults for a faultSet.
func ocmFaults(f faultSet) ocmtest.Faults {
	return ocmtest.Faults{Fault500: f.fail500, Fault429: f.fail429, FaultCut: f.cut, UploadDelay: f.uploadDelay}
}

// ocmService is a running ocmtest.Server.
type ocmService struct{ srv *ocmtest.Server }

var _ restorer = ocmService{}

// mountArgs: the instance, and its token endpoint for client
// credentials; the scope is the mount's default, of the instance's host.
func (s ocmService) mountArgs() []string {
	return []string{"--backend", "ocm", "--api-url", s.srv.URL, "--token-url", s.srv.URL + ocmtest.TokenPath}
}

func (s ocmService) mountEnv() []string {
	return []string{"OCM_CLIENT_ID=" + s.srv.ClientID(), "OCM_CLIENT_SECRET=" + s.srv.ClientSecret()}
}

// ocmListed is an item of GET folders/{id}/items, as the API writes it
// (numbers as strings).
type ocmListed struct {
	ID       string `json:"id"`
	ParentID string `json:"parentID"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Size     string `json:"size"`
	Version  string `json:"version"`
	MimeType string `json:"mimeType"`
}

// get reads one answer of the API (path under the base, with its query)
// with the fixture's token into v, failing the test unless it is a
// success (HTTP 2xx and errorCode "0").
func (s ocmService) get(t testing.TB, p string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+ocmtest.BasePath+p, nil)
	req.Header.Set("Authorization", "Bearer "+ocmFixtureToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("GET %s: %d %v", p, res.StatusCode, err)
	}
	var code struct {
		ErrorCode string `json:"errorCode"`
	}
	if json.Unmarshal(raw, &code); code.ErrorCode != ocmtest.CodeOK {
		t.Fatalf("GET %s: errorCode %q: %s", p, code.ErrorCode, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET %s: %v", p, err)
	}
}

// list reads one folder's items through the API, paged by offset while
// hasMore is "1", as any other client would.
func (s ocmService) list(t testing.TB, folderID string) []ocmListed {
	t.Helper()
	const limit = 1000
	var out []ocmListed
	for offset := 0; ; {
		q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
		var page struct {
			HasMore string      `json:"hasMore"`
			Items   []ocmListed `json:"items"`
		}
		s.get(t, "folders/"+url.PathEscape(folderID)+"/items?"+q.Encode(), &page)
		out = append(out, page.Items...)
		offset += len(page.Items)
		if page.HasMore != "1" || len(page.Items) == 0 {
			return out
		}
	}
}

// tree walks the library from the home folder with GET
// folders/{id}/items, keyed by path of the names listed.
func (s ocmService) tree(t testing.TB) map[string]remoteFile {
	t.Helper()
	tree := map[string]remoteFile{}
	var walk func(folderID, dir string)
	walk = func(folderID, dir string) {
		for _, it := range s.list(t, folderID) {
			rel := path.Join(dir, shown(it.Name))
			if it.Type == "folder" {
				tree[rel] = remoteFile{ID: it.ID, Name: it.Name, Type: "folder", ParentID: folderID}
				walk(it.ID, rel)
				continue
			}
			size, _ := strconv.ParseInt(it.Size, 10, 64)
			tree[rel] = remoteFile{ID: it.ID, Name: it.Name, Type: "file", ParentID: folderID, ContentType: it.MimeType, Size: size}
		}
	}
	walk(ocm.DefaultRoot, "")
	return tree
}

// items: each file's current version as the file (active, trashed, or
// deleted when purged), and each earlier version kept as an item of its
// own (statusOldVersion), by the same id and its number. The home folder
// is the root (ParentID "").
func (s ocmService) items() []libItem {
	home := s.srv.HomeID()
	var out []libItem
	for _, it := range s.srv.Items() {
		status := statusActive
		switch {
		case it.Purged:
			status = statusDeleted
		case it.Trashed:
			status = statusTrashed
		}
		parent := it.ParentID
		if parent == home {
			parent = ""
		}
		out = append(out, libItem{ID: it.ID, Name: it.Name, ParentID: parent, Rev: it.Rev, Folder: it.Folder, Status: status,
			Size: it.Size, CreatedAt: it.Created})
		for _, v := range it.Versions {
			if rev := strconv.Itoa(v); rev != it.Rev {
				b, _ := s.srv.Content(it.ID, rev)
				out = append(out, libItem{ID: it.ID, Name: it.Name, ParentID: parent, Rev: rev, Status: statusOldVersion, Size: int64(len(b))})
			}
		}
	}
	return out
}

func (s ocmService) content(id, rev string) ([]byte, bool) { return s.srv.Content(id, rev) }

func (s ocmService) addFolder(parentID, name string) string { return s.srv.AddFolder(parentID, name) }

func (s ocmService) addFile(parentID, name string, data []byte) string {
	return s.srv.AddFile(parentID, name, data)
}

func (s ocmService) setFaults(f faultSet) { s.srv.SetFaults(ocmFaults(f)) }

func (s ocmService) restore(id string) error { return s.srv.Restore(id) }

// counts reads the fake's counters: uploads as they arrive
// (UploadsReceived), so that a test can act while one is under way;
// the downloads as storage (OCM's bytes come from the API host).
func (s ocmService) counts(t testing.TB) callCounts {
	c := callCounts{uploads: s.srv.Calls(ocmtest.UploadsReceived), storage: s.srv.Calls(ocmtest.EndpointDownload), byEndpoint: map[string]int{}}
	for ep, n := range s.srv.AllCalls() {
		if n == 0 || ep == ocmtest.UploadsReceived || ep == ocmtest.Unauthorized || ep == ocmtest.RateLimited {
			continue
		}
		c.byEndpoint[ep] = n
		if ep != ocmtest.EndpointDownload && ep != ocmtest.EndpointUpload && ep != ocmtest.EndpointUploadVersion {
			c.api += n
		}
	}
	return c
}

// traits: files and folders move on the server; a replace is a new
// version of the same file; names are unique ignoring case; names the
// backend would not send are EINVAL; removals go to the trash.
func (s ocmService) traits() traits {
	return traits{moves: true, versions: true, keepsVersions: true, caseInsensitive: true, validName: func(name string, dir bool) bool {
		return ocm.ValidName(name, dir) == nil
	}}
}
