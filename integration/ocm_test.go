package integration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
)

// What a user of an OCM mount sees, with real tools on a real mount,
// checked against the fake's state (its test API and its wire format).
// The tests that hold for every backend (fsrand, the crash table) run
// for OCM through ocmBackend.

// startOCMMount starts an OCM fake of opts, lets prepare fill the
// library as another client would, and mounts its home folder through
// client credentials.
func startOCMMount(t *testing.T, opts ocmtest.Options, prepare func(srv *ocmtest.Server), args ...string) (ocmService, *mount) {
	t.Helper()
	svc := startOCM(t, opts, faultSet{})
	if prepare != nil {
		prepare(svc.srv)
	}
	return svc, mountService(t, svc, mountOpt{args: args})
}

// ocmState is what the fake holds, as compared before and after a
// refused change: every item, its versions and its place.
func ocmState(srv *ocmtest.Server) []ocmtest.Item { return srv.Items() }

// A shared link mounted (with its access code, from the environment)
// shows the shared folder and only it, reads its bytes, and is
// read-only: every change is EROFS and nothing reaches the fake.
func TestOCMSharedLinkReadOnly(t *testing.T) {
	t.Parallel()
	svc := startOCM(t, ocmtest.Options{}, faultSet{})
	srv := svc.srv
	shared := srv.AddFolder("", "Shared")
	sub := srv.AddFolder(shared, "sub")
	srv.AddFile(shared, "a.txt", []byte("shared bytes"))
	srv.AddFile(sub, "b.txt", []byte("deeper"))
	srv.AddFolder("", "Private")
	srv.AddFile("", "secret.txt", []byte("not shared"))
	link := srv.AddLink(shared, ocmtest.RoleContributor, "c0de-4711")
	m := mountWith(t, []string{"--backend", "ocm", "--api-url", srv.URL, "--link-id", link, "--root", shared},
		[]string{"OCM_ACCESS_CODE=c0de-4711"}, mountOpt{})

	if got := lines(sh(t, "ls", "-A", m.dir)); !slices.Equal(got, []string{"a.txt", "sub"}) {
		t.Fatalf("ls shows %q, want the shared folder's a.txt and sub", got)
	}
	var found []string
	for _, p := range lines(sh(t, "find", m.dir, "-mindepth", "1")) {
		found = append(found, strings.TrimPrefix(p, m.dir+"/"))
	}
	slices.Sort(found)
	if want := []string{"a.txt", "sub", "sub/b.txt"}; !slices.Equal(found, want) {
		t.Errorf("find shows %q, want %q", found, want)
	}
	if b := readFile(t, m.path("sub", "b.txt")); string(b) != "deeper" {
		t.Errorf("sub/b.txt reads %q", b)
	}
	before := ocmState(srv)
	src := filepath.Join(t.TempDir(), "new.txt")
	writeFile(t, src, []byte("new"))
	for _, c := range []struct {
		what string
		do   func() error
	}{
		{"create", func() error { return os.WriteFile(m.path("new.txt"), []byte("x"), 0o644) }},
		{"write into", func() error { return os.WriteFile(m.path("a.txt"), []byte("x"), 0o644) }},
		{"mkdir", func() error { return os.Mkdir(m.path("d"), 0o755) }},
		{"rename", func() error { return syscall.Rename(m.path("a.txt"), m.path("c.txt")) }},
		{"move", func() error { return syscall.Rename(m.path("a.txt"), m.path("sub", "a.txt")) }},
		{"unlink", func() error { return syscall.Unlink(m.path("a.txt")) }},
		{"rmdir", func() error { return syscall.Rmdir(m.path("sub")) }},
	} {
		if err := c.do(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s through a read-only link: %v, want EROFS", c.what, err)
		}
	}
	if out, err := shErr("cp", src, m.path("new.txt")); err == nil || !strings.Contains(out, "Read-only file system") {
		t.Errorf("cp into the mount: %v %s", err, out)
	}
	if after := ocmState(srv); !reflect.DeepEqual(after, before) {
		t.Errorf("the library changed:\nbefore %+v\nafter  %+v", before, after)
	}
	if n := srv.Calls(ocmtest.UploadsReceived); n != 0 {
		t.Errorf("%d uploads reached the fake", n)
	}
	if strings.Contains(m.log.String(), "c0de-4711") {
		t.Error("the access code is in the log")
	}
}

