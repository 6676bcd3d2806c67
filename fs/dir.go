package fs

import (
	"context"
	"fmt"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
)

// Dir is a folder. The root is the location's root (id "").
type Dir struct {
	gofs.Inode
	fsys *FS
	st   *nodeState
}

func (d *Dir) id() string { return d.st.get().ID }

// children returns the folder's current names.
func (d *Dir) children(ctx context.Context) (*dirView, error) {
	id := d.register()
	l, err := d.fsys.store.ListDir(cache.WithPath(ctx, "/"+d.Path(nil)), id)
	if err != nil {
		return nil, err
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	if d.st.view == nil || d.st.view.listing != l {
		d.st.view = newDirView(l, d.st.view)
	}
	return d.st.view, nil
}

// register notes d as the folder's node, and returns the folder's id:
// go-fuse calls only the node it keeps, so this is the one to notify.
func (d *Dir) register() string {
	id := d.id()
	d.fsys.mu.Lock()
	if d.fsys.dirs[id] != d {
		d.fsys.dirs[id] = d
	}
	d.fsys.mu.Unlock()
	return id
}

// child returns the entry shown as name; ENOENT if there is none, and the
// listing's own failure if it cannot be read.
func (d *Dir) child(ctx context.Context, name string) (cache.Entry, syscall.Errno) {
	if d.socialName(name) {
		return cache.Entry{}, syscall.EROFS // the CSV imports' folder (socialcsv.go)
	}
	absent, err := d.surelyAbsent(ctx, name)
	if err != nil {
		return cache.Entry{}, d.fsys.fail("list", &d.Inode, "", err)
	}
	if absent {
		return cache.Entry{}, syscall.ENOENT
	}
	v, err := d.children(ctx)
	if err != nil {
		return cache.Entry{}, d.fsys.fail("list", &d.Inode, "", err)
	}
	e, ok := v.lookup(name)
	if !ok {
		return cache.Entry{}, syscall.ENOENT
	}
	return e, 0
}

// surelyAbsent reports whether name is surely not shown in the folder,
// without building its view (cache.Store.MayShow): a tool that makes
// files looks each new name up first. Only a name the view could give
// nothing but the item of that API name is told so: one newDirView may
// have made up (a tag in parentheses, a name cut with "…") takes the
// view, as does one no API name escapes to (encodeName). An error is the
// listing's, which the view would have met too.
func (d *Dir) surelyAbsent(ctx context.Context, name string) (bool, error) {
	if strings.ContainsAny(name, "(…") {
		return false, nil
	}
	api := decodeName(name)
	if encodeName(api) != name {
		return false, nil
	}
	may, err := d.fsys.store.MayShow(cache.WithPath(ctx, "/"+d.Path(nil)), d.register(), api)
	return err == nil && !may, err
}

func (d *Dir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	e, _ := d.fsys.store.Stat(ctx, d.st.get())
	d.fsys.fillAttr(e, d.StableAttr().Ino, &out.Attr)
	return 0
}

// Setattr accepts mode and owner changes without keeping them (the API has
// no permissions), as gcsfuse and rclone do, and keeps times locally.
func (d *Dir) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := d.fsys.setTimes(&d.Inode, d.st.get(), in); errno != 0 {
		return errno
	}
	return d.Getattr(ctx, fh, out)
}

func (d *Dir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if len(name) > maxNameLen {
		return nil, syscall.ENAMETOOLONG
	}
	if d.fsys.viewName(name) {
		return d.lookupVersions(ctx, out)
	}
	if n, errno, ok := d.lookupSocial(ctx, name, out); ok {
		return n, errno
	}
	e, errno := d.child(ctx, name)
	if errno != 0 {
		return nil, errno
	}
	return d.fsys.node(ctx, &d.Inode, e, &out.Attr)
}

// node returns the inode for e under parent, made or found, with its
// attributes in out.
func (f *FS) node(ctx context.Context, parent *gofs.Inode, e cache.Entry, out *fuse.Attr) (*gofs.Inode, syscall.Errno) {
	e, err := f.store.Stat(ctx, e)
	if err != nil {
		return nil, f.fail("stat", parent, e.Name, err)
	}
	ino := f.ino(e.Key)
	st := f.state(ino)
	st.set(e)
	var ops gofs.InodeEmbedder
	if e.IsDir {
		ops = &Dir{fsys: f, st: st}
	} else {
		ops = &File{fsys: f, st: st}
	}
	ch := parent.NewInode(ctx, ops, gofs.StableAttr{Mode: modeOf(e), Ino: ino})
	f.fillAttr(e, ino, out)
	return ch, 0
}

func (d *Dir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	v, err := d.children(ctx)
	if err != nil {
		return nil, d.fsys.fail("readdir", &d.Inode, "", err)
	}
	return gofs.NewListDirStream(d.entries(v)), 0
}

