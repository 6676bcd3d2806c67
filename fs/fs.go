// Package fs maps a location's Media Storage onto a go-fuse node tree:
// folders are directories, linked through their parentId, and files are
// regular files whose bytes come from their download URL. It knows nothing
// of HTTP: every operation goes through the cache layer's one front
// (cache.Store, and cache.Handle for open files), and every failure comes
// back as an errno.
//
// Where the service keeps a file's versions (remote.Caps.Versions), each
// folder also holds a hidden .versions directory, out of readdir and
// found by lookup: .versions/NAME/vN.ext reads version N of file NAME,
// and rm of it removes that one version (cache.Store.Versions,
// OpenVersion, RemoveVersion); the current version is EBUSY, every
// other change inside EROFS (versions.go).
//
// Locks: FS.mu, nodeState.mu, readFailures.mu, and csvDir.mu and
// csvFile.mu (the CSV imports' folder, socialcsv.go) are leaves. None is held
// while another is taken, nor across a call into the cache (which may reach the
// API), nor across a call into go-fuse. mountGate.mu is taken with no other
// lock held, and held across go-fuse's mount and the notifications sent to
// the kernel (see mountGate). Open files keep their state in
// cache.Handle, which has its own lock.
package fs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/ghlfs/ghlfs/cache"
)

// Options tune the mount.
type Options struct {
	ReadOnly bool
	// AttrTimeout and EntryTimeout are how long the kernel may keep
	// attributes and names without asking again; NegativeTimeout is the
	// same for names that do not exist.
	AttrTimeout, EntryTimeout, NegativeTimeout time.Duration
	// UID and GID own every file and folder shown.
	UID, GID uint32
	// Umask clears permission bits from the modes shown: a folder is
	// 0777 and a file 0666 less these bits (0o022 shows 0755 and 0644).
	Umask uint32
	// AllowOther lets every user of the machine reach the mount. The
	// kernel then checks each access against the owner and modes shown
	// (default_permissions): ghlfs serves every request it gets with the
	// token of the user who mounted it, and checks nothing itself.
	AllowOther bool
	Logger     *slog.Logger
	// Debug logs every FUSE request.
	Debug bool
	// NoPassthrough reads every file through ghlfs, even one wholly in the
	// disk cache (passthrough.go), and does not offer passthrough to the
	// kernel at all. AllowOther does the same: another user holding a
	// file open by passthrough would make the owner's writes to it fail
	// (ETXTBSY) for as long as they chose.
	NoPassthrough bool
	// NoXattr answers every extended attribute call ENOSYS, as ghlfs did
	// before it showed any (xattr.go): the kernel then stops asking. For
	// measuring what they cost (bench row 17).
	NoXattr bool
}

// FS is one mounted location.
type FS struct {
	store *cache.Store
	opts  Options
	log   *slog.Logger
	root  *Dir
	// xattrPrefix is the prefix of the xattr names (xattr.go): the
	// backend's (remote.Caps.XattrPrefix).
	xattrPrefix string

	started time.Time   // the time shown when an item has none
	pass    atomic.Bool // files wholly in the disk cache are read by passthrough

	space *inoSpace  // where inode numbers come from: this mount's
	gate  *mountGate // orders the mount before notifications: this mount's

	social socialState // the CSV imports' folder (socialcsv.go)

	mu     sync.Mutex
	inos   map[string]uint64     // file key -> inode number; guarded by mu
	states map[uint64]*nodeState // inode number -> what is known of it; guarded by mu
	dirs   map[string]*Dir       // folder id -> the node go-fuse serves it by; guarded by mu
	// hidden are the folders whose item named .versions the view hides,
	// said once (versions.go); guarded by mu.
	hidden map[string]bool
}

// New returns the filesystem over store; Root is its root node.
func New(store *cache.Store, opts Options) *FS {
	return newFS(store, opts, &inoSpace{next: 2}, &mountGate{}, 1)
}

