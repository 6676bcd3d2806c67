package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// A pid file whose ghlfs is gone is removed when another mount writes its
// own; one whose process lives stays.
func TestStalePidFilesRemoved(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(pidFile("/x"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "stale.pid")
	live := filepath.Join(dir, "live.pid")
	os.WriteFile(stale, []byte(strconv.Itoa(dead.Process.Pid)+"\n/gone\n\n"), 0o600)
	os.WriteFile(live, []byte(strconv.Itoa(os.Getpid())+"\n/here\n\n"), 0o600)
	p, err := writePidFile("/mnt/new", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale pid file is still there (%v)", err)
	}
	for _, f := range []string{live, p} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
