//go:build !linux

package main

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// mountGuard mounts and unmounts by path: this system has no handle to
// unmount through (see mountguard_linux.go).
type mountGuard struct{ mountpoint string }

func newMountGuard(mountpoint string) (*mountGuard, error) {
	return &mountGuard{mountpoint: mountpoint}, nil
}

func (g *mountGuard) mount(m mounter) (*fuse.Server, error) { return m(g.mountpoint, nil) }

func (g *mountGuard) unmount(server *fuse.Server, lazy bool) error {
	if lazy {
		return lazyUnmount(g.mountpoint)
	}
	return server.Unmount()
}

func (g *mountGuard) close() {}

// unmountPath unmounts mp, as root.
func unmountPath(mp string, flags int) error { return unix.Unmount(mp, flags) }
