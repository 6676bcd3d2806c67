// Package mounts makes and unmounts ghlfs's mounts and finds them in the
// mount table.
//
// Guard (guard_linux.go) is how a mount is made and unmounted: a normal
// user's by path, through fusermount3; root's through handles on the
// mountpoint's parent folder, so that a folder another user may change
// cannot turn the mount, or an unmount, onto something else. Unmount
// unmounts a mount no ghlfs serves any more ("ghlfs unmount"), as root
// only when the mount table names a ghlfs mount at that very path.
// UserMounts and IsGhlfs read /proc/self/mountinfo (statfs on macOS).
//
// Locks: Guard.mu alone, a leaf, held while the handle on the parent
// folder is used (reach, unmount, close).
package mounts
