package integration

import (
	"bytes"
	"log/slog"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// What a user sees where the service refuses a change, or answers an
// upload with an id its listings do not show (remote/API.md, "Field
// reports").

// requestLog collects the fake's request lines (its debug log), to see
// which ids the calls named.
type requestLog struct{ syncBuffer }

func (l *requestLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// objectIDs are the names of the fake's storage objects that are not
// their files' ids: what upload answers gave under upload-id-differs.
func objectIDs(srv *ghltest.Server) []string {
	var out []string
	for _, it := range srv.Items() {
		if obj := strings.TrimSuffix(path.Base(it.URL), path.Ext(it.URL)); it.Type == ghltest.TypeFile && obj != it.ID {
			out = append(out, obj)
		}
	}
	return out
}

// A file is written, then at once replaced, renamed and removed, each
// before any listing could show its new copy: every change acts on the
// id listings show (no call names an id an upload answered), the library
// ends with every copy trashed, and the file beside it is not touched.
func TestQuirkUploadIDDiffers(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	var reqs requestLog
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkUploadIDDiffers}, Logger: reqs.logger()})
	other := srv.AddFile("", "other.txt", "", []byte("not touched"))
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "0"}})
	m.awaitListed(t)
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, []byte("first"))
	sh(t, "cp", src, m.path("a.txt"))
	writeFile(t, src, []byte("second"))
	sh(t, "cp", src, m.path("a.txt"))
	sh(t, "mv", m.path("a.txt"), m.path("b.txt"))
	if got := readFile(t, m.path("b.txt")); string(got) != "second" {
		t.Fatalf("b.txt reads %q", got)
	}
	if got := lines(sh(t, "ls", m.dir)); !slices.Equal(got, []string{"b.txt", "other.txt"}) {
		t.Fatalf("ls shows %q", got)
	}
	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	if got := childNames(srv, ""); !slices.Equal(got, []string{"b.txt", "other.txt"}) {
		t.Fatalf("the library's root holds %q", got)
	}
	sh(t, "rm", m.path("b.txt"))
	for _, it := range srv.Items() {
		switch {
		case it.ID == other && it.Status != ghltest.StatusActive:
			t.Errorf("other.txt is %s", it.Status)
		case it.ID != other && it.Status != ghltest.StatusTrashed:
			t.Errorf("%s (%s) is %s, want trashed", it.Name, it.ID, it.Status)
		}
	}
	answered := objectIDs(srv)
	if len(answered) != 2 {
		t.Fatalf("%d uploads answered with an id of their own, want 2", len(answered))
	}
	for _, l := range lines(reqs.String()) {
		for _, id := range answered {
			if strings.Contains(l, "uri=/medias/"+id) {
				t.Errorf("a call named the upload's answer: %s", l)
			}
		}
	}
	if t.Failed() {
		t.Logf("ghlfs:\n%s", m.log)
	}
}

