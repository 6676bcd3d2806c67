package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// internalService is another service on this machine (an admin panel, a
// metadata endpoint) that a hostile file url could point at. It counts
// what reaches it.
func internalService(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "internal data")
	}))
	t.Cleanup(s.Close)
	return s, &hits
}

// logLines returns the lines of the log that hold every one of words.
func logLines(log string, words ...string) []string {
	var out []string
	for _, l := range lines(log) {
		all := true
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all {
			out = append(out, l)
		}
	}
	return out
}

// A file whose url points at another service on this machine (a loopback
// port that is not the API's) is listed, but reading it fails with EIO at
// once, with one log line naming the file and why; the service gets no
// request, and the signature in the url never reaches the log. The other
// files read as before.
func TestFileURLOffTheAllowList(t *testing.T) {
	// Not parallel: it times a failure that must come at once.
	internal, hits := internalService(t)
	srv := fake(t, ghltest.Options{})
	good := srv.AddFile("", "good.txt", "", []byte("good bytes"))
	bad := srv.AddFile("", "planted.txt", "", []byte("planted"))
	srv.SetFileURL(bad, internal.URL+"/admin/panel?X-Goog-Signature=secret")
	m := mountFS(t, srv, mountOpt{})

	out := sh(t, "ls", "-l", m.dir)
	if !strings.Contains(out, "planted.txt") || !strings.Contains(out, "good.txt") {
		t.Fatalf("ls -l:\n%s", out)
	}
	start := time.Now()
	out, err := shErr("cat", m.path("planted.txt"))
	took := time.Since(start)
	if !isExitWith(err) || !strings.Contains(out, "Input/output error") {
		t.Fatalf("cat of the planted file: %v: %s", err, out)
	}
	if took > 5*time.Second {
		t.Errorf("cat took %v to fail (--op-timeout is 2m): not at once", took)
	}
	if got := readFile(t, m.path("good.txt")); string(got) != "good bytes" {
		t.Errorf("good.txt reads %q", got)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal service got %d requests", n)
	}
	// Server state: both files still there, untouched.
	if _, ok := srv.Item(good); !ok {
		t.Error("good.txt gone from the library")
	}
	if it, ok := srv.Item(bad); !ok || it.Status != ghltest.StatusActive {
		t.Errorf("planted.txt: %+v", it)
	}
	log := m.log.String()
	if l := logLines(log, "level=ERROR", "planted.txt"); len(l) != 1 || !strings.Contains(l[0], "allow-list") {
		t.Errorf("want one ERROR line naming planted.txt and the allow-list, got %q", l)
	} else {
		t.Logf("ghlfs logged: %s", l[0])
	}
	if strings.Contains(log, "secret") {
		t.Errorf("the log holds the url's signature:\n%s", log)
	}
}

// When the listing gives no sizes, ls -l asks the storage host (HEAD): never
// a host off the allow-list. Plain ls still lists the file; stat of it
// fails at once with EIO; the service gets no request.
func TestNoHeadToARefusedURL(t *testing.T) {
	// Not parallel: it times a failure that must come at once.
	internal, hits := internalService(t)
	srv := fake(t, ghltest.Options{MinimalFields: true})
	srv.AddFile("", "fine.txt", "", []byte("fine"))
	bad := srv.AddFile("", "planted.txt", "", []byte("planted"))
	srv.SetFileURL(bad, internal.URL+"/x")
	m := mountFS(t, srv, mountOpt{})

	if out := sh(t, "ls", m.dir); !strings.Contains(out, "planted.txt") || !strings.Contains(out, "fine.txt") {
		t.Fatalf("ls:\n%s", out)
	}
	if fi, err := os.Stat(m.path("fine.txt")); err != nil || fi.Size() != 4 {
		t.Fatalf("stat fine.txt: %v %v", fi, err)
	}
	start := time.Now()
	_, err := os.Stat(m.path("planted.txt"))
	if !isErrno(err, syscall.EIO) || time.Since(start) > 5*time.Second {
		t.Fatalf("stat planted.txt: %v after %v", err, time.Since(start))
	}
	out, _ := shErr("ls", "-l", m.dir)
	if !strings.Contains(out, "fine.txt") {
		t.Errorf("ls -l lost the other file:\n%s", out)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal service got %d requests (a HEAD on ls)", n)
	}
}

