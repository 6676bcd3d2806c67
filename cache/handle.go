package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/ghlfs/ghlfs/cache/internal/content"
	"github.com/ghlfs/ghlfs/cache/internal/writeback"
)

// Handle is an open file. It reads the file's copy in the API through the
// content cache until the file has bytes in the write-back queue, and from
// then on reads (and, after its first change, writes) those.
type Handle struct {
	s *Store
	// current tells the file's name now and whether it was removed (the
	// filesystem knows; the cache only knows what it was when opened).
	current func() (name string, removed bool)

	mu      sync.Mutex
	e       Entry             // guarded by mu: the file as it was when opened
	reader  *content.Reader   // guarded by mu: its copy in the API, until rec is set
	rec     *writeback.Record // guarded by mu: its record, once it reads or writes one
	data    *os.File          // guarded by mu: the spool file it reads rec's bytes from
	writer  bool              // guarded by mu: counted as a writer of rec
	writes  uint64            // guarded by mu: changes made through it (writes, truncations)
	flushed uint64            // guarded by mu: the changes a finished flush answered for
	err     error             // guarded by mu: the first write that failed
	gone    bool              // guarded by mu: released
}

// Open opens the file e. With truncate, its bytes are emptied at once (as
// O_TRUNC does); otherwise a first write makes the change. current, if
// not nil, tells at that first write the file's name then, and whether it
// was removed since it was opened.
func (s *Store) Open(ctx context.Context, e Entry, truncate bool, current func() (name string, removed bool)) (*Handle, error) {
	e = s.latest(e)
	h := &Handle{s: s, e: e, current: current}
	if truncate {
		if s.opts.ReadOnly {
			return nil, ErrReadOnly
		}
		if err := h.modify(ctx, true); err != nil {
			return nil, err
		}
		return h, nil
	}
	if r, f := s.q.Read(e.Key); r != nil {
		h.rec, h.data = r, f
		return h, nil
	}
	if e = s.latest(e); e.Pending {
		return nil, ErrNotFound
	}
	e, err := s.locate(ctx, e)
	if err != nil {
		return nil, err
	}
	h.e = e
	h.reader = s.content.Reader(e)
	return h, nil
}

// Create makes a new, empty file named name in folder parentID, shown at
// once and uploaded once complete, and opens it.
func (s *Store) Create(ctx context.Context, parentID, name string) (*Handle, Entry, error) {
	if s.opts.ReadOnly {
		return nil, Entry{}, ErrReadOnly
	}
	if parentID != "" {
		if err := s.rc.FolderWrites(); err != nil {
			return nil, Entry{}, fmt.Errorf("%w: %s: %w", ErrUnavailable, name, err)
		}
	}
	if err := s.checkName(ctx, parentID, name, false, "", ""); err != nil {
		return nil, Entry{}, err
	}
	r, err := s.q.Create(parentID, name)
	if err != nil {
		return nil, Entry{}, err
	}
	e := r.Stat()
	// Not marked changed: a shell's "> file" closes a duplicate descriptor
	// before it writes, and that close must not upload an empty file. The
	// last close completes it, written or not (touch).
	return &Handle{s: s, e: e, rec: r, data: r.File(), writer: true}, e, nil
}

// Truncate sets the size of the file e, which is not open (truncate(2)).
func (s *Store) Truncate(ctx context.Context, e Entry, size int64) error {
	h, err := s.Open(ctx, e, size == 0, nil)
	if err != nil {
		return err
	}
	defer h.Release()
	if size != 0 {
		if err := h.Truncate(ctx, size); err != nil {
			return err
		}
	}
	h.mu.Lock()
	h.writes++
	h.mu.Unlock()
	return h.Flush(ctx)
}

// modify makes the handle a writer of the file's record, made (from the
// file's bytes, or empty with truncate) if the file has none. The file is
// what it is now, not when the handle was opened: the name it has now,
// and, if it was removed meanwhile, a file of its own that is never
// uploaded (as on a disk, a descriptor outlives the name). No lock is held
// while the bytes are copied in.
func (h *Handle) modify(ctx context.Context, truncate bool) error {
	h.mu.Lock()
	if h.writer {
		r := h.rec
		h.mu.Unlock()
		if truncate {
			return r.Truncate(0)
		}
		return nil
	}
	e, rec := h.e, h.rec
	h.mu.Unlock()
	if h.s.opts.ReadOnly {
		return ErrReadOnly
	}
	e = h.s.latest(e)
	if e.ParentID != "" {
		if err := h.s.rc.FolderWrites(); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrUnavailable, e.Name, err)
		}
	}
	var r *writeback.Record
	var err error
	if name, removed := h.now(); removed {
		r, err = h.s.q.Scratch(ctx, e, truncate)
	} else {
		if name != "" {
			e.Name = name
		}
		r, err = h.s.q.Modify(ctx, e, truncate)
	}
	if err != nil {
		return err
	}
	h.mu.Lock()
	if h.writer { // another write on this handle got there first
		h.mu.Unlock()
		r.Release(true)
		if truncate {
			return h.rec.Truncate(0)
		}
		return nil
	}
	h.rec, h.data, h.writer, h.reader, h.e = r, r.File(), true, nil, e
	h.mu.Unlock()
	if rec != nil {
		rec.Release(false)
	}
	return nil
}

