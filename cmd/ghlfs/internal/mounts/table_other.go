//go:build !linux

package mounts

// UserMounts cannot read this system's mount table: ghlfs status finds
// the mounts of this user by their pid files alone.
func UserMounts() ([]string, error) { return nil, ErrNoMountTable }

// IsGhlfs reports whether mountpoint is a FUSE mount named ghlfs.
func IsGhlfs(mountpoint string) (bool, error) {
	return statfsGhlfs(mountpoint)
}
