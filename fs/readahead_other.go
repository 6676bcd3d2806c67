//go:build !linux

package fs

// setReadAhead does nothing where the kernel has no per-mount read-ahead
// ghlfs can set (/sys/class/bdi is Linux's).
func (f *FS) setReadAhead(mountpoint string) {}
