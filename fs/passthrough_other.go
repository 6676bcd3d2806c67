//go:build !linux

package fs

import (
	"github.com/hanwen/go-fuse/v2/fuse"
)

// probePassthrough leaves passthrough off: FUSE passthrough is Linux's.
func (f *FS) probePassthrough(server *fuse.Server) {
	if !f.opts.NoPassthrough {
		f.log.Info("passthrough off: this system has no FUSE passthrough; reads go through ghlfs")
	}
}
