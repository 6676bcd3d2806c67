package spool

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// lowerPriority runs the calling goroutine, to its end, on a thread of its
// own at the lowest priority (nice 19): making a file costs kernel time on
// the thread that asks, and the spares are made ahead, so the kernel
// gives that time to a user's read or write first. (It is no isolation:
// a create holds the spool directory's lock meanwhile, which a create of
// a user's that found no spare waits for.) The thread ends with the
// goroutine (it stays locked to it).
func lowerPriority() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
}
