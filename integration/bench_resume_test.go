package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// queueAndKill copies n small files into a mount whose uploads are held
// (--write-back-delay 1h) under folder "queued", and kills ghlfs (-9) once
// every record on disk says its file is complete. It returns the options
// that mount the same queue again.
func queueAndKill(tb testing.TB, srv *ghltest.Server, n int) mountOpt {
	tb.Helper()
	src := numberedFiles(tb, "queued", n)
	hold := mountOpt{args: []string{"--write-back-delay", "1h"}, cacheDir: tb.TempDir()}
	m := mountFS(tb, srv, hold)
	sh(tb, "cp", "-r", src, m.dir)
	// A file is complete once its close returned (TestKillRightAfterClose);
	// the kill still waits for every record on disk to say so, as one
	// still "writing" would be set aside at the remount, not queued.
	waitFor(tb, "every record complete on disk", func() bool {
		ids := spoolFiles(tb, hold.cacheDir)
		if len(ids) != n {
			return false
		}
		for _, id := range ids {
			var rec struct{ State string }
			if json.Unmarshal(spoolRecord(tb, hold.cacheDir, id), &rec) != nil || rec.State != "complete" {
				return false
			}
		}
		return true
	})
	m.kill()
	return hold
}

// numberedFiles makes a folder named word of n small files, f0000.txt
// and on, each holding numbered(word, i); it returns its path.
func numberedFiles(tb testing.TB, word string, n int) string {
	tb.Helper()
	src := filepath.Join(tb.TempDir(), word)
	sh(tb, "mkdir", src)
	for i := range n {
		writeFile(tb, filepath.Join(src, fmt.Sprintf("f%04d.txt", i)), []byte(numbered(word, i)))
	}
	return src
}

func numbered(word string, i int) string { return fmt.Sprintf("%s %d\n", word, i) }

// queuedShown checks that ls of "queued" shows each of the n files once,
// by its own name: no file twice (a record and its landing upload both
// listed), none missing.
func queuedShown(tb testing.TB, m *mount, n int) {
	tb.Helper()
	names := lines(sh(tb, "ls", m.path("queued")))
	seen := make(map[string]bool, len(names))
	for _, l := range names {
		var i int
		if _, err := fmt.Sscanf(l, "f%04d.txt", &i); err != nil || fmt.Sprintf("f%04d.txt", i) != l || seen[l] {
			tb.Errorf("ls shows %q; its log lines: %q", l, logLines(m.log.String(), strings.Split(l, " ")[0]))
		}
		seen[l] = true
	}
	if len(seen) != n {
		tb.Fatalf("ls shows %d of the %d queued files (%d lines)", len(seen), n, len(names))
	}
}

// A remount resumes a queue of 1,000 uploads at once; ls while they land
// shows every file once: neither a record and the copy it just uploaded
// side by side, nor a gap.
func TestListingWhileQueueLands(t *testing.T) {
	t.Parallel()
	const n = 1000
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, queueAndKill(t, srv, n))
	deadline := time.Now().Add(5 * time.Minute)
	for len(spoolFiles(t, m.cacheDir)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d uploads still queued after 5 minutes", len(spoolFiles(t, m.cacheDir)))
		}
		queuedShown(t, m, n)
	}
	queuedShown(t, m, n)
	tree := remoteTree(t, srv)
	for i := range n {
		if rf, ok := tree[fmt.Sprintf("queued/f%04d.txt", i)]; !ok || rf.Size != int64(len(numbered("queued", i))) {
			t.Fatalf("f%04d.txt in the library: %+v (listed %v)", i, rf, ok)
		}
	}
	if got := len(tree) - 1; got != n {
		t.Errorf("the library holds %d files under queued, want %d", got, n)
	}
}

// (18): a start with a long write-back queue (rclone's users see slow
// starts then: rclone #7024). 5,000 files are queued and ghlfs killed
// (queueAndKill); the remount's time until it serves, every file shown
// from its record, less the same remount's with an empty queue, is set
// against the least a start must do: read each of the queue's files once.
func benchResume(b *testing.B) []benchRow {
	const n = 5000
	srv := fake(b, ghltest.Options{})
	hold := queueAndKill(b, srv, n)
	timed := func(o mountOpt) (time.Duration, *mount) {
		start := time.Now()
		m := mountFS(b, srv, o)
		return time.Since(start), m
	}
	queued, m2 := timed(hold)
	queuedShown(b, m2, n)
	m2.kill() // the queue stays for what follows, much as it was
	empty, m3 := timed(mountOpt{args: []string{"--write-back-delay", "1h"}})
	m3.stop()
	start := time.Now()
	sh(b, "find", filepath.Join(hold.cacheDir, "spool"), "-type", "f", "-exec", "cat", "{}", "+")
	read := time.Since(start)
	r := (queued - empty).Seconds() / read.Seconds()
	return []benchRow{{"18", "remount after kill -9 with 5,000 uploads queued: the time the queue adds to the start, vs reading its files once (find -exec cat)",
		fmt.Sprintf("%.2f (%s added: %s vs %s with none queued; the read: %s)", r, (queued - empty).Round(time.Millisecond), queued.Round(time.Millisecond), empty.Round(time.Millisecond), read.Round(time.Millisecond)),
		"≤ 3", r <= 3}}
}

// ghlfs killed (-9) the moment cp -r returns: every file cp closed is
// complete on disk already (its close waited for that), so the remount
// uploads them all and sets none aside.
func TestKillRightAfterClose(t *testing.T) {
	t.Parallel()
	const n = 200
	srv := fake(t, ghltest.Options{})
	src := numberedFiles(t, "closed", n)
	hold := mountOpt{args: []string{"--write-back-delay", "1h"}, cacheDir: t.TempDir()}
	m := mountFS(t, srv, hold)
	sh(t, "cp", "-r", src, m.dir)
	m.kill()
	m2 := mountFS(t, srv, hold)
	for i := range n {
		rf := waitRemote(t, srv, fmt.Sprintf("closed/f%04d.txt", i))
		if rf.Size != int64(len(numbered("closed", i))) {
			t.Errorf("f%04d.txt has %d bytes on the fake", i, rf.Size)
		}
	}
	if l := logLines(m2.log.String(), "was not uploaded"); len(l) > 0 {
		t.Errorf("set aside at the remount: %q", l)
	}
}
