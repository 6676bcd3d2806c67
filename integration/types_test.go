package integration

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// With the machine's tables of content types hidden from ghlfs (a private
// mount namespace where /etc/mime.types and shared-mime-info's globs2
// read empty, as on a slim system that has none), files go up with the
// types of the README's table, not as application/octet-stream: checked
// through the fake's API, each stored item's contentType.
func TestContentTypesWithoutMimeTables(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{})
	empty := filepath.Join(t.TempDir(), "empty")
	writeFile(t, empty, nil)
	m := mountFS(t, srv, mountOpt{hideMimeTables: empty})
	if _, err := os.Stat(m.path()); err != nil {
		t.Fatalf("the mount in ghlfs's namespace: %v", err)
	}
	want := map[string]string{
		"notes.txt":   "text/plain",
		"list.csv":    "text/csv",
		"report.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"photo.heic":  "image/heic",
		"talk.m4a":    "audio/x-m4a",
		"clip.mp4":    "video/mp4",
		"logo.png":    "image/png",
	}
	src := t.TempDir()
	for name := range want {
		writeFile(t, filepath.Join(src, name), pattern(1000+len(name)))
	}
	sh(t, "cp", "-r", src+"/.", m.path())
	sh(t, "diff", "-r", src, m.path())
	tree := remoteTree(t, srv)
	for name, typ := range want {
		if rf, ok := tree[name]; !ok || rf.ContentType != typ {
			t.Errorf("%s: in the library as %+v, want content type %s", name, rf, typ)
		}
	}
}