// now tells the file's current name and whether it was removed, as the
// filesystem knows them (Open's now), if it was told how.
func (h *Handle) now() (string, bool) {
	if h.current == nil {
		return "", false
	}
	return h.current()
}

func (h *Handle) failed(err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil && h.err == nil && !errors.Is(err, context.Canceled) {
		h.err = err
	}
	return err
}

// Read returns the bytes from off on, up to len(dest) of them, and a
// function to call once they have been used. Bytes of the API copy come
// as slices of the cache's chunks (not copied); pending bytes are read
// into dest. It returns io.EOF at the end of the file.
func (h *Handle) Read(ctx context.Context, dest []byte, off int64) ([][]byte, func(), error) {
	h.mu.Lock()
	if h.rec == nil && h.reader != nil {
		// Another open file may have changed it meanwhile: read that.
		if r, f := h.s.q.Read(h.e.Key); r != nil {
			h.rec, h.data, h.reader = r, f, nil
		}
	}
	r, f, rd := h.rec, h.data, h.reader
	h.mu.Unlock()
	if r != nil {
		if f == nil {
			return nil, nop, ErrNotFound
		}
		n, err := f.ReadAt(dest, off)
		return [][]byte{dest[:n]}, nop, err
	}
	return rd.Read(ctx, len(dest), off)
}

func nop() {}

// Write writes data at off; the first write makes the change.
func (h *Handle) Write(ctx context.Context, data []byte, off int64) (int, error) {
	if err := h.checkGrowth(off + int64(len(data))); err != nil {
		return 0, h.failed(err)
	}
	if err := h.modify(ctx, false); err != nil {
		return 0, h.failed(err)
	}
	h.mu.Lock()
	r := h.rec
	h.writes++
	h.mu.Unlock()
	n, err := r.WriteAt(data, off)
	return n, h.failed(err)
}

// Truncate sets the file's size.
func (h *Handle) Truncate(ctx context.Context, size int64) error {
	if err := h.checkGrowth(size); err != nil {
		return h.failed(err)
	}
	if err := h.modify(ctx, size == 0); err != nil {
		return h.failed(err)
	}
	h.mu.Lock()
	r := h.rec
	h.writes++
	h.mu.Unlock()
	return h.failed(r.Truncate(size))
}

// Flush is a close(2) of the file (there may be more, for duplicated
// descriptors). It returns a write's failure. In sync mode (no write-back
// delay) it also uploads what this descriptor wrote, when no other open
// file is writing it, and returns the upload's result.
//
// Several flushes of one open file can run at once: a process that forks
// while it holds the file open gives the child a copy of the descriptor,
// closed at the child's exec or exit, and each close is a flush. Each
// waits for the upload of what was written before it began; one that
// finds the upload begun by another waits for it too, rather than return
// before the file is in the library.
func (h *Handle) Flush(ctx context.Context) error {
	h.mu.Lock()
	err, writes, writer, r := h.err, h.writes, h.writer, h.rec
	changed := writes > h.flushed
	h.mu.Unlock()
	if err != nil {
		return err
	}
	if !writer || !changed {
		return nil
	}
	defer func() {
		h.mu.Lock()
		h.flushed = max(h.flushed, writes)
		h.mu.Unlock()
	}()
	if r.Writers() != 1 {
		return nil // the last writer's close completes it
	}
	if h.s.opts.WriteBackDelay > 0 {
		h.s.q.Closing(r)
		return nil
	}
	// A signal to the tool does not cut the wait short: the upload goes on
	// either way, and its answer is what close must report.
	return h.s.q.Sync(context.WithoutCancel(ctx), r)
}

// Fsync uploads the file's pending bytes now and returns the upload's
// result.
func (h *Handle) Fsync(ctx context.Context) error {
	h.mu.Lock()
	err, r := h.err, h.rec
	h.mu.Unlock()
	if err != nil {
		return err
	}
	if r == nil {
		return nil
	}
	return h.s.q.Sync(context.WithoutCancel(ctx), r)
}

// Release is the last close of the open file. The last writer's release
// makes the bytes complete: they are uploaded once quiet for the
// write-back delay.
func (h *Handle) Release() {
	h.mu.Lock()
	r, writer, gone := h.rec, h.writer, h.gone
	h.gone = true
	h.mu.Unlock()
	if r != nil && !gone {
		r.Release(writer)
	}
}

// Stat returns the open file as it stands now: the size of its pending
// bytes (also once it was removed), or of its copy in the API.
func (h *Handle) Stat(ctx context.Context) (Entry, error) {
	h.mu.Lock()
	r, f, e := h.rec, h.data, h.e
	h.mu.Unlock()
	if r != nil {
		e := r.Stat()
		if f != nil && f != r.File() {
			// Bytes the record no longer uses (record.kept): their size.
			if fi, err := f.Stat(); err == nil {
				e.Size = fi.Size()
			}
		}
		return e, nil
	}
	return h.s.Stat(ctx, e)
}

// ContentID names the bytes the handle reads: the same name means the
// same bytes, so the kernel may keep what it read of them; "" for bytes
// that may change (pending ones).
func (h *Handle) ContentID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rec != nil || h.e.ID == "" {
		return ""
	}
	return h.e.ContentKey() // the id, and the version where there are versions
}
