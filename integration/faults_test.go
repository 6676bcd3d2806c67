package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Under 10% 500s, 5% 429s, 1% cut connections and 50 ms latency, rsync a
// tree in and back out: no tool sees an error, the trees match, the
// library holds no duplicate, and the spool ends empty. With uploads at
// close (the harness's --write-back-delay 0), each of rsync's temporary
// files is uploaded and then renamed, which costs a look-up of the
// upload's listed id before the rename (an upload's answer may name it
// otherwise, remote/API.md): three calls a file, each of them under the
// faults, so rsync gets more than the usual 3 minutes.
func TestRsyncUnderFaults(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{Faults: ghltest.Faults{
		Fault500: 0.10, Fault429: 0.05, FaultCut: 0.01, Latency: ghltest.Duration(50 * time.Millisecond),
	}})
	m := mountFS(t, srv, mountOpt{args: []string{"--rate-limit", "0"}})
	src := t.TempDir()
	makeTree(t, src, 300, 5)
	shWithin(t, 8*time.Minute, "rsync", "-a", src+"/", m.path("site")+"/")
	back := t.TempDir()
	shWithin(t, 8*time.Minute, "rsync", "-a", m.path("site")+"/", back+"/")
	sh(t, "diff", "-r", src, back)

	srv.SetFaults(ghltest.Faults{})
	tree := remoteTree(t, srv)
	for p := range tree {
		if strings.Contains(p, " #") {
			t.Errorf("duplicate in the library: %s", p)
		}
	}
	checkRemoteMatches(t, srv, src, "site")
	if left := spoolFiles(t, m.cacheDir); len(left) != 0 {
		t.Errorf("spool not empty: %v", left)
	}
	st := getStats(t, srv)
	t.Logf("%d API calls (%v), %d storage requests", st.APIRequests, st.ByEndpoint, st.StorageRequests)
}

// The service goes down in the middle of a copy: the tool gets a clear
// error within the deadline, nothing is lost, and once the service is
// back the files waiting in the spool are uploaded.
func TestServiceDownMidCopy(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--op-timeout", "2s", "--upload-retry", "500ms"}})
	src := t.TempDir()
	const n = 8
	for i := range n {
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%d.txt", i)), []byte(strings.Repeat(fmt.Sprint(i), 1000)))
	}
	sh(t, "mkdir", m.path("in"))

	cp := startCmd(t, "sh", "-c", fmt.Sprintf("for f in %s/*; do cp $f %s/ || echo FAILED $f; done", src, m.path("in")))
	waitFor(t, "three uploads", func() bool { return getStats(t, srv).ByEndpoint["POST /medias/upload-file"] >= 3 })
	srv.SetFaults(ghltest.Faults{Down: true})
	start := time.Now()
	cp.Wait()
	srv.SetFaults(ghltest.Faults{})
	// Each close waits at most the deadline (2s) and its retries.
	if took := time.Since(start); took > n*10*time.Second {
		t.Errorf("the copy took %v to give up", took)
	}

	// Everything arrives, once, as the background retries run.
	waitFor(t, "every file in the library", func() bool {
		tree := remoteTree(t, srv)
		for i := range n {
			if _, ok := tree[fmt.Sprintf("in/f%d.txt", i)]; !ok {
				return false
			}
		}
		return true
	})
	waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	checkRemoteMatches(t, srv, src, "in")
	sh(t, "diff", "-r", src, m.path("in"))
	waitFor(t, "a log line with the API's message", func() bool { return strings.Contains(m.log.String(), "Service Unavailable") })
}

// With the real rate limit on (100 calls per 10 s), ghlfs paces itself: the
// fake never has to answer 429, and no window holds more than the limit.
func TestPacerKeepsUnderTheBurstLimit(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{RateLimit: 100, RateWindow: 10 * time.Second})
	m := mountFS(t, srv, mountOpt{args: []string{"--rate-limit", "100"}})
	src := t.TempDir()
	for i := range 160 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("s%03d.txt", i)), []byte(fmt.Sprint(i)))
	}
	start := time.Now()
	sh(t, "cp", "-r", src, m.path("burst"))
	st := getStats(t, srv)
	t.Logf("%d API calls in %v; busiest 10 s window: %d; 429s: %d", st.APIRequests, time.Since(start).Round(time.Millisecond), st.MaxInWindow, st.RateLimited)
	if st.RateLimited != 0 {
		t.Errorf("the fake answered 429 %d times", st.RateLimited)
	}
	if st.MaxInWindow > 100 {
		t.Errorf("%d calls in one 10 s window", st.MaxInWindow)
	}
	if st.APIRequests < 160 {
		t.Fatalf("only %d calls: the test did not pass the limit", st.APIRequests)
	}
	sh(t, "diff", "-r", src, m.path("burst"))
}