// rm of a file with three versions, where a DELETE without a version
// removes only the latest (quirk delete-latest-only): ghlfs checks and
// repeats until the file is gone, so no version is left showing under
// the name, in the mount or in the library.
func TestOCMRemoveEveryVersion(t *testing.T) {
	t.Parallel()
	var id string
	svc, m := startOCMMount(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkDeleteLatestOnly}}, func(srv *ocmtest.Server) {
		for i := range 3 {
			id = srv.AddFile("", "report.pdf", []byte(fmt.Sprintf("version %d", i+1)))
		}
		srv.AddFile("", "other.txt", []byte("stays"))
	})
	if it, _ := svc.srv.Item(id); len(it.Versions) != 3 {
		t.Fatalf("the fake holds %v versions", it.Versions)
	}
	sh(t, "rm", m.path("report.pdf"))
	waitFor(t, "the queue to send the removal", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	if it, _ := svc.srv.Item(id); !it.Trashed && !it.Purged && len(it.Versions) > 0 {
		t.Errorf("after rm the fake holds report.pdf, versions %v", it.Versions)
	}
	tree := svc.tree(t)
	if _, ok := tree["report.pdf"]; ok || len(tree) != 1 {
		t.Errorf("the library lists %v, want other.txt alone", tree)
	}
	if got := lines(sh(t, "ls", "-A", m.dir)); !slices.Equal(got, []string{"other.txt"}) {
		t.Errorf("ls shows %q", got)
	}
	// A fresh mount lists afresh: nothing comes back.
	m.stop()
	m2 := mountService(t, svc, mountOpt{cacheDir: t.TempDir()})
	if got := lines(sh(t, "ls", "-A", m2.dir)); !slices.Equal(got, []string{"other.txt"}) {
		t.Errorf("a new mount shows %q", got)
	}
}

