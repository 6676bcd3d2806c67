//go:build !linux

package main

import (
	"time"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/mounts"
)

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
	return mounts.Unmount(mp)
}
