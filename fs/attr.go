package fs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
)

const blockSize = 4096

// ioSize is the block size files report (st_blksize), which tools take
// for the size of their reads and writes (cp, cat, dd without bs=): one
// FUSE request as large as the mount allows (fs.go: MaxWrite), where 4 KiB
// gave cp eight times the round trips for the same bytes.
const ioSize = 1 << 20

// fillAttr sets out from an entry whose size is known.
func (f *FS) fillAttr(e cache.Entry, ino uint64, out *fuse.Attr) {
	out.Ino = ino
	out.Uid, out.Gid = f.opts.UID, f.opts.GID
	out.Blksize = ioSize
	if e.IsDir {
		out.Mode = syscall.S_IFDIR | 0o777&^f.opts.Umask
		out.Nlink = 2
		out.Size = blockSize
	} else {
		out.Mode = syscall.S_IFREG | 0o666&^f.opts.Umask
		out.Nlink = 1
		out.Size = uint64(max(e.Size, 0))
	}
	out.Blocks = (out.Size + 511) / 512
	t := e.ModTime
	if t.IsZero() {
		t = f.started
	}
	out.SetTimes(&t, &t, &t)
}

// modeOf is the file type bits of an entry.
func modeOf(e cache.Entry) uint32 {
	if e.IsDir {
		return syscall.S_IFDIR
	}
	return syscall.S_IFREG
}
