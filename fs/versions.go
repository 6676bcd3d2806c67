package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
)

// The .versions view, where the service keeps a file's versions
// (remote.Caps.Versions): each folder holds a hidden directory
//
//	.versions/            left out of the folder's readdir, found by
//	                      lookup (as .snapshot on a NetApp share); its
//	                      readdir lists the folder's files
//	.versions/NAME/       one per file NAME of the folder: its versions
//	.versions/NAME/v2.jpg version 2 of NAME, "v" and the service's number
//	                      of the version, and NAME's extension (none if
//	                      it has none); its size and time are the
//	                      version's, reading it reads that version
//
// rm of a version removes that one version (cache.Store.RemoveVersion);
// the current version is the file itself: its rm is EBUSY, with one INFO
// line saying that rm NAME removes it. Every other change inside the view
// (create, write, mkdir, rename, setattr, rmdir) is EROFS. A restore is a
// copy: cp .versions/NAME/v2.jpg NAME makes version 2's bytes the newest
// version. Each version shows as xattrs, under the backend's prefix, the
// file's id, the version's id (version.id), its number (version.num), and
// version.current ("1") on the current one.
//
// Where the service keeps no versions (HighLevel), there is no view: a
// look-up of .versions is an ordinary one. Where it does, the name is the
// view's: a real item named .versions is hidden behind it (one WARN line
// per folder), never changed through it, and a new item of that name is
// refused (EINVAL).

// versionsName is the view's name in every folder.
const versionsName = ".versions"

// versionsShown reports whether the mount shows the view.
func (f *FS) versionsShown() bool { return f.store.Caps().Versions }

// viewName reports whether name, in a folder, is the view's.
func (f *FS) viewName(name string) bool { return name == versionsName && f.versionsShown() }

// The inode keys of the view's nodes: a NUL, which no item's key holds,
// keeps them apart from the folders' and files' own.
func viewKey(folderID string) string { return "\x00versions\x00" + folderID }

func fileVersionsKey(folderID, fileKey, name string) string {
	return viewKey(folderID) + "\x00" + fileKey + "\x00" + name
}

func versionKey(v cache.Version) string { return "\x00version\x00" + v.ID + "\x00" + v.Rev }

// viewAttr fills out for a node of the view: a folder or a file of size
// bytes and time t, with the write bits of ro cleared.
func (f *FS) viewAttr(dir bool, size int64, t time.Time, ro uint32, ino uint64, out *fuse.Attr) {
	f.fillAttr(cache.Entry{IsDir: dir, Size: size, ModTime: t}, ino, out)
	out.Mode &^= ro
}

// hiddenByView logs, once per folder, that a real item named .versions
// is hidden behind the view.
func (f *FS) hiddenByView(d *Dir) {
	id := d.id()
	f.mu.Lock()
	said := f.hidden[id]
	f.hidden[id] = true
	f.mu.Unlock()
	if !said {
		p := "/" + d.Path(nil)
		f.log.Warn(fmt.Sprintf("%s holds an item named %s: it is hidden behind the view of the files' versions of that name (rename it elsewhere to reach it)", p, versionsName), "path", p)
	}
}

// lookupVersions is a folder's look-up of .versions: the view.
func (d *Dir) lookupVersions(ctx context.Context, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if v, err := d.children(ctx); err == nil {
		if _, ok := v.lookup(versionsName); ok {
			d.fsys.hiddenByView(d)
		}
	}
	ino := d.fsys.ino(viewKey(d.id()))
	ch := d.NewInode(ctx, &versionsDir{viewFolder: viewFolder{d.fsys}, dir: d}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino})
	d.fsys.viewAttr(true, 0, d.st.get().ModTime, 0o222, ino, &out.Attr)
	return ch, 0
}

// isView reports whether n is a node of the view.
func isView(n gofs.InodeEmbedder) bool {
	switch n.EmbeddedInode().Operations().(type) {
	case *versionsDir, *fileVersions, *versionFile:
		return true
	}
	return false
}

// readOnlyView is the errno of a change inside the view.
const readOnlyView = syscall.EROFS

// versionsDir is a folder's .versions: a directory for each of its files.
type versionsDir struct {
	gofs.Inode
	viewFolder
	dir *Dir // the folder it is the view of, as go-fuse serves it
}

func (v *versionsDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	v.fsys.viewAttr(true, 0, v.dir.st.get().ModTime, 0o222, v.StableAttr().Ino, &out.Attr)
	return 0
}