// newFS returns the filesystem over store, its root numbered rootIno, its
// other inodes numbered from space, mounted through gate.
func newFS(store *cache.Store, opts Options, space *inoSpace, gate *mountGate, rootIno uint64) *FS {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f := &FS{store: store, opts: opts, log: opts.Logger, started: time.Now(), space: space, gate: gate, inos: make(map[string]uint64),
		states: make(map[uint64]*nodeState), dirs: make(map[string]*Dir), hidden: make(map[string]bool),
		xattrPrefix: cmp.Or(store.Caps().XattrPrefix, defaultXattrPrefix)}
	f.root = &Dir{fsys: f, st: &nodeState{entry: cache.Entry{IsDir: true, Size: 0}}}
	f.inos[""] = rootIno
	f.states[rootIno] = f.root.st
	f.dirs[""] = f.root
	store.OnChange(f.changed)
	return f
}

// Root is the node of the location's root folder.
func (f *FS) Root() gofs.InodeEmbedder { return f.root }

// Mount mounts f on mountpoint and serves it until unmounted. As root it
// mounts with mount(2) directly; otherwise through fusermount3.
func (f *FS) Mount(mountpoint string) (*fuse.Server, error) {
	return f.MountVia(mountpoint, nil)
}

// MountVia is Mount with mount(2) given target, a path naming the
// mountpoint that no one can turn elsewhere (as root: /proc/self/fd/N of
// a handle on the mountpoint, cmd/ghlfs's mount guard). Such a path shows
// the folder under the mount, not the mount: reach, called once the
// mount is made, returns a path to the mount's root, or an error, having
// undone the mount. With reach nil, target is the mountpoint itself.
func (f *FS) MountVia(target string, reach func() (string, error)) (*fuse.Server, error) {
	server, at, err := f.gate.mount(target, reach, f.root, f.opts)
	if err != nil {
		return nil, err
	}
	f.probePassthrough(server)
	f.setReadAhead(at)
	return server, nil
}

// mountVia mounts root at target with o, as MountVia says, and returns
// the server and a path to the mount's root.
func mountVia(target string, reach func() (string, error), root gofs.InodeEmbedder, o *gofs.Options) (*fuse.Server, string, error) {
	if reach == nil {
		server, err := gofs.Mount(target, root, o)
		return server, target, err
	}
	// mount(2) alone: were it to fail, go-fuse would try fusermount3
	// with target, a path of this process's that the program cannot see.
	o.MountOptions.DirectMountStrict = true
	// gofs.Mount, less its last step (WaitMount), which looks for the
	// mount at target, and would find the folder under it.
	server, err := fuse.NewServer(gofs.NewNodeFS(root, o), target, &o.MountOptions)
	if err != nil {
		return nil, "", err
	}
	go server.Serve()
	at, err := reach()
	if err != nil {
		return nil, "", err // undone: Serve ends with the mount
	}
	pollHack(at)
	return server, at, nil
}

// pollHack does at the mount's root what go-fuse's WaitMount does at a
// mountpoint: it opens go-fuse's own file there (.go-fuse-epoll-hack,
// which go-fuse answers itself) and polls it, so that the kernel learns
// at once that the mount does not poll files, and never asks again (a
// poll of a file of the mount by ghlfs's own runtime could wait on
// ghlfs). go-fuse leaves it out when it cannot reach the mount (a
// /dev/fd/N mountpoint): so does this, when the file cannot be opened.
func pollHack(at string) {
	fd, err := unix.Open(filepath.Join(at, ".go-fuse-epoll-hack"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLPRI | unix.POLLOUT}}, 0)
	unix.Close(fd)
}

