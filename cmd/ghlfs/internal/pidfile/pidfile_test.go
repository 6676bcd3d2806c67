package pidfile

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
	stale := filepath.Join(dir, pidFileName("/gone"))
	live := filepath.Join(dir, pidFileName("/here"))
	os.WriteFile(stale, []byte(strconv.Itoa(dead.Process.Pid)+"\n/gone\n\n"), 0o600)
	os.WriteFile(live, []byte(strconv.Itoa(os.Getpid())+"\n/here\n\n"), 0o600)
	p, err := Write("/mnt/new", "")
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
	p, err := Write("/mnt/ghl", "/cache/control.sock")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(p) != second {
		t.Fatalf("written to %s, want in %s", p, second)
	}
	if got := Find("/mnt/ghl"); got != p {
		t.Fatalf("Find = %q, want %q", got, p)
	}
	if pf, ok := Read(p); !ok || pf.PID != os.Getpid() || pf.Mountpoint != "/mnt/ghl" || pf.Socket != "/cache/control.sock" || pf.Start == 0 {
		t.Errorf("read back %+v %v", pf, ok)
	}
	if err := os.Chmod(second, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Find("/mnt/ghl"); got != "" {
		t.Errorf("a pid file in a folder others may enter was trusted: %s", got)
	}
	if _, err := Write("/mnt/ghl", ""); err == nil {
		t.Error("wrote a pid file to a folder others may enter")
	}

	// A first folder that cannot be made private is passed over.
	open, mine := filepath.Join(base, "open"), filepath.Join(base, "mine")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	useRuntimeDirs(t, open, mine)
	if p, err := Write("/mnt/ghl", ""); err != nil || filepath.Dir(p) != mine {
		t.Errorf("written to %q (%v), want in %s", p, err, mine)
	}
}

// The pid files' folders are checked without following a symlink: one
// planted at a runtime folder's place (at /tmp/ghlfs-UID, to a private
// folder of the user's) is neither written to nor trusted.
func TestPidDirSymlinkNotTrusted(t *testing.T) {
	base := t.TempDir()
	mine, link, next := filepath.Join(base, "mine"), filepath.Join(base, "link"), filepath.Join(base, "next")
	if err := os.Mkdir(mine, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(mine, link); err != nil {
		t.Fatal(err)
	}
	useRuntimeDirs(t, link, next)
	p, err := Write("/mnt/ghl", "")
	if err != nil || filepath.Dir(p) != next {
		t.Fatalf("written to %q (%v), want in %s, not through the symlink %s", p, err, next, link)
	}
	os.Remove(p)
	planted := filepath.Join(mine, pidFileName("/mnt/ghl"))
	os.WriteFile(planted, []byte(strconv.Itoa(os.Getpid())+"\n/mnt/ghl\n/x.sock\n"), 0o600)
	if got := Find("/mnt/ghl"); got != "" {
		t.Errorf("a pid file through the symlink was trusted: %s", got)
	}
	if files := All(); len(files) != 0 {
		t.Errorf("pid files through the symlink listed: %q", files)
	}
}

// Only files that read as ghlfs's pid files (its form, under the name it
// gives their mountpoint) are ever removed from a pid files' folder.
func TestOnlyPidFilesRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ghlfs")
	useRuntimeDirs(t, dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	others := map[string]string{
		"notes.pid":           "not a pid file\n",
		"other.pid":           strconv.Itoa(dead.Process.Pid) + "\n/gone\n\n", // a pid file's form, another name
		pidFileName("/bad"):   "12x\n/bad\n",
		pidFileName("/empty"): "",
	}
	for name, content := range others {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Write("/mnt/new", ""); err != nil {
		t.Fatal(err)
	}
	for name := range others {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s, not a ghlfs pid file, was removed (%v)", name, err)
		}
	}
}

// A pid file names its process by pid and start time: a process that
// took the pid since (here: one started at another time) is not the
// serving ghlfs, and is never signalled; a pid file without a start time
// (an older ghlfs's) is not trusted either.
func TestPidFileStartTime(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	dir := filepath.Join(t.TempDir(), "ghlfs")
	useRuntimeDirs(t, dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	start, ok := processStart(os.Getpid())
	if !ok || start == 0 {
		t.Fatalf("processStart = %d, %v", start, ok)
	}
	// This test's program is pidfile.test: it passes for a ghlfs.
	old := program
	program = "pidfile"
	t.Cleanup(func() { program = old })
	mp := "/mnt/ghl"
	for _, c := range []struct {
		start string
		want  bool
	}{
		{strconv.FormatUint(start, 10), true},
		{strconv.FormatUint(start+1, 10), false},
		{"", false},
	} {
		content := strconv.Itoa(os.Getpid()) + "\n" + mp + "\n\n" + c.start
		if err := os.WriteFile(filepath.Join(dir, pidFileName(mp)), []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p, serving := Serving(mp)
		if serving {
			p.Close()
		}
		if serving != c.want {
			t.Errorf("start time %q (this process's: %d): serving %v, want %v", c.start, start, serving, c.want)
		}
	}
}
