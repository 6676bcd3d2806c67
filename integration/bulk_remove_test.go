package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Bulk removals on HighLevel (cache/internal/removal): rm unlinks one
// file at a time; with a write-back delay each unlink is queued and the
// queue sends them in bulk calls (PUT /medias/delete-files, a list of
// ids), never one call per file.

// manyFiles adds a folder of n files to the library.
func manyFiles(srv *ghltest.Server, folder string, n int) (string, []string) {
	dir := srv.AddFolder("", folder)
	names := make([]string, n)
	data := make([][]byte, n)
	for i := range n {
		names[i], data[i] = fmt.Sprintf("f%03d.txt", i), []byte{byte(i)}
	}
	return dir, srv.AddFiles(dir, names, data)
}

// removalFiles are the queued removals left in a cache directory's spool.
func removalFiles(t testing.TB, cacheDir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(cacheDir, "spool", "*.removal"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRemoveBulkRmR: rm -r of a folder of 250 files trashes every one in
// a few bulk calls (250 calls before), none by DELETE /medias/{id}, and
// removes the folder once a fresh listing shows it empty.
func TestRemoveBulkRmR(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	dir, ids := manyFiles(srv, "Many", 250)
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "5s"}})
	sh(t, "ls", m.path("Many"))
	srv.ResetStats()
	sh(t, "rm", "-r", m.path("Many"))
	if _, err := os.Stat(m.path("Many")); !os.IsNotExist(err) {
		t.Fatalf("Many after rm -r: %v", err)
	}
	st := srv.Stats()
	bulk, single := st.ByEndpoint[ghltest.EndpointDeleteMany], st.ByEndpoint[ghltest.EndpointDelete]
	t.Logf("rm -r of 250 files: %d bulk calls, %d single deletes", bulk, single)
	// One batch per pause of rm longer than the queue's quiet time (a
	// second), and the rest at the rmdir: a handful at most, on a loaded
	// machine. Without batching: 250.
	if bulk < 1 || bulk > 5 || single != 0 {
		t.Errorf("rm -r of 250 files: %d bulk calls and %d single deletes, want 1 to 5 bulk calls, no single one", bulk, single)
	}
	for _, id := range append(ids, dir) {
		if it, _ := srv.Item(id); it.Status == ghltest.StatusActive {
			t.Errorf("%s is still active", it.Name)
		}
	}
	if l := removalFiles(t, m.cacheDir); len(l) != 0 {
		t.Errorf("removals left in the spool: %q", l)
	}
}

// TestRemoveBulkCrash: ghlfs killed (kill -9) at each crash point of a
// batch of removals; the next mount sends what was queued: every file
// removed, the one beside them kept, the spool empty, no error line.
func TestRemoveBulkCrash(t *testing.T) {
	t.Parallel()
	for _, point := range []string{"removal-before-send", "removal-after-answer"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			srv := fake(t, ghltest.Options{})
			_, ids := manyFiles(srv, "C", 20)
			keep := srv.AddFile("", "keep.txt", "", []byte("kept"))
			m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "5s"}, env: []string{"GHLFS_CRASH_AT=" + point}})
			// rm may be cut short by the crash: the files it could not
			// unlink stay, and only those.
			out, _ := shErr("sh", "-c", "rm "+m.path("C")+"/* 2>&1")
			left := map[string]bool{}
			for _, id := range ids {
				if it, _ := srv.Item(id); strings.Contains(out, "/"+it.Name+"'") {
					left[id] = true
				}
			}
			waitFor(t, "ghlfs to crash", func() bool {
				select {
				case <-m.exited:
					return true
				default:
					return false
				}
			})
			m.reap()
			if !strings.Contains(m.log.String(), "crash point "+point) {
				t.Fatalf("ghlfs died, but not at %s:\n%s", point, m.log)
			}
			if len(removalFiles(t, m.cacheDir)) == 0 {
				t.Fatal("no removal left in the spool by the crash")
			}
			m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir, args: []string{"--write-back-delay", "5s"}})
			if shown := len(lines(sh(t, "ls", "-A", m2.path("C")))); shown != len(left) {
				t.Errorf("C after the remount shows %d files, want the %d rm did not reach", shown, len(left))
			}
			waitFor(t, "the removals to be sent", func() bool { return len(removalFiles(t, m2.cacheDir)) == 0 })
			for _, id := range ids {
				if it, _ := srv.Item(id); (it.Status == ghltest.StatusActive) != left[id] {
					t.Errorf("%s is %s (rm reached it: %v)", it.Name, it.Status, !left[id])
				}
			}
			if it, _ := srv.Item(keep); it.Status != ghltest.StatusActive {
				t.Errorf("keep.txt is %s", it.Status)
			}
			if l := logLines(m2.log.String(), "level=ERROR"); len(l) != 0 {
				t.Errorf("error lines: %q", l)
			}
		})
	}
}
