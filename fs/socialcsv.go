package fs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
)

// The social planner's CSV imports (cache.SocialCSV: --social-csv) are a
// read-only folder at the root of a location's library,
// .social-csv-imports, with one JSON file per import,
// "<createdAt YYYY-MM-DD>_<fileName>~<_id>.json" (escaped and cut as
// every name: names.go), holding the import's record and every post.
//
//   - The folder is there only while the token may read the imports
//     (cache.SocialCSV.Shown); it hides a folder of the library of the
//     same name (one WARN line).
//   - It is left out of the root's readdir and found by lookup (as the
//     .versions view, and ZFS's .zfs): rm -r of the mount, rsync
//     --delete into it and find -delete never walk into it, so only a
//     path that names it deletes imports.
//   - A file's size is that of its content, which is made when the file
//     is looked up (its attributes are asked for): stat, ls -l, wc -c,
//     cat, cp and cmp all see the same bytes. An open reads the content
//     the kernel was last told the size of; the kernel's cache of the
//     pages is dropped at every open. Times are the import's createdAt.
//   - rm deletes the import (cache.SocialCSV.Remove): EBUSY for one still
//     being made, with nothing sent; every other change in the folder
//     (create, write, truncate, rename, mkdir, rmdir, utimes, a rename or
//     removal of the folder itself) is EROFS.
//   - xattrs, with the mount's prefix: id, csv.status, csv.count and
//     csv.accountIds (a JSON array), from the listing.

// socialCSVName is the folder's name at the library's root.
const socialCSVName = ".social-csv-imports"

// csvKeyPrefix begins the inode keys of the folder and its files: no API
// id holds a NUL, so none is taken for an item of the library.
const csvKeyPrefix = "\x00social-csv/"

// Extended attributes of an import, less the mount's prefix.
const (
	xattrCSVStatus   = "csv.status"
	xattrCSVCount    = "csv.count"
	xattrCSVAccounts = "csv.accountIds"
)

// maxXattrValue bounds a value shown: a longer one (a thousand account
// ids) is not shown rather than cut (Linux's own bound is 64 KiB).
const maxXattrValue = 64 << 10

// socialState is what an FS keeps of the imports' folder.
type socialState struct {
	hidOnce sync.Once // the WARN line of a library folder it hides
}

// socialShown is the imports' view when the folder is shown in folder d:
// the root, with --social-csv, a token that may read them.
func (d *Dir) socialShown() *cache.SocialCSV {
	if d.id() != "" {
		return nil
	}
	v := d.fsys.store.SocialCSV()
	if v == nil || !v.Shown() {
		return nil
	}
	return v
}

// lookupSocial looks up the imports' folder in d; ok is false when d
// does not show it (the look-up goes on as any other).
func (d *Dir) lookupSocial(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno, bool) {
	if name != socialCSVName {
		return nil, 0, false
	}
	v := d.socialShown()
	if v == nil {
		return nil, 0, false
	}
	ino := d.fsys.ino(csvKeyPrefix)
	ch := d.NewInode(ctx, &csvDir{fsys: d.fsys, v: v}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino})
	d.fsys.fillCSVAttr(true, 0, time.Time{}, ino, &out.Attr)
	return ch, 0, true
}

// socialEntries drops from the entries of d, when it shows the imports'
// folder, a folder of the library of that name, which the imports'
// folder hides. The imports' folder itself is not listed: a tool that
// walks the mount (rm -r, rsync --delete, find -delete) would otherwise
// unlink every import in it, one by one; it is reached by its name.
func (d *Dir) socialEntries(list []fuse.DirEntry) []fuse.DirEntry {
	if d.socialShown() == nil {
		return list
	}
	if i := slices.IndexFunc(list, func(e fuse.DirEntry) bool { return e.Name == socialCSVName }); i >= 0 {
		d.fsys.social.hidOnce.Do(func() {
			d.fsys.log.Warn("the library's root holds a folder named " + socialCSVName + ": the social planner's CSV imports are shown in its place (mount without --social-csv to see it)")
		})
		list = slices.Delete(list, i, i+1)
	}
	return list
}

// socialName reports whether name in d is the imports' folder: nothing
// may be made, removed or renamed there.
func (d *Dir) socialName(name string) bool {
	return name == socialCSVName && d.socialShown() != nil
}

