package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A mount's serving process writes its pid to a file named after the
// mountpoint, so that "ghlfs unmount" can ask it to stop (SIGTERM: it
// unmounts, uploads what is due within --unmount-grace, and exits) and
// wait until it has.

func pidFile(mountpoint string) string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "ghlfs-"+strconv.Itoa(os.Getuid()))
	} else {
		dir = filepath.Join(dir, "ghlfs")
	}
	sum := sha256.Sum256([]byte(mountpoint))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".pid")
}

func writePidFile(mountpoint string) (string, error) {
	p := pidFile(mountpoint)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s must be private to its owner", filepath.Dir(p))
	}
	return p, os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())+"\n"+mountpoint+"\n"), 0o600)
}

// servingPid returns the pid of the ghlfs serving mountpoint, if it left
// a pid file and is still running.
func servingPid(mountpoint string) (int, bool) {
	data, err := os.ReadFile(pidFile(mountpoint))
	if err != nil {
		return 0, false
	}
	pidText, mp, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || mp != mountpoint {
		return 0, false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || !strings.HasPrefix(filepath.Base(strings.TrimSuffix(exe, " (deleted)")), "ghlfs") {
		return 0, false
	}
	return pid, true
}

// isGhlfsMount reports whether mountpoint is a mount of ghlfs.
func isGhlfsMount(mountpoint string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		if unescapeMountinfo(fields[4]) == mountpoint && fields[sep+1] == "fuse.ghlfs" {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMountinfo undoes the octal escapes of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func runUnmount(args []string) error {
	fl := flag.NewFlagSet("ghlfs unmount", flag.ContinueOnError)
	wait := fl.Duration("wait", 10*time.Minute, "longest to wait for the serving ghlfs to finish its uploads and exit")
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), "Usage: ghlfs unmount [--wait D] MOUNTPOINT\n\nUnmounts a ghlfs mount. The ghlfs serving it uploads what is due (within its\n--unmount-grace) and exits; unmount returns once it has.\n")
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		return err
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return errors.New("unmount needs exactly one MOUNTPOINT")
	}
	mp, err := filepath.Abs(fl.Arg(0))
	if err != nil {
		return err
	}
	ok, err := isGhlfsMount(mp)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not a ghlfs mount", mp)
	}
	if pid, ok := servingPid(mp); ok {
		return stopServer(pid, mp, *wait)
	}
	return unmountDirect(mp)
}

// stopServer asks the ghlfs serving mp to stop, and waits for it to exit.
func stopServer(pid int, mp string, wait time.Duration) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return unmountDirect(mp)
	}
	defer unix.Close(pfd)
	if err := unix.PidfdSendSignal(pfd, unix.SIGTERM, nil, 0); err != nil {
		return fmt.Errorf("stopping ghlfs (pid %d): %w", pid, err)
	}
	deadline := time.Now().Add(wait)
	told := false
	for {
		step := min(time.Until(deadline), 2*time.Second)
		if step <= 0 {
			return fmt.Errorf("ghlfs (pid %d) is still finishing its uploads after %v; it goes on in the background", pid, wait)
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}, int(step.Milliseconds()))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if n > 0 {
			return nil // it exited
		}
		if !told {
			fmt.Fprintf(os.Stderr, "ghlfs: waiting for ghlfs (pid %d) to finish the uploads that are due\n", pid)
			told = true
		}
	}
}

// unmountDirect unmounts mp itself; the serving ghlfs then finishes on its
// own.
func unmountDirect(mp string) error {
	if os.Geteuid() == 0 {
		if err := syscall.Unmount(mp, 0); err == nil {
			return nil
		} else if !errors.Is(err, syscall.EPERM) {
			return fmt.Errorf("unmount %s: %w", mp, err)
		}
	}
	return fusermount("-u", mp)
}
