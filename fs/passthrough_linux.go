//go:build linux

package fs

import (
	"github.com/hanwen/go-fuse/v2/fuse"
)

// probePassthrough learns whether the kernel takes files from the disk
// cache for passthrough: it registers one, as go-fuse will at an open, and
// unregisters it. A kernel without passthrough, a user without
// CAP_SYS_ADMIN, a cache on a stacked file system (overlayfs), or no disk
// cache at all: every file is then read through ghlfs, as before.
func (f *FS) probePassthrough(server *fuse.Server) {
	if f.opts.NoPassthrough {
		f.log.Debug("passthrough off (no --passthrough)")
		return
	}
	if f.opts.AllowOther {
		// A passthrough reader makes writers wait (ETXTBSY) until it
		// closes: another user could keep the owner from writing.
		f.log.Warn("passthrough off with --allow-other: another user holding a file open would make your writes to it fail (ETXTBSY) until they closed it; reads go through ghlfs")
		return
	}
	probe, err := f.store.ProbeFile()
	if probe == nil {
		if err != nil {
			f.log.Info("passthrough off: no file could be made in the disk cache", "err", err)
		}
		return
	}
	defer probe.Close()
	if server.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH == 0 {
		f.log.Info("passthrough off: the kernel does not offer it; reads go through ghlfs")
		return
	}
	id, errno := server.RegisterBackingFd(&fuse.BackingMap{Fd: int32(probe.Fd())})
	if errno != 0 {
		f.log.Info("passthrough off: the kernel refused a file of the disk cache; reads go through ghlfs", "err", errno.Error())
		return
	}
	server.UnregisterBackingFd(id)
	f.pass.Store(true)
	f.log.Debug("passthrough on: files wholly in the disk cache are read by the kernel directly")
}
