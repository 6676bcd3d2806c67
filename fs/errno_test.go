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
