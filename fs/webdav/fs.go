package webdav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/net/webdav"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/fs"
)

// Options tune the server's file system.
type Options struct {
	// LocalDir holds the files kept off the library (Finder's "._*" and
	// ".DS_Store"): under the cache dir, made when first needed.
	LocalDir string
	// UploadDotfiles sends those files to the library like any other.
	UploadDotfiles bool
	// ReadOnly answers every change 403 before it reaches the library
	// (which would refuse it too, as EROFS, that x/net/webdav answers
	// less plainly).
	ReadOnly bool
	Logger   *slog.Logger
}

// FS is a library as a webdav.FileSystem.
type FS struct {
	store *cache.Store
	opts  Options
	log   *slog.Logger
	local webdav.Dir // the files kept off the library (local.go)
	props deadProps  // properties clients set (props.go)

	// at is where the library is served in an agency's tree ("/" and
	// the location's folder, agency.go); "" alone. Set once, by
	// NewAgency.
	at string

	mu    sync.Mutex          // a leaf, held across no call
	views map[string]*fs.View // guarded by mu: folder id -> its view
}

var _ webdav.FileSystem = (*FS)(nil)

// New returns the file system over store.
func New(store *cache.Store, opts Options) *FS {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &FS{store: store, opts: opts, log: opts.Logger, local: webdav.Dir(opts.LocalDir), views: make(map[string]*fs.View)}
}

// root is the library's root folder.
var root = cache.Entry{IsDir: true, Size: 0}

// split cleans a request's path into its folders' names and its last
// name ("" for the root), as shown (fs.View; fs.DecodeName gives the
// API's name of a new item).
func split(name string) ([]string, string) {
	p := strings.Trim(path.Clean("/"+name), "/")
	if p == "" {
		return nil, ""
	}
	parts := strings.Split(p, "/")
	return parts[:len(parts)-1], parts[len(parts)-1]
}

// walk returns the folder the names lead to from the root.
func (f *FS) walk(ctx context.Context, dirs []string) (cache.Entry, error) {
	d := root
	for _, n := range dirs {
		e, err := f.child(ctx, d, n)
		if err != nil {
			return cache.Entry{}, err
		}
		if !e.IsDir {
			return cache.Entry{}, syscall.ENOTDIR
		}
		d = e
	}
	return d, nil
}

// child returns the item shown as name in folder d: names as the mount
// shows them (fs.View: escaped, tagged where items share a name).
func (f *FS) child(ctx context.Context, d cache.Entry, name string) (cache.Entry, error) {
	v, err := f.view(cache.WithPath(ctx, "/"+name), d.ID)
	if err != nil {
		return cache.Entry{}, err
	}
	if e, ok := v.Lookup(name); ok {
		return e, nil
	}
	return cache.Entry{}, syscall.ENOENT
}

// maxViews bounds the folders' views kept: past it they are all made
// again as asked.
const maxViews = 4096

// view returns folder id's view: the one built before when its listing
// has not changed (a Listing is never changed once made), else a new one
// that keeps the names the last one gave.
func (f *FS) view(ctx context.Context, id string) (*fs.View, error) {
	l, err := f.store.ListDir(ctx, id)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.views[id]
	if v != nil && v.Listing() == l {
		return v, nil
	}
	if len(f.views) >= maxViews {
		clear(f.views)
	}
	v = fs.NewView(l, v)
	f.views[id] = v
	return v, nil
}

// lookup returns the folder holding name and, unless name is the root,
// the item itself.
func (f *FS) lookup(ctx context.Context, name string) (parent, e cache.Entry, err error) {
	dirs, base := split(name)
	if base == "" {
		return root, root, nil
	}
	parent, err = f.walk(ctx, dirs)
	if err != nil {
		return cache.Entry{}, cache.Entry{}, err
	}
	e, err = f.child(ctx, parent, base)
	return parent, e, err
}

