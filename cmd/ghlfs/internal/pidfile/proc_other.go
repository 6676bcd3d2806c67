//go:build !linux

package pidfile

import (
	"errors"
	"time"
)

// Proc is a running ghlfs (none here: see Serving).
type Proc struct{ PID int }

// Close does nothing: no Proc is ever found here.
func (p *Proc) Close() {}

// Serving finds no serving ghlfs: without /proc its pid file cannot
// be checked against the running program, and a signal must never reach
// another process that took its pid. "ghlfs unmount" then unmounts
// directly, and the serving ghlfs finishes on its own.
func Serving(mountpoint string) (*Proc, bool) { return nil, false }

// processStart is not known here.
func processStart(pid int) (uint64, bool) { return 0, false }

// Stop is never reached here (Serving finds no Proc to stop).
func (p *Proc) Stop(wait time.Duration, signal bool, waiting func()) error {
	return errors.ErrUnsupported
}