// A signed url whose reads fail (the connection breaks every time) fails
// the read after --op-timeout; the log names the file and the url's host
// and path, never its query.
func TestSignedURLNeverLogged(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	id := srv.AddFile("", "signed.bin", "", make([]byte, 300<<10))
	it, _ := srv.Item(id)
	srv.SetFileURL(id, it.URL+"?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=secret-cred&X-Goog-Signature=secret")
	m := mountFS(t, srv, mountOpt{args: []string{"--op-timeout", "2s"}})
	sh(t, "ls", "-l", m.dir) // the listing is cached from here on

	srv.SetFaults(ghltest.Faults{FaultCut: 1})
	out, err := shErr("cat", m.path("signed.bin"))
	srv.SetFaults(ghltest.Faults{})
	if err == nil {
		t.Fatalf("cat succeeded through cut connections: %d bytes", len(out))
	}
	if st := getStats(t, srv); st.StorageRequests == 0 {
		t.Fatal("no storage request was made")
	}
	log := m.log.String()
	if l := logLines(log, "level=ERROR", "signed.bin"); len(l) == 0 {
		t.Errorf("no ERROR line names the file:\n%s", log)
	} else {
		t.Logf("ghlfs logged: %s", l[0])
	}
	if strings.Contains(log, "secret") {
		t.Errorf("the log holds the url's signature:\n%s", log)
	}
	// Once storage answers again, the file reads.
	if got := readFile(t, m.path("signed.bin")); len(got) != 300<<10 {
		t.Errorf("read %d bytes", len(got))
	}
}

// The API URL must be https unless it is on loopback, and a loopback
// storage host only goes with a loopback API: ghlfs refuses to start,
// saying why, before any request.
func TestRefusesPlainHTTPAPI(t *testing.T) {
	t.Parallel()
	mp := t.TempDir()
	for _, args := range [][]string{
		{"--api-url", "http://services.leadconnectorhq.com"},
		{"--api-url", "https://services.leadconnectorhq.com", "--storage-host", "127.0.0.1:8080"},
	} {
		cmd := exec.Command(filepath.Join(binDir, "ghlfs"), append(append([]string{"mount", "--location", testLocation, "--cache-dir", t.TempDir()}, args...), mp)...)
		cmd.Env = append(os.Environ(), "GHL_TOKEN="+testToken, "XDG_CONFIG_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%v: ghlfs started", args)
		}
		if !strings.Contains(string(out), "https") && !strings.Contains(string(out), "loopback") {
			t.Errorf("%v: the message does not say why: %s", args, out)
		}
		if strings.Contains(string(out), testToken) {
			t.Errorf("the token was printed: %s", out)
		}
	}
}

// A Private Integration Token rotated in HighLevel while mounted: once the
// token file holds the new one, the mount keeps working without a remount.
// Until then, calls fail with EACCES.
func TestTokenRotatedWhileMounted(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	folder := srv.AddFolder("", "docs")
	srv.AddFile(folder, "a.txt", "", []byte("a"))
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, []byte(testToken+"\n"))
	os.Chmod(tokenFile, 0o600)
	m := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile, "--dir-cache-time", "100ms"}})
	if out := sh(t, "ls", m.path("docs")); !strings.Contains(out, "a.txt") {
		t.Fatalf("ls docs: %s", out)
	}

	// Rotated in HighLevel, the file not yet rewritten: permission denied.
	const rotated = "pit-rotated-not-secret"
	srv.SetToken(rotated)
	srv.AddFile(folder, "b.txt", "", []byte("b"))
	waitFor(t, "a listing refused", func() bool {
		out, err := shErr("ls", m.path("docs"))
		return err != nil && strings.Contains(out, "Permission denied")
	})

	// The file rewritten: ls, mkdir and cp work again.
	writeFile(t, tokenFile, []byte(rotated+"\n"))
	out := sh(t, "ls", m.path("docs"))
	if !strings.Contains(out, "a.txt") || !strings.Contains(out, "b.txt") {
		t.Fatalf("ls docs after the token file was rewritten: %s", out)
	}
	sh(t, "mkdir", m.path("docs", "new"))
	src := filepath.Join(t.TempDir(), "host.txt")
	writeFile(t, src, []byte("written after the rotation"))
	sh(t, "cp", src, m.path("docs", "new", "host.txt"))
	// Server state: the folder and the file are in the library.
	var newID string
	for _, it := range srv.Items() {
		if it.Name == "new" && it.ParentID == folder && it.Status == ghltest.StatusActive {
			newID = it.ID
		}
	}
	found := false
	for _, it := range srv.Items() {
		if it.Name == "host.txt" && newID != "" && it.ParentID == newID && it.Status == ghltest.StatusActive {
			data, _ := srv.Content(it.ID)
			found = string(data) == "written after the rotation"
		}
	}
	if !found {
		t.Errorf("docs/new/host.txt is not in the library with its bytes")
	}
	log := m.log.String()
	if len(logLines(log, "using the new one from the token file")) == 0 {
		t.Errorf("no log line tells of the new token:\n%s", log)
	}
	if strings.Contains(log, rotated) || strings.Contains(log, testToken) {
		t.Errorf("a token reached the log")
	}
}

