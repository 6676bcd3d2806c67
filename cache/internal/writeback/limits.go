package writeback

import "github.com/ghlfs/ghlfs/remote"

// Upload limits (the errors: pending.TooLarge, pending.OverLimit). A file's limit follows the type of its name, as the
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
