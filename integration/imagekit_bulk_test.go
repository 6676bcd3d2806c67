package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ghlfs/ghlfs/remote/imagekit/iktest"
)

// Bulk delete on a real ImageKit mount (issue 19, seed 003): rm unlinks
// one file at a time; the removal queue sends the ids in
// POST /v1/files/batch/deleteByFileIds calls of at most 100, and applies
// the service's three answers: 200 (all gone), 207 (the ids of errors[]
// stay) and 404 with missingFileIds (nothing deleted: the missing ones
// are gone already, the others sent again).

// ikRemoval is one removal call the fake was sent, in the order they
// arrived.
type ikRemoval struct {
	endpoint string   // iktest.EndpointBulkDelete or EndpointFolderDelete
	ids      []string // a bulk delete's fileIds
	folder   string   // a folder delete's folderPath
	// active is, for a folder delete, how many files below the folder
	// the library still held when the call arrived.
	active int
	status int
}

// ikRemovals records the removal calls a fake is sent, as a proxy in
// front of it would: what was asked, in which order, and the answer.
type ikRemovals struct {
	mu    sync.Mutex
	calls []*ikRemoval
}

func (r *ikRemovals) all() []ikRemoval {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ikRemoval, len(r.calls))
	for i, c := range r.calls {
		out[i] = *c
	}
	return out
}

// bulk is the bulk delete calls.
func (r *ikRemovals) bulk() []ikRemoval {
	return slices.DeleteFunc(r.all(), func(c ikRemoval) bool { return c.endpoint != iktest.EndpointBulkDelete })
}

// bulkChecked is the bulk delete calls, each checked to name at most
// 100 ids, with no single delete (DELETE /v1/files/{id}) sent.
func (r *ikRemovals) bulkChecked(t *testing.T, srv *iktest.Server) []ikRemoval {
	t.Helper()
	bulk := r.bulk()
	for i, c := range bulk {
		t.Logf("bulk delete %d: %d ids, %d", i+1, len(c.ids), c.status)
		if len(c.ids) > 100 {
			t.Errorf("bulk delete %d: %d ids, want at most 100", i+1, len(c.ids))
		}
	}
	if n := srv.Calls(iktest.EndpointDelete); n != 0 {
		t.Errorf("%d single deletes, want none", n)
	}
	return bulk
}

// statusRecorder keeps the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// startRecordedImageKit is startImageKit with the removal calls recorded:
// the fake serves behind a handler that notes each bulk delete (its ids)
// and each folder delete (what the folder still held when it arrived).
func startRecordedImageKit(t *testing.T, prepare func(srv *iktest.Server), args ...string) (*iktest.Server, *ikRemovals, *mount) {
	t.Helper()
	srv, err := iktest.New(iktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &ikRemovals{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *ikRemoval
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/files/batch/deleteByFileIds":
			c = &ikRemoval{endpoint: iktest.EndpointBulkDelete}
			var b struct {
				FileIDs []string `json:"fileIds"`
			}
			body, _ := io.ReadAll(r.Body)
			json.Unmarshal(body, &b)
			c.ids = b.FileIDs
			r.Body = io.NopCloser(bytes.NewReader(body))
		case r.Method == http.MethodDelete && r.URL.Path == "/v1/folder":
			c = &ikRemoval{endpoint: iktest.EndpointFolderDelete}
			var b struct {
				Path string `json:"folderPath"`
			}
			body, _ := io.ReadAll(r.Body)
			json.Unmarshal(body, &b)
			c.folder = b.Path
			r.Body = io.NopCloser(bytes.NewReader(body))
			prefix := "/" + strings.Trim(b.Path, "/") + "/"
			for _, it := range srv.Items() {
				if !it.Folder && !it.Deleted && strings.HasPrefix(it.Path, prefix) {
					c.active++
				}
			}
		}
		if c == nil {
			srv.ServeHTTP(w, r)
			return
		}
		rec.mu.Lock()
		rec.calls = append(rec.calls, c)
		rec.mu.Unlock()
		sw := &statusRecorder{ResponseWriter: w}
		srv.ServeHTTP(sw, r)
		rec.mu.Lock()
		c.status = sw.status
		rec.mu.Unlock()
	}))
	t.Cleanup(hs.Close)
	srv.SetAddr(hs.Listener.Addr().String())
	if prepare != nil {
		prepare(srv)
	}
	return srv, rec, mountService(t, ikService{srv: srv}, mountOpt{args: args})
}

