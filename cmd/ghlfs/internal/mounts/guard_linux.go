//go:build linux

package mounts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Root mounts where it was asked, and unmounts only the mount it made. A
// mount served by root below a folder another user may change
// (~alice/m/ghl) can have its path turned elsewhere: alice renames ghl
// (or m) away and puts a symlink to any folder or mount in its place.
// mount(2) and umount(2) by path follow it (go-fuse's Unmount is
// unmount(path, 0), and the lazy fallback would detach even a busy
// mount), and ghlfs opens the library (network calls, for an agency one
// per location) between reading the mountpoint and mounting on it.
//
// So root keeps a handle on the mountpoint's parent folder (that folder,
// wherever it is renamed to) from the start. The moment before mounting
// it opens the mountpoint through it, without following a symlink, and
// gives mount(2) that handle (/proc/self/fd/N): the mount lands on that
// folder, whatever is put at its path. It then finds the mount at the
// mountpoint's name in the parent and checks it is the one made (a ghlfs
// mount of this user's; no other user can mount on top of it, nor rename
// or remove a folder with a mount on it); when it is not, the mount made
// is detached and the mount fails. It records that mount (its id; on a
// kernel before 5.8, which gives no mount ids, its device), and
// unmounts through the parent's handle, with UMOUNT_NOFOLLOW, once the
// mount there is checked to be still that one. Between the check and
// the unmount only a mount or an unmount at that very place could
// change what is there, which another user cannot do. "ghlfs unmount"
// as root does the same with the folder as it finds it, and the mount
// the mount table says is ghlfs's at the path given.
//
// A normal user mounts and unmounts through fusermount3, which makes
// these checks itself (it is setuid root, and has the same problem).

// Guard is how a mount is made and unmounted: as root, through
// handles on its folder and its parent folder; otherwise by its path.
type Guard struct {
	mountpoint string   // as given, for messages and the lazy fallback
	byPath     bool     // not root: mounted and unmounted by path
	name       string   // the mountpoint's name in parent
	ref        mountRef // the mount made, once reached

	// mu is held while parent is used (reach, unmount), so that Close
	// never lets it go under an unmount under way. A leaf.
	mu     sync.Mutex
	parent int // O_PATH handle on the mountpoint's parent; guarded by mu; -1 once closed
}

