package fs

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
)

// File is a file: bytes behind a URL, or bytes waiting in the write-back
// queue.
type File struct {
	gofs.Inode
	fsys *FS
	st   *nodeState
}

// OnForget drops the node's state once the kernel has forgotten it.
func (f *File) OnForget() { f.fsys.forget(&f.Inode, f.st) }

func (f *File) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	var e cache.Entry
	var err error
	if h := asHandle(fh); h != nil {
		e, err = h.h.Stat(ctx)
	} else {
		e, err = f.fsys.store.Stat(ctx, f.st.get())
	}
	if err != nil {
		return f.fsys.fail("getattr", &f.Inode, "", err)
	}
	f.fsys.fillAttr(e, f.StableAttr().Ino, &out.Attr)
	if f.st.isUnlinked() {
		out.Nlink = 0
	}
	return 0
}

// Setattr truncates (through the write-back queue), keeps times locally,
// and accepts mode and owner changes without keeping them: the API has no
// permissions.
func (f *File) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		var err error
		if h := asHandle(fh); h != nil {
			err = h.h.Truncate(ctx, int64(size))
		} else {
			// A truncate(2) changes the bytes as a writer would.
			if f.st.admit("", false) == modeBusy {
				return f.fsys.busy("truncate", &f.Inode)
			}
			err = f.fsys.store.Truncate(ctx, f.st.get(), int64(size))
			f.st.done(modeOrdinary)
		}
		if err != nil {
			return f.fsys.failAs("truncate", &f.Inode, "", err, writeErrno(err))
		}
	}
	if errno := f.fsys.setTimes(&f.Inode, f.st.get(), in); errno != 0 {
		return errno
	}
	return f.Getattr(ctx, fh, out)
}

// setTimes keeps a modification time set with utimes.
func (f *FS) setTimes(n *gofs.Inode, e cache.Entry, in *fuse.SetAttrIn) syscall.Errno {
	mtime, ok := in.GetMTime()
	if !ok {
		return 0
	}
	if err := f.store.SetModTime(e, mtime); err != nil {
		return f.fail("utimes", n, "", err)
	}
	return 0
}

const writeFlags = syscall.O_WRONLY | syscall.O_RDWR | syscall.O_APPEND | syscall.O_TRUNC

func (f *File) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if f.fsys.opts.ReadOnly && flags&writeFlags != 0 {
		return nil, 0, syscall.EROFS
	}
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY && flags&syscall.O_TRUNC == 0 {
		// A file too large to upload again fails here, before any byte of
		// it is copied in to be changed.
		if err := f.fsys.store.CheckWritable(ctx, f.st.get()); err != nil {
			return nil, 0, f.fsys.failAs("open", &f.Inode, "", err, writeErrno(err))
		}
	}
	if flags&writeFlags != 0 {
		// A writer is counted before its open changes anything (O_TRUNC).
		if f.st.admit("", false) == modeBusy {
			return nil, 0, f.fsys.busy("open", &f.Inode)
		}
		ch, err := f.fsys.store.Open(ctx, f.st.get(), flags&syscall.O_TRUNC != 0, f.st.now)
		if err != nil {
			f.st.done(modeOrdinary)
			return nil, 0, f.fsys.failAs("open", &f.Inode, "", err, writeErrno(err))
		}
		return f.handle(ch, modeOrdinary, nil)
	}
	ch, err := f.fsys.store.Open(ctx, f.st.get(), false, f.st.now)
	if err != nil {
		return nil, 0, f.fsys.failAs("open", &f.Inode, "", err, writeErrno(err))
	}
	var local *os.File
	if f.fsys.pass.Load() {
		local, _ = ch.LocalCopy()
	}
	mode := f.st.admit(ch.ContentID(), local != nil)
	if mode != modePass && local != nil {
		local.Close()
		local = nil
	}
	if mode == modeBusy {
		ch.Release()
		return nil, 0, f.fsys.busy("open", &f.Inode)
	}
	return f.handle(ch, mode, local)
}

