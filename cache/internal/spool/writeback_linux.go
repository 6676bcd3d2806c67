package spool

import (
	"os"

	"golang.org/x/sys/unix"
)

// StartWriteback asks the kernel to start writing n bytes of f at off to
// the disk (sync_file_range with SYNC_FILE_RANGE_WRITE): it waits for no
// write to end, though it may wait for room in the disk's queue. It makes
// no promise: an fsync still makes the bytes durable, only with less left
// to wait for. An error is ignored, as the fsync that follows reports any
// that matters. f may be closed meanwhile: then it does nothing.
func StartWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
