package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// useRuntimeDirs points the pid files at dirs for one test.
func useRuntimeDirs(t *testing.T, dirs ...string) {
	old := runtimeDirs
	runtimeDirs = func() []string { return dirs }
	t.Cleanup(func() { runtimeDirs = old })
}

// A pid file whose ghlfs is gone is removed when another mount writes its
// own; one whose process lives stays.
func TestStalePidFilesRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ghlfs")
	useRuntimeDirs(t, dir)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
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

// A mount started at boot (no $XDG_RUNTIME_DIR) and an unmount from a
// login shell (with one) agree on where the pid file is: the mount writes
// where either looks.
func TestPidFileFoundWhateverTheEnvironment(t *testing.T) {
	for _, uid := range []int{0, 1000} {
		boot := runtimeDirsFor(uid, "", "/tmp")
		shell := runtimeDirsFor(uid, "/run/user/"+strconv.Itoa(uid), "/var/tmp")
		for _, dirs := range [][]string{boot, shell} {
			for _, other := range [][]string{boot, shell} {
				if !slices.Contains(other, dirs[0]) {
					t.Errorf("uid %d: a mount may write to %s, which %v does not look in", uid, dirs[0], other)
				}
			}
		}
	}
	if got := runtimeDirsFor(0, "", "/tmp")[0]; got != "/run/ghlfs" {
		t.Errorf("root writes to %s, want /run/ghlfs (there at boot and in every shell)", got)
	}

	// The first folder's parent is missing: the mount writes to the next,
	// and unmount finds it there; a folder others may enter is not trusted,
	// nor written to.
	base := t.TempDir()
	first, second := filepath.Join(base, "missing", "ghlfs"), filepath.Join(base, "ghlfs-0")
	useRuntimeDirs(t, first, second)
	p, err := writePidFile("/mnt/ghl", "/cache/control.sock")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(p) != second {
		t.Fatalf("written to %s, want in %s", p, second)
	}
	if got := findPidFile("/mnt/ghl"); got != p {
		t.Fatalf("findPidFile = %q, want %q", got, p)
	}
	if pid, mp, sock, ok := readPidFile(p); !ok || pid != os.Getpid() || mp != "/mnt/ghl" || sock != "/cache/control.sock" {
		t.Errorf("read back %d %q %q %v", pid, mp, sock, ok)
	}
	if err := os.Chmod(second, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := findPidFile("/mnt/ghl"); got != "" {
		t.Errorf("a pid file in a folder others may enter was trusted: %s", got)
	}
	if _, err := writePidFile("/mnt/ghl", ""); err == nil {
		t.Error("wrote a pid file to a folder others may enter")
	}

	// A first folder that cannot be made private is passed over.
	open, mine := filepath.Join(base, "open"), filepath.Join(base, "mine")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	useRuntimeDirs(t, open, mine)
	if p, err := writePidFile("/mnt/ghl", ""); err != nil || filepath.Dir(p) != mine {
		t.Errorf("written to %q (%v), want in %s", p, err, mine)
	}
}
