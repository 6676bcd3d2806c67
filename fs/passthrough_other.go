//go:build !linux

package fs

import (
	"github.com/hanwen/go-fuse/v2/fuse"
)

// probePassthrough leaves passthrough off: FUSE passthrough is Linux's.
func (fsys *FS) probePassthrough(server *fuse.Server) {
	if !fsys.opts.NoPassthrough {
		fsys.log.Info("passthrough off: this system has no FUSE passthrough; reads go through ghlfs")
	}
}