// file is the file of the folder shown as name; ENOENT for a folder, or
// for the hidden item named as the view.
func (v *versionsDir) file(ctx context.Context, name string) (cache.Entry, syscall.Errno) {
	if name == versionsName {
		return cache.Entry{}, syscall.ENOENT
	}
	e, errno := v.dir.child(ctx, name)
	if errno == 0 && e.IsDir {
		return cache.Entry{}, syscall.ENOENT
	}
	return e, errno
}

func (v *versionsDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	e, errno := v.file(ctx, name)
	if errno != 0 {
		return nil, errno
	}
	ino := v.fsys.ino(fileVersionsKey(v.dir.id(), e.Key, name))
	ch := v.NewInode(ctx, &fileVersions{viewFolder: viewFolder{v.fsys}, dir: v.dir, name: name, key: e.Key}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino})
	v.fsys.viewAttr(true, 0, e.ModTime, 0o022, ino, &out.Attr)
	return ch, 0
}

// Readdir lists a directory for each file of the folder: every file has
// at least its current version, so none is asked for.
func (v *versionsDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	view, err := v.dir.children(ctx)
	if err != nil {
		return nil, v.fsys.fail("readdir", &v.Inode, "", err)
	}
	list := []fuse.DirEntry{{Name: ".", Mode: syscall.S_IFDIR}, {Name: "..", Mode: syscall.S_IFDIR}}
	for _, name := range view.names {
		e, _ := view.lookup(name)
		if e.IsDir || name == versionsName {
			continue
		}
		list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: v.fsys.ino(fileVersionsKey(v.dir.id(), e.Key, name))})
	}
	return gofs.NewListDirStream(list), 0
}

// fileVersions is .versions/NAME: the versions of one file.
type fileVersions struct {
	gofs.Inode
	viewFolder
	dir *Dir
	// name is the file's name as shown, key its key: another file under
	// the name is not this one.
	name, key string
}

// file is the file whose versions these are, as its folder shows it now.
func (fv *fileVersions) file(ctx context.Context) (cache.Entry, syscall.Errno) {
	e, errno := fv.dir.child(ctx, fv.name)
	if errno == 0 && (e.Key != fv.key || e.IsDir) {
		return cache.Entry{}, syscall.ENOENT
	}
	return e, errno
}

// versions are the file's versions; none for a file the library holds
// no copy of yet.
func (fv *fileVersions) versions(ctx context.Context, op string) (cache.Entry, []cache.Version, syscall.Errno) {
	e, errno := fv.file(ctx)
	if errno != 0 {
		return e, nil, errno
	}
	vs, err := fv.fsys.store.Versions(ctx, e)
	if errors.Is(err, cache.ErrNotFound) {
		return e, nil, 0
	}
	if err != nil {
		return e, nil, fv.fsys.fail(op, &fv.Inode, "", err)
	}
	return e, vs, 0
}

// ext is the extension of the versions' names: the file's.
func (fv *fileVersions) ext() string { return extOf(fv.name) }

// versionName is the name version num of a file of extension ext shows
// under.
func versionName(num int, ext string) string { return "v" + strconv.Itoa(num) + ext }

// version is the version named name among vs.
func (fv *fileVersions) version(vs []cache.Version, name string) (cache.Version, bool) {
	ext := fv.ext()
	digits, ok := strings.CutSuffix(name, ext)
	if !ok {
		return cache.Version{}, false
	}
	if digits, ok = strings.CutPrefix(digits, "v"); !ok || digits == "" || digits[0] == '0' {
		return cache.Version{}, false
	}
	num, err := strconv.Atoi(digits)
	if err != nil || versionName(num, ext) != name {
		return cache.Version{}, false
	}
	for _, v := range vs {
		if v.Num == num {
			return v, true
		}
	}
	return cache.Version{}, false
}

func (fv *fileVersions) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	e, _ := fv.file(ctx)
	fv.fsys.viewAttr(true, 0, e.ModTime, 0o022, fv.StableAttr().Ino, &out.Attr)
	return 0
}

func (fv *fileVersions) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	_, vs, errno := fv.versions(ctx, "lookup")
	if errno != 0 {
		return nil, errno
	}
	v, ok := fv.version(vs, name)
	if !ok {
		return nil, syscall.ENOENT
	}
	ino := fv.fsys.ino(versionKey(v))
	ch := fv.NewInode(ctx, &versionFile{fsys: fv.fsys, v: v}, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino})
	fv.fsys.viewAttr(false, v.Size, v.ModTime, 0o222, ino, &out.Attr)
	return ch, 0
}

func (fv *fileVersions) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	_, vs, errno := fv.versions(ctx, "readdir")
	if errno != 0 {
		return nil, errno
	}
	list := []fuse.DirEntry{{Name: ".", Mode: syscall.S_IFDIR}, {Name: "..", Mode: syscall.S_IFDIR}}
	for _, v := range vs {
		list = append(list, fuse.DirEntry{Name: versionName(v.Num, fv.ext()), Mode: syscall.S_IFREG, Ino: fv.fsys.ino(versionKey(v))})
	}
	return gofs.NewListDirStream(list), 0
}

