package fs

import (
	"context"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
)

// Extended attributes show what the service knows of a file, read-only,
// under the prefix its backend names (remote.Caps.XattrPrefix:
// "user.ghl." on HighLevel, the default):
//
//	user.ghl.id            the item's id (folders too; the root has none:
//	                       it is no item of the API)
//	user.ghl.url           the file's public link, byte for byte as the
//	                       API gave it
//	user.ghl.content_type  its content type, as the API gave it
//	user.ghl.created       when the API says it was created, RFC 3339 UTC
//	user.ghl.system        "1" on a system folder of the library (listed
//	                       isEssential or appFolder): it cannot be removed
//	                       or renamed
//
// A name without a value for a node (a file whose bytes wait in the
// write-back queue has none: the API holds no copy of them) is not listed,
// and reads as ENODATA, as does any other name in the user namespace.
// Values come from what the listings brought (cache.Store.Known): no
// xattr costs a call to the API. Setting or removing any name is ENOTSUP.
//
// Names outside the user namespace (security.selinux, system.posix_acl_*,
// security.capability, trusted.*) are ENOTSUP, answered before anything is
// looked at: ghlfs keeps no labels or ACLs, as a filesystem without those
// namespaces answers. It matters for speed: once ghlfs answers xattrs at
// all (with ENOSYS the kernel stopped asking), ls -l asks for
// security.selinux and system.posix_acl_access on every file, each a round
// trip to ghlfs; ENOTSUP makes ls stop asking for the rest of the mount
// (coreutils remembers an unsupported device), where ENODATA would not:
// a warm ls -l of 10,000 files took 6.7 times as long (bench row 17).
//
// With Options.NoXattr every call answers ENOSYS instead, which the kernel
// remembers for the whole mount: it then answers EOPNOTSUPP itself.

// The names, less the prefix (FS.xattrPrefix).
const (
	xattrID      = "id"
	xattrURL     = "url"
	xattrType    = "content_type"
	xattrCreated = "created"
	xattrSystem  = "system"
)

// defaultXattrPrefix is the prefix where the backend names none.
const defaultXattrPrefix = "user.ghl."

// xattrNames are the names in the order listxattr gives them.
var xattrNames = [...]string{xattrID, xattrURL, xattrType, xattrCreated, xattrSystem}

// maxXattrURL bounds a url shown: one longer (no real storage url is) is
// not shown at all rather than cut. The url is otherwise returned as the
// API gave it, control characters included: it is the link to paste, and
// getfattr escapes what it prints unless asked for the bare value.
const maxXattrURL = 16 << 10

// errNoAttr is "no such attribute": ENODATA on Linux, ENOATTR on macOS.
const errNoAttr = syscall.Errno(fuse.ENOATTR)

// xattrValue is the value of name (less the prefix) for e, "" when it
// has none.
func xattrValue(e cache.Entry, name string) string {
	if name == xattrID {
		return e.ID
	}
	if name == xattrSystem && e.System {
		return "1"
	}
	if e.IsDir {
		return ""
	}
	switch name {
	case xattrURL:
		if u := e.URL(); len(u) <= maxXattrURL {
			return u
		}
	case xattrType:
		return e.ContentType()
	case xattrCreated:
		if t := e.Created(); !t.IsZero() {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return ""
}

// getxattr answers GETXATTR for the node of st.
func (f *FS) getxattr(st *nodeState, attr string, dest []byte) (uint32, syscall.Errno) {
	return f.answerXattr(attr, dest, func(name string) string {
		e, ok := f.store.Known(st.get())
		if !ok {
			return ""
		}
		return xattrValue(e, name)
	})
}

// answerXattr answers GETXATTR of attr with value's value of its name
// less the prefix ("": none, ENODATA), asked only for a name of the
// prefix. A dest shorter than the value gets the value's size and
// ERANGE; go-fuse answers a size probe (a dest of length 0) with that
// size.
func (f *FS) answerXattr(attr string, dest []byte, value func(name string) string) (uint32, syscall.Errno) {
	if f.opts.NoXattr {
		return 0, syscall.ENOSYS
	}
	name, ok := strings.CutPrefix(attr, f.xattrPrefix)
	if !ok {
		if !strings.HasPrefix(attr, "user.") {
			return 0, syscall.ENOTSUP
		}
		return 0, errNoAttr
	}
	v := value(name)
	if v == "" {
		return 0, errNoAttr
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

// listxattr answers LISTXATTR for the node of st.
func (f *FS) listxattr(st *nodeState, dest []byte) (uint32, syscall.Errno) {
	if f.opts.NoXattr {
		return 0, syscall.ENOSYS
	}
	e, ok := f.store.Known(st.get())
	if !ok {
		return 0, 0
	}
	return f.listXattrs(dest, xattrNames[:], func(name string) string { return xattrValue(e, name) })
}

// listXattrs answers LISTXATTR: the names (less the prefix) value gives
// a value, in their order, each followed by a NUL; the size and ERANGE
// for a dest too short, as answerXattr.
func (f *FS) listXattrs(dest []byte, names []string, value func(name string) string) (uint32, syscall.Errno) {
	n := 0
	for _, name := range names {
		if value(name) != "" {
			n += len(f.xattrPrefix) + len(name) + 1
		}
	}
	if len(dest) < n {
		return uint32(n), syscall.ERANGE
	}
	off := 0
	for _, name := range names {
		if value(name) != "" {
			off += copy(dest[off:], f.xattrPrefix)
			off += copy(dest[off:], name)
			dest[off] = 0
			off++
		}
	}
	return uint32(off), 0
}

// setxattr answers SETXATTR and REMOVEXATTR: nothing can be changed.
func (f *FS) setxattr() syscall.Errno {
	if f.opts.NoXattr {
		return syscall.ENOSYS
	}
	return syscall.ENOTSUP
}

func (d *Dir) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return d.fsys.getxattr(d.st, attr, dest)
}

func (d *Dir) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return d.fsys.setxattr()
}

func (d *Dir) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return d.fsys.listxattr(d.st, dest)
}

func (d *Dir) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return d.fsys.setxattr()
}

func (f *File) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return f.fsys.getxattr(f.st, attr, dest)
}

func (f *File) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return f.fsys.setxattr()
}

func (f *File) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return f.fsys.listxattr(f.st, dest)
}

func (f *File) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return f.fsys.setxattr()
}
