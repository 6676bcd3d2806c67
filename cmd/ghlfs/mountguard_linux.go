//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Root unmounts only the mount it made. A mount served by root below a
// folder another user may change (~alice/m/ghl) can have its path turned
// elsewhere once it is made: alice renames m away and puts at m/ghl a
// symlink to any mount. umount(2) by path follows it (go-fuse's Unmount
// is unmount(path, 0)), and the lazy fallback would detach even a busy
// mount. So root keeps, from mount time, a handle on the mountpoint's
// parent folder (that folder, wherever it is renamed to) and the id of
// the mount it made below it; it unmounts through the handle, with
// UMOUNT_NOFOLLOW, once the id there is checked to be still that mount's.
// Between the check and the unmount only a mount or an unmount at that
// very place could change what is there, which another user cannot do.
// "ghlfs unmount" as root does the same with the folder as it finds it,
// and the mount the mount table says is ghlfs's at the path given.
//
// A normal user mounts and unmounts through fusermount3, which makes
// these checks itself (it is setuid root, and has the same problem).

// mountGuard is how a mount is made and unmounted: as root, through a
// handle on its parent folder; otherwise by its path.
type mountGuard struct {
	mountpoint string // as given, for messages and the lazy fallback
	byPath     bool   // not root: mounted and unmounted by path
	name       string // the mountpoint's name in parent
	id         uint64 // the mount made, once bound

	// mu is held while parent is used (bind, unmount), so that close
	// never lets it go under an unmount under way. A leaf.
	mu     sync.Mutex
	parent int // O_PATH handle on the mountpoint's parent; guarded by mu; -1 once closed
}

// newMountGuard readies a mount at mountpoint (absolute). at is the path
// to mount at: as root, the mountpoint's name in the handle on its parent.
func newMountGuard(mountpoint string) (g *mountGuard, at string, err error) {
	g = &mountGuard{mountpoint: mountpoint, parent: -1}
	if os.Geteuid() != 0 {
		g.byPath = true
		return g, mountpoint, nil
	}
	// A mountpoint given as a symlink is the folder it names, as mount(8)
	// takes it.
	real, err := filepath.EvalSymlinks(mountpoint)
	if err != nil {
		return nil, "", fmt.Errorf("mountpoint %s: %w", mountpoint, err)
	}
	dir, name := filepath.Split(real)
	if name == "" {
		return nil, "", fmt.Errorf("mountpoint %s: cannot mount on /", mountpoint)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("mountpoint %s: %w", mountpoint, err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return nil, "", fmt.Errorf("mountpoint %s is not a directory", mountpoint)
	}
	g.parent, g.name = fd, name
	return g, g.at(), nil
}

// at is the mountpoint as seen through the handle on its parent.
func (g *mountGuard) at() string { return fmt.Sprintf("/proc/self/fd/%d/%s", g.parent, g.name) }

// bind records the mount just made at the mountpoint. It fails when what
// is there is not a ghlfs mount: the mountpoint was swapped for a symlink
// while being mounted, and the mount went elsewhere.
func (g *mountGuard) bind() error {
	if g.byPath {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	id, err := mountIDAt(g.parent, g.name)
	if errors.Is(err, errNoMountID) {
		// A kernel before 5.8: the mount is unmounted by its path, as
		// before (the caller says so).
		g.byPath = true
		return err
	}
	if err == nil {
		var m ghlfsMount
		if m, err = ghlfsMountByID(id); err == nil {
			g.id = m.id
			return nil
		}
	}
	return fmt.Errorf("mountpoint %s: the mount made is not there (was the folder swapped while it was mounted?): %w", g.mountpoint, err)
}

// unmount unmounts the mount made; with lazy, it is detached now even if
// busy. Without lazy, a busy mount is tried a few times (a file released
// a moment ago may still be counted), as go-fuse's Unmount does.
func (g *mountGuard) unmount(server *fuse.Server, lazy bool) error {
	if g.byPath {
		if lazy {
			return lazyUnmount(g.mountpoint)
		}
		return server.Unmount()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.parent < 0 {
		return fmt.Errorf("unmount %s: unmounted already", g.mountpoint)
	}
	flags := 0
	if lazy {
		flags = unix.MNT_DETACH
	}
	var err error
	delay := time.Duration(0)
	for try := 0; try < 5; try++ {
		if err = g.unmountOnce(flags); !errors.Is(err, unix.EBUSY) {
			return err
		}
		delay = 2*delay + 5*time.Millisecond
		time.Sleep(delay)
	}
	return err
}

func (g *mountGuard) unmountOnce(flags int) error {
	id, err := mountIDAt(g.parent, g.name)
	if err != nil {
		return fmt.Errorf("unmount %s: %w", g.mountpoint, err)
	}
	if id != g.id {
		return fmt.Errorf("unmount %s: the mount there is no longer the one this ghlfs made: left alone", g.mountpoint)
	}
	if err := unix.Unmount(g.at(), flags|unix.UMOUNT_NOFOLLOW); err != nil {
		return fmt.Errorf("unmount %s: %w", g.mountpoint, err)
	}
	return nil
}

// close lets go of the handle on the parent, once no unmount uses it.
func (g *mountGuard) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.parent >= 0 {
		unix.Close(g.parent)
		g.parent = -1
	}
}

// errNotMountRoot: what is at a path is not the root of a mount.
var errNotMountRoot = errors.New("not a mountpoint")

// errNoMountID: the kernel's statx gives no mount id (before Linux 5.8).
var errNoMountID = errors.New("this kernel does not tell mounts apart (statx gives no mount id before Linux 5.8)")

// mountIDAt is the id of the mount whose root is name in the folder
// parent, without following a symlink there, and without asking the file
// system (a ghlfs that died cannot answer; another user's FUSE mount
// refuses root).
func mountIDAt(parent int, name string) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(parent, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT|unix.AT_STATX_DONT_SYNC, 0, &stx); err != nil {
		return 0, err
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 || stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return 0, errNoMountID
	}
	if stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return 0, errNotMountRoot
	}
	return stx.Mnt_id, nil
}

// ghlfsMountByID finds the ghlfs mount of id in the mount table.
func ghlfsMountByID(id uint64) (ghlfsMount, error) {
	mounts, err := ghlfsMounts()
	for _, m := range mounts {
		if m.id == id {
			return m, nil
		}
	}
	if err == nil {
		err = errors.New("not a ghlfs mount")
	}
	return ghlfsMount{}, err
}

// unmountPath unmounts the ghlfs mount at mp (absolute), as root: the
// mount found below mp's folder, without following a symlink at mp, and
// only when the mount table names it ghlfs's, at mp.
func unmountPath(mp string, flags int) error {
	dir, name := filepath.Split(mp)
	if name == "" {
		return fmt.Errorf("%s is not a ghlfs mount", mp)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	id, err := mountIDAt(fd, name)
	if errors.Is(err, errNotMountRoot) {
		return fmt.Errorf("%s is not a ghlfs mount", mp)
	}
	if err != nil {
		return err
	}
	if m, err := ghlfsMountByID(id); err != nil || m.dir != mp {
		return fmt.Errorf("%s is not a ghlfs mount (what is there is not the ghlfs mount the mount table names at that path): left alone", mp)
	}
	return unix.Unmount(fmt.Sprintf("/proc/self/fd/%d/%s", fd, name), flags|unix.UMOUNT_NOFOLLOW)
}