// Unlink removes one version; the current one is the file itself:
// EBUSY, with nothing sent.
func (fv *fileVersions) Unlink(ctx context.Context, name string) syscall.Errno {
	e, vs, errno := fv.versions(ctx, "unlink")
	if errno != 0 {
		return errno
	}
	v, ok := fv.version(vs, name)
	if !ok {
		return syscall.ENOENT
	}
	err := fmt.Errorf("%w: %s is the current version of %s, the file itself: rm %s removes it", cache.ErrInUse, name, fv.name, fv.name)
	if !v.Current {
		err = fv.fsys.store.RemoveVersion(ctx, v)
	}
	if err != nil {
		return fv.fsys.fail("unlink", &fv.Inode, name, err)
	}
	fv.fsys.log.Debug(fmt.Sprintf("removed version %d of %s", v.Num, e.Name), "path", "/"+fv.Path(nil)+"/"+name)
	return 0
}

// versionFile is one version of a file: read-only.
type versionFile struct {
	gofs.Inode
	fsys *FS
	v    cache.Version
}

func (vf *versionFile) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	vf.fsys.viewAttr(false, vf.v.Size, vf.v.ModTime, 0o222, vf.StableAttr().Ino, &out.Attr)
	return 0
}

// Open opens the version for reading; the kernel may keep what it read
// of it, since a version's bytes never change.
func (vf *versionFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&writeFlags != 0 || flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, readOnlyView
	}
	r, err := vf.fsys.store.OpenVersion(ctx, vf.v)
	if err != nil {
		return nil, 0, vf.fsys.fail("open", &vf.Inode, "", err)
	}
	return &versionHandle{file: vf, r: r}, fuse.FOPEN_KEEP_CACHE, 0
}

// xattrs are the version's: the file's id, the version's id and number,
// and whether it is the current one.
func (vf *versionFile) xattrs() []xattr {
	out := []xattr{{xattrID, vf.v.ID}, {"version.id", vf.v.Rev}, {"version.num", strconv.Itoa(vf.v.Num)}}
	if vf.v.Current {
		out = append(out, xattr{"version.current", "1"})
	}
	return out
}

func (vf *versionFile) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return vf.fsys.getxattrOf(vf.xattrs, attr, dest)
}

func (vf *versionFile) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return vf.fsys.listxattrOf(vf.xattrs, dest)
}

// versionHandle is an open version.
type versionHandle struct {
	file *versionFile
	r    *cache.VersionReader
	seen readFailures
}

func (h *versionHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	data, done, err := h.r.Read(ctx, len(dest), off)
	if err != nil && !errors.Is(err, io.EOF) {
		if h.seen.again(err) {
			return nil, h.file.fsys.failQuiet("read", &h.file.Inode, "", err)
		}
		return nil, h.file.fsys.fail("read", &h.file.Inode, "", err)
	}
	return &chunkResult{slices: data, done: done}, 0
}

func (h *versionHandle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.file.Getattr(ctx, h, out)
}

// viewFolder is what the view's folders answer alike: every change is
// EROFS (but a version's removal, fileVersions.Unlink); they have no
// xattrs, and none can be set; statfs is the mount's.
type viewFolder struct{ fsys *FS }

func (viewFolder) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, readOnlyView
}

func (viewFolder) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, readOnlyView
}

func (viewFolder) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, readOnlyView
}

func (viewFolder) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, readOnlyView
}

func (viewFolder) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, readOnlyView
}

func (viewFolder) Rmdir(ctx context.Context, name string) syscall.Errno { return readOnlyView }

func (viewFolder) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return readOnlyView
}

func (viewFolder) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return readOnlyView
}

func (viewFolder) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return (*Dir)(nil).Statfs(ctx, out)
}

func (v *versionsDir) Unlink(ctx context.Context, name string) syscall.Errno { return readOnlyView }

func (v viewFolder) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return v.fsys.getxattrOf(noXattrs, attr, dest)
}

func (v viewFolder) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return v.fsys.listxattrOf(noXattrs, dest)
}

func (v viewFolder) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return v.fsys.setxattr()
}

func (v viewFolder) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return v.fsys.setxattr()
}

func (vf *versionFile) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return vf.fsys.setxattr()
}

func (vf *versionFile) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return vf.fsys.setxattr()
}

func (vf *versionFile) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return readOnlyView
}

// noXattrs: a folder of the view shows none.
func noXattrs() []xattr { return nil }
