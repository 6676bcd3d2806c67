//go:build !linux

package mounts

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Guard mounts and unmounts by path: this system has no handle to
// unmount through (see guard_linux.go).
type Guard struct{ mountpoint string }

// NewGuard readies a mount at mountpoint.
func NewGuard(mountpoint string) (*Guard, error) {
	return &Guard{mountpoint: mountpoint}, nil
}

// Mount makes the mount with m, at the mountpoint.
func (g *Guard) Mount(m Mounter) (*fuse.Server, error) { return m(g.mountpoint, nil) }

// Unmount unmounts the mount; with lazy, at once.
func (g *Guard) Unmount(server *fuse.Server, lazy bool) error {
	if lazy {
		return lazyUnmount(g.mountpoint)
	}
	return server.Unmount()
}

// Close does nothing: there is no handle to let go of.
func (g *Guard) Close() {}

// unmountPath unmounts mp, as root.
func unmountPath(mp string, flags int) error { return unix.Unmount(mp, flags) }

// lazyUnmount unmounts at once, forcibly (this system has no lazy
// unmount): a mount whose server died must go.
func lazyUnmount(mp string) error {
	return unix.Unmount(mp, unix.MNT_FORCE)
}