// ikFolderOf adds a folder of n files (f000.txt ...) to the library, and
// returns its id and the files' ids.
func ikFolderOf(srv *iktest.Server, parentID, name string, n int) (string, []string) {
	dir := srv.AddFolder(parentID, name)
	ids := make([]string, n)
	for i := range n {
		ids[i] = srv.AddFile(dir, fmt.Sprintf("f%03d.txt", i), []byte(fmt.Sprintf("file %d of %s", i, name)))
	}
	return dir, ids
}

// ikActive are the names of the files the library holds in folder dir
// ("/a"), sorted.
func ikActive(srv *iktest.Server, dir string) []string {
	var out []string
	for _, it := range srv.Items() {
		if !it.Folder && !it.Deleted && strings.HasPrefix(it.Path, dir+"/") {
			out = append(out, strings.TrimPrefix(it.Path, dir+"/"))
		}
	}
	slices.Sort(out)
	return out
}

// errorLines are the mount's ERROR lines.
func errorLines(m *mount) []string { return logLines(m.log.String(), "level=ERROR") }

// rm -r of a folder of 250 files: three bulk deletes of at most 100 ids
// (250 single deletes without the queue), every file named once, no
// DELETE /v1/files/{id}; then the folder's own delete, sent once the
// library holds nothing below it (the service deletes a folder with
// everything in it).
func TestImageKitBulkRmR(t *testing.T) {
	t.Parallel()
	var ids []string
	srv, rec, m := startRecordedImageKit(t, func(srv *iktest.Server) {
		_, ids = ikFolderOf(srv, "", "Many", 250)
		srv.AddFile("", "keep.txt", []byte("kept"))
	}, "--write-back-delay", "5s")
	sh(t, "ls", m.path("Many"))
	sh(t, "rm", "-r", m.path("Many"))
	if _, err := os.Stat(m.path("Many")); !os.IsNotExist(err) {
		t.Errorf("Many after rm -r: %v, want ENOENT", err)
	}
	if got := lines(sh(t, "ls", m.dir)); !slices.Equal(got, []string{"keep.txt"}) {
		t.Errorf("the mount shows %q, want keep.txt alone", got)
	}

	bulk := rec.bulkChecked(t, srv)
	var sent []string
	for i, c := range bulk {
		if c.status != http.StatusOK {
			t.Errorf("bulk delete %d answered %d, want 200", i+1, c.status)
		}
		sent = append(sent, c.ids...)
	}
	if len(bulk) != 3 {
		t.Errorf("%d bulk deletes for 250 files, want 3", len(bulk))
	}
	slices.Sort(sent)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(sent, want) {
		t.Errorf("the bulk deletes named %d ids, want each of the 250 files once", len(sent))
	}
	all := rec.all()
	folders := slices.DeleteFunc(slices.Clone(all), func(c ikRemoval) bool { return c.endpoint != iktest.EndpointFolderDelete })
	if len(folders) != 1 || folders[0].status != http.StatusNoContent {
		t.Fatalf("folder deletes %+v, want one, answered 204", folders)
	}
	if f := folders[0]; f.active != 0 || all[len(all)-1].endpoint != iktest.EndpointFolderDelete {
		t.Errorf("the folder delete came with %d files still in the library (calls in order: %+v), want after every file's", f.active, all)
	}
	if left := ikActive(srv, "/Many"); len(left) != 0 {
		t.Errorf("the library still holds %d files of Many", len(left))
	}
	if _, ok := srv.ByPath("/Many"); ok {
		t.Error("the library still holds the folder Many")
	}
	if _, ok := srv.ByPath("/keep.txt"); !ok {
		t.Error("keep.txt is gone")
	}
	if l := removalFiles(t, m.cacheDir); len(l) != 0 {
		t.Errorf("removals left in the spool: %q", l)
	}
	if l := errorLines(m); len(l) != 0 {
		t.Errorf("error lines: %q", l)
	}
}