// handle wraps an open file of the cache, counted in mode (admit), and
// tells the kernel whether it may keep the pages it cached of this inode:
// only when they are of the same bytes (a file's bytes never change under
// one id; new content is a new file in the API, under the same inode). A
// passthrough file is read from local.
func (f *File) handle(ch *cache.Handle, mode ioMode, local *os.File) (gofs.FileHandle, uint32, syscall.Errno) {
	var flags uint32
	if f.st.keepCache(ch.ContentID()) {
		flags = fuse.FOPEN_KEEP_CACHE
	}
	h := &handle{file: f, h: ch, mode: mode}
	if mode == modePass {
		f.fsys.log.Debug("open /"+f.Path(nil)+": passthrough", "path", "/"+f.Path(nil))
		return &passHandle{handle: h, local: local}, flags, 0
	}
	f.fsys.log.Debug("open /"+f.Path(nil), "path", "/"+f.Path(nil))
	return h, flags, 0
}

// asHandle is the open file behind fh, of either kind; nil if none.
func asHandle(fh gofs.FileHandle) *handle {
	switch h := fh.(type) {
	case *handle:
		return h
	case *passHandle:
		return h.handle
	}
	return nil
}

// handle is an open file.
type handle struct {
	file *File
	h    *cache.Handle
	mode ioMode       // how the kernel reads it (counted in the node's state)
	seen readFailures // read errors already logged for this handle

	reads, readBytes atomic.Int64 // READs that reached ghlfs, for the debug log

	mu       sync.Mutex
	reported error // guarded by mu: a failed write or close, logged already
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	// Bytes of the API come from the cache's own memory, without a copy;
	// the chunks are held until go-fuse has written them.
	h.reads.Add(1)
	data, done, err := h.h.Read(ctx, dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		if h.seen.again(err) {
			return nil, h.file.fsys.failQuiet("read", &h.file.Inode, "", err)
		}
		return nil, h.file.fsys.fail("read", &h.file.Inode, "", err)
	}
	r := &chunkResult{slices: data, done: done}
	h.readBytes.Add(int64(r.Size()))
	return r, 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n, err := h.h.Write(ctx, data, off)
	if err != nil {
		h.mu.Lock()
		first := h.reported == nil
		if first {
			h.reported = err
		}
		h.mu.Unlock()
		if !first && errors.Is(err, cache.ErrTooLarge) {
			// A tool may try again after EFBIG: the first write said it.
			h.file.fsys.log.Debug("write: "+err.Error(), "op", "write", "errno", syscall.EFBIG.Error())
			return uint32(n), syscall.EFBIG
		}
		return uint32(n), h.file.fsys.failAs("write", &h.file.Inode, "", err, writeErrno(err))
	}
	return uint32(n), 0
}

// Flush runs on every close(2). It reports a write that failed; with no
// write-back delay it also uploads, and reports the upload's result.
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	if err := h.h.Flush(ctx); err != nil {
		h.mu.Lock()
		again := err == h.reported
		h.reported = err
		h.mu.Unlock()
		if again {
			// The write that failed was logged, or the upload another
			// close of this open file waited for (a forked child's copy
			// of the descriptor, closed at its exec): this close only
			// repeats it.
			h.file.fsys.log.Debug("close: "+err.Error(), "op", "close", "errno", writeErrno(err).Error())
			return writeErrno(err)
		}
		return h.file.fsys.failAs("close", &h.file.Inode, "", err, writeErrno(err))
	}
	return 0
}

// Fsync uploads the file's pending bytes and reports the upload's result.
func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if err := h.h.Fsync(ctx); err != nil {
		return h.file.fsys.failAs("fsync", &h.file.Inode, "", err, writeErrno(err))
	}
	return 0
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	h.h.Release()
	h.file.st.done(h.mode)
	h.logRelease(h.mode)
	return 0
}

func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.file.Getattr(ctx, h, out)
}

// createErrno is the errno a failed create gives: a name the service
// would not keep as given (one it would rewrite: EINVAL; one another
// item holds: EEXIST) as it is, since nothing was written; else
// writeErrno's.
func createErrno(err error) syscall.Errno {
	if errors.Is(err, cache.ErrInvalid) || errors.Is(err, cache.ErrExists) {
		return toErrno(err)
	}
	return writeErrno(err)
}

// writeErrno is the errno a failed write, close or fsync gives: EIO,
// whatever the API said (the log line has its words), unless the cause
// tells the tool more (a file too large, a full disk, the quota used up,
// a file another user reserved).
func writeErrno(err error) syscall.Errno {
	switch errno := toErrno(err); errno {
	case syscall.EFBIG, syscall.EDQUOT, syscall.ENOSPC, syscall.EROFS, syscall.ENOENT, syscall.EINTR, syscall.ETIMEDOUT, syscall.EBUSY:
		return errno
	}
	return syscall.EIO
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
