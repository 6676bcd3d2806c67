package fs

import (
	"context"
	"errors"
	"io"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
)

// File is a file: bytes behind a URL, or bytes waiting in the spool.
type File struct {
	gofs.Inode
	fsys *FS
	st   *nodeState
}

// current is the node's entry, brought up to date when the pending file it
// stood for has been uploaded since.
func (f *File) current() cache.Entry {
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	if f.st.entry.Pending {
		f.st.entry = f.fsys.store.Current(f.st.entry)
	}
	return f.st.entry
}

func (f *File) setEntry(e cache.Entry) { f.st.set(e) }

// follow moves the node onto the pending file now behind it, keeping the
// inode number.
func (f *File) follow(p *cache.Pending) {
	e := p.Entry()
	f.st.mu.Lock()
	old := f.st.entry.ID
	f.st.entry = e
	f.st.mu.Unlock()
	if old != e.ID {
		f.fsys.alias(e.ID, old)
	}
}

// OnForget drops the node's state once the kernel has forgotten it.
func (f *File) OnForget() { f.fsys.forget(&f.Inode, f.st) }

func (f *File) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	e, err := f.fsys.store.Stat(ctx, f.current())
	if err != nil {
		return f.fsys.fail("getattr", &f.Inode, "", err)
	}
	f.fsys.fillAttr(e, f.StableAttr().Ino, &out.Attr)
	return 0
}

// Setattr truncates (through the spool), keeps times locally, and accepts
// mode and owner changes without keeping them: the API has no permissions.
func (f *File) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		if errno := f.truncate(ctx, fh, int64(size)); errno != 0 {
			return errno
		}
	}
	if errno := f.fsys.setTimes(&f.Inode, f.current(), in); errno != 0 {
		return errno
	}
	return f.Getattr(ctx, fh, out)
}

func (f *File) truncate(ctx context.Context, fh gofs.FileHandle, size int64) syscall.Errno {
	if h, ok := fh.(*handle); ok && h != nil {
		p, errno := h.modify(ctx, size == 0)
		if errno != 0 {
			return errno
		}
		if err := p.Truncate(size); err != nil {
			return f.fsys.fail("truncate", &f.Inode, "", err)
		}
		h.markChanged()
		return 0
	}
	// truncate(2) by name: change, upload, done.
	e := f.current()
	p, err := f.fsys.store.Modify(ctx, e, size == 0)
	if err != nil {
		return f.fsys.fail("truncate", &f.Inode, "", err)
	}
	defer p.Release()
	f.follow(p)
	if err := p.Truncate(size); err != nil {
		return f.fsys.fail("truncate", &f.Inode, "", err)
	}
	if err := p.Commit(ctx); err != nil {
		return f.fsys.fail("truncate", &f.Inode, "", err)
	}
	return 0
}

// setTimes keeps a modification time set with utimes.
func (fsys *FS) setTimes(n *gofs.Inode, e cache.Entry, in *fuse.SetAttrIn) syscall.Errno {
	mtime, ok := in.GetMTime()
	if !ok {
		return 0
	}
	if err := fsys.store.SetModTime(e, mtime); err != nil {
		return fsys.fail("utimes", n, "", err)
	}
	return 0
}

const writeFlags = syscall.O_WRONLY | syscall.O_RDWR | syscall.O_APPEND | syscall.O_TRUNC

func (f *File) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if f.fsys.opts.ReadOnly && flags&writeFlags != 0 {
		return nil, 0, syscall.EROFS
	}
	h := &handle{file: f}
	if flags&syscall.O_TRUNC != 0 {
		if _, errno := h.modify(ctx, true); errno != 0 {
			return nil, 0, errno
		}
		return h, 0, 0
	}
	e, p := f.fsys.store.Resolve(f.current())
	if p != nil && p.Open() != nil {
		// It left the spool between the look and the open: its upload.
		if e, p = f.fsys.store.Resolve(e); p != nil && p.Open() != nil {
			return nil, 0, syscall.ENOENT
		}
	}
	switch {
	case p != nil:
		h.pending = p
	case e.Pending:
		return nil, 0, syscall.ENOENT
	default:
		h.reader = f.fsys.store.NewReader(e)
		// A file's bytes never change under one id (new content is a new
		// file), so the kernel may keep what it read on earlier opens.
		return h, fuse.FOPEN_KEEP_CACHE, 0
	}
	return h, 0, 0
}