// refusedNames are the files of a 40-file folder the fake refuses to
// delete (207, errors[]).
var refusedNames = []string{"f005.txt", "f017.txt", "f033.txt"}

// checkRefused checks what a user sees after the removal of every file
// of folder dir (40, refusedNames refused): exactly the refused files in
// the library and in the mount, one ERROR line each naming the file and
// the service's message, each failed in ghlfs status.
func checkRefused(t *testing.T, srv *iktest.Server, m *mount, dir string) {
	t.Helper()
	if left := ikActive(srv, "/"+dir); !slices.Equal(left, refusedNames) {
		t.Errorf("the library holds %q in %s, want the refused %q", left, dir, refusedNames)
	}
	if shown := lines(sh(t, "ls", m.path(dir))); !slices.Equal(shown, refusedNames) {
		t.Errorf("ls %s shows %q, want the refused %q", dir, shown, refusedNames)
	}
	errs := errorLines(m)
	for _, name := range refusedNames {
		if l := logLines(strings.Join(errs, "\n"), name, "Error in deleting tags"); len(l) != 1 {
			t.Errorf("%d ERROR lines name %s and the service's message, want 1", len(l), name)
		}
	}
	if len(errs) != len(refusedNames) {
		t.Errorf("%d ERROR lines, want %d (one per refused file):\n%s", len(errs), len(refusedNames), strings.Join(errs, "\n"))
	}
	var failed []string
	for _, u := range ghlfsStatus(t, m.dir).Uploads {
		if u.State == "failed" && u.Refused && strings.Contains(u.Error, "Error in deleting tags") {
			failed = append(failed, u.Path)
		}
	}
	slices.Sort(failed)
	var want []string
	for _, name := range refusedNames {
		want = append(want, dir+"/"+name)
	}
	if !slices.Equal(failed, want) {
		t.Errorf("ghlfs status shows %q failed with the service's message, want %q", failed, want)
	}
}

// A 207: the fake refuses three of forty ids. rm -r of the folder
// removes the others; the three reappear, so the folder stays
// (ENOTEMPTY, no ERROR line for that), named once each in the log and
// failed in ghlfs status.
func TestImageKitBulk207Queued(t *testing.T) {
	t.Parallel()
	srv, rec, m := startRecordedImageKit(t, func(srv *iktest.Server) {
		ikFolderOf(srv, "", "R", 40)
		for _, name := range refusedNames {
			srv.RefuseRemoval(ikItem(t, srv, "R/"+name).ID)
		}
	}, "--write-back-delay", "5s")
	sh(t, "ls", m.path("R"))
	out, err := shErr("rm", "-r", m.path("R"))
	if err == nil {
		t.Fatalf("rm -r of a folder holding refused files: ok\n%s", out)
	}
	if got := lines(out); len(got) != 1 || !strings.Contains(got[0], m.path("R")+"'") || !strings.Contains(got[0], "Directory not empty") {
		t.Errorf("rm -r said %q, want one line: the folder is not empty", got)
	}
	checkRefused(t, srv, m, "R")
	if _, ok := srv.ByPath("/R"); !ok {
		t.Error("the folder R is gone from the library")
	}
	rec.bulkChecked(t, srv)
	if n := srv.Calls(iktest.EndpointFolderDelete); n != 0 {
		t.Errorf("%d folder deletes, want none: the folder holds the refused files", n)
	}
}