// pathErr is err as x/net/webdav reads it: an errno (fs.Errno's mapping)
// in an *os.PathError, which os.IsNotExist, os.IsExist and
// errors.Is(err, os.ErrPermission) see through (os.IsNotExist looks at
// the PathError's Err alone: it must be the errno itself). The cause,
// with the service's message, is logged here, once: at debug level an
// answer (not found, exists), else as an error naming the path.
func (f *FS) pathErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return err
	}
	errno := fs.Errno(err)
	level := slog.LevelError
	if fs.Normal(errno) || errors.Is(err, context.Canceled) {
		level = slog.LevelDebug
	}
	p := path.Join(f.at, path.Clean("/"+name))
	f.log.Log(context.Background(), level, fmt.Sprintf("%s %s: %v", op, p, err), "op", op, "path", p, "errno", errno.Error())
	return &os.PathError{Op: op, Path: p, Err: errno}
}

func (f *FS) Mkdir(ctx context.Context, name string, perm os.FileMode) error {
	if f.isLocal(name) {
		return f.localMkdir(ctx, name)
	}
	dirs, base := split(name)
	if base == "" {
		return f.pathErr("mkdir", name, syscall.EEXIST)
	}
	parent, err := f.walk(ctx, dirs)
	if err != nil {
		return f.pathErr("mkdir", name, err)
	}
	if _, err := f.child(ctx, parent, base); err == nil {
		return f.pathErr("mkdir", name, syscall.EEXIST)
	}
	_, err = f.store.Mkdir(ctx, parent.ID, fs.DecodeName(base))
	return f.pathErr("mkdir", name, err)
}

func (f *FS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	if f.isLocal(name) {
		return f.localOpen(ctx, name, flag, perm)
	}
	if b := putOf(ctx); b != nil && flag&os.O_TRUNC != 0 {
		return f.openPut(ctx, name, b)
	}
	parent, e, err := f.lookup(ctx, name)
	write := flag&(os.O_WRONLY|os.O_RDWR|os.O_APPEND|os.O_TRUNC) != 0
	switch {
	case err == nil && e.IsDir:
		if write {
			return nil, f.pathErr("open", name, syscall.EISDIR)
		}
		return &dirFile{propsOf: propsOf{f, e.Key}, fs: f, ctx: ctx, path: name, e: e}, nil
	case err == nil:
		if flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL {
			return nil, f.pathErr("open", name, syscall.EEXIST)
		}
		h, err := f.store.Open(ctx, e, flag&os.O_TRUNC != 0, nil)
		if err != nil {
			return nil, f.pathErr("open", name, err)
		}
		return &file{propsOf: propsOf{f, e.Key}, fs: f, ctx: ctx, path: name, h: h, e: e}, nil
	case fs.Errno(err) == syscall.ENOENT && flag&os.O_CREATE != 0 && parent.IsDir:
		_, base := split(name)
		h, e, err := f.store.Create(ctx, parent.ID, fs.DecodeName(base))
		if err != nil {
			return nil, f.pathErr("create", name, err)
		}
		return &file{propsOf: propsOf{f, e.Key}, fs: f, ctx: ctx, path: name, h: h, e: e}, nil
	}
	return nil, f.pathErr("open", name, err)
}

// RemoveAll removes an item; a folder with all it holds, its files first
// (a folder goes once empty, as rmdir would: Store.Rmdir).
func (f *FS) RemoveAll(ctx context.Context, name string) error {
	if f.isLocal(name) {
		return f.local.RemoveAll(ctx, name)
	}
	_, e, err := f.lookup(ctx, name)
	if err != nil {
		return f.pathErr("remove", name, err)
	}
	if e.ID == "" && e.Key == "" {
		return f.pathErr("remove", name, syscall.EPERM) // the root
	}
	if err := f.removeAll(ctx, name, e); err != nil {
		return f.pathErr("remove", name, err)
	}
	return nil
}

func (f *FS) removeAll(ctx context.Context, name string, e cache.Entry) error {
	if !e.IsDir {
		if err := f.store.Remove(ctx, e); err != nil {
			return err
		}
		f.props.forget(e.Key)
		return nil
	}
	v, err := f.view(ctx, e.ID)
	if err != nil {
		return err
	}
	names, kids := v.Names()
	for i, c := range kids {
		if err := f.removeAll(ctx, path.Join(name, names[i]), c); err != nil {
			return err
		}
	}
	if err := f.localRemoveDir(ctx, name); err != nil {
		return err
	}
	if err := f.store.Rmdir(ctx, e); err != nil {
		return err
	}
	f.props.forget(e.Key)
	return nil
}