// update-404: mv of a file within a folder works: the file shows under
// its new name with the same bytes at once; the library gets it under
// the new name with a new id, and the old copy goes to the trash. The
// rename route is asked once per mount. mv of a folder copies it (EXDEV),
// with one log line.
func TestQuirkUpdate404(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkUpdate404}})
	d := srv.AddFolder("", "docs")
	data := randomBytes(300_000, 3)
	old := srv.AddFile(d, "a.bin", "", data)
	srv.AddFile(d, "keep.txt", "", []byte("keep"))
	dir := srv.AddFolder("", "album")
	srv.AddFile(dir, "p.png", "", []byte("png"))
	m := mountFS(t, srv, mountOpt{})
	local := filepath.Join(t.TempDir(), "a.bin")
	writeFile(t, local, data)

	sh(t, "mv", m.path("docs", "a.bin"), m.path("docs", "b.bin"))
	sh(t, "cmp", m.path("docs", "b.bin"), local)
	if got := lines(sh(t, "ls", m.path("docs"))); !slices.Equal(got, []string{"b.bin", "keep.txt"}) {
		t.Fatalf("ls shows %q", got)
	}
	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	if it, _ := srv.Item(old); it.Status != ghltest.StatusTrashed || it.Name != "a.bin" {
		t.Errorf("the old copy is %+v", it)
	}
	var moved []ghltest.Item
	for _, it := range activeItems(srv) {
		if it.Name == "b.bin" {
			moved = append(moved, it)
		}
	}
	if len(moved) != 1 || moved[0].ID == old || moved[0].ParentID != d {
		t.Fatalf("b.bin in the library: %+v", moved)
	}
	if got, _ := srv.Content(moved[0].ID); !bytes.Equal(got, data) {
		t.Fatalf("b.bin holds %d bytes, want the %d of a.bin", len(got), len(data))
	}
	id := strings.TrimSpace(sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.id", m.path("docs", "b.bin")))
	if id != moved[0].ID {
		t.Errorf("user.ghl.id %q, want the new id %s", id, moved[0].ID)
	}
	sh(t, "mv", m.path("docs", "keep.txt"), m.path("docs", "kept.txt"))
	if n := getStats(t, srv).ByEndpoint[ghltest.EndpointRename]; n != 1 {
		t.Errorf("%d rename calls, want 1: the refusal is learnt", n)
	}

	// A folder: mv copies it and removes the old one.
	sh(t, "mv", m.path("album"), m.path("photos"))
	if got := lines(sh(t, "ls", m.path("photos"))); !slices.Equal(got, []string{"p.png"}) {
		t.Fatalf("photos holds %q", got)
	}
	if it, _ := srv.Item(dir); it.Status == ghltest.StatusActive {
		t.Errorf("the old folder is %s", it.Status)
	}
	if got := logLines(m.log.String(), "album", "EXDEV"); len(got) != 1 {
		t.Errorf("log lines about the folder: %q", got)
	}
	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	if got := childNames(srv, ""); !slices.Equal(got, []string{"docs", "photos"}) {
		t.Errorf("the root holds %q", got)
	}
}

// no-bulk-routes: without the bulk route, removals go through DELETE
// /medias/{id}, altId and altType in its query (delete-needs-alt), in the
// default trash mode too: rm and a replace remove, with ONE WARN line for
// the mount saying that DELETE may delete for good and that --read-only
// prevents removals. With --delete-mode delete, the same, without it.
func TestQuirkNoBulkRoutes(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkNoBulkRoutes, ghltest.QuirkDeleteNeedsAlt}})
	a := srv.AddFile("", "a.txt", "", []byte("a"))
	b := srv.AddFile("", "b.txt", "", []byte("b"))
	c := srv.AddFile("", "c.txt", "", []byte("c"))
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "0"}})
	sh(t, "rm", m.path("a.txt"))
	sh(t, "rm", m.path("b.txt"))
	writeFile(t, m.path("c.txt"), []byte("new c"))
	// close waits for the upload; the old copy goes next.
	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	for _, id := range []string{a, b, c} {
		if it, _ := srv.Item(id); it.Status == ghltest.StatusActive {
			t.Errorf("%s is %s after its removal (or its replace)", it.Name, it.Status)
		}
	}
	if got := childNames(srv, ""); !slices.Equal(got, []string{"c.txt"}) {
		t.Errorf("the library holds %q", got)
	}
	for _, it := range activeItems(srv) {
		if data, _ := srv.Content(it.ID); it.Name == "c.txt" && string(data) != "new c" {
			t.Errorf("c.txt in the library holds %q", data)
		}
	}
	if got := lines(sh(t, "ls", m.dir)); !slices.Equal(got, []string{"c.txt"}) {
		t.Errorf("ls shows %q", got)
	}
	if got := logLines(m.log.String(), "level=WARN", "DELETE /medias/{id}"); len(got) != 1 || !strings.Contains(got[0], "may delete for good") || !strings.Contains(got[0], "--read-only") {
		t.Errorf("WARN lines about DELETE: %q", got)
	}
	if st := getStats(t, srv).ByEndpoint; st[ghltest.EndpointDelete] != 3 || st[ghltest.EndpointDeleteMany] != 1 {
		t.Errorf("calls: %v", st)
	}
	if err := m.stop(); err != nil {
		t.Fatal(err)
	}

	d := srv.AddFile("", "d.txt", "", []byte("d"))
	m = mountFS(t, srv, mountOpt{args: []string{"--delete-mode", "delete"}, cacheDir: m.cacheDir})
	// The listings the first mount saved, shown at once, predate d.txt.
	m.awaitListed(t)
	sh(t, "rm", m.path("d.txt"))
	if it, _ := srv.Item(d); it.Status != ghltest.StatusDeleted {
		t.Fatalf("d.txt is %s", it.Status)
	}
	if out, err := shErr("ls", m.path("d.txt")); err == nil {
		t.Fatalf("ls d.txt after rm: %q", out)
	}
	if got := logLines(m.log.String(), "level=WARN", "DELETE /medias/{id}"); len(got) != 0 {
		t.Errorf("WARN lines about DELETE in delete mode: %q", got)
	}
}

