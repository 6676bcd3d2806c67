package mounts

import (
	"strings"

	"golang.org/x/sys/unix"
)

// statfsGhlfs reports whether mountpoint is the root of a FUSE mount
// (macFUSE) whose source is ghlfs.
func statfsGhlfs(mountpoint string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(mountpoint, &st); err != nil {
		return false, err
	}
	on := unix.ByteSliceToString(st.Mntonname[:])
	typ := unix.ByteSliceToString(st.Fstypename[:])
	from := unix.ByteSliceToString(st.Mntfromname[:])
	return on == mountpoint && strings.Contains(typ, "fuse") && strings.HasPrefix(from, "ghlfs"), nil
}
