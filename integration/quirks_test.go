package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The quirk matrix: where the real service's behaviour is not documented,
// the fake can behave in each plausible way (remote/ghl/ghltest/doc.go), and
// ghlfs must work under each. Each quirk gets the differential random test
// (mkdir, create, write at offsets, truncate, rename, unlink, rmdir, read,
// fsync, compared with a local directory and, at the end, with the
// library), under injected failures that make ghlfs look for creates whose
// answer was lost, with short-lived listings and the write-back delay on.
// QUIRK_OPS sets the operations per quirk (default 400).
func TestQuirkMatrix(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	seed, _ := fsrandParams(t)
	nops := 400
	if n, err := strconv.Atoi(os.Getenv("QUIRK_OPS")); err == nil && n > 0 {
		nops = n
	}
	faults := faultSet{fail500: 0.03, cut: 0.02}
	args := []string{"--dir-cache-time", "2s", "--write-back-delay", "200ms", "--upload-retry", "200ms"}
	for _, c := range []struct {
		quirk   string
		pageCap int // the fake's page cap (0: its default)
		args    []string
		with    func(*fsrand)
		also    []string // quirks on with it
		name    string   // the subtest's, when quirk+also would repeat one
	}{
		{quirk: ghltest.QuirkTrashListed},
		{quirk: ghltest.QuirkUnstableTies, pageCap: 8, args: []string{"--page-size", "8"}},
		{quirk: ghltest.QuirkUploadNoURL},
		{quirk: ghltest.QuirkCreate200},
		{quirk: ghltest.QuirkFolderNoID},
		{quirk: "clock-skew=-5m"},
		{quirk: "clock-skew=+5m"},
		{quirk: ghltest.QuirkRootParentLocation},
		{quirk: ghltest.QuirkRootListsAll},
		{quirk: ghltest.QuirkLimitMax100, pageCap: 1000, args: []string{"--page-size", "500"}},
		{quirk: ghltest.QuirkQueryPrefix},
		{quirk: ghltest.QuirkQueryExact},
		{quirk: ghltest.QuirkQueryRegex},
		{quirk: ghltest.QuirkUploadNeedsAlt},
		{quirk: ghltest.QuirkTypeAllowlist},
		// A client that sends its Version and its own location never
		// meets these two; under them nothing else may change. The
		// agency's locations-page-cap=N needs an agency mount:
		// TestAgencyLocationsPageCap.
		{quirk: ghltest.QuirkVersion401},
		{quirk: ghltest.QuirkLocation401},
		// The library starts with system folders, which rmdir, mv and
		// renames over them must leave (EPERM).
		{quirk: ghltest.QuirkEssentialFolders},
		// Files come back from the trash now and then (the op restore),
		// without a change of updatedAt: seen by the next listing of
		// their folder.
		{quirk: ghltest.QuirkRestoreKeepsUpdated, with: func(r *fsrand) { r.restores = true }},
		{quirk: ghltest.QuirkFetchAllUnpaged},
		// Passes and polls, often, whose answers lag behind the mount's
		// changes.
		{quirk: "fetchall-lag=2s", args: []string{"--poll-interval", "300ms", "--full-sync-interval", "1s"}},
		{quirk: ghltest.QuirkUploadIDDiffers},
		// Neither the listed id nor a url in an upload's answer: the copy
		// a rewrite replaces is told from the new one by time alone.
		{quirk: ghltest.QuirkUploadIDDiffers, also: []string{ghltest.QuirkUploadNoURL}},
		{quirk: ghltest.QuirkUUIDIDs},
		{quirk: ghltest.QuirkUpdate404},
		// Without the bulk route, removals go through DELETE one by one,
		// in the default trash mode as in delete mode. (DELETE is used
		// only without the bulk route: delete-needs-alt goes with it.)
		{quirk: ghltest.QuirkNoBulkRoutes},
		{quirk: ghltest.QuirkNoBulkRoutes, args: []string{"--delete-mode", "delete"}, name: "no-bulk-routes,delete-mode=delete"},
		{quirk: ghltest.QuirkDeleteNeedsAlt, also: []string{ghltest.QuirkNoBulkRoutes}},
	} {
		name := c.name
		if name == "" {
			name = strings.Join(append([]string{c.quirk}, c.also...), "+")
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := fakeOpts{quirks: append([]string{c.quirk}, c.also...), faults: faults, pageCap: c.pageCap}
			runFSRandWith(t, ghlBackend{}, seed, nops, o, mountOpt{plain: true, args: append(slices.Clone(args), c.args...)}, c.with)
		})
	}
}

