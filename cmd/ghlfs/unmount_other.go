//go:build !linux

package main

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// lazyUnmount unmounts at once, forcibly (this system has no lazy
// unmount): a mount whose server died must go.
func lazyUnmount(mp string) error {
	return unix.Unmount(mp, unix.MNT_FORCE)
}

// proc is a running ghlfs (none here: see servingProc).
type proc struct{ pid int }

func (p *proc) close() {}

// servingProc finds no serving ghlfs: without /proc its pid file cannot
// be checked against the running program, and a signal must never reach
// another process that took its pid. "ghlfs unmount" then unmounts
// directly, and the serving ghlfs finishes on its own.
func servingProc(mountpoint string) (*proc, bool) { return nil, false }

// processStart is not known here.
func processStart(pid int) (uint64, bool) { return 0, false }

func stopServer(p *proc, mp string, wait time.Duration, signal bool, waiting func()) error {
	return unmountDirect(mp)
}

// isGhlfsMount reports whether mountpoint is a FUSE mount named ghlfs.
func isGhlfsMount(mountpoint string) (bool, error) {
	return statfsGhlfs(mountpoint)
}

var errNoMountTable = errors.New("this system's mount table cannot be read")
