package pidfile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/google/renameio/v2"
)

// program is what the name of a serving ghlfs's executable starts with.
// A variable for the tests, whose program is pidfile.test.
var program = "ghlfs"

// runtimeDirs are the folders pid files may be in, the one a mount writes
// to first. A variable for the tests.
var runtimeDirs = func() []string {
	return runtimeDirsFor(os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"), os.TempDir())
}

func runtimeDirsFor(uid int, xdg, tmp string) []string {
	id := strconv.Itoa(uid)
	var dirs []string
	if uid == 0 {
		dirs = append(dirs, "/run/ghlfs")
	}
	if xdg != "" {
		dirs = append(dirs, filepath.Join(xdg, "ghlfs"))
	}
	dirs = append(dirs, filepath.Join("/run/user", id, "ghlfs"), filepath.Join(tmp, "ghlfs-"+id), filepath.Join("/tmp", "ghlfs-"+id))
	var out []string
	for _, d := range dirs {
		if d = filepath.Clean(d); !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// Dir is the folder this process writes its pid file to: the first of
// runtimeDirs that is, or can be made, a folder of the user's that no one
// else may enter (a parent that is missing is never made).
func Dir() (string, error) {
	dirs := runtimeDirs()
	for _, d := range dirs {
		if fi, err := os.Stat(filepath.Dir(d)); err != nil || !fi.IsDir() {
			continue
		}
		if os.MkdirAll(d, 0o700) == nil && private(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("none of %s is a folder of yours that no one else may enter, or can be made one", strings.Join(dirs, ", "))
}

func pidFileName(mountpoint string) string {
	sum := sha256.Sum256([]byte(mountpoint))
	return hex.EncodeToString(sum[:8]) + ".pid"
}

// private reports whether dir is a folder of this user's that no one else
// may enter. A symlink is none (another user may have put one at
// /tmp/ghlfs-UID, to a folder of the user's they know of).
func private(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid()
}

// Write writes this process's pid, the mountpoint, the control
// socket's path ("" when there is none) and this process's start time
// (processStart: with the pid, it names this process and no other), a
// line each. It is written whole or not at all (renameio, in dir): an
// unmount or a status that reads it meanwhile never sees a part of it.
func Write(mountpoint, socket string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	removeStalePidFiles(dir)
	p := filepath.Join(dir, pidFileName(mountpoint))
	start, _ := processStart(os.Getpid())
	data := strconv.Itoa(os.Getpid()) + "\n" + mountpoint + "\n" + socket + "\n" + strconv.FormatUint(start, 10) + "\n"
	return p, renameio.WriteFile(p, []byte(data), 0o600, renameio.WithTempDir(dir))
}

// Find returns the pid file of the ghlfs serving mountpoint, in
// whichever of runtimeDirs it is (one whose process still runs first), or
// "" when there is none.
func Find(mountpoint string) string {
	found := ""
	for _, d := range runtimeDirs() {
		if !private(d) {
			continue
		}
		p := filepath.Join(d, pidFileName(mountpoint))
		pf, ok := Read(p)
		if !ok || pf.Mountpoint != mountpoint {
			continue
		}
		if pf.running() {
			return p
		}
		if found == "" {
			found = p
		}
	}
	return found
}

// All returns the pid files in every one of runtimeDirs.
func All() []string {
	var out []string
	for _, d := range runtimeDirs() {
		if private(d) {
			files, _ := filepath.Glob(filepath.Join(d, "*.pid"))
			out = append(out, files...)
		}
	}
	return out
}

// File is what a pid file says.
type File struct {
	PID        int
	Mountpoint string
	Socket     string // the control socket; "" for none
	Start      uint64 // the process's start time (processStart); 0: not said
}

// Read reads a pid file. ok only for a file of the form ghlfs
// writes, under the name it gives that mountpoint's.
func Read(name string) (pf File, ok bool) {
	if name == "" {
		return File{}, false
	}
	data, err := os.ReadFile(name)
	if err != nil || len(data) > 64<<10 {
		return File{}, false
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) < 2 {
		return File{}, false
	}
	pf.PID, err = strconv.Atoi(lines[0])
	if err != nil || pf.PID <= 0 {
		return File{}, false
	}
	pf.Mountpoint = lines[1]
	if filepath.Base(name) != pidFileName(pf.Mountpoint) {
		return File{}, false
	}
	if len(lines) > 2 {
		pf.Socket = lines[2]
	}
	if len(lines) > 3 {
		if pf.Start, err = strconv.ParseUint(lines[3], 10, 64); err != nil {
			return File{}, false
		}
	}
	return pf, true
}

// running reports whether the process that wrote the pid file may still
// run: its pid is taken, by a process started when it was (when the
// file and the system say).
func (pf File) running() bool {
	if syscall.Kill(pf.PID, 0) == syscall.ESRCH {
		return false
	}
	start, ok := processStart(pf.PID)
	return pf.Start == 0 || !ok || start == pf.Start
}

// removeStalePidFiles removes the pid files of mounts whose ghlfs is gone
// (killed, or the machine stopped): nothing else would. Only files that
// read as ghlfs's pid files are ever removed.
func removeStalePidFiles(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	for _, f := range files {
		if pf, ok := Read(f); ok && !pf.running() {
			os.Remove(f)
		}
	}
}
