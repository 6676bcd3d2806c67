package integration

import (
	"io"
	"net/http"
	"path"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// remoteFile is an item as the fake's API lists it.
type remoteFile struct {
	ID, Name, Type, ParentID, URL, ContentType string
	Size                                       int64
}

// remoteTree lists the whole library through the fake's API (what any
// other client of the location would see), keyed by path of API names.
func remoteTree(t testing.TB, srv *ghltest.Server) map[string]remoteFile {
	t.Helper()
	tree := map[string]remoteFile{}
	var walk func(parentID, prefix string)
	walk = func(parentID, prefix string) {
		for _, typ := range []string{"folder", "file"} {
			for _, m := range apiList(t, srv, parentID, typ) {
				f := remoteFile{ID: str(m["_id"]), Name: str(m["name"]), Type: typ, ParentID: parentID, URL: str(m["url"]), ContentType: str(m["contentType"])}
				if n, ok := m["size"].(float64); ok {
					f.Size = int64(n)
				}
				p := path.Join(prefix, f.Name)
				if _, dup := tree[p]; dup {
					p += " #" + f.ID
				}
				tree[p] = f
				if typ == "folder" {
					walk(f.ID, p)
				}
			}
		}
	}
	walk("", "")
	return tree
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// apiDo sends one JSON request to the fake's API, as another client of the
// location (the web UI, say) would.
func apiDo(t testing.TB, srv *ghltest.Server, method, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Version", "2021-07-28")
	req.Header.Set("User-Agent", "another-client")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
}
