package integration

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// shEnv runs a command with extra environment and returns its combined
// output and error.
func shEnv(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// lines splits command output into its lines, without a trailing empty one.
func lines(out string) []string {
	out = strings.TrimRight(out, "\n")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

func isErrno(err error, want syscall.Errno) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && errno == want
}

// waitFor polls cond until it holds, failing after a minute. It waits on
// an outcome the test cannot be told of directly (a background upload).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRemote waits until the library lists path.
func waitRemote(t testing.TB, srv *ghltest.Server, path string) remoteFile {
	t.Helper()
	var rf remoteFile
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("library: %v", remoteTree(t, srv))
		}
	})
	waitFor(t, path+" in the library", func() bool {
		var ok bool
		rf, ok = remoteTree(t, srv)[path]
		return ok
	})
	return rf
}

func spoolFiles(t testing.TB, cacheDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cacheDir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	// One record per file with work left: its file, id.json, or a note on
	// its bytes, id.data, or both (spoolRecord reads the newer).
	var out []string
	seen := map[string]bool{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			if id, ok = strings.CutSuffix(e.Name(), ".data"); ok {
				ok = spoolNote(filepath.Join(cacheDir, "spool", e.Name())) != nil
			}
		}
		if ok && !strings.HasPrefix(id, ".") && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// spareFiles counts the spares in the spool of cacheDir: empty bytes a
// mount makes ahead for new files, which no record holds (no ID.json, no
// note on them).
func spareFiles(cacheDir string) int {
	dir := filepath.Join(cacheDir, "spool")
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".data")
		if !ok || spoolNote(filepath.Join(dir, e.Name())) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, id+".json")); err == nil {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Size() == 0 {
			n++
		}
	}
	return n
}

// spoolNote is the record noted on the bytes at path (ghlfs's
// cache/internal/spool.NoteOn), nil if none.
func spoolNote(path string) []byte {
	buf := make([]byte, 1<<16)
	n, err := unix.Lgetxattr(path, "user.ghlfs.record", buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// spoolRecord is the record id of the spool of cacheDir as ghlfs would
// read it at its next start: of its file and the note on its bytes, the
// one written last (the higher seq).
func spoolRecord(t testing.TB, cacheDir, id string) []byte {
	t.Helper()
	dir := filepath.Join(cacheDir, "spool")
	b, err := os.ReadFile(filepath.Join(dir, id+".json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if note := spoolNote(filepath.Join(dir, id+".data")); note != nil {
		var a, n struct{ Seq uint64 }
		json.Unmarshal(b, &a)
		if json.Unmarshal(note, &n) == nil && (b == nil || n.Seq > a.Seq) {
			b = note
		}
	}
	if b == nil {
		t.Fatalf("no record %s in the spool", id)
	}
	return b
}

func startCmd(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}
