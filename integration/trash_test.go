package integration

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// postControl posts body to one of the fake's control endpoints, as a
// user of ghlfake would with curl, and fails unless it answers 200.
func postControl(t testing.TB, srv *ghltest.Server, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(srv.URL+"/_ghlfake/"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_ghlfake/%s %s: %d", path, b, resp.StatusCode)
	}
}

// activeID is the id of the active item named name in folder parentID.
func activeID(t testing.TB, srv *ghltest.Server, parentID, name string) string {
	t.Helper()
	for _, it := range activeItems(srv) {
		if it.ParentID == parentID && it.Name == name {
			return it.ID
		}
	}
	t.Fatalf("no active %q in folder %q", name, parentID)
	return ""
}

// System folders (isEssential, appFolder) are neither removed nor renamed:
// rmdir, rm -r and mv of one, and mv -T of a folder over one, answer
// EPERM at once, without a call to the API and without an ERROR line;
// getfattr says which they are; what is inside them is ordinary.
func TestQuirkEssentialFolders(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkEssentialFolders}})
	m := mountFS(t, srv, mountOpt{args: []string{"--dir-cache-time", "10m"}})
	m.awaitListed(t)
	sh(t, "mkdir", m.path("mine"))
	sh(t, "ls", "-la", m.dir, m.path(ghltest.EssentialFolder), m.path(ghltest.AppFolder), m.path("mine"))
	before := childNames(srv, "")
	resetStats(t, srv)
	for _, cmd := range [][]string{
		{"rmdir", m.path(ghltest.EssentialFolder)},
		{"rm", "-r", m.path(ghltest.EssentialFolder)},
		{"rmdir", m.path(ghltest.AppFolder)}, // not empty: EPERM all the same
		{"mv", m.path(ghltest.EssentialFolder), m.path("renamed")},
		{"mv", m.path(ghltest.AppFolder), m.path("mine") + "/"},
		{"mv", "-T", m.path("mine"), m.path(ghltest.EssentialFolder)},
	} {
		out, err := shErr(cmd[0], cmd[1:]...)
		if err == nil || !strings.Contains(out, "Operation not permitted") {
			t.Fatalf("%s: %v, %q; want EPERM", strings.Join(cmd, " "), err, out)
		}
	}
	if st := getStats(t, srv); st.APIRequests != 0 {
		t.Fatalf("refusals made %d API calls: %v", st.APIRequests, st.ByEndpoint)
	}
	if got := childNames(srv, ""); !slices.Equal(got, before) {
		t.Fatalf("the library's root holds %q, was %q", got, before)
	}
	if got := lines(sh(t, "ls", m.dir)); !slices.Equal(got, before) {
		t.Fatalf("ls shows %q", got)
	}
	if errs := logLines(m.log.String(), "level=ERROR"); len(errs) != 0 {
		t.Fatalf("ERROR lines: %q", errs)
	}
	if n := len(logLines(m.log.String(), "level=INFO", "a system folder")); n != 6 {
		t.Errorf("%d INFO lines about system folders, want one per refusal (6)", n)
	}
	for _, name := range []string{ghltest.EssentialFolder, ghltest.AppFolder} {
		if got := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.ghl.system", m.path(name)); got != "1" {
			t.Errorf("user.ghl.system of %s: %q", name, got)
		}
	}
	if _, err := shErr("getfattr", "--absolute-names", "-n", "user.ghl.system", m.path("mine")); err == nil {
		t.Errorf("an ordinary folder has user.ghl.system")
	}
	// Inside: ordinary.
	src := filepath.Join(t.TempDir(), "x.txt")
	writeFile(t, src, []byte("inside"))
	sh(t, "cp", src, m.path(ghltest.AppFolder, "x.txt"))
	sh(t, "rm", m.path(ghltest.AppFolder, ghltest.AppFolderFile))
	app := activeID(t, srv, "", ghltest.AppFolder)
	if got := childNames(srv, app); !slices.Equal(got, []string{"x.txt"}) {
		t.Fatalf("the app folder holds %q", got)
	}
}

