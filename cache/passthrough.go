package cache

import (
	"context"
	"os"
	"syscall"
)

// LocalCopy returns the whole content of the open file as a local file,
// for the kernel to read directly (FUSE passthrough), when the handle
// reads the file's copy in the API (it has no pending bytes and wrote
// none) and the disk cache holds all of that copy. The bytes are those of
// the file id (and version) the handle opened, which never change under
// them: a file replaced since has a new id or version, and its own copy
// or none. The caller
// closes the file.
func (h *Handle) LocalCopy() (*os.File, bool) {
	h.mu.Lock()
	e, rec, rd := h.e, h.rec, h.reader
	h.mu.Unlock()
	if !h.s.content.OnDisk() || rec != nil || rd == nil || e.ID == "" {
		return nil, false
	}
	if h.s.q.Shows(e.Key) { // changed through another open file
		return nil, false
	}
	return h.s.content.LocalCopy(e)
}

// ProbeFile returns an empty local file on the disk cache's file system,
// already removed, to learn whether the kernel takes files from there for
// passthrough; nil when the disk cache is off. The caller closes it.
func (s *Store) ProbeFile() (*os.File, error) {
	return s.content.ProbeFile()
}

// Direct readies the open file for the kernel to write and read its
// pending bytes in the spool file itself (FUSE passthrough): no WRITE
// reaches ghlfs then, and the queue learns what was written from the
// file, at each close, fsync, time set and release (writeback's
// direct.go). It returns a new descriptor of that file, which the caller
// closes, and a name for those bytes: the same name, the same file. A
// writer (write) is counted one at once, as its first write would count
// it, since none reaches ghlfs. false when the bytes are not wholly in
// the spool file (the file's copy in the API is read, or is still being
// copied in).
func (h *Handle) Direct(ctx context.Context, write bool) (*os.File, string, bool) {
	if write {
		if err := h.modify(ctx, false); err != nil {
			return nil, "", false
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rec == nil || h.data == nil || h.data != h.rec.File() || h.direct || h.gone || !h.rec.Whole() {
		return nil, "", false
	}
	f, err := dupFile(h.data)
	if err != nil {
		return nil, "", false
	}
	h.direct = true
	h.rec.Direct(true)
	h.changes = h.rec.DirectChanges()
	return f, "spool:" + h.data.Name(), true
}

// dupFile returns a new descriptor of f.
func dupFile(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd int
	var derr error
	if err := rc.Control(func(x uintptr) { fd, derr = syscall.Dup(int(x)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// ProbeSpool returns an empty file in the write-back queue's folder,
// already removed, to learn whether the kernel takes files from there for
// passthrough (Direct). The caller closes it.
func (s *Store) ProbeSpool() (*os.File, error) {
	return s.q.ProbeFile()
}
