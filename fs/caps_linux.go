//go:build linux

package fs

import "github.com/hanwen/go-fuse/v2/fuse"

// killPrivCaps: ghlfs clears set-user-ID bits itself, having none
// (HANDLE_KILLPRIV_V2). The kernel then marks the mount "no security
// xattrs" (SB_NOSEC): once an inode is seen to have no
// security.capability, a write no longer asks for it first, which it
// would do on every write(2) now that ghlfs answers xattrs.
const killPrivCaps = fuse.CAP_HANDLE_KILLPRIV_V2