// socialRename is EROFS for a rename of or onto the imports' folder, or
// into it; 0 for any other.
func (d *Dir) socialRename(name string, newParent gofs.InodeEmbedder, newName string) syscall.Errno {
	if _, into := newParent.(*csvDir); into || d.socialName(name) {
		return syscall.EROFS
	}
	if nd, ok := newParent.(*Dir); ok && nd.socialName(newName) {
		return syscall.EROFS
	}
	return 0
}

// fillCSVAttr sets the attributes of the imports' folder, or of an
// import's file of size bytes made at t: read-only, whatever the umask
// gives a writer.
func (f *FS) fillCSVAttr(dir bool, size int, t time.Time, ino uint64, out *fuse.Attr) {
	f.fillAttr(cache.Entry{IsDir: dir, Size: int64(size), ModTime: t}, ino, out)
	out.Mode &^= 0o222
}

// csvFileName is an import's name before escaping: its day, its file's
// name and its id.
func csvFileName(imp cache.CSVImport) string {
	day := "undated"
	if !imp.CreatedAt.IsZero() {
		day = imp.CreatedAt.UTC().Format(time.DateOnly)
	}
	return day + "_" + imp.FileName + "~" + imp.ID + ".json"
}

// csvDir is the imports' folder.
type csvDir struct {
	gofs.Inode
	fsys *FS
	v    *cache.SocialCSV

	mu      sync.Mutex
	listed  []cache.CSVImport          // guarded by mu: the listing view was made of
	view    *dirView                   // guarded by mu
	imports map[string]cache.CSVImport // guarded by mu: by key
}

// children returns the folder's names, from the imports' listing.
func (d *csvDir) children(ctx context.Context) (*dirView, map[string]cache.CSVImport, error) {
	all, err := d.v.Imports(ctx)
	if err != nil {
		return nil, nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.view != nil && len(all) == len(d.listed) && (len(all) == 0 || &all[0] == &d.listed[0]) {
		return d.view, d.imports, nil
	}
	l := &cache.Listing{Entries: make([]cache.Entry, 0, len(all))}
	imports := make(map[string]cache.CSVImport, len(all))
	for _, imp := range all {
		key := csvKeyPrefix + imp.ID
		if _, dup := imports[key]; dup {
			continue
		}
		imports[key] = imp
		l.Entries = append(l.Entries, cache.Entry{Key: key, ID: imp.ID, Name: csvFileName(imp), ModTime: imp.CreatedAt, Size: -1})
	}
	slices.SortFunc(l.Entries, func(a, b cache.Entry) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Key, b.Key))
	})
	d.listed, d.view, d.imports = all, newDirView(l, d.view), imports
	return d.view, d.imports, nil
}

// child is the import shown as name.
func (d *csvDir) child(ctx context.Context, name string) (cache.CSVImport, string, syscall.Errno) {
	v, imports, err := d.children(ctx)
	if err != nil {
		return cache.CSVImport{}, "", d.fsys.fail("list", &d.Inode, "", err)
	}
	e, ok := v.lookup(name)
	if !ok {
		return cache.CSVImport{}, "", syscall.ENOENT
	}
	return imports[e.Key], e.Key, 0
}

func (d *csvDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.fsys.fillCSVAttr(true, 0, time.Time{}, d.StableAttr().Ino, &out.Attr)
	return 0
}

func (d *csvDir) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

// Lookup makes the import's content, for its size.
func (d *csvDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if len(name) > maxNameLen {
		return nil, syscall.ENAMETOOLONG
	}
	imp, key, errno := d.child(ctx, name)
	if errno != 0 {
		return nil, errno
	}
	data, err := d.v.Content(ctx, imp)
	if err != nil {
		return nil, d.fsys.fail("stat", &d.Inode, name, err)
	}
	ino := d.fsys.ino(key)
	ch := d.NewInode(ctx, &csvFile{fsys: d.fsys, v: d.v}, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino})
	f := ch.Operations().(*csvFile)
	f.set(imp, data)
	d.fsys.fillCSVAttr(false, len(data), imp.CreatedAt, ino, &out.Attr)
	return ch, 0
}