// activeItems is the fake's library as it stands: active items by id.
func activeItems(srv *ghltest.Server) map[string]ghltest.Item {
	out := map[string]ghltest.Item{}
	for _, it := range srv.Items() {
		if it.Status == ghltest.StatusActive {
			out[it.ID] = it
		}
	}
	return out
}

// childNames are the names of the active items in folder parentID.
func childNames(srv *ghltest.Server, parentID string) []string {
	var out []string
	for _, it := range activeItems(srv) {
		if it.ParentID == parentID {
			out = append(out, it.Name)
		}
	}
	slices.Sort(out)
	return out
}

// Trashed items that the server keeps listing are never shown: rm, then
// ls, shows the file gone; a folder whose files were all removed can be
// removed.
func TestQuirkTrashListed(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkTrashListed}})
	d := srv.AddFolder("", "old")
	for i := range 3 {
		srv.AddFile(d, fmt.Sprintf("f%d.txt", i), "", []byte("x"))
	}
	srv.AddFile("", "a.txt", "", []byte("a"))
	m := mountFS(t, srv, mountOpt{args: []string{"--dir-cache-time", "0s"}})
	sh(t, "rm", m.path("a.txt"))
	if out := sh(t, "ls", "-A", m.dir); strings.TrimSpace(out) != "old" {
		t.Fatalf("ls after rm shows %q", out)
	}
	sh(t, "sh", "-c", "rm "+m.path("old")+"/*")
	sh(t, "rmdir", m.path("old"))
	if out := sh(t, "ls", "-A", m.dir); strings.TrimSpace(out) != "" {
		t.Fatalf("ls after rmdir shows %q", out)
	}
	if got := childNames(srv, ""); len(got) != 0 {
		t.Fatalf("the library's root still holds %q", got)
	}
}

// A bulk import: 250 files created in one millisecond, which the server
// orders differently on every request. ls shows each exactly once, before
// and after a remount.
func TestQuirkUnstableTiesBulkImport(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo", Quirks: []string{ghltest.QuirkUnstableTies}})
	var want []string
	for _, it := range activeItems(srv) {
		if it.Type == ghltest.TypeFile && it.ParentID != "" {
			if p, ok := srv.Item(it.ParentID); ok && p.Name == ghltest.BulkImportFolder {
				want = append(want, it.Name)
			}
		}
	}
	slices.Sort(want)
	if len(want) != ghltest.BulkImportFiles {
		t.Fatalf("the seed has %d bulk files", len(want))
	}
	for round := range 2 {
		m := mountFS(t, srv, mountOpt{})
		got := lines(sh(t, "ls", "-1", m.path(ghltest.BulkImportFolder)))
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: ls shows %d names (%d distinct), want %d", round, len(got), len(slices.Compact(slices.Clone(got))), len(want))
		}
		if err := m.stop(); err != nil {
			t.Fatal(err)
		}
	}
}

// An upload answered with its id alone: the new file reads at once, its
// bytes from storage (O_DIRECT, past the page cache).
func TestQuirkUploadNoURL(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkUploadNoURL}})
	m := mountFS(t, srv, mountOpt{})
	sh(t, "mkdir", m.path("d"))
	src := filepath.Join(t.TempDir(), "pic.png")
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000)
	writeFile(t, src, data)
	sh(t, "cp", src, m.path("d", "pic.png"))
	sh(t, "sh", "-c", "dd if="+m.path("d", "pic.png")+" iflag=direct bs=64k status=none | cmp - "+src)
	var id string
	for _, it := range activeItems(srv) {
		if it.Name == "pic.png" {
			id = it.ID
		}
	}
	if got, _ := srv.Content(id); !bytes.Equal(got, data) {
		t.Fatalf("the library holds %d bytes, want %d", len(got), len(data))
	}
}