// A server asking to wait a day (Retry-After: 86400) holds the mount back
// for --max-retry-after at most: an ls caught by it answers soon after the
// server lets calls through again, and the calls after it are not held.
func TestRetryAfterOfADayIsCapped(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	folder := srv.AddFolder("", "f")
	srv.AddFile(folder, "x.txt", "", []byte("x"))
	m := mountFS(t, srv, mountOpt{args: []string{"--max-retry-after", "2s", "--list-all=false"}})

	// f was never listed (folder by folder, and not opened): ls of it
	// needs the API.
	lists := getStats(t, srv).ByEndpoint[ghltest.EndpointList]
	srv.SetFaults(ghltest.Faults{Fault429: 1, Fault429RetryAfter: ghltest.Duration(24 * time.Hour)})
	start := time.Now()
	ls := exec.Command("ls", m.path("f"))
	var out strings.Builder
	ls.Stdout = &out
	if err := ls.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a listing answered 429", func() bool { return getStats(t, srv).ByEndpoint[ghltest.EndpointList] > lists })
	srv.SetFaults(ghltest.Faults{})
	err := ls.Wait()
	took := time.Since(start)
	if err != nil || !strings.Contains(out.String(), "x.txt") {
		t.Fatalf("ls under a day's Retry-After: %v: %s", err, out.String())
	}
	if took > 10*time.Second {
		t.Errorf("ls took %v; the cap is 2s", took)
	}
	start = time.Now()
	sh(t, "mkdir", m.path("f", "after"))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the calls after it took %v", took)
	}
	if _, ok := remoteTree(t, srv)["f/after"]; !ok {
		t.Error("f/after is not in the library")
	}
	t.Logf("ls caught by a day's Retry-After answered in %v", took.Round(time.Millisecond))
}

// The daily quota used up: a tool gets EDQUOT at once, not after retries,
// and the log says so.
func TestDailyQuotaGivesEDQUOT(t *testing.T) {
	// Not parallel: it times a failure that must come at once.
	srv := fake(t, ghltest.Options{DailyLimit: 1}) // the mount's own check uses it
	srv.AddFolder("", "f")
	m := mountFS(t, srv, mountOpt{})
	start := time.Now()
	out, err := shErr("ls", m.path("f"))
	if err == nil || !strings.Contains(out, "Disk quota exceeded") {
		t.Fatalf("ls with the quota used up: %v: %s", err, out)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("EDQUOT took %v", took)
	}
	if st := getStats(t, srv); st.RateLimited == 0 {
		t.Errorf("the fake refused nothing: %+v", st)
	}
	if out, err := shErr("mkdir", m.path("f", "new")); err == nil || !strings.Contains(out, "Disk quota exceeded") {
		t.Errorf("mkdir with the quota used up: %v: %s", err, out)
	}
	if len(logLines(m.log.String(), "calls fail until it resets")) != 1 {
		t.Errorf("want one notice of the daily quota:\n%s", m.log)
	}
}

// isExitWith reports whether err is a tool's non-zero exit.
func isExitWith(err error) bool {
	_, ok := err.(*exec.ExitError)
	return ok
}
