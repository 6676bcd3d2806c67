package webdav

import (
	"context"
	"errors"
	"io"
	"os"
	"path"
	"sync"
	"syscall"

	"golang.org/x/net/webdav"

	"github.com/ghlfs/ghlfs/cache"
)

// file is an open file of the library: reads and writes go through its
// cache.Handle (writes to the write-back queue's spool, never to memory),
// at a position of its own.
type file struct {
	propsOf
	fs   *FS
	ctx  context.Context // the request's
	path string
	h    *cache.Handle
	e    cache.Entry // as opened

	mu  sync.Mutex
	pos int64 // guarded by mu
}

var _ webdav.File = (*file)(nil)

func (f *file) Read(p []byte) (int, error) {
	f.mu.Lock()
	off := f.pos
	f.mu.Unlock()
	n := 0
	for n < len(p) {
		bufs, done, err := f.h.Read(f.ctx, p[n:], off+int64(n))
		for _, b := range bufs {
			n += copy(p[n:], b)
		}
		done()
		if err != nil {
			f.advance(off, n)
			if n > 0 && err == io.EOF {
				return n, nil
			}
			if err == io.EOF {
				return 0, io.EOF
			}
			return n, f.fs.pathErr("read", f.path, err)
		}
		if len(bufs) == 0 {
			break
		}
	}
	f.advance(off, n)
	return n, nil
}

// advance moves the position to off+n, read or written.
func (f *file) advance(off int64, n int) {
	f.mu.Lock()
	f.pos = off + int64(n)
	f.mu.Unlock()
}

func (f *file) Write(p []byte) (int, error) {
	f.mu.Lock()
	off := f.pos
	f.mu.Unlock()
	n, err := f.h.Write(f.ctx, p, off)
	f.advance(off, n)
	return n, f.fs.pathErr("write", f.path, err)
}

func (f *file) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		f.mu.Unlock()
		e, err := f.h.Stat(f.ctx)
		f.mu.Lock()
		if err != nil {
			return 0, f.fs.pathErr("seek", f.path, err)
		}
		offset += e.Size
	default:
		return 0, f.fs.pathErr("seek", f.path, syscall.EINVAL)
	}
	if offset < 0 {
		return 0, f.fs.pathErr("seek", f.path, syscall.EINVAL)
	}
	f.pos = offset
	return offset, nil
}

// Close completes the file: a close(2), then the last close (Flush, then
// Release), which, without a write-back delay, waits for the upload.
func (f *file) Close() error {
	err := f.h.Flush(f.ctx)
	f.h.Release()
	return f.fs.pathErr("close", f.path, err)
}

func (f *file) Readdir(count int) ([]os.FileInfo, error) {
	return nil, f.fs.pathErr("readdir", f.path, syscall.ENOTDIR)
}

func (f *file) Stat() (os.FileInfo, error) {
	e, err := f.h.Stat(f.ctx)
	if err != nil {
		return nil, f.fs.pathErr("stat", f.path, err)
	}
	_, base := split(f.path)
	return newInfo(e, base), nil
}

// dirFile is an open folder: it lists.
type dirFile struct {
	propsOf
	fs   *FS
	ctx  context.Context
	path string
	e    cache.Entry

	mu   sync.Mutex
	left []os.FileInfo // guarded by mu: what Readdir has yet to return
	read bool          // guarded by mu: listed
}

var _ webdav.File = (*dirFile)(nil)

func (d *dirFile) Read([]byte) (int, error) {
	return 0, d.fs.pathErr("read", d.path, syscall.EISDIR)
}

func (d *dirFile) Write([]byte) (int, error) {
	return 0, d.fs.pathErr("write", d.path, syscall.EISDIR)
}

func (d *dirFile) Seek(int64, int) (int64, error) { return 0, nil }
func (d *dirFile) Close() error                   { return nil }

func (d *dirFile) Stat() (os.FileInfo, error) {
	_, base := split(d.path)
	return newInfo(d.e, d.fs.shownAs(base)), nil
}

// Readdir lists the folder: the library's items (less a name no path
// can hold), then the files kept off the library.
func (d *dirFile) Readdir(count int) ([]os.FileInfo, error) {
	d.mu.Lock()
	read := d.read
	d.mu.Unlock()
	if !read {
		all, err := d.fs.list(d.ctx, d.path, d.e)
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		d.left, d.read = all, true
		d.mu.Unlock()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return readdir(&d.left, count)
}

// readdir is File.Readdir of what *left holds: count of them (all when
// count <= 0), which it takes off.
func readdir(left *[]os.FileInfo, count int) ([]os.FileInfo, error) {
	if count <= 0 {
		out := *left
		*left = nil
		return out, nil
	}
	if len(*left) == 0 {
		return nil, io.EOF
	}
	n := min(count, len(*left))
	out := (*left)[:n:n]
	*left = (*left)[n:]
	return out, nil
}

// list is what a folder shows: the library's items under the names the
// mount shows, less those a PUT writes under and, unless uploaded,
// Finder's files (the local ones are shown instead).
func (f *FS) list(ctx context.Context, name string, d cache.Entry) ([]os.FileInfo, error) {
	v, err := f.view(ctx, d.ID)
	if err != nil {
		return nil, f.pathErr("readdir", name, err)
	}
	names, entries := v.Names()
	out := make([]os.FileInfo, 0, len(entries))
	for i, e := range entries {
		if isPutName(e.Name) || (!f.opts.UploadDotfiles && isDotfile(e.Name)) {
			continue
		}
		if !e.IsDir && e.Size < 0 {
			s, err := f.store.Stat(ctx, e)
			switch {
			case errors.Is(err, cache.ErrNotFound):
				continue
			case err != nil:
				return nil, f.pathErr("stat", path.Join(name, names[i]), err)
			}
			e = s
		}
		out = append(out, newInfo(e, names[i]))
	}
	return append(out, f.localList(ctx, name)...), nil
}
