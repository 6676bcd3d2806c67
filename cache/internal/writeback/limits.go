package writeback

import (
	"fmt"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/remote"
)

// Upload limits. A file's limit follows the type of its name, as the
// backend says (remote.Caps.MaxUpload: on HighLevel a video may be as
// large as 500 MB, anything else as large as --max-upload-size). A
// temporary name takes the type of the name it stands for
// (remote.IntendedType): rsync's ".clip.mp4.Xy12Ab" may grow as large as
// a video, and is uploaded as one. What is uploaded is judged again by
// the name it has then (worker.go).

// LimitFor is the largest a file named name may grow.
func (q *Queue) LimitFor(name string) int64 {
	return q.caps.UploadLimit(remote.IntendedType(name))
}

// uploadType is the content type a file named name is uploaded with: the
// type LimitFor judged its writes by, so that no file a write let grow is
// refused after its close succeeded.
func uploadType(name string) string {
	return remote.IntendedType(name)
}

// TooLarge is the error of a file that would pass its limit.
func TooLarge(name string, limit int64) error {
	return fmt.Errorf("%w: %s would pass the upload limit of %d bytes", entry.ErrTooLarge, name, limit)
}
