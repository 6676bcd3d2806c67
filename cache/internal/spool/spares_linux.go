package spool

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// lowerPriority runs the calling goroutine, to its end, on a thread of its
// own at the lowest priority (nice 19): making files costs kernel time
// on the thread that asks, and the spares are made ahead, so that time is
// taken from no read or write of a user's. The thread ends with the
// goroutine (it stays locked to it).
func lowerPriority() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
}
