package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// seedBigFolder adds a folder of n files to srv, in this process.
func seedBigFolder(srv *ghltest.Server, name string, n int) string {
	dir := srv.AddFolder("", name)
	for i := range n {
		srv.AddFile(dir, fmt.Sprintf("asset-%06d.png", i), "image/png", nil)
	}
	return dir
}

// A folder of 20,000 files lists completely although its listing takes
// longer than --op-timeout: the timeout bounds each page, not a listing
// that is making progress. Progress is logged on the way, every page is
// asked for once, and ghlfs's memory stays small.
func TestHugeFolderListsCompletely(t *testing.T) {
	// Not parallel: each page must come within a 2 s --op-timeout.
	const n = 20000
	srv := fake(t, ghltest.Options{})
	seedBigFolder(srv, "huge", n)
	// One folder listed on its own (the pass over the library would list
	// it too).
	m := mountFS(t, srv, mountOpt{args: []string{"--op-timeout", "2s", "--page-size", "100", "--list-all=false"}})
	sh(t, "stat", m.path("huge")) // the root's listing, outside the measure
	// 15 ms a page: the 200-odd pages take over 3 s, longer than the timeout.
	srv.SetFaults(ghltest.Faults{Latency: ghltest.Duration(15 * time.Millisecond)})
	resetStats(t, srv)
	start := time.Now()
	out := sh(t, "ls", "-f", m.path("huge"))
	took := time.Since(start)
	names := lines(out)
	if len(names) != n+2 {
		t.Fatalf("ls -f listed %d names, want %d", len(names), n+2)
	}
	if took < 2*time.Second {
		t.Fatalf("the listing took %s: not longer than --op-timeout, so it shows nothing", took)
	}
	seen := make(map[string]bool, n)
	for _, name := range names {
		seen[name] = true
	}
	for i := range n {
		if name := fmt.Sprintf("asset-%06d.png", i); !seen[name] {
			t.Fatalf("%s is missing", name)
		}
	}
	// Every page once: 100 a page less the overlap of 4, a last short page,
	// and the folders' page.
	pages := getStats(t, srv).ByEndpoint["GET /medias/files"]
	if want := (n-4)/96 + 1 + 1; pages > want+1 {
		t.Errorf("%d list calls, want about %d", pages, want)
	}
	progress := regexp.MustCompile(`msg="listing /huge: (\d+) files so far"`).FindAllStringSubmatch(m.log.String(), -1)
	if len(progress) < n/5000-1 {
		t.Errorf("%d progress lines, want one every 5,000 files:\n%s", len(progress), m.log)
	}
	if !strings.Contains(m.log.String(), fmt.Sprintf(`msg="listed /huge: %d files"`, n)) {
		t.Errorf("no line gives the listing's total")
	}
	if strings.Contains(m.log.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", m.log)
	}
	t.Logf("%d files in %s, %d list calls, ghlfs peak RSS %d kB", n, took.Round(time.Millisecond), pages, vmHWM(t, m.cmd.Process.Pid)>>10)
}

// neverEnding is an API in front of the fake whose listing of one folder
// never ends: every page is full of new files. The rest passes through.
func neverEnding(t *testing.T, srv *ghltest.Server, folderID string) *httptest.Server {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/medias/files" || q.Get("parentId") != folderID || q.Get("type") != "file" {
			proxy.ServeHTTP(w, r)
			return
		}
		off, _ := strconv.Atoi(q.Get("offset"))
		lim, _ := strconv.Atoi(q.Get("limit"))
		var parts []string
		for i := off; i < off+lim; i++ {
			parts = append(parts, fmt.Sprintf(`{"_id":"%024x","name":"endless-%d.png","type":"file","parentId":%q,"size":1}`, i+1, i, folderID))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(parts, ","))
	}))
	t.Cleanup(h.Close)
	return h
}

// A server that never ends a folder's pages is stopped at --list-max-items:
// ls of that folder fails with EIO and one log line saying why, and the
// rest of the mount works.
func TestNeverEndingListingIsStopped(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	endless := srv.AddFolder("", "endless")
	srv.AddFile("", "fine.txt", "text/plain", []byte("fine"))
	api := neverEnding(t, srv, endless)
	// The files' bytes stay on the fake's own port, which the proxy is not:
	// name it a storage host.
	m := mountFS(t, srv, mountOpt{args: []string{"--api-url", api.URL, "--list-max-items", "3000",
		"--storage-host", strings.TrimPrefix(srv.URL, "http://")}})
	out, err := shErr("ls", m.path("endless"))
	if err == nil || !strings.Contains(out, "Input/output error") {
		t.Fatalf("ls of the endless folder: %v\n%s", err, out)
	}
	errs := logLines(m.log.String(), "level=ERROR")
	if len(errs) != 1 || !strings.Contains(errs[0], "/endless") || !strings.Contains(errs[0], "more than 3000 items") {
		t.Errorf("want one error line naming the folder and the bound; got:\n%s", strings.Join(errs, "\n"))
	}
	if got := strings.TrimSpace(sh(t, "cat", m.path("fine.txt"))); got != "fine" {
		t.Errorf("the rest of the mount: cat gave %q", got)
	}
	if _, err := os.Stat(m.path("endless")); err != nil {
		t.Errorf("the folder itself: %v", err)
	}
}