// mountOptions are go-fuse's options for a mount with opts.
func mountOptions(opts Options) *gofs.Options {
	o := &gofs.Options{
		MountOptions: fuse.MountOptions{
			FsName:       "ghlfs",
			Name:         "ghlfs",
			DirectMount:  os.Geteuid() == 0,
			AllowOther:   opts.AllowOther,
			MaxWrite:     1 << 20,
			MaxReadAhead: 1 << 20,
			Debug:        opts.Debug,
			// O_TRUNC comes with the open, not as a separate truncate
			// first: replacing a file's content is then one upload.
			// READDIRPLUS_AUTO, libfuse's default: the kernel asks for
			// attributes with the names only when the reader uses them
			// (ls -l does, find does not), so a walk that only lists names
			// makes no inode for every file it passes.
			ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC | fuse.CAP_READDIRPLUS_AUTO | killPrivCaps,
		},
		EntryTimeout:    &opts.EntryTimeout,
		AttrTimeout:     &opts.AttrTimeout,
		NegativeTimeout: &opts.NegativeTimeout,
		UID:             opts.UID,
		GID:             opts.GID,
		RootStableAttr:  &gofs.StableAttr{Ino: 1},
		// fillAttr sets every mode; one the umask cleared stays 0.
		NullPermissions: true,
		Logger:          log.New(slogWriter{opts.Logger}, "", 0),
	}
	if opts.AllowOther {
		o.MountOptions.Options = append(o.MountOptions.Options, "default_permissions")
	}
	if opts.ReadOnly {
		o.MountOptions.Options = append(o.MountOptions.Options, "ro")
	}
	if opts.NoPassthrough || opts.AllowOther {
		o.MountOptions.DisabledCapabilities |= fuse.CAP_PASSTHROUGH
	}
	return o
}

// slogWriter passes go-fuse's diagnostics to the structured log.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("fuse", "msg", string(p))
	return len(p), nil
}

// ino returns the inode number of a file key: the same for as long as the
// mount lives. A key stays a file's through uploads and replaced content
// (cache.Entry.Key), so its inode number does too.
func (f *FS) ino(key string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.inos[key]
	if !ok {
		n = f.space.alloc()
		f.inos[key] = n
	}
	return n
}

// fail turns err into an errno and logs it once, with the path it
// concerns and the API's message.
func (f *FS) fail(op string, n *gofs.Inode, name string, err error) syscall.Errno {
	return f.failAs(op, n, name, err, toErrno(err))
}

// normal lists the errnos that answer a question rather than report a
// failure: they are logged at debug level, not as errors.
var normal = map[syscall.Errno]bool{
	syscall.ENOENT: true, syscall.ENOTEMPTY: true, syscall.EEXIST: true, syscall.EXDEV: true, syscall.EROFS: true,
	syscall.EINTR: true, syscall.EISDIR: true, syscall.ENOTDIR: true,
}

// failAs is fail with the errno chosen by the caller.
func (f *FS) failAs(op string, n *gofs.Inode, name string, err error, errno syscall.Errno) syscall.Errno {
	level := slog.LevelError
	switch {
	case normal[errno], errors.Is(err, cache.ErrLoginNeeded), errors.Is(err, cache.ErrTokenUnfit): // the latter two logged once below
		level = slog.LevelDebug
	case errno == syscall.EFBIG:
		level = slog.LevelWarn // the user's doing: a file over the upload limit
	case errno == syscall.EINVAL && errors.Is(err, cache.ErrInvalid):
		level = slog.LevelWarn // the user's doing: a name the service would rewrite
	case errors.Is(err, cache.ErrSystemFolder), errors.Is(err, cache.ErrInUse):
		level = slog.LevelInfo // the user's doing (a system folder, a file's current version), and nothing was changed
	case errno == syscall.EPERM && errors.Is(err, cache.ErrNotPermitted):
		level = slog.LevelWarn // what the API allows this token: a refusal, not a failure
	}
	f.logFailure(level, op, n, name, err, errno)
	return errno
}

// failQuiet is fail for a failure already logged once: at debug level.
func (f *FS) failQuiet(op string, n *gofs.Inode, name string, err error) syscall.Errno {
	errno := toErrno(err)
	f.logFailure(slog.LevelDebug, op, n, name, err, errno)
	return errno
}

func (f *FS) logFailure(level slog.Level, op string, n *gofs.Inode, name string, err error, errno syscall.Errno) {
	p := "/"
	if n != nil {
		p = "/" + n.Path(nil)
	}
	if name != "" {
		if p != "/" {
			p += "/"
		}
		p += name
	}
	f.log.Log(context.Background(), level, fmt.Sprintf("%s %s: %v", op, p, err), "op", op, "path", p, "errno", errno.Error())
}
