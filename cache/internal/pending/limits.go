package pending

import (
	"fmt"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/remote"
)

// UploadType is the content type a file named name is uploaded with: the
// type its writes were judged by (remote.IntendedType: a temporary name
// takes the type of the name it stands for), so that no file a write let
// grow is refused after its close succeeded.
func UploadType(name string) string { return remote.IntendedType(name) }

// TooLarge is the error of a file that would pass its limit.
func TooLarge(name string, limit int64) error {
	return fmt.Errorf("%w: %s would pass the upload limit of %d bytes", entry.ErrTooLarge, name, limit)
}

// OverLimit is the error of a file of size bytes, over its limit; why,
// when not "", says what follows from it.
func OverLimit(name string, size, limit int64, why string) error {
	msg := fmt.Sprintf("%s is %d bytes, over the upload limit of %d bytes for %s", name, size, limit, UploadType(name))
	if why != "" {
		msg += ": " + why
	}
	return fmt.Errorf("%w: %s", entry.ErrTooLarge, msg)
}
