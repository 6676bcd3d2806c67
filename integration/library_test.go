package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// library is the fake's state as a tree, for comparing with the mount.
type library struct {
	items   []ghltest.Item
	byID    map[string]ghltest.Item
	folders []ghltest.Item // active folders
	files   []ghltest.Item // active files
}

func readLibrary(srv *ghltest.Server) *library {
	l := &library{byID: map[string]ghltest.Item{}}
	for _, it := range srv.Items() {
		if it.Status != "active" {
			continue
		}
		l.items = append(l.items, it)
		l.byID[it.ID] = it
		if it.Type == "folder" {
			l.folders = append(l.folders, it)
		} else {
			l.files = append(l.files, it)
		}
	}
	return l
}

// shown is how the mount shows one name: '/' as '／'.
func shown(name string) string { return strings.ReplaceAll(name, "/", "／") }

// dirPath is the path of a folder in the mount, relative to its root.
func (l *library) dirPath(folderID string) string {
	var parts []string
	for id := folderID; id != ""; {
		it := l.byID[id]
		parts = append([]string{shown(it.Name)}, parts...)
		id = it.ParentID
	}
	return path.Join(parts...)
}

// filesIn returns the active files whose parent is folderID.
func (l *library) filesIn(folderID string) []ghltest.Item {
	var out []ghltest.Item
	for _, f := range l.files {
		if f.ParentID == folderID {
			out = append(out, f)
		}
	}
	return out
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// download fetches a file straight from its storage URL, as a browser would.
func download(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkMountMatches compares every folder and file of the library with
// the mount, using real tools: find for the tree, sha256sum for the bytes,
// stat for sizes, and cmp against a direct download for each file.
func checkMountMatches(t *testing.T, srv *ghltest.Server, m *mount) {
	t.Helper()
	lib := readLibrary(srv)

	// Every folder is a directory.
	dirs := lines(sh(t, "find", m.dir, "-mindepth", "1", "-type", "d", "-printf", "%P\\n"))
	var want []string
	for _, f := range lib.folders {
		want = append(want, lib.dirPath(f.ID))
	}
	slices.Sort(dirs)
	slices.Sort(want)
	if !slices.Equal(dirs, want) {
		t.Fatalf("directories:\n got %q\nwant %q", dirs, want)
	}

	// Every file, per folder: the same bytes (as a multiset, since duplicate
	// names are shown under made-up names) and sizes.
	total := 0
	for _, folderID := range append([]string{""}, ids(lib.folders)...) {
		dir := m.path(lib.dirPath(folderID))
		files := lib.filesIn(folderID)
		total += len(files)
		out := sh(t, "find", dir, "-mindepth", "1", "-maxdepth", "1", "-type", "f", "-printf", "%s %P\\n")
		gotLines := lines(out)
		if len(gotLines) != len(files) {
			t.Fatalf("%s: %d files in the mount, %d in the library:\n%s", dir, len(gotLines), len(files), out)
		}
		wantSums := map[string]int{}
		for _, f := range files {
			data, _ := srv.Content(f.ID)
			wantSums[sha(data)]++
		}
		for _, line := range gotLines {
			_, name, _ := strings.Cut(line, " ")
			sum, _, _ := strings.Cut(sh(t, "sha256sum", path.Join(dir, name)), " ")
			if wantSums[sum] == 0 {
				t.Errorf("%s/%s: its bytes match no file of the folder", dir, name)
			}
			wantSums[sum]--
		}
		// A file whose name is not shared has exactly that name, its size,
		// and reads the same as a direct download.
		for _, f := range files {
			if countName(files, f.Name) > 1 {
				continue
			}
			p := path.Join(dir, shown(f.Name))
			if got := strings.TrimSpace(sh(t, "stat", "-c", "%s", p)); got != itoa(f.Size) {
				t.Errorf("%s: size %s, want %d", p, got, f.Size)
			}
			direct := t.TempDir() + "/direct"
			writeFile(t, direct, download(t, f.URL))
			sh(t, "cmp", p, direct)
		}
	}
	if total != len(lib.files) {
		t.Fatalf("checked %d files of %d", total, len(lib.files))
	}
}

func ids(items []ghltest.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func countName(items []ghltest.Item, name string) int {
	n := 0
	for _, it := range items {
		if it.Name == name {
			n++
		}
	}
	return n
}