// handle is an open file. It reads through the cache until the first
// change, and from then on reads and writes its pending copy.
type handle struct {
	file *File

	mu      sync.Mutex
	reader  *cache.Reader  // guarded by mu
	pending *cache.Pending // guarded by mu; nil until the first change
	// changed is set by a write or truncate through this handle since its
	// last upload. A close uploads only then: a descriptor closed after a
	// dup (as shells and dd do before they write) uploads nothing, and a
	// file that is made and closed unwritten is uploaded on release.
	changed bool // guarded by mu
}

// modify returns the handle's pending copy, making it on the first change.
func (h *handle) modify(ctx context.Context, truncate bool) (*cache.Pending, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending != nil {
		return h.pending, 0
	}
	p, err := h.file.fsys.store.Modify(ctx, h.file.current(), truncate)
	if err != nil {
		return nil, h.file.fsys.fail("open for writing", &h.file.Inode, "", err)
	}
	h.pending = p
	h.file.follow(p)
	return p, 0
}

func (h *handle) markChanged() {
	h.mu.Lock()
	h.changed = true
	h.mu.Unlock()
}

func (h *handle) get() (*cache.Reader, *cache.Pending) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reader, h.pending
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	r, p := h.get()
	if p != nil {
		n, err := p.ReadAt(dest, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, h.file.fsys.fail("read", &h.file.Inode, "", err)
		}
		return fuse.ReadResultData(dest[:n]), 0
	}
	// The cache's own memory goes to the kernel, without a copy; the chunks
	// are held until go-fuse has written them.
	data, done, err := r.Read(ctx, len(dest), off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, h.file.fsys.fail("read", &h.file.Inode, "", err)
	}
	return &chunkResult{slices: data, done: done}, 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	p, errno := h.modify(ctx, false)
	if errno != 0 {
		return 0, errno
	}
	n, err := p.WriteAt(data, off)
	h.markChanged()
	if err != nil {
		return uint32(n), h.file.fsys.fail("write", &h.file.Inode, "", err)
	}
	return uint32(n), 0
}

// Flush runs on every close(2): a changed file is uploaded before close
// returns, so that a tool learns of a failed upload.
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	return h.commit(ctx, "close")
}

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return h.commit(ctx, "fsync")
}

func (h *handle) commit(ctx context.Context, op string) syscall.Errno {
	h.mu.Lock()
	p, changed := h.pending, h.changed
	h.changed = false
	h.mu.Unlock()
	if p == nil || !changed {
		return 0
	}
	if err := p.Commit(ctx); err != nil {
		// A failed upload is EIO to the tool, whatever the API said (the
		// log line has its words); too large and out of quota say more.
		errno := toErrno(err)
		if errno != syscall.EFBIG && errno != syscall.EDQUOT {
			errno = syscall.EIO
		}
		return h.file.fsys.failAs(op, &h.file.Inode, "", err, errno)
	}
	return 0
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	_, p := h.get()
	if p != nil {
		p.Release()
		if e, ok := h.file.fsys.store.Successor(p); ok {
			// Uploaded and out of the spool: the node now stands for the
			// new file, under the same inode number.
			h.file.fsys.alias(e.ID, p.Entry().ID)
			h.file.setEntry(e)
		}
	}
	return 0
}

func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.file.Getattr(ctx, h, out)
}

// chunkResult is a read answered with slices of cached chunks. go-fuse
// writes them to the kernel with one writev (Slices) and then calls Done,
// which lets the cache reuse their memory.
type chunkResult struct {
	slices [][]byte
	done   func()
}

var _ fuse.ReadResult = (*chunkResult)(nil)

func (r *chunkResult) Slices() ([][]byte, fuse.Status) { return r.slices, fuse.OK }

func (r *chunkResult) Size() int {
	n := 0
	for _, s := range r.slices {
		n += len(s)
	}
	return n
}

func (r *chunkResult) Bytes(buf []byte) ([]byte, fuse.Status) {
	if len(r.slices) == 1 {
		return r.slices[0], fuse.OK
	}
	out := buf[:0]
	for _, s := range r.slices {
		out = append(out, s...)
	}
	return out, fuse.OK
}

func (r *chunkResult) Done() { r.done() }