// A file taken out of the trash elsewhere (the web UI) shows in the mount
// by the next full listing (--full-sync-interval) at the latest, under its
// name, or tagged when its name was taken meanwhile; a copy the queue
// retired (a file rewritten through the mount) comes back as a file of
// its own. Nothing in the queue takes any of them for its own: no upload,
// no trash. So again after a remount. Under restore-keeps-updated a poll
// cannot see a restore; the full listing does.
func TestRestoredFileAppears(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	for _, quirk := range []string{"", ghltest.QuirkRestoreKeepsUpdated} {
		t.Run(cmp.Or(quirk, "default"), func(t *testing.T) {
			var quirks []string
			if quirk != "" {
				quirks = []string{quirk}
			}
			srv := fake(t, ghltest.Options{Quirks: quirks})
			args := []string{"--poll-interval", "200ms", "--full-sync-interval", "1s"}
			m := mountFS(t, srv, mountOpt{args: args})
			m.awaitListed(t)
			dir := t.TempDir()
			put := func(name, data string) {
				t.Helper()
				src := filepath.Join(dir, "src")
				writeFile(t, src, []byte(data))
				sh(t, "cp", src, m.path(name))
			}
			// a.txt removed, then restored.
			put("a.txt", "a1")
			a := activeID(t, srv, "", "a.txt")
			sh(t, "rm", m.path("a.txt"))
			// b.txt removed, written anew, then the old one restored.
			put("b.txt", "b1")
			b := activeID(t, srv, "", "b.txt")
			sh(t, "rm", m.path("b.txt"))
			put("b.txt", "b2")
			// c.txt rewritten: the queue retires its first copy, restored.
			put("c.txt", "c1")
			c := activeID(t, srv, "", "c.txt")
			put("c.txt", "c2")
			waitFor(t, "c.txt's first copy in the trash", func() bool {
				it, _ := srv.Item(c)
				return it.Status == ghltest.StatusTrashed
			})
			waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
			st := getStats(t, srv)
			for _, id := range []string{a, b, c} {
				postControl(t, srv, "restore", map[string]string{"id": id})
			}
			// The tag is the end of the file's key in the mount (its id,
			// or the key the mount gave it): made of 8 letters and digits.
			tagged := regexp.MustCompile(`^([abc]) \([0-9a-z:]{8}\)\.txt$`)
			want := map[string]string{"a.txt": "a1", "b.txt": "b2", "b (tag).txt": "b1", "c.txt": "c2", "c (tag).txt": "c1"}
			var shown []string
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("ls showed %q", shown)
				}
			})
			waitFor(t, "the restored files in ls", func() bool {
				shown = lines(sh(t, "ls", m.dir))
				return len(shown) == len(want)
			})
			for _, name := range shown {
				key := name
				if g := tagged.FindStringSubmatch(name); g != nil {
					key = g[1] + " (tag).txt"
				}
				data, ok := want[key]
				if !ok {
					t.Fatalf("ls shows %q", shown)
				}
				if got := string(readFile(t, m.path(name))); got != data {
					t.Errorf("%s reads %q, want %q", name, got, data)
				}
			}
			after := getStats(t, srv)
			for _, ep := range []string{ghltest.EndpointUpload, ghltest.EndpointDeleteMany, ghltest.EndpointDelete, ghltest.EndpointRename} {
				if after.ByEndpoint[ep] != st.ByEndpoint[ep] {
					t.Errorf("%s: %d calls after the restores, want none", ep, after.ByEndpoint[ep]-st.ByEndpoint[ep])
				}
			}
			if n := len(spoolFiles(t, m.cacheDir)); n != 0 {
				t.Errorf("the spool holds %d records after the restores", n)
			}

			// After a remount: the same files. (Which of two items sharing
			// a name keeps it is decided afresh: the oldest.)
			if err := m.stop(); err != nil {
				t.Fatal(err)
			}
			m2 := mountFS(t, srv, mountOpt{args: args, cacheDir: m.cacheDir})
			m2.awaitListed(t)
			got := lines(sh(t, "ls", m2.dir))
			var contents []string
			for _, name := range got {
				contents = append(contents, string(readFile(t, m2.path(name))))
			}
			slices.Sort(contents)
			if len(got) != 5 || !slices.Equal(contents, []string{"a1", "b1", "b2", "c1", "c2"}) {
				t.Fatalf("after a remount ls shows %q holding %q", got, contents)
			}
		})
	}
}

