package fs

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/ghlfs/ghlfs/cache"
)

// A read the storage host keeps answering with a copy of another version
// (the cache gives it the kind ErrUnavailable) is EIO: never the bytes,
// never a retry the tool would loop on (EAGAIN), never ENOENT.
func TestErrnoOfStaleCopy(t *testing.T) {
	stale := fmt.Errorf("%w: read photo.png: the storage host served a copy of another version (12 bytes, not 10)", cache.ErrUnavailable)
	if got := toErrno(stale); got != syscall.EIO {
		t.Errorf("a stale copy: %v, want EIO", got)
	}
	if got := toErrno(fmt.Errorf("%w: a page too large", cache.ErrBadAnswer)); got != syscall.EIO {
		t.Errorf("a refused answer: %v, want EIO", got)
	}
	if got := toErrno(fmt.Errorf("%w: %w", cache.ErrInvalid, fmt.Errorf("ImageKit would store the file name %q as %q", "a b", "a_b"))); got != syscall.EINVAL {
		t.Errorf("a name the service would rewrite: %v, want EINVAL", got)
	}
}

// The current version of a file, which the service will not remove as a
// version, is EBUSY; the rate limit stays EAGAIN (both were "busy").
func TestErrnoOfCurrentVersion(t *testing.T) {
	if got := toErrno(fmt.Errorf("version 3 of a.txt: %w: 400", cache.ErrInUse)); got != syscall.EBUSY {
		t.Errorf("the current version: %v, want EBUSY", got)
	}
	if got := toErrno(fmt.Errorf("%w: 429", cache.ErrBusy)); got != syscall.EAGAIN {
		t.Errorf("the rate limit: %v, want EAGAIN", got)
	}
}

// A create refused for its name says so (EINVAL, EEXIST), not EIO as a
// failed write does: nothing was written.
func TestCreateErrno(t *testing.T) {
	for _, c := range []struct {
		err  error
		want syscall.Errno
	}{
		{fmt.Errorf("%w: a b.txt: ImageKit would store it as a_b.txt", cache.ErrInvalid), syscall.EINVAL},
		{fmt.Errorf("%w: the folder holds A.txt", cache.ErrExists), syscall.EEXIST},
		{fmt.Errorf("%w: 503", cache.ErrUnavailable), syscall.EIO},
		{cache.ErrReadOnly, syscall.EROFS},
	} {
		if got := createErrno(c.err); got != c.want {
			t.Errorf("%v: %v, want %v", c.err, got, c.want)
		}
	}
}

// A change the service refuses because another user reserved the file
// (remote.ErrBusy, which the cache calls ErrInUse) is EBUSY: not EIO, as
// if the service were down, nor EAGAIN, which a tool may loop on.
func TestErrnoOfReservedFile(t *testing.T) {
	err := fmt.Errorf("uploading locked.txt: %w: reserved by colleague", cache.ErrInUse)
	if got := toErrno(err); got != syscall.EBUSY {
		t.Errorf("a file reserved by another user: %v, want EBUSY", got)
	}
	if got := writeErrno(err); got != syscall.EBUSY {
		t.Errorf("its upload at close: %v, want EBUSY", got)
	}
}