// A create, a mkdir, a rename and a move whose name differs only in case
// from an item of the folder are EEXIST, with nothing sent that changes
// the library (no name(2), no new version of the other file).
func TestOCMCaseClashEEXIST(t *testing.T) {
	t.Parallel()
	svc, m := startOCMMount(t, ocmtest.Options{}, func(srv *ocmtest.Server) {
		srv.AddFile("", "Report.txt", []byte("R"))
		srv.AddFile("", "b.txt", []byte("B"))
		srv.AddFolder("", "Docs")
		dst := srv.AddFolder("", "Dst")
		srv.AddFile(dst, "Moved.txt", []byte("M"))
	})
	srv := svc.srv
	sh(t, "ls", "-R", m.dir) // listed: the checks below are against the listings
	before := ocmState(srv)
	srv.ResetCalls()
	for _, c := range []struct {
		what string
		do   func() error
	}{
		{"create report.txt", func() error { return os.WriteFile(m.path("report.txt"), []byte("x"), 0o644) }},
		{"create REPORT.TXT (O_EXCL)", func() error {
			f, err := os.OpenFile(m.path("REPORT.TXT"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err == nil {
				f.Close()
			}
			return err
		}},
		{"mkdir docs", func() error { return os.Mkdir(m.path("docs"), 0o755) }},
		{"mkdir REPORT.txt", func() error { return os.Mkdir(m.path("REPORT.txt"), 0o755) }},
		{"rename b.txt to report.TXT", func() error { return syscall.Rename(m.path("b.txt"), m.path("report.TXT")) }},
		{"rename b.txt to DOCS", func() error { return syscall.Rename(m.path("b.txt"), m.path("DOCS")) }},
		{"move b.txt to Dst/moved.txt", func() error { return syscall.Rename(m.path("b.txt"), m.path("Dst", "moved.txt")) }},
	} {
		if err := c.do(); !errors.Is(err, syscall.EEXIST) {
			t.Errorf("%s: %v, want EEXIST", c.what, err)
		}
	}
	// cp and mv as a user runs them say so.
	src := filepath.Join(t.TempDir(), "report.TXT")
	writeFile(t, src, []byte("copy"))
	if out, err := shErr("cp", src, m.dir+"/"); err == nil || !strings.Contains(out, "File exists") {
		t.Errorf("cp report.TXT: %v %s", err, out)
	}
	if out, err := shErr("mv", m.path("b.txt"), m.path("REPORT.TXT")); err == nil {
		t.Errorf("mv b.txt REPORT.TXT: ok %s", out)
	}
	if after := ocmState(srv); !reflect.DeepEqual(after, before) {
		t.Errorf("the library changed:\nbefore %+v\nafter  %+v", before, after)
	}
	for _, ep := range []string{ocmtest.UploadsReceived, ocmtest.EndpointCreateFolder, ocmtest.EndpointRenameFile, ocmtest.EndpointMoveFile, ocmtest.EndpointRenameFolder} {
		if n := srv.Calls(ep); n != 0 {
			t.Errorf("%d calls of %s", n, ep)
		}
	}
	if got := lines(sh(t, "ls", "-A", m.dir)); !slices.Equal(got, []string{"Docs", "Dst", "Report.txt", "b.txt"}) {
		t.Errorf("ls shows %q", got)
	}
	// Its own name in another case is no clash.
	sh(t, "mv", m.path("Report.txt"), m.path("REPORT.txt"))
	if it, ok := srv.ByPath("REPORT.txt"); !ok || it.Version != 1 {
		t.Errorf("after mv Report.txt REPORT.txt the library holds %+v", srv.Tree())
	}
}

// mv of a file and of a folder to another folder is a move on the
// server: the same GUIDs (and versions), no copy, no upload.
func TestOCMMoveKeepsGUID(t *testing.T) {
	t.Parallel()
	var fileID, folderID string
	svc, m := startOCMMount(t, ocmtest.Options{}, func(srv *ocmtest.Server) {
		a := srv.AddFolder("", "a")
		srv.AddFolder("", "b")
		srv.AddFile(a, "x.bin", []byte("one"))
		fileID = srv.AddFile(a, "x.bin", []byte("two")) // two versions
		folderID = srv.AddFolder(a, "sub")
		srv.AddFile(folderID, "in.txt", []byte("inside"))
	})
	srv := svc.srv
	filesBefore := len(srv.Items())
	srv.ResetCalls()
	sh(t, "mv", m.path("a", "x.bin"), m.path("b")+"/")
	sh(t, "mv", m.path("a", "sub"), m.path("b", "renamed"))
	it, ok := srv.ByPath("b/x.bin")
	if !ok || it.ID != fileID || !slices.Equal(it.Versions, []int{1, 2}) {
		t.Errorf("b/x.bin is %+v, want %s with its two versions", it, fileID)
	}
	if f, ok := srv.ByPath("b/renamed"); !ok || f.ID != folderID {
		t.Errorf("b/renamed is %+v, want folder %s", f, folderID)
	}
	if _, ok := srv.ByPath("b/renamed/in.txt"); !ok {
		t.Error("b/renamed/in.txt is not in the library")
	}
	if n := len(srv.Items()); n != filesBefore {
		t.Errorf("the fake holds %d items, %d before: a copy was made", n, filesBefore)
	}
	for _, ep := range []string{ocmtest.UploadsReceived, ocmtest.EndpointCopyFile, ocmtest.EndpointCopyFolder, ocmtest.EndpointDeleteFile, ocmtest.EndpointDeleteFolder} {
		if n := srv.Calls(ep); n != 0 {
			t.Errorf("%d calls of %s", n, ep)
		}
	}
	if srv.Calls(ocmtest.EndpointMoveFile) != 1 || srv.Calls(ocmtest.EndpointMoveFolder) != 1 {
		t.Errorf("moves sent: %v", srv.AllCalls())
	}
	if b := readFile(t, m.path("b", "x.bin")); string(b) != "two" {
		t.Errorf("b/x.bin reads %q", b)
	}
}

// The identity domain's tokens live two seconds here; a copy that takes
// several lifetimes goes through: each token is renewed before it ends
// (or once after a 401), every file lands, and the tool sees no error.
func TestOCMTokenRenewedDuringCopy(t *testing.T) {
	t.Parallel()
	const life = 2 * time.Second
	svc, m := startOCMMount(t, ocmtest.Options{TokenLife: life}, nil)
	srv := svc.srv
	// Each upload is stored after 250 ms: the copy of 24 files takes some
	// 6 s, three lifetimes, however fast the machine.
	srv.SetFaults(ocmtest.Faults{UploadDelay: 250 * time.Millisecond})
	src := t.TempDir()
	for i := range 24 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%02d.txt", i)), []byte(fmt.Sprintf("file %d", i)))
	}
	start := time.Now()
	grants := srv.Calls(ocmtest.EndpointToken)
	sh(t, "cp", "-r", src+"/.", m.dir)
	took := time.Since(start)
	if took < 2*life {
		t.Fatalf("the copy took %v: not several token lifetimes", took)
	}
	for i := range 24 {
		name := fmt.Sprintf("f%02d.txt", i)
		it, ok := srv.ByPath(name)
		if b, _ := srv.Content(it.ID, ""); !ok || string(b) != fmt.Sprintf("file %d", i) {
			t.Errorf("%s: the library holds %q", name, b)
		}
	}
	if n := srv.Calls(ocmtest.EndpointToken) - grants; n < 2 {
		t.Errorf("%d token grants during a copy of %v, tokens living %v", n, took, life)
	}
	t.Logf("copy of 24 files in %v: %d grants, %d 401s", took.Round(time.Millisecond), srv.Calls(ocmtest.EndpointToken), srv.Calls(ocmtest.Unauthorized))
	if l := loudLines(m, "level=ERROR"); len(l) != 0 {
		t.Errorf("errors logged:\n%s", strings.Join(l, "\n"))
	}
	if strings.Contains(m.log.String(), srv.ClientSecret()) {
		t.Error("the client secret is in the log")
	}
}

// A file another user reserved: a write into it fails at close with
// EBUSY (the service's "reserved" said once in the log), its bytes stay
// in the spool, and nothing is sent again in a loop; the library keeps
// the file as it was.
func TestOCMReservedFileBusy(t *testing.T) {
	t.Parallel()
	var id string
	svc, m := startOCMMount(t, ocmtest.Options{}, func(srv *ocmtest.Server) {
		id = srv.AddFile("", "locked.txt", []byte("as it was"))
		srv.Reserve(id, "colleague@example.com")
	})
	srv := svc.srv
	err := os.WriteFile(m.path("locked.txt"), []byte("my changes"), 0o644)
	if !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("write into a reserved file: %v, want EBUSY", err)
	}
	if l := loudLines(m, "locked.txt"); len(l) != 1 || !strings.Contains(l[0], "reserved") {
		t.Errorf("%d log lines name it, want 1 saying it is reserved:\n%s", len(l), strings.Join(l, "\n"))
	}
	uploads := srv.Calls(ocmtest.UploadsReceived)
	// The bytes are kept, and the status says so.
	st := ghlfsStatus(t, m.dir)
	if len(st.Uploads) != 1 || st.Uploads[0].State != "failed" || !st.Uploads[0].Refused {
		t.Fatalf("ghlfs status: %+v", st.Uploads)
	}
	kept := false
	for _, f := range spoolFiles(t, m.cacheDir) {
		if b, err := os.ReadFile(filepath.Join(m.cacheDir, "spool", f+".data")); err == nil && bytes.Equal(b, []byte("my changes")) {
			kept = true
		}
	}
	if !kept {
		t.Error("the bytes written are not in the spool")
	}
	if b, _ := srv.Content(id, ""); string(b) != "as it was" {
		t.Errorf("the library holds %q", b)
	}
	// Nothing is sent again on its own: the listing is read afresh (a
	// step of the mount's own), and no upload came meanwhile.
	sh(t, "ls", m.dir)
	if n := srv.Calls(ocmtest.UploadsReceived); n != uploads {
		t.Errorf("%d more uploads after the refusal", n-uploads)
	}
	if st := ghlfsStatus(t, m.dir); len(st.API) != 1 || !strings.HasPrefix(st.API[0].Location, "ocm:127.0.0.1:") || !strings.HasSuffix(st.API[0].Location, "/self") {
		t.Errorf("ghlfs status names the library %+v", st.API)
	}
}

