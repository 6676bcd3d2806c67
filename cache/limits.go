package cache

import (
	"context"
	"fmt"

	"github.com/ghlfs/ghlfs/remote"
)

// Upload limits. A file's limit follows the type of its name, as the
// backend says (remote.Caps.MaxUpload: on HighLevel a video may be as
// large as 500 MB, anything else as large as --max-upload-size). A
// temporary name takes the type of the name it stands for
// (remote.IntendedType): rsync's ".clip.mp4.Xy12Ab" may grow as large as
// a video, and is uploaded as one. What is uploaded is judged again by
// the name it has then (worker.go).

// limitFor is the largest a file named name may grow.
func (q *queue) limitFor(name string) int64 {
	return q.caps.UploadLimit(remote.IntendedType(name))
}

// uploadType is the content type a file named name is uploaded with: the
// type limitFor judged its writes by, so that no file a write let grow is
// refused after its close succeeded.
func uploadType(name string) string {
	return remote.IntendedType(name)
}

// tooLarge is the error of a file that would pass its limit.
func tooLarge(name string, limit int64) error {
	return fmt.Errorf("%w: %s would pass the upload limit of %d bytes", ErrTooLarge, name, limit)
}

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
	if limit := s.q.limitFor(st.Name); st.Size > limit {
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
	if limit := h.s.q.limitFor(name); end > limit {
		return tooLarge(name, limit)
	}
	return nil
}