// A rename the server answers {"updated": false}: mv fails, with one log
// line naming the file and the answer; the mount and the library keep the
// old name.
func TestQuirkRenameNotUpdated(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkRenameNotUpdated}})
	id := srv.AddFile("", "a.txt", "", []byte("a"))
	m := mountFS(t, srv, mountOpt{})
	out, err := shErr("mv", m.path("a.txt"), m.path("b.txt"))
	if err == nil || !strings.Contains(out, "Input/output error") {
		t.Fatalf("mv: %v, %q; want EIO", err, out)
	}
	if got := lines(sh(t, "ls", m.dir)); !slices.Equal(got, []string{"a.txt"}) {
		t.Fatalf("ls shows %q", got)
	}
	if it, _ := srv.Item(id); it.Name != "a.txt" {
		t.Fatalf("the library calls it %q", it.Name)
	}
	logged := logLines(m.log.String(), "a.txt", "level=ERROR")
	if len(logged) != 1 || !strings.Contains(logged[0], "did not act") {
		t.Fatalf("log lines about it: %q", logged)
	}
}

// A server that puts every new item in the root whatever parentId says:
// the first file written into a folder fails its close with EIO and one
// log line that names the cause; its copy in the root goes back to the
// trash; its bytes stay in the spool. Later writes and mkdirs into folders
// fail at once, without a call; the root keeps working.
func TestQuirkParentIgnored(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkParentIgnored}})
	m := mountFS(t, srv, mountOpt{})
	sh(t, "mkdir", m.path("F")) // at the root: nothing to check
	src := filepath.Join(t.TempDir(), "x.txt")
	writeFile(t, src, []byte("precious"))
	out, err := shErr("cp", src, m.path("F", "x.txt"))
	if err == nil || !strings.Contains(out, "Input/output error") {
		t.Fatalf("cp into F: %v, %q; want EIO", err, out)
	}
	mis := logLines(m.log.String(), "level=ERROR", "x.txt")
	if len(mis) != 1 || !strings.Contains(mis[0], "ignores parentId") {
		t.Fatalf("log lines about x.txt: %q", mis)
	}
	if n := len(spoolFiles(t, m.cacheDir)); n != 1 {
		t.Fatalf("the spool holds %d files, want x.txt's", n)
	}
	for _, it := range srv.Items() {
		if it.Name == "x.txt" && it.Status != ghltest.StatusTrashed {
			t.Fatalf("the misplaced copy is %s in %q", it.Status, it.ParentID)
		}
	}
	resetStats(t, srv)
	if _, err := shErr("mkdir", m.path("F", "sub")); !isErrno(err, syscall.EIO) && err == nil {
		t.Fatal("mkdir into F worked")
	}
	if out, err := shErr("cp", src, m.path("F", "y.txt")); err == nil {
		t.Fatalf("cp of y.txt into F worked: %q", out)
	}
	if st := getStats(t, srv); st.ByEndpoint[ghltest.EndpointUpload]+st.ByEndpoint[ghltest.EndpointFolder] != 0 {
		t.Fatalf("creates that fail at once made calls: %v", st.ByEndpoint)
	}
	sh(t, "cp", src, m.path("root.txt"))
	if got := childNames(srv, ""); !slices.Equal(got, []string{"F", "root.txt"}) {
		t.Fatalf("the root holds %q", got)
	}
}

// A server that places an upload in its folder only when the form also
// names the location (altId, altType): cp -r into a folder puts every file
// where it belongs, at once; nothing lands in the root, nothing goes to
// the trash, no ERROR line, the spool empties. (Without the two fields,
// the first upload landed in the root and the placement check of
// parent-ignored trashed it and failed the copy with EIO.)
func TestQuirkUploadNeedsAlt(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkUploadNeedsAlt}})
	m := mountFS(t, srv, mountOpt{})
	src := t.TempDir()
	makeTree(t, src, 30, 16)
	sh(t, "mkdir", m.path("F"))
	sh(t, "cp", "-r", src+"/.", m.path("F"))
	sh(t, "diff", "-r", src, m.path("F"))
	checkRemoteMatches(t, srv, src, "F")
	if got := childNames(srv, ""); !slices.Equal(got, []string{"F"}) {
		t.Errorf("the library's root holds %q", got)
	}
	for _, it := range srv.Items() {
		if it.Status != ghltest.StatusActive {
			t.Errorf("%s (%s) is %s", it.Name, it.ID, it.Status)
		}
	}
	if errs := logLines(m.log.String(), "level=ERROR"); len(errs) != 0 {
		t.Errorf("ERROR lines: %q", errs)
	}
	if got := spoolFiles(t, m.cacheDir); len(got) != 0 {
		t.Errorf("the spool holds %v", got)
	}
}

