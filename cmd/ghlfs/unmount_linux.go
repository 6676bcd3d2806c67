//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lazyUnmount detaches the mount now; it goes once nothing uses it.
func lazyUnmount(mp string) error {
	if os.Geteuid() == 0 {
		return unmountPath(mp, unix.MNT_DETACH)
	}
	return fusermount("-u", "-z", mp)
}

// servingPid returns the pid of the ghlfs serving mountpoint, if it left
// a pid file and is still running.
func servingPid(mountpoint string) (int, bool) {
	pid, mp, _, ok := readPidFile(findPidFile(mountpoint))
	if !ok || mp != mountpoint {
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
	mounts, err := ghlfsMounts()
	for _, m := range mounts {
		if m.dir == mountpoint {
			return true, nil
		}
	}
	return false, err
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

// stopServer asks the ghlfs serving mp to stop (with signal; else it was
// asked already), and waits for it to exit. While it waits, waiting is
// called about once a second (nil: a line is printed once).
func stopServer(pid int, mp string, wait time.Duration, signal bool, waiting func()) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return unmountDirect(mp)
	}
	defer unix.Close(pfd)
	if signal {
		if err := unix.PidfdSendSignal(pfd, unix.SIGTERM, nil, 0); err != nil {
			return fmt.Errorf("stopping ghlfs (pid %d): %w", pid, err)
		}
	}
	deadline := time.Now().Add(wait)
	told := false
	for {
		step := min(time.Until(deadline), time.Second)
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
		switch {
		case waiting != nil:
			waiting()
		case !told:
			fmt.Fprintf(os.Stderr, "ghlfs: waiting for ghlfs (pid %d) to finish the uploads that are due\n", pid)
			told = true
		}
	}
}