// uuid-ids: every id is a UUID, which holds no time. What ls -l and
// getfattr show comes from the listing: a file made long ago shows its
// createdAt and updatedAt, a file made through the mount the times the
// service listed for it; and files are renamed and removed by their
// UUIDs as by any id.
func TestQuirkUUIDIDs(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	var past atomic.Bool
	long := time.Date(2021, 3, 4, 5, 6, 7, 500_000_000, time.UTC)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkUUIDIDs}, Now: func() time.Time {
		if past.Load() {
			return long
		}
		return time.Now()
	}})
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	past.Store(true)
	d := srv.AddFolder("", "docs")
	old := srv.AddFile(d, "old.txt", "", []byte("old"))
	past.Store(false)
	if !uuid.MatchString(old) || !uuid.MatchString(d) {
		t.Fatalf("ids %q, %q: not UUIDs", d, old)
	}
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "0", "--dir-cache-time", "0s"}})
	created := func(name string) time.Time {
		t.Helper()
		s := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.created", m.path("docs", name))
		c, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("user.ghl.created of %s: %q: %v", name, s, err)
		}
		return c
	}
	mtime := func(name string) int64 {
		t.Helper()
		n, err := strconv.ParseInt(strings.TrimSpace(sh(t, "stat", "-c", "%Y", m.path("docs", name))), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := mtime("old.txt"); got != long.Unix() {
		t.Errorf("ls -l shows old.txt changed at %v, the listing says %v", time.Unix(got, 0).UTC(), long)
	}
	if got := created("old.txt"); !got.Equal(long) {
		t.Errorf("user.ghl.created of old.txt = %v, the listing says %v", got, long)
	}

	before := time.Now()
	writeFile(t, m.path("docs", "new.txt"), []byte("new"))
	var listed map[string]any
	for _, it := range apiList(t, srv, d, "file") {
		if str(it["name"]) == "new.txt" {
			listed = it
		}
	}
	listedAt, err := time.Parse(time.RFC3339Nano, str(listed["createdAt"]))
	if err != nil || !uuid.MatchString(str(listed["_id"])) {
		t.Fatalf("the API lists new.txt as %v (%v)", listed, err)
	}
	if id := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.id", m.path("docs", "new.txt")); id != str(listed["_id"]) {
		t.Errorf("user.ghl.id of new.txt = %q, the API lists %q", id, listed["_id"])
	}
	if got := created("new.txt"); !got.Equal(listedAt) {
		t.Errorf("user.ghl.created of new.txt = %v, the API lists %v", got, listedAt)
	}
	if got := mtime("new.txt"); got < before.Unix()-1 || got > time.Now().Unix()+1 {
		t.Errorf("ls -l shows new.txt changed at %v, written at %v", time.Unix(got, 0).UTC(), before)
	}

	sh(t, "mv", m.path("docs", "new.txt"), m.path("docs", "renamed.txt"))
	sh(t, "rm", m.path("docs", "old.txt"))
	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	if got := childNames(srv, d); !slices.Equal(got, []string{"renamed.txt"}) {
		t.Errorf("docs holds %q in the library", got)
	}
	if it, _ := srv.Item(old); it.Status != ghltest.StatusTrashed {
		t.Errorf("old.txt is %s", it.Status)
	}
}