// A server that takes only some content types (the fake's type-allowlist):
// what a user sees of a file it refuses. cp with uploads at close fails
// with EIO, and ONE log line names the file, the type sent, the service's
// message and where the bytes are kept; they are there, byte for byte,
// and the mount still shows and reads the file. ghlfs status shows it
// failed, refused, with the message and no next try. It is sent once, and
// not again while nothing changes; renamed to a type the service takes, it
// goes up. An unmount does not wait for a refused file, and says so.
func TestQuirkTypeAllowlist(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkTypeAllowlist}})
	m := mountFS(t, srv, mountOpt{args: []string{"--unmount-grace", "2m", "--upload-retry", "100ms"}})
	src := filepath.Join(t.TempDir(), "talk.m4a")
	data := pattern(300_000)
	writeFile(t, src, data)
	out, err := shErr("cp", src, m.path("talk.m4a"))
	if err == nil || !strings.Contains(out, "Input/output error") {
		t.Fatalf("cp of a type the service refuses: %v, %q; want EIO", err, out)
	}
	said := logLines(m.log.String(), "talk.m4a", "INVALID_FILE_TYPE")
	if len(said) != 1 || !strings.Contains(said[0], "level=ERROR") || !strings.Contains(said[0], "audio/x-m4a") {
		t.Fatalf("log lines about it: %q; want one ERROR line with the type sent and the service's message", said)
	}
	kept := regexp.MustCompile(`kept in (\S+\.data)`).FindStringSubmatch(said[0])
	if kept == nil || !strings.HasPrefix(kept[1], filepath.Join(m.cacheDir, "spool")+"/") {
		t.Fatalf("the log line names no place in %s/spool: %q", m.cacheDir, said[0])
	}
	if got := readFile(t, kept[1]); !bytes.Equal(got, data) {
		t.Fatalf("%s holds %d bytes, not the file's %d", kept[1], len(got), len(data))
	}
	sh(t, "cmp", src, m.path("talk.m4a"))
	if _, ok := remoteTree(t, srv)["talk.m4a"]; ok {
		t.Fatal("the library lists talk.m4a")
	}
	st := ghlfsStatus(t, m.dir)
	if len(st.Uploads) != 1 {
		t.Fatalf("ghlfs status lists %d uploads: %+v", len(st.Uploads), st.Uploads)
	}
	if u := st.Uploads[0]; u.Path != "talk.m4a" || u.State != "failed" || !u.Refused || u.Next != nil || !strings.Contains(u.Error, "INVALID_FILE_TYPE") {
		t.Fatalf("ghlfs status --json: %+v; want failed, refused, the service's message, no next try", u)
	}
	if text := sh(t, filepath.Join(binDir, "ghlfs"), "status", m.dir); !strings.Contains(text, "refused") || strings.Contains(text, "next try") {
		t.Errorf("ghlfs status printed:\n%s", text)
	}
	// Not sent again while nothing changes: a file the service takes,
	// written since, has landed, and the refused one made no call more
	// (with --upload-retry 100ms, a retry would have come by now).
	sh(t, "cp", src, m.path("after.png"))
	if n := wbUploads(t, srv); n != 2 {
		t.Fatalf("%d upload calls, want 2: talk.m4a once, after.png", n)
	}

	// Renamed to a type the service takes, it goes up, and the spool
	// empties.
	sh(t, "mv", m.path("talk.m4a"), m.path("talk.mp3"))
	rf := waitRemote(t, srv, "talk.mp3")
	if rf.ContentType != "audio/mpeg" || !bytes.Equal(download(t, rf.URL), data) {
		t.Fatalf("the library holds talk.mp3 as %+v", rf)
	}
	waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })

	// A refused file does not hold the unmount up.
	if out, err := shErr("cp", src, m.path("notes.bin")); err == nil {
		t.Fatalf("cp notes.bin: worked: %q", out)
	}
	start := time.Now()
	if err := m.stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the unmount took %v with a refused file, under a 2m grace", took)
	}
	if said := logLines(m.log.String(), "unmounted with 1 files", "1 of them refused", "refused_uploads=1"); len(said) != 1 {
		t.Errorf("no unmount line counting the refused file: %q", logLines(m.log.String(), "unmounted"))
	}
	if got := spoolFiles(t, m.cacheDir); len(got) != 1 {
		t.Errorf("the spool holds %v after the unmount, want notes.bin", got)
	}
}
