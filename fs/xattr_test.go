package fs

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
	"github.com/ghlfs/ghlfs/remote/memtest"
)

// newXattrFS returns a filesystem over the fake's library, and the state
// of a node for each of its root's entries, by name.
func newXattrFS(t *testing.T, srv *ghltest.Server, opts Options) (*FS, map[string]*nodeState) {
	t.Helper()
	rc, err := ghl.New(ghl.Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	store, err := cache.New(rc.Backend(), cache.Options{DirTTL: time.Minute, CacheDir: t.TempDir(), Location: "loc", API: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	l, err := store.ListDir(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]*nodeState{}
	for _, e := range l.Entries {
		nodes[e.Name] = &nodeState{entry: e}
	}
	f := New(store, opts)
	nodes["/"] = f.root.st
	return f, nodes
}

func TestXattrProtocol(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	fileID := srv.AddFile("", "a.jpg", "image/jpeg", []byte("x"))
	dirID := srv.AddFolder("", "Photos")
	it, _ := srv.Item(fileID)
	f, nodes := newXattrFS(t, srv, Options{})
	before := srv.Stats().APIRequests

	// The size probe, a buffer too small, one just large enough.
	url := it.URL
	if n, errno := f.getxattr(nodes["a.jpg"], "user.ghl."+xattrURL, nil); errno != syscall.ERANGE || int(n) != len(url) {
		t.Errorf("size probe: %d, %v; want %d, ERANGE", n, errno, len(url))
	}
	if _, errno := f.getxattr(nodes["a.jpg"], "user.ghl."+xattrURL, make([]byte, len(url)-1)); errno != syscall.ERANGE {
		t.Errorf("a buffer one byte short: %v, want ERANGE", errno)
	}
	buf := make([]byte, len(url))
	if n, errno := f.getxattr(nodes["a.jpg"], "user.ghl."+xattrURL, buf); errno != 0 || string(buf[:n]) != url {
		t.Errorf("user.ghl.url: %q, %v; want %q", buf[:n], errno, url)
	}
	buf = make([]byte, 100)
	n, errno := f.getxattr(nodes["a.jpg"], "user.ghl."+xattrCreated, buf)
	if got, err := time.Parse(time.RFC3339Nano, string(buf[:n])); errno != 0 || err != nil || !got.Equal(it.CreatedAt) || !strings.HasSuffix(string(buf[:n]), "Z") {
		t.Errorf("user.ghl.created: %q, %v; want %v in UTC", buf[:n], errno, it.CreatedAt)
	}

	// Lists: every name for a file; the id alone for a folder; none at
	// the root.
	for _, tc := range []struct {
		node string
		want string
	}{
		{"a.jpg", "user.ghl.id\x00user.ghl.url\x00user.ghl.content_type\x00user.ghl.created\x00"},
		{"Photos", "user.ghl.id\x00"},
		{"/", ""},
	} {
		st := nodes[tc.node]
		if n, errno := f.listxattr(st, nil); errno != syscall.ERANGE && !(tc.want == "" && errno == 0) || int(n) != len(tc.want) {
			t.Errorf("%s: list size probe: %d, %v; want %d", tc.node, n, errno, len(tc.want))
		}
		buf := make([]byte, 256)
		n, errno := f.listxattr(st, buf)
		if errno != 0 || string(buf[:n]) != tc.want {
			t.Errorf("%s: list %q, %v; want %q", tc.node, buf[:n], errno, tc.want)
		}
	}
	if n, errno := f.getxattr(nodes["Photos"], "user.ghl."+xattrID, make([]byte, 64)); errno != 0 || int(n) != len(dirID) {
		t.Errorf("the folder's id: %d, %v", n, errno)
	}
	for _, tc := range []struct {
		node, name string
		want       syscall.Errno
	}{
		{"Photos", "user.ghl." + xattrURL, syscall.ENODATA},
		{"/", "user.ghl." + xattrID, syscall.ENODATA},
		{"a.jpg", "user.other", syscall.ENODATA},
		{"a.jpg", "user.ghl.", syscall.ENODATA},
		{"a.jpg", "security.selinux", syscall.ENOTSUP},
		{"a.jpg", "system.posix_acl_access", syscall.ENOTSUP},
		{"a.jpg", "security.capability", syscall.ENOTSUP},
		{"a.jpg", "trusted.x", syscall.ENOTSUP},
	} {
		if _, errno := f.getxattr(nodes[tc.node], tc.name, make([]byte, 64)); errno != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.node, tc.name, errno, tc.want)
		}
	}
	if errno := f.setxattr(); errno != syscall.ENOTSUP {
		t.Errorf("set: %v, want ENOTSUP", errno)
	}
	if n := srv.Stats().APIRequests - before; n != 0 {
		t.Errorf("xattrs made %d API calls", n)
	}

	// NoXattr: ENOSYS for all, as before.
	off, nodes := newXattrFS(t, srv, Options{NoXattr: true})
	if _, errno := off.getxattr(nodes["a.jpg"], "user.ghl."+xattrID, make([]byte, 64)); errno != syscall.ENOSYS {
		t.Errorf("NoXattr get: %v", errno)
	}
	if _, errno := off.listxattr(nodes["a.jpg"], nil); errno != syscall.ENOSYS {
		t.Errorf("NoXattr list: %v", errno)
	}
	if errno := off.setxattr(); errno != syscall.ENOSYS {
		t.Errorf("NoXattr set: %v", errno)
	}
}

func TestXattrURLBound(t *testing.T) {
	e := cache.Entry{ID: "x"}
	if got := xattrValue(e, xattrURL); got != "" {
		t.Errorf("no url: %q", got)
	}
	// A url with control characters is shown as the API gave it.
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	odd := srv.AddFile("", "odd.jpg", "image/jpeg", []byte("x"))
	long := srv.AddFile("", "long.jpg", "image/jpeg", []byte("x"))
	srv.SetFileURL(odd, "https://cdn.example.com/a\nb\x01c")
	srv.SetFileURL(long, "https://cdn.example.com/"+strings.Repeat("a", maxXattrURL))
	f, nodes := newXattrFS(t, srv, Options{})
	buf := make([]byte, 2*maxXattrURL)
	if n, errno := f.getxattr(nodes["odd.jpg"], "user.ghl."+xattrURL, buf); errno != 0 || string(buf[:n]) != "https://cdn.example.com/a\nb\x01c" {
		t.Errorf("odd url: %q, %v", buf[:n], errno)
	}
	if _, errno := f.getxattr(nodes["long.jpg"], "user.ghl."+xattrURL, buf); errno != syscall.ENODATA {
		t.Errorf("a url over %d bytes: %v, want ENODATA", maxXattrURL, errno)
	}
	n, _ := f.listxattr(nodes["long.jpg"], buf)
	if strings.Contains(string(buf[:n]), "user.ghl."+xattrURL) {
		t.Errorf("a url over the bound is listed: %q", buf[:n])
	}
}

// A system folder says so in user.ghl.system; no other node has it.
func TestXattrSystemFolder(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1, Quirks: []string{ghltest.QuirkEssentialFolders}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddFolder("", "mine")
	f, nodes := newXattrFS(t, srv, Options{})
	for name, want := range map[string]string{ghltest.EssentialFolder: "1", ghltest.AppFolder: "1", "mine": "", "/": ""} {
		buf := make([]byte, 16)
		n, errno := f.getxattr(nodes[name], "user.ghl."+xattrSystem, buf)
		switch {
		case want == "" && errno != errNoAttr:
			t.Errorf("%s: %q, %v; want ENODATA", name, buf[:n], errno)
		case want != "" && (errno != 0 || string(buf[:n]) != want):
			t.Errorf("%s: %q, %v; want %q", name, buf[:n], errno, want)
		}
		list := make([]byte, 256)
		n, _ = f.listxattr(nodes[name], list)
		if listed := strings.Contains(string(list[:n]), "user.ghl."+xattrSystem+"\x00"); listed != (want != "") {
			t.Errorf("%s: listxattr %q", name, list[:n])
		}
	}
}

// The names carry the backend's prefix (remote.Caps.XattrPrefix), not
// HighLevel's.
func TestXattrPrefixIsTheBackends(t *testing.T) {
	mt := memtest.New(memtest.Options{Profile: memtest.ImageKit()})
	id := mt.AddFile("", "a.jpg", []byte("x"))
	store, err := cache.New(mt, cache.Options{DirTTL: time.Minute, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	l, err := store.ListDir(context.Background(), "")
	if err != nil || len(l.Entries) != 1 {
		t.Fatalf("listing: %v, %v", l, err)
	}
	f := New(store, Options{})
	st := &nodeState{entry: l.Entries[0]}
	buf := make([]byte, 64)
	if n, errno := f.getxattr(st, "user.imagekit.id", buf); errno != 0 || string(buf[:n]) != id {
		t.Fatalf("user.imagekit.id: %q, %v; want %q", buf[:n], errno, id)
	}
	if _, errno := f.getxattr(st, "user.ghl.id", buf); errno != errNoAttr {
		t.Fatalf("user.ghl.id on ImageKit: %v, want ENODATA", errno)
	}
	list := make([]byte, 256)
	n, _ := f.listxattr(st, list)
	if !strings.HasPrefix(string(list[:n]), "user.imagekit.id\x00") || strings.Contains(string(list[:n]), "ghl") {
		t.Fatalf("listxattr: %q", list[:n])
	}
}