// Rename renames within a folder, moves across folders where the service
// moves that kind of item (Store.Move), and otherwise copies through the
// write-back queue and removes the source. x/net/webdav has removed the
// destination first when it was to be overwritten.
func (f *FS) Rename(ctx context.Context, oldName, newName string) error {
	if f.isLocal(oldName) || f.isLocal(newName) {
		return f.localRename(ctx, oldName, newName)
	}
	_, e, err := f.lookup(ctx, oldName)
	if err != nil {
		return f.pathErr("rename", oldName, err)
	}
	dirs, base := split(newName)
	if base == "" || e.Key == "" {
		return f.pathErr("rename", newName, syscall.EPERM)
	}
	to, err := f.walk(ctx, dirs)
	if err != nil {
		return f.pathErr("rename", newName, err)
	}
	if _, err := f.child(ctx, to, base); err == nil {
		return f.pathErr("rename", newName, syscall.EEXIST)
	}
	if e.IsDir && strings.HasPrefix(path.Clean("/"+newName)+"/", path.Clean("/"+oldName)+"/") {
		return f.pathErr("rename", newName, syscall.EINVAL) // into itself
	}
	if to.ID == e.ParentID {
		err = f.store.Rename(ctx, e, fs.DecodeName(base), nil)
	} else {
		err = f.store.Move(ctx, e, to.ID, fs.DecodeName(base), nil)
	}
	if errors.Is(err, cache.ErrCrossFolder) {
		err = f.copyTree(ctx, oldName, newName, e, to, fs.DecodeName(base))
		if err == nil {
			err = f.removeAll(ctx, oldName, e)
		}
	} else if err == nil {
		err = f.localMoveDir(ctx, oldName, newName, e)
	}
	return f.pathErr("rename", oldName, err)
}

// copyTree copies e (at oldName) into folder to as name, as mv does
// where rename(2) is EXDEV: folders made, files written through the
// write-back queue.
func (f *FS) copyTree(ctx context.Context, oldName, newName string, e, to cache.Entry, name string) error {
	if !e.IsDir {
		return f.copyFile(ctx, e, to, name)
	}
	d, err := f.store.Mkdir(ctx, to.ID, name)
	if err != nil {
		return err
	}
	f.props.move(e.Key, d.Key) // the copy is the item now
	v, err := f.view(ctx, e.ID)
	if err != nil {
		return err
	}
	names, kids := v.Names()
	for i, c := range kids {
		if err := f.copyTree(ctx, path.Join(oldName, names[i]), path.Join(newName, names[i]), c, d, fs.DecodeName(names[i])); err != nil {
			return err
		}
	}
	return f.localMoveDir(ctx, oldName, newName, e)
}

// copyFile copies a file's bytes into a new file, streamed through the
// write-back queue's spool.
func (f *FS) copyFile(ctx context.Context, e, to cache.Entry, name string) error {
	src, err := f.store.Open(ctx, e, false, nil)
	if err != nil {
		return err
	}
	defer src.Release()
	dst, de, err := f.store.Create(ctx, to.ID, name)
	if err != nil {
		return err
	}
	f.props.move(e.Key, de.Key) // the copy is the file now
	r := &file{fs: f, ctx: ctx, h: src, e: e}
	w := &file{fs: f, ctx: ctx, h: dst}
	_, err = io.Copy(w, r)
	if ferr := dst.Flush(ctx); err == nil {
		err = ferr
	}
	dst.Release()
	return err
}

func (f *FS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	if f.isLocal(name) {
		return f.local.Stat(ctx, name)
	}
	_, e, err := f.lookup(ctx, name)
	if err != nil {
		return nil, f.pathErr("stat", name, err)
	}
	if !e.IsDir {
		if e, err = f.store.Stat(ctx, e); err != nil {
			return nil, f.pathErr("stat", name, err)
		}
	}
	_, base := split(name)
	return newInfo(e, f.shownAs(base)), nil
}

// shownAs is the name an item's info gives for base, its last name: the
// root's is its location's folder's in an agency's tree.
func (f *FS) shownAs(base string) string {
	if base == "" {
		return path.Base(f.at + "/")
	}
	return base
}
