//go:build !linux

package spool

import "os"

// StartWriteback does nothing where there is no sync_file_range: the
// fsync that makes the bytes durable writes them all.
func StartWriteback(f *os.File, off, n int64) {}
