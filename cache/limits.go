package cache

import (
	"context"
	"fmt"

	"github.com/ghlfs/ghlfs/cache/internal/pending"
)

// Upload limits follow the type of a file's name (writeback/limits.go):
// the front refuses, before a byte is copied in, a change that could
// never be uploaded.

// CheckWritable fails with ErrTooLarge when the file e is already larger
// than the upload limit of its name: no change to it could ever be
// uploaded. An open for writing that keeps the bytes (without O_TRUNC, as
// ">>" does) asks this before a byte is copied in; learning the size costs
// at most a HEAD of the file.
func (s *Store) CheckWritable(ctx context.Context, e Entry) error {
	if s.opts.ReadOnly {
		return nil // the open fails with ErrReadOnly at its first change
	}
	st, err := s.Stat(ctx, e)
	if err != nil {
		return err
	}
	if limit := s.q.LimitFor(st.Name); st.Size > limit {
		return fmt.Errorf("%w: %s is %d bytes, over the upload limit of %d bytes: it cannot be changed, only replaced (O_TRUNC) or read", ErrTooLarge, st.Name, st.Size, limit)
	}
	return nil
}

// checkGrowth refuses, before any byte of the file is copied in, a change
// through a handle that has no record yet and that would make the file
// larger than its limit.
func (h *Handle) checkGrowth(end int64) error {
	h.mu.Lock()
	pre, name := h.rec == nil, h.e.Name
	h.mu.Unlock()
	if !pre {
		return nil // the record judges it (record.writeAt, record.truncate)
	}
	if now, _ := h.now(); now != "" {
		name = now
	}
	if limit := h.s.q.LimitFor(name); end > limit {
		return pending.TooLarge(name, limit)
	}
	return nil
}
