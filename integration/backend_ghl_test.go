package integration

import (
	"path"
	"slices"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// ghlBackend is HighLevel, against ghltest: a location's library, a
// Private Integration Token.
type ghlBackend struct{}

func (ghlBackend) name() string { return "ghl" }

func (ghlBackend) start(t testing.TB, o fakeOpts) service {
	t.Helper()
	srv := fake(t, ghltest.Options{Quirks: o.quirks, Faults: ghlFaults(o.faults), Rand: o.rand, PageCap: o.pageCap})
	return ghlService{srv: srv, quirks: o.quirks}
}

func (ghlBackend) quirks(b behaviour) ([]string, bool) {
	switch b {
	case noRename:
		// No rename route for the token (a field report).
		return []string{ghltest.QuirkUpdate404}, true
	}
	return nil, false
}

// ghlFaults are ghltest's faults for a faultSet.
func ghlFaults(f faultSet) ghltest.Faults {
	return ghltest.Faults{Fault500: f.fail500, Fault429: f.fail429, FaultCut: f.cut, UploadDelay: ghltest.Duration(f.uploadDelay)}
}

// ghlService is a running ghltest.Server.
type ghlService struct {
	srv    *ghltest.Server
	quirks []string
}

var _ restorer = ghlService{}

func (s ghlService) mountArgs() []string {
	return []string{"--location", testLocation, "--api-url", s.srv.URL}
}

func (s ghlService) mountEnv() []string { return []string{"GHL_TOKEN=" + testToken} }

// tree walks the library with GET /medias/files (remote_test.go).
func (s ghlService) tree(t testing.TB) map[string]remoteFile { return remoteTree(t, s.srv) }

func (s ghlService) items() []libItem {
	var out []libItem
	for _, it := range s.srv.Items() {
		out = append(out, libItem{ID: it.ID, Name: it.Name, ParentID: it.ParentID, Folder: it.Type == ghltest.TypeFolder,
			Status: it.Status, Size: it.Size, CreatedAt: it.CreatedAt, System: it.Essential || it.AppFolder})
	}
	return out
}

// content: an id's bytes never change; there are no versions.
func (s ghlService) content(id, rev string) ([]byte, bool) {
	if rev != "" {
		return nil, false
	}
	return s.srv.Content(id)
}

func (s ghlService) addFolder(parentID, name string) string { return s.srv.AddFolder(parentID, name) }

// addFile: the content type is the service's guess from the name.
func (s ghlService) addFile(parentID, name string, data []byte) string {
	return s.srv.AddFile(parentID, name, "", data)
}

func (s ghlService) setFaults(f faultSet) { s.srv.SetFaults(ghlFaults(f)) }

// counts reads GET /_ghlfake/stats.
func (s ghlService) counts(t testing.TB) callCounts {
	t.Helper()
	st := getStats(t, s.srv)
	return callCounts{api: st.APIRequests, uploads: st.ByEndpoint[ghltest.EndpointUpload], storage: st.StorageRequests, byEndpoint: st.ByEndpoint}
}

func (s ghlService) restore(id string) error {
	_, err := s.srv.Restore(id)
	return err
}

// traits: no server-side move; no rename under update-404; under
// type-allowlist, what ghlfs sends as application/octet-stream (of
// fsrand's names, .bin and no extension: the README's table) is refused.
func (s ghlService) traits() traits {
	tr := traits{noRename: slices.Contains(s.quirks, ghltest.QuirkUpdate404)}
	if slices.Contains(s.quirks, ghltest.QuirkTypeAllowlist) {
		tr.refusedName = func(rel string) bool {
			ext := path.Ext(path.Base(rel))
			return ext == "" || ext == ".bin"
		}
	}
	return tr
}