// OpendirHandle opens the folder for reading its entries, as the listing
// shows them now. The kernel may keep what it read between opens (FUSE's
// readdir cache) for as long as the listing is the one it was given: an
// open after any change to it (or after a new listing, at the TTL) clears
// that cache, and reads afresh. (go-fuse sets FOPEN_KEEP_CACHE with
// FOPEN_CACHE_DIR; without either, the kernel drops what it kept.)
func (d *Dir) OpendirHandle(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	v, err := d.children(ctx)
	if err != nil {
		return nil, 0, d.fsys.fail("readdir", &d.Inode, "", err)
	}
	d.st.mu.Lock()
	// A folder never opened has nothing in the kernel's cache to clear.
	same := d.st.served == v || d.st.served == nil
	d.st.served = v
	d.st.mu.Unlock()
	var fl uint32
	if same {
		fl = fuse.FOPEN_CACHE_DIR
	}
	return gofs.NewListDirStream(d.entries(v)), fl, 0
}

// entries lists a folder's view for the kernel. The versions view is
// left out, and so is a real item of its name, hidden behind it.
func (d *Dir) entries(v *dirView) []fuse.DirEntry {
	list := make([]fuse.DirEntry, 0, len(v.names)+2)
	list = append(list, fuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR}, fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR})
	for _, name := range v.names {
		if d.fsys.viewName(name) {
			d.fsys.hiddenByView(d)
			continue
		}
		e, _ := v.lookup(name)
		list = append(list, fuse.DirEntry{Name: name, Mode: modeOf(e), Ino: d.fsys.ino(e.Key)})
	}
	return d.socialEntries(list)
}

// OnForget drops the folder from the nodes the poller may notify, and its
// state.
func (d *Dir) OnForget() {
	id := d.id()
	d.fsys.mu.Lock()
	if d.fsys.dirs[id] == d {
		delete(d.fsys.dirs, id)
	}
	d.fsys.mu.Unlock()
	d.fsys.forget(&d.Inode, d.st)
}

// newName is newName, and refuses the versions view's name where the
// mount shows the view (EINVAL, one log line): an item of that name would
// be hidden behind it.
func (d *Dir) newName(op, name string) (string, syscall.Errno) {
	if d.fsys.viewName(name) {
		return "", d.fsys.fail(op, &d.Inode, name, fmt.Errorf("%w: %s is the name of the view of the files' versions in every folder of this mount", cache.ErrInvalid, versionsName))
	}
	return newName(name)
}

// newName checks a name given for a new or renamed item and returns the
// name to send to the API.
func newName(name string) (string, syscall.Errno) {
	if len(name) > maxNameLen {
		return "", syscall.ENAMETOOLONG
	}
	if hasControl(name) {
		// Shown names never hold one (they hold its Control Picture,
		// which gives the control character in the API): a name made
		// with one would not be found under it again.
		return "", syscall.EINVAL
	}
	remoteName := decodeName(name)
	if remoteName == "." || remoteName == ".." || remoteName == "" {
		return "", syscall.EINVAL
	}
	if encodeName(remoteName) != name {
		// A quote the escaping would not have put there ("x‛y"): the
		// name would not be found under it again, and could land on
		// another file's API name.
		return "", syscall.EINVAL
	}
	return remoteName, 0
}

func (d *Dir) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	remoteName, errno := d.newName("mkdir", name)
	if errno != 0 {
		return nil, errno
	}
	switch _, errno := d.child(ctx, name); errno {
	case 0:
		return nil, syscall.EEXIST
	case syscall.ENOENT:
	default:
		return nil, errno
	}
	e, err := d.fsys.store.Mkdir(ctx, d.id(), remoteName)
	if err != nil {
		return nil, d.fsys.fail("mkdir", &d.Inode, name, err)
	}
	return d.fsys.node(ctx, &d.Inode, e, &out.Attr)
}

func (d *Dir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	remoteName, errno := d.newName("create", name)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	e, errno := d.child(ctx, name)
	switch {
	case errno == 0:
		// The name exists after all (the kernel's view was older): open it.
		if flags&syscall.O_EXCL != 0 {
			return nil, nil, 0, syscall.EEXIST
		}
		if e.IsDir {
			return nil, nil, 0, syscall.EISDIR
		}
		ch, errno := d.fsys.node(ctx, &d.Inode, e, &out.Attr)
		if errno != 0 {
			return nil, nil, 0, errno
		}
		file, ok := ch.Operations().(*File)
		if !ok {
			return nil, nil, 0, syscall.EISDIR
		}
		fh, fuseFlags, errno := file.Open(ctx, flags)
		return ch, fh, fuseFlags, errno
	case errno != syscall.ENOENT:
		return nil, nil, 0, errno
	}
	ch, e, err := d.fsys.store.Create(ctx, d.id(), remoteName)
	if err != nil {
		return nil, nil, 0, d.fsys.failAs("create", &d.Inode, name, err, createErrno(err))
	}
	node, errno := d.fsys.node(ctx, &d.Inode, e, &out.Attr)
	if errno != 0 {
		ch.Release()
		return nil, nil, 0, errno
	}
	file := node.Operations().(*File)
	if file.st.admit("", false) == modeBusy {
		ch.Release()
		return nil, nil, 0, d.fsys.busy("create", node)
	}
	fh, fuseFlags, errno := file.handle(ch, modeOrdinary, nil)
	return node, fh, fuseFlags, errno
}

