//go:build linux

package pidfile

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

// Proc is a running ghlfs, held by a pidfd: a signal sent through it
// reaches that process, never one that took its pid since.
type Proc struct {
	PID int
	fd  int
}

// Close lets go of p (its pidfd).
func (p *Proc) Close() { unix.Close(p.fd) }

// Serving returns the ghlfs serving mountpoint, if it left a pid file
// and is still running; the caller closes it.
//
// The pidfd is opened first, then the process checked: the pid file's
// start time (and an executable named ghlfs) at /proc/PID, read after,
// says the process holding the pid then is the one that wrote the file,
// which therefore held it since before the pidfd was opened: the pidfd is
// of that process. Checked the other way round, the process could exit
// and its pid be taken between the check and the open.
func Serving(mountpoint string) (*Proc, bool) {
	pf, ok := Read(Find(mountpoint))
	if !ok || pf.Mountpoint != mountpoint || pf.Start == 0 {
		return nil, false // an older ghlfs's file, without a start time: not trusted
	}
	fd, err := unix.PidfdOpen(pf.PID, 0)
	if err != nil {
		return nil, false
	}
	start, ok := processStart(pf.PID)
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pf.PID))
	if !ok || start != pf.Start || err != nil || !strings.HasPrefix(filepath.Base(strings.TrimSuffix(exe, " (deleted)")), program) {
		unix.Close(fd)
		return nil, false
	}
	return &Proc{PID: pf.PID, fd: fd}, true
}

// processStart is when process pid started, in clock ticks since boot
// (/proc/PID/stat, field 22): with the pid, it names one process.
func processStart(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The name (field 2) is in parentheses and may hold anything: the
	// fields are counted from the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	const startField = 22 - 3 // fields[0] is field 3
	if len(fields) <= startField {
		return 0, false
	}
	v, err := strconv.ParseUint(fields[startField], 10, 64)
	return v, err == nil
}

// Stop asks p to stop (with signal; else it was asked already), and
// waits for it to exit. While it waits, waiting is called about once a
// second (nil: a line is printed once).
func (p *Proc) Stop(wait time.Duration, signal bool, waiting func()) error {
	pfd, pid := p.fd, p.PID
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
