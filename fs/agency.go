package fs

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
)

// An agency's mount: the root holds one folder per location (sub-account),
// named after the location with the escaping and duplicate naming files
// get, and each folder is that location's library, served by an FS of its
// own (its own store, listings and pacing). Inode numbers come from one
// space shared by all of them, so that no two nodes of the mount share
// one. The root itself cannot be changed: a location is made or removed in
// HighLevel, not here (EPERM). A move between locations is one between
// folders, EXDEV, and mv copies instead.

// inoSpace hands out the inode numbers of one mount. Its lock is a leaf.
type inoSpace struct {
	mu   sync.Mutex
	next uint64 // guarded by mu
}

func (s *inoSpace) alloc() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next
	s.next++
	return n
}

// Location is one sub-account of an agency's mount.
type Location struct {
	ID, Name string
	// Store serves its library; nil when the location failed at mount
	// (uninstalled, no scope): it then shows as an empty folder.
	Store *cache.Store
}

// Agency is the filesystem of an agency's mount.
type Agency struct {
	opts  Options
	space *inoSpace
	gate  *mountGate // shared by the locations' FS: one mount
	root  *agencyRoot
}

type agencyRoot struct {
	gofs.Inode
	a     *Agency
	view  *dirView             // the locations under their shown names
	subs  map[string]*Dir      // location id -> the root of its FS
	empty map[string]*emptyDir // location id -> a failed location's folder
	inos  map[string]uint64    // location id -> its folder's inode number
}

// NewAgency returns the filesystem of an agency's locations.
func NewAgency(locs []Location, opts Options) *Agency {
	// Passthrough is offered per mount, and probed with one store: an
	// agency's mount reads every file through ghlfs.
	opts.NoPassthrough = true
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agency{opts: opts, space: &inoSpace{next: 2}, gate: &mountGate{}}
	r := &agencyRoot{a: a, subs: map[string]*Dir{}, empty: map[string]*emptyDir{}, inos: map[string]uint64{}}
	for _, loc := range locs {
		if _, dup := r.inos[loc.ID]; dup || loc.ID == "" {
			continue
		}
		ino := a.space.alloc()
		r.inos[loc.ID] = ino
		if loc.Store == nil {
			r.empty[loc.ID] = &emptyDir{a: a}
			continue
		}
		r.subs[loc.ID] = newFS(loc.Store, opts, a.space, a.gate, ino).root
	}
	r.view = newDirView(locationListing(locs), nil)
	a.root = r
	return a
}

// locationListing is an agency's root as a listing: a folder per
// location, keyed by its id (the first of an id given twice; none
// without one), sorted by name.
func locationListing(locs []Location) *cache.Listing {
	l := &cache.Listing{}
	seen := make(map[string]bool, len(locs))
	for _, loc := range locs {
		if seen[loc.ID] || loc.ID == "" {
			continue
		}
		seen[loc.ID] = true
		l.Entries = append(l.Entries, cache.Entry{Key: loc.ID, ID: loc.ID, Name: loc.Name, IsDir: true})
	}
	slices.SortFunc(l.Entries, func(x, y cache.Entry) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Key, y.Key))
	})
	return l
}

// LocationsView is an agency's root under the names its mount shows
// (each entry's Key is a location's id), for the WebDAV server
// (fs/webdav), which shows the same folders.
func LocationsView(locs []Location) *View {
	return &View{newDirView(locationListing(locs), nil)}
}

// Mount mounts the agency's locations on mountpoint.
func (a *Agency) Mount(mountpoint string) (*fuse.Server, error) {
	return a.MountVia(mountpoint, nil)
}

// MountVia is Mount through target and reach, as FS.MountVia.
func (a *Agency) MountVia(target string, reach func() (string, error)) (*fuse.Server, error) {
	server, _, err := a.gate.mount(target, reach, a.root, a.opts)
	return server, err
}

func (r *agencyRoot) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	r.a.fillDir(1, &out.Attr)
	return 0
}

func (r *agencyRoot) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return r.Getattr(ctx, fh, out)
}

// OnAdd puts each location's folder in the tree, for the life of the
// mount: go-fuse answers look-ups and readdir of the root from it.
func (r *agencyRoot) OnAdd(ctx context.Context) {
	for _, name := range r.view.names {
		e, _ := r.view.lookup(name)
		var ops gofs.InodeEmbedder = r.empty[e.Key]
		if d := r.subs[e.Key]; d != nil {
			ops = d
		}
		r.AddChild(name, r.NewPersistentInode(ctx, ops, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: r.inos[e.Key]}), false)
	}
}

// The locations are HighLevel's to make and remove.
func (r *agencyRoot) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

func (r *agencyRoot) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}

func (r *agencyRoot) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }

func (r *agencyRoot) Rmdir(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }

func (r *agencyRoot) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EPERM
}

func (r *agencyRoot) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return (&Dir{}).Statfs(ctx, out)
}

// fillDir sets the attributes of a folder the agency's mount makes up.
func (a *Agency) fillDir(ino uint64, out *fuse.Attr) {
	f := &FS{opts: a.opts}
	f.fillAttr(cache.Entry{IsDir: true}, ino, out)
}

// emptyDir is a location that failed at mount: an empty folder, which
// takes nothing.
type emptyDir struct {
	gofs.Inode
	a *Agency
}

func (d *emptyDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.a.fillDir(d.StableAttr().Ino, &out.Attr)
	return 0
}

func (d *emptyDir) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EACCES
}

func (d *emptyDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EACCES
}