// A 207 with --write-back-delay 0 and unlinks run at once (xargs -P8 rm):
// each unlink of a refused file fails (EIO), rm says so naming it, and
// every other one succeeds.
func TestImageKitBulk207Concurrent(t *testing.T) {
	t.Parallel()
	var ids []string
	srv, rec, m := startRecordedImageKit(t, func(srv *iktest.Server) {
		_, ids = ikFolderOf(srv, "", "X", 40)
		for _, name := range refusedNames {
			srv.RefuseRemoval(ikItem(t, srv, "X/"+name).ID)
		}
	}, "--write-back-delay", "0")
	names := lines(sh(t, "ls", m.path("X")))
	if len(names) != 40 {
		t.Fatalf("X shows %d files, want 40", len(names))
	}
	var paths bytes.Buffer
	for _, n := range names {
		paths.WriteString(m.path("X", n) + "\n")
	}
	cmd := exec.Command("xargs", "-P8", "-n1", "rm")
	cmd.Stdin = &paths
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 123 {
		t.Errorf("xargs -P8 rm: %v, want exit status 123 (an rm failed)\n%s", err, stderr.String())
	}
	var failed []string
	for _, l := range lines(stderr.String()) {
		name := ""
		for _, n := range names {
			if strings.Contains(l, m.path("X", n)+"'") {
				name = n
			}
		}
		if name == "" || !strings.Contains(l, "Input/output error") {
			t.Errorf("rm said %q, want an I/O error naming a refused file", l)
			continue
		}
		failed = append(failed, name)
	}
	slices.Sort(failed)
	if !slices.Equal(failed, refusedNames) {
		t.Errorf("rm failed on %q, want exactly the refused %q", failed, refusedNames)
	}
	checkRefused(t, srv, m, "X")
	// The kernel lets one unlink of a folder in at a time (it holds the
	// folder's lock across each), so each waiting unlink makes its own
	// call here (README: rm with --write-back-delay 0).
	bulk := rec.bulkChecked(t, srv)
	var sent []string
	for _, c := range bulk {
		sent = append(sent, c.ids...)
	}
	t.Logf("40 unlinks, 8 at once: %d bulk deletes", len(bulk))
	if slices.Sort(sent); !slices.Equal(sent, slices.Sorted(slices.Values(ids))) {
		t.Errorf("the bulk deletes named %d ids, want each of the 40 once", len(sent))
	}
}

// A 404 with missingFileIds: another client deleted five of thirty files
// after the mount listed them; rm of all thirty. The first bulk delete
// is answered 404 naming the five (nothing deleted); the second sends
// the other 25 and is answered 200. rm says nothing, nothing is logged
// as an error, and nothing is left.
func TestImageKitBulk404Missing(t *testing.T) {
	t.Parallel()
	var ids []string
	srv, rec, m := startRecordedImageKit(t, func(srv *iktest.Server) {
		_, ids = ikFolderOf(srv, "", "M", 30)
	}, "--write-back-delay", "5s", "--dir-cache-time", "1h")
	if n := len(lines(sh(t, "ls", m.path("M")))); n != 30 {
		t.Fatalf("M shows %d files, want 30", n)
	}
	elsewhere := []string{ids[3], ids[4], ids[11], ids[20], ids[29]}
	for _, id := range elsewhere {
		srv.Remove(id)
	}
	// The glob reads the mount's listing, which still shows the 30.
	if out := sh(t, "sh", "-c", "rm "+m.path("M")+"/*"); out != "" {
		t.Errorf("rm said %q", out)
	}
	waitFor(t, "the removals to be applied", func() bool { return len(removalFiles(t, m.cacheDir)) == 0 })

	bulk := rec.bulkChecked(t, srv)
	if len(bulk) != 2 {
		t.Fatalf("%d bulk deletes %+v, want 2", len(bulk), bulk)
	}
	first, second := bulk[0], bulk[1]
	if first.status != http.StatusNotFound || len(first.ids) != 30 {
		t.Errorf("the first bulk delete: %d ids answered %d, want 30 answered 404", len(first.ids), first.status)
	}
	rest := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return slices.Contains(elsewhere, id) })
	slices.Sort(rest)
	got := slices.Sorted(slices.Values(second.ids))
	if second.status != http.StatusOK || !slices.Equal(got, rest) {
		t.Errorf("the second bulk delete: %d ids answered %d, want the other 25 answered 200", len(second.ids), second.status)
	}
	if left := ikActive(srv, "/M"); len(left) != 0 {
		t.Errorf("the library still holds %q", left)
	}
	if shown := lines(sh(t, "ls", "-A", m.path("M"))); len(shown) != 0 {
		t.Errorf("M shows %q", shown)
	}
	if l := errorLines(m); len(l) != 0 {
		t.Errorf("error lines: %q", l)
	}
	for _, u := range ghlfsStatus(t, m.dir).Uploads {
		t.Errorf("ghlfs status shows %+v", u)
	}
}

