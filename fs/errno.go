package fs

import (
	"context"
	"errors"
	"syscall"

	"github.com/ghlfs/ghlfs/cache"
)

// Errno maps an error of the cache layer to what a tool sees: the one
// mapping, which the WebDAV server (fs/webdav) serves too.
func Errno(err error) syscall.Errno { return toErrno(err) }

// toErrno maps an error of the cache layer to what a tool sees.
func toErrno(err error) syscall.Errno {
	var errno syscall.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &errno):
		return errno
	case errors.Is(err, cache.ErrNotFound):
		return syscall.ENOENT
	case errors.Is(err, cache.ErrPermission):
		return syscall.EACCES
	case errors.Is(err, cache.ErrTooLarge):
		return syscall.EFBIG
	case errors.Is(err, cache.ErrInvalid):
		return syscall.EINVAL
	case errors.Is(err, cache.ErrQuota):
		return syscall.EDQUOT
	case errors.Is(err, cache.ErrBusy):
		return syscall.EAGAIN
	case errors.Is(err, cache.ErrInUse):
		// Reserved by another user: busy until they let go of it (not
		// EACCES, which says the mount's access would have to change).
		return syscall.EBUSY
	case errors.Is(err, cache.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return syscall.ETIMEDOUT
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
	case errors.Is(err, cache.ErrNotEmpty):
		return syscall.ENOTEMPTY
	case errors.Is(err, cache.ErrExists):
		return syscall.EEXIST
	case errors.Is(err, cache.ErrReadOnly):
		return syscall.EROFS
	case errors.Is(err, cache.ErrCrossFolder):
		return syscall.EXDEV
	case errors.Is(err, cache.ErrNotSupported):
		return syscall.ENOTSUP
	case errors.Is(err, cache.ErrSystemFolder), errors.Is(err, cache.ErrNotPermitted):
		return syscall.EPERM
	case errors.Is(err, cache.ErrUnavailable), errors.Is(err, cache.ErrBadAnswer):
		// The service out of reach, or an answer ghlfs will not take: a
		// storage host that keeps serving a copy of another version than
		// the one listed (a CDN's stale copy after an overwrite) is one,
		// and is never served as the file.
		return syscall.EIO
	}
	return syscall.EIO
}

// Normal reports whether errno answers a question (ENOENT, EEXIST...)
// rather than reports a failure: such an answer is logged at debug level.
func Normal(errno syscall.Errno) bool { return normal[errno] }
