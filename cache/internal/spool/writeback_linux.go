package spool

import (
	"os"

	"golang.org/x/sys/unix"
)

// StartWriteback asks the kernel to start writing n bytes of f at off to
// the disk, and returns without waiting for them (sync_file_range with
// SYNC_FILE_RANGE_WRITE). It makes no promise: an fsync still makes the
// bytes durable, only with less left to wait for. An error is ignored,
// as the fsync that follows reports any that matters.
func StartWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
