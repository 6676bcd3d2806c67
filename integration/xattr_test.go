package integration

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// getfattr shows what the API lists for a file (its id, public url,
// content type, creation time) and for a folder (its id); nothing can be
// set or removed; a file whose bytes wait to upload has no id or url
// until its upload lands. No xattr read reaches the API.
func TestXattrs(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	folderID := srv.AddFolder("", "Photos")
	srv.AddFile(folderID, "photo.jpg", "image/jpeg", []byte("a jpeg"))
	// Uploads wait an hour, unless fsynced: a new file stays pending.
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "1h"}})
	m.awaitListed(t)
	photo, photos := m.path("Photos", "photo.jpg"), m.path("Photos")

	// What the API lists, through its HTTP API.
	files := apiList(t, srv, folderID, "file")
	if len(files) != 1 {
		t.Fatalf("the API lists %d files in Photos", len(files))
	}
	listed := files[0]
	url := str(listed["url"])
	created, err := time.Parse(time.RFC3339Nano, str(listed["createdAt"]))
	if url == "" || err != nil {
		t.Fatalf("the API lists %v (createdAt: %v)", listed, err)
	}
	sh(t, "ls", "-l", photos) // the look-ups, before the count starts
	resetStats(t, srv)

	if got := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.url", photo); got != url {
		t.Errorf("user.ghl.url = %q, the API lists %q", got, url)
	}
	attrs := getfattrAll(t, photo)
	if names := slices.Sorted(maps.Keys(attrs)); !slices.Equal(names, []string{"user.ghl.content_type", "user.ghl.created", "user.ghl.id", "user.ghl.url"}) {
		t.Errorf("getfattr -d -m - lists %q", names)
	}
	if attrs["user.ghl.id"] != str(listed["_id"]) || attrs["user.ghl.url"] != url || attrs["user.ghl.content_type"] != str(listed["contentType"]) {
		t.Errorf("getfattr -d -m -: %q; the API lists %v", attrs, listed)
	}
	if c, err := time.Parse(time.RFC3339Nano, attrs["user.ghl.created"]); err != nil || !c.Equal(created) || !strings.HasSuffix(attrs["user.ghl.created"], "Z") {
		t.Errorf("user.ghl.created = %q (%v), the API lists %s", attrs["user.ghl.created"], err, created)
	}
	if got := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.id", photos); got != folderID {
		t.Errorf("the folder's user.ghl.id = %q, want %q", got, folderID)
	}
	if attrs := getfattrAll(t, photos); len(attrs) != 1 {
		t.Errorf("the folder's xattrs: %q, want its id alone", attrs)
	}
	if attrs := getfattrAll(t, m.path()); len(attrs) != 0 {
		t.Errorf("the root's xattrs: %q, want none", attrs)
	}
	for _, args := range [][]string{{"-n", "user.ghl.url", "-v", "x"}, {"-x", "user.ghl.url"}, {"-n", "user.mine", "-v", "x"}, {"-x", "user.mine"}} {
		out, err := shErr("setfattr", append(args, photo)...)
		if err == nil || !strings.Contains(out, "Operation not supported") {
			t.Errorf("setfattr %s: %v %q, want Operation not supported", strings.Join(args, " "), err, out)
		}
	}
	if out, err := shErr("getfattr", "--absolute-names", "-n", "user.other", photo); err == nil || !strings.Contains(out, "No such attribute") {
		t.Errorf("getfattr -n user.other: %v %q, want No such attribute", err, out)
	}
	if got := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.url", photo); got != url {
		t.Errorf("user.ghl.url after the refused changes = %q, want %q", got, url)
	}
	if st := getStats(t, srv); st.APIRequests != 0 || st.StorageRequests != 0 {
		t.Errorf("xattr reads made %d API and %d storage requests", st.APIRequests, st.StorageRequests)
	}

	// A new file: pending, nothing from the API.
	src := filepath.Join(t.TempDir(), "new.png")
	writeFile(t, src, []byte("a png"))
	newFile := m.path("Photos", "new.png")
	sh(t, "cp", src, newFile)
	if _, ok := remoteTree(t, srv)["Photos/new.png"]; ok {
		t.Fatal("new.png was uploaded at once, despite --write-back-delay 1h")
	}
	if out, err := shErr("getfattr", "--absolute-names", "-n", "user.ghl.url", newFile); err == nil || !strings.Contains(out, "No such attribute") {
		t.Errorf("getfattr -n user.ghl.url of a pending file: %v %q, want No such attribute", err, out)
	}
	if attrs := getfattrAll(t, newFile); len(attrs) != 0 {
		t.Errorf("a pending file's xattrs: %q, want none", attrs)
	}
	// fsync uploads it now, and returns once the upload landed.
	sh(t, "dd", "if="+src, "of="+newFile, "conv=notrunc,fsync", "status=none")
	up := waitRemote(t, srv, "Photos/new.png")
	resetStats(t, srv)
	if got := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.url", newFile); got != up.URL || got == "" {
		t.Errorf("user.ghl.url after the upload = %q, the API lists %q", got, up.URL)
	}
	if got := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.id", newFile); got != up.ID {
		t.Errorf("user.ghl.id after the upload = %q, the API lists %q", got, up.ID)
	}
	if st := getStats(t, srv); st.APIRequests != 0 || st.StorageRequests != 0 {
		t.Errorf("xattr reads made %d API and %d storage requests", st.APIRequests, st.StorageRequests)
	}
}

// getfattrAll returns every xattr getfattr -d -m - shows for path, by
// name (values unquoted; ours hold no quote or escape).
func getfattrAll(t *testing.T, path string) map[string]string {
	t.Helper()
	out := sh(t, "getfattr", "--absolute-names", "-d", "-m", "-", path)
	attrs := map[string]string{}
	for _, l := range lines(out) {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("getfattr -d printed %q", l)
		}
		attrs[name] = strings.Trim(v, `"`)
	}
	return attrs
}

// Now that ghlfs answers xattrs, the kernel would ask for
// security.capability before every write(2); ghlfs takes on clearing
// set-user-ID bits (it has none), and the kernel asks once per file.
func TestSmallWritesAskNoXattrEach(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--debug-fuse"}})
	before := strings.Count(m.log.String(), "GETXATTR")
	const writes = 500
	sh(t, "dd", "if=/dev/zero", "of="+m.path("small-writes.bin"), "bs=4k", "count="+itoa(writes))
	asked := strings.Count(m.log.String(), "GETXATTR") - before
	if asked > 2 {
		t.Errorf("%d writes of 4 KiB made %d GETXATTR requests, want at most 2", writes, asked)
	}
	if rf := waitRemote(t, srv, "small-writes.bin"); rf.Size != writes*4096 {
		t.Errorf("the library has %d bytes, want %d", rf.Size, writes*4096)
	}
}