// A library of 100,000 files that the server answers with fetchAll whole,
// unpaged (45 MB at once): walked completely, each whole-library listing
// one request once the first showed it (one INFO line says so), no
// warning.
func TestQuirkFetchAllUnpagedLargeLibrary(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	const folders, per = 100, 1000
	srv := fake(t, ghltest.Options{Quirks: []string{ghltest.QuirkFetchAllUnpaged}})
	for f := range folders {
		d := srv.AddFolder("", fmt.Sprintf("folder-%03d", f))
		names := make([]string, per)
		for i := range names {
			names[i] = fmt.Sprintf("photo-%06d.jpg", f*per+i)
		}
		srv.AddFiles(d, names, make([][]byte, per))
	}
	start := time.Now()
	m := mountFS(t, srv, mountOpt{args: []string{"--log-level", "info"}})
	select { // 45 MB twice, and under -race: longer than awaitListed waits
	case <-m.listed:
	case <-m.exited:
		t.Fatalf("ghlfs exited:\n%s", m.log)
	case <-time.After(5 * time.Minute):
		t.Fatalf("ghlfs did not list the library within 5 minutes:\n%s", m.log)
	}
	listed := time.Since(start)
	calls := getStats(t, srv).ByEndpoint[ghltest.EndpointList]
	out := sh(t, "find", m.dir)
	if n := strings.Count(out, "\n"); n != 1+folders+folders*per {
		t.Fatalf("find lists %d paths, want %d", n, 1+folders+folders*per)
	}
	for _, p := range []string{"/folder-000/photo-000000.jpg", "/folder-099/photo-099999.jpg"} {
		if !strings.Contains(out, m.dir+p+"\n") {
			t.Fatalf("%s is missing", p)
		}
	}
	if n := len(logLines(m.log.String(), "at once")); n != 1 {
		t.Errorf("%d lines about whole answers, want 1:\n%s", n, m.log)
	}
	if warn := logLines(m.log.String(), "level=WARN"); len(warn) != 0 {
		t.Errorf("warnings: %q", warn)
	}
	t.Logf("%d files listed in %v with %d list calls (a pass: 2 types, each asked twice the first time); find %v later; ghlfs peak RSS %d MB",
		folders*per, listed.Round(time.Millisecond), calls, time.Since(start).Round(time.Millisecond), vmHWM(t, m.cmd.Process.Pid)>>20)
}

// Whole-library answers that lag 3 s behind (fetchall-lag), asked for
// often: files made, renamed and removed through the mount never
// disappear or come back in ls while the lagging answers come in; a file
// made elsewhere shows once they catch up.
func TestQuirkFetchAllLag(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{})
	pics := srv.AddFolder("", "pics")
	docs := srv.AddFolder("", "docs")
	for _, name := range []string{"old.txt", "gone.txt", "ren.txt"} {
		srv.AddFile(docs, name, "text/plain", []byte(name))
	}
	postControl(t, srv, "quirks", map[string][]string{"quirks": {"fetchall-lag=3s"}})
	m := mountFS(t, srv, mountOpt{args: []string{"--poll-interval", "100ms", "--full-sync-interval", "500ms"}})
	m.awaitListed(t)
	src := filepath.Join(t.TempDir(), "new.txt")
	writeFile(t, src, []byte("new"))
	sh(t, "cp", src, m.path("docs", "new.txt"))
	sh(t, "rm", m.path("docs", "gone.txt"))
	sh(t, "mv", m.path("docs", "ren.txt"), m.path("docs", "renamed.txt"))
	sh(t, "mkdir", m.path("docs", "sub"))
	sh(t, "cp", src, m.path("docs", "sub", "x.txt"))
	want := []string{"new.txt", "old.txt", "renamed.txt", "sub"}
	check := func(want []string) {
		t.Helper()
		if got := lines(sh(t, "ls", m.path("docs"))); !slices.Equal(got, want) {
			t.Fatalf("ls docs shows %q, want %q", got, want)
		}
		if got := lines(sh(t, "ls", m.path("docs", "sub"))); !slices.Equal(got, []string{"x.txt"}) {
			t.Fatalf("ls docs/sub shows %q", got)
		}
	}
	lagged := getStats(t, srv).LaggedLists
	deadline := time.Now().Add(30 * time.Second)
	for getStats(t, srv).LaggedLists < lagged+8 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d lagging answers in 30 s", getStats(t, srv).LaggedLists-lagged)
		}
		check(want)
	}
	srv.AddFile(docs, "elsewhere.txt", "text/plain", []byte("e"))
	want = append([]string{"elsewhere.txt"}, want...)
	waitFor(t, "elsewhere.txt in ls", func() bool {
		got := lines(sh(t, "ls", m.path("docs")))
		if slices.Equal(got, want) {
			return true
		}
		if !slices.Equal(got, want[1:]) { // meanwhile, the mount's own changes stay
			t.Fatalf("ls docs shows %q, want %q (or elsewhere.txt too)", got, want[1:])
		}
		return false
	})
	check(want)
	// In a folder the mount did not change, a file made elsewhere shows
	// by the whole-library answers, once they catch up.
	sh(t, "ls", m.path("pics"))
	srv.AddFile(pics, "p.png", "image/png", []byte("p"))
	waitFor(t, "p.png in ls", func() bool { return slices.Equal(lines(sh(t, "ls", m.path("pics"))), []string{"p.png"}) })
	check(want)
	if errs := logLines(m.log.String(), "level=ERROR"); len(errs) != 0 {
		t.Fatalf("ERROR lines: %q", errs)
	}
}