// ghlfs killed (kill -9) in the middle of a batch of removals, at each
// crash point: rm * of 250 files sends two full batches, and the third
// (f200 to f249, sent a quiet second after rm) is cut short, before it
// is sent or after its answer. The next mount sends it (again): every
// file removed, the spool empty, no error line, and nothing else in the
// library touched.
func TestImageKitBulkCrash(t *testing.T) {
	t.Parallel()
	for _, point := range []string{"removal-before-send", "removal-after-answer"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			svc := ikBackend{}.start(t, fakeOpts{}).(ikService)
			srv := svc.srv
			_, ids := ikFolderOf(srv, "", "C", 250)
			other, _ := ikFolderOf(srv, "", "Other", 3)
			srv.AddFile(other, "f000.txt", []byte("a second version")) // a file with two versions
			srv.AddFile("", "keep.txt", []byte("kept"))
			before := srv.Items()
			m := mountService(t, svc, mountOpt{args: []string{"--write-back-delay", "5s"},
				env: []string{"GHLFS_CRASH_AT=" + point, "GHLFS_CRASH_NAME=f220.txt"}})
			sh(t, "sh", "-c", "rm "+m.path("C")+"/*")
			if !crashedAt(m, point) || !strings.Contains(m.log.String(), "crash point "+point+" reached for f220.txt") {
				t.Fatalf("ghlfs did not die at %s for f220.txt:\n%s", point, m.log)
			}
			m.reap()
			_, live := srv.ByPath("/C/f220.txt")
			if live != (point == "removal-before-send") {
				t.Errorf("at %s, f220.txt in the library: %v", point, live)
			}
			if len(removalFiles(t, m.cacheDir)) == 0 {
				t.Fatal("no removal left in the spool by the crash")
			}
			t.Logf("at the crash: %d bulk deletes, %d files left", srv.Calls(iktest.EndpointBulkDelete), len(ikActive(srv, "/C")))

			m2 := mountService(t, svc, mountOpt{cacheDir: m.cacheDir, args: []string{"--write-back-delay", "5s"}})
			if shown := lines(sh(t, "ls", "-A", m2.path("C"))); len(shown) != 0 {
				t.Errorf("C after the remount shows %d files, want none", len(shown))
			}
			waitFor(t, "the removals to be sent", func() bool { return len(removalFiles(t, m2.cacheDir)) == 0 })
			if left := ikActive(srv, "/C"); len(left) != 0 {
				t.Errorf("the library still holds %d files of C: %q", len(left), left)
			}
			removed := map[string]bool{}
			for _, id := range ids {
				removed[id] = true
			}
			after := map[string]iktest.Item{}
			for _, it := range srv.Items() {
				after[it.ID] = it
			}
			for _, it := range before {
				if removed[it.ID] {
					continue
				}
				if now := after[it.ID]; now != it {
					t.Errorf("%s changed: %+v, was %+v", it.Path, now, it)
				}
			}
			if n := srv.Calls(iktest.EndpointDelete) + srv.Calls(iktest.EndpointFolderDelete) + srv.Calls(iktest.UploadsReceived); n != 0 {
				t.Errorf("%d single deletes, folder deletes and uploads, want none", n)
			}
			if l := errorLines(m2); len(l) != 0 {
				t.Errorf("error lines: %q", l)
			}
		})
	}
}