func (d *csvDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	v, _, err := d.children(ctx)
	if err != nil {
		return nil, d.fsys.fail("readdir", &d.Inode, "", err)
	}
	list := make([]fuse.DirEntry, 0, len(v.names)+2)
	list = append(list, fuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR}, fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR})
	for _, name := range v.names {
		e, _ := v.lookup(name)
		list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFREG, Ino: d.fsys.ino(e.Key)})
	}
	return gofs.NewListDirStream(list), 0
}

// Unlink deletes the import.
func (d *csvDir) Unlink(ctx context.Context, name string) syscall.Errno {
	imp, _, errno := d.child(ctx, name)
	if errno != 0 {
		return errno
	}
	err := d.v.Remove(ctx, imp)
	if err == nil {
		d.fsys.log.Info("removed the social planner's CSV import "+imp.ID, "path", "/"+d.Path(nil)+"/"+name, "import", imp.ID)
		return 0
	}
	errno = toErrno(err)
	level := slog.LevelError
	switch {
	case errors.Is(err, cache.ErrImportBusy):
		errno, level = syscall.EBUSY, slog.LevelInfo // the user's to wait for, and nothing was sent
	case errors.Is(err, cache.ErrReadOnly):
		level = slog.LevelDebug
	case errno == syscall.EACCES, errno == syscall.EINVAL, errno == syscall.ENOENT:
		level = slog.LevelWarn // the service's refusal, in its words
	}
	d.fsys.logFailure(level, "unlink", &d.Inode, name, err, errno)
	return errno
}

// Nothing else changes here.

func (d *csvDir) Rmdir(ctx context.Context, name string) syscall.Errno { return syscall.EROFS }

func (d *csvDir) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *csvDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}

func (d *csvDir) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EROFS
}

func (d *csvDir) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *csvDir) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *csvDir) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *csvDir) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return (&Dir{}).Statfs(ctx, out)
}

func (d *csvDir) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return d.fsys.csvXattr(attr, nil, dest)
}

func (d *csvDir) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return d.fsys.csvXattrs(nil, dest)
}

func (d *csvDir) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return d.fsys.setxattr()
}

func (d *csvDir) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return d.fsys.setxattr()
}

// csvFile is an import's file.
type csvFile struct {
	gofs.Inode
	fsys *FS
	v    *cache.SocialCSV

	mu   sync.Mutex
	imp  cache.CSVImport // guarded by mu: as last listed
	data []byte          // guarded by mu: the content the kernel was last told the size of
}

func (f *csvFile) set(imp cache.CSVImport, data []byte) {
	f.mu.Lock()
	f.imp, f.data = imp, data
	f.mu.Unlock()
}

func (f *csvFile) get() (cache.CSVImport, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.imp, f.data
}

// Getattr makes the content again where the import changed since (or its
// content is no longer kept), from the listing; an import the listing no
// longer shows is ENOENT.
func (f *csvFile) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	imp, _ := f.get()
	var data []byte
	if h, ok := fh.(*csvHandle); ok {
		data = h.data // an open file's own bytes
	} else {
		if all, err := f.v.Imports(ctx); err == nil {
			i := slices.IndexFunc(all, func(c cache.CSVImport) bool { return c.ID == imp.ID })
			if i < 0 {
				return syscall.ENOENT // removed since it was looked up
			}
			imp = all[i]
		}
		d, err := f.v.Content(ctx, imp)
		if err != nil {
			return f.fsys.fail("getattr", &f.Inode, "", err)
		}
		f.set(imp, d)
		data = d
	}
	f.fsys.fillCSVAttr(false, len(data), imp.CreatedAt, f.StableAttr().Ino, &out.Attr)
	return 0
}

func (f *csvFile) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

// Open reads the content the kernel was last told the size of; the
// kernel drops what it cached of the file's pages (no FOPEN_KEEP_CACHE).
func (f *csvFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&writeFlags != 0 || flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EROFS
	}
	imp, data := f.get()
	if data == nil {
		d, err := f.v.Content(ctx, imp)
		if err != nil {
			return nil, 0, f.fsys.fail("open", &f.Inode, "", err)
		}
		f.set(imp, d)
		data = d
	}
	return &csvHandle{data: data}, 0, 0
}

func (f *csvFile) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	imp, _ := f.get()
	return f.fsys.csvXattr(attr, &imp, dest)
}