func (d *Dir) Unlink(ctx context.Context, name string) syscall.Errno {
	if d.fsys.viewName(name) {
		return readOnlyView // the view, or an item hidden behind it
	}
	e, errno := d.child(ctx, name)
	if errno != 0 {
		return errno
	}
	if e.IsDir {
		return syscall.EISDIR
	}
	if err := d.fsys.store.Remove(ctx, e); err != nil {
		return d.fsys.fail("unlink", &d.Inode, name, err)
	}
	d.fsys.unlinked(e.Key)
	return 0
}

func (d *Dir) Rmdir(ctx context.Context, name string) syscall.Errno {
	if d.fsys.viewName(name) {
		return readOnlyView
	}
	e, errno := d.child(ctx, name)
	if errno != 0 {
		return errno
	}
	if !e.IsDir {
		return syscall.ENOTDIR
	}
	if err := d.fsys.store.Rmdir(ctx, e); err != nil {
		return d.fsys.fail("rmdir", &d.Inode, name, err)
	}
	return 0
}

// Rename renames within a folder, and moves across folders where the
// service moves that kind of item (cache.Store.Move: remote.Caps.Move,
// MoveFolders). Where it cannot (HighLevel), or the file has changes
// the write-back queue holds, a move is EXDEV, and mv copies and deletes
// instead; but a system folder, which could not be deleted after the
// copy, is EPERM.
func (d *Dir) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName_ string, flags uint32) syscall.Errno {
	if d.fsys.viewName(name) || isView(newParent) {
		return readOnlyView // the view moves nowhere, and takes nothing in
	}
	if errno := d.socialRename(name, newParent, newName_); errno != 0 {
		return errno
	}
	to, same := d, newParent.EmbeddedInode() == &d.Inode
	if !same {
		nd, ok := newParent.EmbeddedInode().Operations().(*Dir)
		e, errno := d.child(ctx, name)
		if errno == 0 && e.System {
			return d.fsys.fail("rename", &d.Inode, name, cache.ErrSystemFolder)
		}
		caps := d.fsys.store.Caps()
		if errno != 0 || !ok || nd.fsys != d.fsys || (e.IsDir && !caps.MoveFolders) || (!e.IsDir && !caps.Move) {
			// Another location's folder, or a service that cannot move
			// it (HighLevel): asked nothing more.
			return syscall.EXDEV
		}
		to = nd
	}
	if flags&gofs.RENAME_EXCHANGE != 0 {
		return syscall.ENOTSUP
	}
	remoteName, errno := d.newName("rename", newName_)
	if errno != 0 {
		return errno
	}
	e, errno := d.child(ctx, name)
	if errno != 0 {
		return errno
	}
	var replace *cache.Entry
	t, errno := to.child(ctx, newName_)
	if errno != 0 && errno != syscall.ENOENT {
		return errno
	}
	if errno == 0 {
		if flags&renameNoReplace != 0 {
			return syscall.EEXIST
		}
		if t.Key == e.Key {
			return 0
		}
		if t.IsDir && !e.IsDir {
			return syscall.EISDIR
		}
		if !t.IsDir && e.IsDir {
			return syscall.ENOTDIR
		}
		replace = &t
	}
	var err error
	if same {
		err = d.fsys.store.Rename(ctx, e, remoteName, replace)
	} else {
		err = d.fsys.store.Move(ctx, e, to.id(), remoteName, replace)
	}
	if err != nil {
		return d.fsys.fail("rename", &d.Inode, name, err)
	}
	// The moved node keeps its number: its state takes the new name now,
	// so that a change made through it before the next look-up keeps it.
	if st := d.fsys.stateOf(e.Key); st != nil {
		st.mu.Lock()
		st.entry.Name = remoteName
		st.entry.ParentID = to.id()
		st.mu.Unlock()
	}
	if replace != nil {
		d.fsys.unlinked(replace.Key)
	}
	return 0
}

// Links, symlinks and device files have no place in a media library.
func (d *Dir) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

func (d *Dir) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

func (d *Dir) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Statfs reports a large, mostly free volume: the API tells no quota.
func (d *Dir) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	const blocks = 1 << 32 // 16 TiB of 4 KiB blocks
	out.Bsize = blockSize
	out.Frsize = blockSize
	out.Blocks = blocks
	out.Bfree = blocks
	out.Bavail = blocks
	out.Files = 1 << 32
	out.Ffree = 1 << 31
	out.NameLen = maxNameLen
	return 0
}

// renameNoReplace is renameat2's RENAME_NOREPLACE.
const renameNoReplace = 0x1