// The other ways in: a bearer token in a file (OCM_TOKEN_FILE, private
// to its owner) mounts the home folder read-write; an applink (its
// token from the environment) mounts its folder, read-only unless asked.
func TestOCMTokenFileAndAppLink(t *testing.T) {
	t.Parallel()
	svc := startOCM(t, ocmtest.Options{}, faultSet{})
	srv := svc.srv
	shared := srv.AddFolder("", "Team")
	srv.AddFile(shared, "plan.txt", []byte("plan"))
	srv.AddFile("", "home.txt", []byte("home"))

	tokenFile := filepath.Join(t.TempDir(), "ocm.token")
	if err := os.WriteFile(tokenFile, []byte(ocmFixtureToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := mountWith(t, []string{"--backend", "ocm", "--api-url", srv.URL}, []string{"OCM_TOKEN_FILE=" + tokenFile}, mountOpt{})
	if got := lines(sh(t, "ls", m.dir)); !slices.Equal(got, []string{"Team", "home.txt"}) {
		t.Errorf("a token file's mount shows %q", got)
	}
	writeFile(t, m.path("new.txt"), []byte("new"))
	if it, ok := srv.ByPath("new.txt"); !ok || it.Size != 3 {
		t.Errorf("new.txt did not reach the library: %+v", srv.Tree())
	}
	if n := srv.Calls(ocmtest.EndpointToken); n != 0 {
		t.Errorf("a token file's mount asked the token endpoint %d times", n)
	}

	id, token := srv.AddAppLink(shared, ocmtest.RoleManager)
	a := mountWith(t, []string{"--backend", "ocm", "--api-url", srv.URL, "--applink-id", id, "--root", shared},
		[]string{"OCM_APPLINK_TOKEN=" + token}, mountOpt{})
	if got := lines(sh(t, "ls", a.dir)); !slices.Equal(got, []string{"plan.txt"}) {
		t.Errorf("the applink's mount shows %q", got)
	}
	if b := readFile(t, a.path("plan.txt")); string(b) != "plan" {
		t.Errorf("plan.txt reads %q", b)
	}
	if err := os.WriteFile(a.path("x.txt"), []byte("x"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("a write through the applink: %v, want EROFS", err)
	}
	for _, l := range []string{token, ocmFixtureToken} {
		if strings.Contains(m.log.String()+a.log.String(), l) {
			t.Error("a secret is in the log")
		}
	}
}

// A file moved into a folder holds its name there at once: a new file of
// that name in another case is EEXIST, as it is for a file listed there,
// whether the moved file's bytes were still waiting for their upload or
// not. (fsrand saw the new file's upload land as a version of the moved
// one, which then read the new file's bytes.)
func TestOCMCaseClashAfterMove(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"uploaded", "pending", "uploaded-after-the-move", "moved-while-uploading"} {
		t.Run(mode, func(t *testing.T) {
			pending := mode != "uploaded"
			args := []string{"--write-back-delay", "0"}
			if mode == "pending" {
				args = []string{"--write-back-delay", "1h"}
			} else if mode == "uploaded-after-the-move" || mode == "moved-while-uploading" {
				args = []string{"--write-back-delay", "300ms"}
			}
			svc, m := startOCMMount(t, ocmtest.Options{}, func(srv *ocmtest.Server) {
				srv.AddFolder("", "A")
				srv.AddFolder("", "B")
			}, args...)
			srv := svc.srv
			sh(t, "ls", "-R", m.dir)
			if mode == "moved-while-uploading" {
				svc.setFaults(faultSet{uploadDelay: 700 * time.Millisecond})
			}
			writeFile(t, m.path("A", "c.txt"), []byte("moved"))
			if !pending {
				waitFor(t, "the upload", func() bool { _, ok := srv.ByPath("A/c.txt"); return ok })
			}
			sh(t, "ls", m.path("B"))
			if mode == "moved-while-uploading" {
				waitFor(t, "the upload to begin", func() bool { return svc.counts(t).uploads > 0 })
			}
			sh(t, "mv", m.path("A", "c.txt"), m.path("B", "c.txt"))
			svc.setFaults(faultSet{})
			if mode == "uploaded-after-the-move" || mode == "moved-while-uploading" {
				waitFor(t, "the upload", func() bool { _, ok := srv.ByPath("B/c.txt"); return ok })
				waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
			}
			err := os.WriteFile(m.path("B", "C.txt"), []byte("new file"), 0o644)
			if !errors.Is(err, syscall.EEXIST) {
				t.Errorf("create B/C.txt after the move: %v, want EEXIST", err)
			}
			if got := string(readFile(t, m.path("B", "c.txt"))); got != "moved" {
				t.Errorf("B/c.txt reads %q", got)
			}
			// The other way round: a new file first, then the move.
			writeFile(t, m.path("B", "D.txt"), []byte("new file"))
			writeFile(t, m.path("A", "d.txt"), []byte("to move"))
			if !pending {
				waitFor(t, "the uploads", func() bool { _, ok := srv.ByPath("A/d.txt"); return ok })
			}
			if err := syscall.Rename(m.path("A", "d.txt"), m.path("B", "d.txt")); !errors.Is(err, syscall.EEXIST) {
				t.Errorf("move A/d.txt to B/d.txt beside B/D.txt: %v, want EEXIST", err)
			}
			// And beside a new file still open for writing.
			w, err := os.Create(m.path("B", "E.txt"))
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.Write([]byte("being written")); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Rename(m.path("A", "d.txt"), m.path("B", "e.txt")); !errors.Is(err, syscall.EEXIST) {
				t.Errorf("move A/d.txt to B/e.txt beside B/E.txt, open: %v, want EEXIST", err)
			}
		})
	}
}