// NewGuard readies a mount at mountpoint (absolute).
func NewGuard(mountpoint string) (*Guard, error) {
	g := &Guard{mountpoint: mountpoint, parent: -1}
	if os.Geteuid() != 0 {
		g.byPath = true
		return g, nil
	}
	// A mountpoint given as a symlink is the folder it names, as mount(8)
	// takes it.
	real, err := filepath.EvalSymlinks(mountpoint)
	if err != nil {
		return nil, fmt.Errorf("mountpoint %s: %w", mountpoint, err)
	}
	dir, name := filepath.Split(real)
	if name == "" {
		return nil, fmt.Errorf("mountpoint %s: cannot mount on /", mountpoint)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("mountpoint %s: %w", mountpoint, err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return nil, fmt.Errorf("mountpoint %s is not a directory", mountpoint)
	}
	g.parent, g.name = fd, name
	return g, nil
}

// Mount makes the mount with m: as root, on the folder at the
// mountpoint the moment before, whatever is put at its path since, and
// only where the mountpoint still is that folder (see above).
func (g *Guard) Mount(m Mounter) (*fuse.Server, error) {
	if g.byPath {
		return m(g.mountpoint, nil)
	}
	g.mu.Lock()
	dir, err := unix.Openat(g.parent, g.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	g.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("mountpoint %s is no longer a directory (was it swapped for something else while ghlfs started?): %w", g.mountpoint, err)
	}
	defer unix.Close(dir)
	root := -1
	defer func() {
		if root >= 0 {
			unix.Close(root)
		}
	}()
	return m(fdPath(dir, ""), func() (string, error) {
		r, err := g.reach()
		if err != nil {
			// What was made sits on the folder dir holds, wherever it
			// is: the mount on top of it is detached (umount(2) through
			// that handle finds it; nothing else is let go).
			if derr := unix.Unmount(fdPath(dir, ""), unix.MNT_DETACH); derr != nil {
				err = fmt.Errorf("%w; and the mount made could not be detached: %v", err, derr)
			}
			return "", err
		}
		root = r
		return fdPath(r, ""), nil
	})
}

// reach finds the mount just made at the mountpoint, checks it is that
// one, records it, and returns a handle on its root. It fails when the
// mountpoint is no longer the folder mounted on (swapped, for a symlink
// or another folder, after it was opened).
func (g *Guard) reach() (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	swapped := func(err error) (int, error) {
		return -1, fmt.Errorf("mountpoint %s: the mount made is not there (was the folder swapped while it was mounted?): %w", g.mountpoint, err)
	}
	ref, err := mountAt(g.parent, g.name)
	if err != nil {
		return swapped(err)
	}
	m, err := ghlfsMountByRef(ref)
	if err != nil {
		return swapped(err)
	}
	if !slices.Contains(strings.Split(m.superOptions, ","), "user_id="+strconv.Itoa(os.Geteuid())) {
		return swapped(errors.New("another user's ghlfs mount is there"))
	}
	root, err := unix.Openat(g.parent, g.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return swapped(err)
	}
	stx, err := statxAt(root, "")
	if err == nil && (unix.Mkdev(stx.Dev_major, stx.Dev_minor) != ref.dev || (ref.id != 0 && stx.Mnt_id != ref.id)) {
		err = errors.New("it changed while it was looked at")
	}
	if err != nil {
		unix.Close(root)
		return swapped(err)
	}
	g.ref = ref
	return root, nil
}

// at is the mountpoint as seen through the handle on its parent.
func (g *Guard) at() string { return fdPath(g.parent, g.name) }

// fdPath is the path of name in the folder open as fd; of that folder
// itself when name is "".
func fdPath(fd int, name string) string {
	if name == "" {
		return fmt.Sprintf("/proc/self/fd/%d", fd)
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", fd, name)
}

// Unmount unmounts the mount made; with lazy, it is detached now even if
// busy. Without lazy, a busy mount is tried a few times (a file released
// a moment ago may still be counted), as go-fuse's Unmount does.
func (g *Guard) Unmount(server *fuse.Server, lazy bool) error {
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

func (g *Guard) unmountOnce(flags int) error {
	ref, err := mountAt(g.parent, g.name)
	if err != nil {
		return fmt.Errorf("unmount %s: %w", g.mountpoint, err)
	}
	if ref != g.ref {
		return fmt.Errorf("unmount %s: the mount there is no longer the one this ghlfs made: left alone", g.mountpoint)
	}
	if err := unix.Unmount(g.at(), flags|unix.UMOUNT_NOFOLLOW); err != nil {
		return fmt.Errorf("unmount %s: %w", g.mountpoint, err)
	}
	return nil
}

// Close lets go of the handle on the parent, once no unmount uses it.
func (g *Guard) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.parent >= 0 {
		unix.Close(g.parent)
		g.parent = -1
	}
}

// errNotMountRoot: what is at a path is not the root of a mount.
var errNotMountRoot = errors.New("not a mountpoint")

// mountRef names one mount: by the id statx gives it (Linux 5.8 on),
// or, on an older kernel, by its device alone (FUSE gives each mount one
// of its own, which the mount table shows as major:minor).
type mountRef struct {
	id  uint64 // 0: a kernel without mount ids
	dev uint64
}

// kernelMountIDs reports whether a statx answer gives the mount id and
// says whether the file is a mount's root (Linux 5.8 on). Tests replace
// it to act as an older kernel.
var kernelMountIDs = func(stx *unix.Statx_t) bool {
	return stx.Mask&unix.STATX_MNT_ID != 0 && stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0
}

// mountAt is the mount whose root is name in the folder dir, without
// following a symlink there, and without asking the file system (a
// ghlfs that died cannot answer; another user's FUSE mount refuses
// root). On a kernel without mount ids, name is a mount's root when its
// device is not dir's.
func mountAt(dir int, name string) (mountRef, error) {
	stx, err := statxAt(dir, name)
	if err != nil {
		return mountRef{}, err
	}
	ref := mountRef{dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor)}
	if kernelMountIDs(&stx) {
		if stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
			return mountRef{}, errNotMountRoot
		}
		ref.id = stx.Mnt_id
		return ref, nil
	}
	up, err := statxAt(dir, "")
	if err != nil {
		return mountRef{}, err
	}
	if unix.Mkdev(up.Dev_major, up.Dev_minor) == ref.dev {
		return mountRef{}, errNotMountRoot
	}
	return ref, nil
}

// statxAt is statx of name in dir (of dir itself when name is ""), not
// following a symlink, and not asking the file system.
func statxAt(dir int, name string) (unix.Statx_t, error) {
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT | unix.AT_STATX_DONT_SYNC
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	var stx unix.Statx_t
	err := unix.Statx(dir, name, flags, unix.STATX_MNT_ID, &stx)
	return stx, err
}

// ghlfsMountByRef finds the ghlfs mount ref names in the mount table.
func ghlfsMountByRef(ref mountRef) (ghlfsMount, error) {
	mounts, err := ghlfsMounts()
	var found []ghlfsMount
	for _, m := range mounts {
		if (ref.id != 0 && m.id == ref.id) || (ref.id == 0 && m.dev == ref.dev) {
			found = append(found, m)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return ghlfsMount{}, errors.New("more than one mount of that file system")
	case err == nil:
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
	ref, err := mountAt(fd, name)
	if errors.Is(err, errNotMountRoot) {
		return fmt.Errorf("%s is not a ghlfs mount", mp)
	}
	if err != nil {
		return err
	}
	if m, err := ghlfsMountByRef(ref); err != nil || m.dir != mp {
		return fmt.Errorf("%s is not a ghlfs mount (what is there is not the ghlfs mount the mount table names at that path): left alone", mp)
	}
	return unix.Unmount(fdPath(fd, name), flags|unix.UMOUNT_NOFOLLOW)
}

// lazyUnmount detaches a normal user's mount now, through fusermount3;
// it goes once nothing uses it. (Root's goes through its mount guard.)
func lazyUnmount(mp string) error {
	return fusermount("-u", "-z", mp)
}
