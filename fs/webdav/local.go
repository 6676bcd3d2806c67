package webdav

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/net/webdav"

	"github.com/ghlfs/ghlfs/cache"
)

// Finder writes "._NAME" (a file's resource fork and extended
// attributes, AppleDouble) beside each file it copies, and ".DS_Store"
// (a folder's view settings) in each folder it opens: neither belongs in
// a media library. They are kept in a local folder (Options.LocalDir)
// under the same path, never uploaded, unless Options.UploadDotfiles.
// A folder of the library removed or renamed takes its local files
// along.

// isDotfile reports whether a name is one of Finder's own files.
func isDotfile(name string) bool {
	return name == ".DS_Store" || strings.HasPrefix(name, "._")
}

// isLocal reports whether the item at name is kept locally.
func (f *FS) isLocal(name string) bool {
	if f.opts.UploadDotfiles || f.opts.LocalDir == "" {
		return false
	}
	_, base := split(name)
	return isDotfile(base)
}

// localMkdir refuses a folder of a local name: Finder makes none.
func (f *FS) localMkdir(ctx context.Context, name string) error {
	return f.pathErr("mkdir", name, syscall.EPERM)
}

// localOpen opens a local file; one created needs its folder in the
// library.
func (f *FS) localOpen(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	if flag&os.O_CREATE != 0 {
		dirs, _ := split(name)
		d, err := f.walk(ctx, dirs)
		if err != nil {
			return nil, f.pathErr("create", name, err)
		}
		if !d.IsDir {
			return nil, f.pathErr("create", name, syscall.ENOTDIR)
		}
		if err := os.MkdirAll(f.localPath(path.Dir(path.Clean("/"+name))), 0o700); err != nil {
			return nil, err
		}
	}
	return f.local.OpenFile(ctx, name, flag, perm&0o600)
}

// localPath is where the local files of folder name (a request's path,
// of names as shown) are.
func (f *FS) localPath(name string) string {
	return filepath.Join(f.opts.LocalDir, filepath.FromSlash(path.Clean("/"+name)))
}

// localList lists the local files of folder name.
func (f *FS) localList(ctx context.Context, name string) []os.FileInfo {
	if f.opts.UploadDotfiles || f.opts.LocalDir == "" {
		return nil
	}
	ents, err := os.ReadDir(f.localPath(name))
	if err != nil {
		return nil
	}
	var out []os.FileInfo
	for _, de := range ents {
		if !de.Type().IsRegular() || !isDotfile(de.Name()) {
			continue
		}
		if fi, err := de.Info(); err == nil {
			out = append(out, fi)
		}
	}
	return out
}

// localRemoveDir removes the local files of a folder being removed.
func (f *FS) localRemoveDir(ctx context.Context, name string) error {
	if f.opts.LocalDir == "" || path.Clean("/"+name) == "/" {
		return nil
	}
	return os.RemoveAll(f.localPath(name))
}

// localMoveDir takes a renamed folder's local files along.
func (f *FS) localMoveDir(ctx context.Context, oldName, newName string, e cache.Entry) error {
	if f.opts.LocalDir == "" || !e.IsDir {
		return nil
	}
	from := f.localPath(oldName)
	if _, err := os.Stat(from); err != nil {
		return nil
	}
	to := f.localPath(newName)
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	os.RemoveAll(to)
	return os.Rename(from, to)
}

// localRename renames a local file; to or from a name of the library,
// it is refused (EPERM): nothing crosses between the two.
func (f *FS) localRename(ctx context.Context, oldName, newName string) error {
	if !f.isLocal(oldName) || !f.isLocal(newName) {
		return f.pathErr("rename", oldName, syscall.EPERM)
	}
	if err := os.MkdirAll(f.localPath(path.Dir(path.Clean("/"+newName))), 0o700); err != nil {
		return err
	}
	err := f.local.Rename(ctx, oldName, newName)
	if errors.Is(err, os.ErrNotExist) {
		return f.pathErr("rename", oldName, syscall.ENOENT)
	}
	return err
}