func (f *csvFile) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	imp, _ := f.get()
	return f.fsys.csvXattrs(&imp, dest)
}

func (f *csvFile) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return f.fsys.setxattr()
}

func (f *csvFile) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return f.fsys.setxattr()
}

// csvHandle is an open import's file: the bytes it was opened with.
type csvHandle struct {
	data []byte
}

func (h *csvHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), int64(len(h.data)))
	return fuse.ReadResultData(h.data[off:end]), 0
}

// csvXattrValue is the value of name (less the prefix) for imp; "" when
// it has none (the folder, imp nil, has none).
func csvXattrValue(imp *cache.CSVImport, name string) string {
	if imp == nil {
		return ""
	}
	var v string
	switch name {
	case xattrID:
		v = imp.ID
	case xattrCSVStatus:
		v = imp.Status
	case xattrCSVCount:
		if imp.Count >= 0 {
			v = strconv.FormatInt(imp.Count, 10)
		}
	case xattrCSVAccounts:
		if imp.AccountIDs != nil {
			b, _ := json.Marshal(imp.AccountIDs)
			v = string(b)
		}
	}
	if len(v) > maxXattrValue {
		return ""
	}
	return v
}

// csvXattrNames are the names listxattr gives, in its order.
var csvXattrNames = [...]string{xattrID, xattrCSVStatus, xattrCSVCount, xattrCSVAccounts}

// csvXattrList is an import's attributes with a value (the folder: imp
// nil), in the order listxattr gives them.
func csvXattrList(imp *cache.CSVImport) []xattr {
	var out []xattr
	for _, name := range csvXattrNames {
		if v := csvXattrValue(imp, name); v != "" {
			out = append(out, xattr{name, v})
		}
	}
	return out
}

// csvXattr answers GETXATTR for an import (the folder: imp nil), as
// getxattr does for the library's files.
func (f *FS) csvXattr(attr string, imp *cache.CSVImport, dest []byte) (uint32, syscall.Errno) {
	return f.getxattrOf(func() []xattr { return csvXattrList(imp) }, attr, dest)
}

// csvXattrs answers LISTXATTR for an import (the folder: imp nil).
func (f *FS) csvXattrs(imp *cache.CSVImport, dest []byte) (uint32, syscall.Errno) {
	return f.listxattrOf(func() []xattr { return csvXattrList(imp) }, dest)
}

// The operations each node type of the imports serves.
var (
	_ gofs.NodeGetattrer     = (*csvDir)(nil)
	_ gofs.NodeSetattrer     = (*csvDir)(nil)
	_ gofs.NodeLookuper      = (*csvDir)(nil)
	_ gofs.NodeReaddirer     = (*csvDir)(nil)
	_ gofs.NodeMkdirer       = (*csvDir)(nil)
	_ gofs.NodeCreater       = (*csvDir)(nil)
	_ gofs.NodeUnlinker      = (*csvDir)(nil)
	_ gofs.NodeRmdirer       = (*csvDir)(nil)
	_ gofs.NodeRenamer       = (*csvDir)(nil)
	_ gofs.NodeLinker        = (*csvDir)(nil)
	_ gofs.NodeSymlinker     = (*csvDir)(nil)
	_ gofs.NodeMknoder       = (*csvDir)(nil)
	_ gofs.NodeStatfser      = (*csvDir)(nil)
	_ gofs.NodeGetxattrer    = (*csvDir)(nil)
	_ gofs.NodeSetxattrer    = (*csvDir)(nil)
	_ gofs.NodeListxattrer   = (*csvDir)(nil)
	_ gofs.NodeRemovexattrer = (*csvDir)(nil)
	_ gofs.NodeGetattrer     = (*csvFile)(nil)
	_ gofs.NodeSetattrer     = (*csvFile)(nil)
	_ gofs.NodeOpener        = (*csvFile)(nil)
	_ gofs.NodeGetxattrer    = (*csvFile)(nil)
	_ gofs.NodeSetxattrer    = (*csvFile)(nil)
	_ gofs.NodeListxattrer   = (*csvFile)(nil)
	_ gofs.NodeRemovexattrer = (*csvFile)(nil)
	_ gofs.FileReader        = (*csvHandle)(nil)
)
