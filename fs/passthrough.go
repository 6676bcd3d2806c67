package fs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"

	"github.com/ghlfs/ghlfs/cache"
)

// Passthrough. A file opened read-only whose whole content the disk cache
// holds (cache.Handle.LocalCopy) is read by the kernel straight from that
// local file (FUSE passthrough, Linux 6.9+, as root): no READ reaches
// ghlfs, and re-reads run at the speed of a local file.
//
// The kernel ties one local file to the inode while such opens last, and
// meanwhile takes only passthrough opens of that same file; an open it
// would read the ordinary way (a writer, a reader of other bytes) fails
// with EIO, as does a passthrough open while ordinary opens last. go-fuse
// hands the kernel one local file per inode too: a passthrough open while
// one is open reuses it. So ghlfs counts the open files of each kind per
// inode (nodeState) and decides every open so that the kernel never has
// to refuse one:
//   - passthrough, when the local copy is there, no ordinary open lasts,
//     and the inode never passed other bytes through (go-fuse may still
//     hold the last local file a moment after its release: an inode whose
//     bytes changed is read the ordinary way until the kernel forgets it);
//   - ordinary, when no passthrough open lasts;
//   - otherwise refused with ETXTBSY, as writing a running program is: the
//     file is held open by a passthrough reader, whose bytes must not
//     change under it.
//
// A reader can so hold writers off for as long as it keeps the file open:
// on a mount other users may reach (AllowOther) passthrough is off, so
// that no other user can keep the owner from writing.
// The kernel drops an open file's mode before it sends RELEASE, and takes
// it up only after OPEN is answered, so these counts are never behind the
// kernel's in a way that would let it refuse.

// ioMode is how an open file is served.
type ioMode int

const (
	modeOrdinary ioMode = iota // READ and WRITE through ghlfs
	modePass                   // the kernel reads the local copy
	modeBusy                   // refused: passthrough readers hold the inode
)

// admit decides the mode of an open of the bytes named id (a
// cache.Handle.ContentID; "" for a writer), local when their whole copy is
// on disk, and counts it; done undoes it at release.
func (st *nodeState) admit(id string, local bool) ioMode {
	st.mu.Lock()
	defer st.mu.Unlock()
	pass := local && id != "" && (st.passID == "" || st.passID == id)
	if st.passes > 0 {
		if pass {
			st.passes++
			return modePass
		}
		return modeBusy
	}
	if pass && st.opens == 0 {
		st.passes, st.passID = 1, id
		return modePass
	}
	st.opens++
	return modeOrdinary
}

func (st *nodeState) done(m ioMode) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch m {
	case modePass:
		st.passes--
	case modeOrdinary:
		st.opens--
	}
}

// busy is the answer to an open refused because passthrough readers hold
// the file: ETXTBSY, and one warning.
func (f *FS) busy(op string, n *gofs.Inode) syscall.Errno {
	p := "/" + n.Path(nil)
	f.log.Warn(fmt.Sprintf("%s %s: open for reading from the disk cache (passthrough) elsewhere; close it first", op, p),
		"op", op, "path", p, "errno", syscall.ETXTBSY.Error())
	return syscall.ETXTBSY
}

// passHandle is an open file the kernel reads from local, the copy of its
// whole content in the disk cache. go-fuse registers local with the
// kernel at open (PassthroughFd); the kernel then holds its own reference,
// but local stays open until release all the same, as go-fuse asks.
type passHandle struct {
	*handle
	local *os.File
}

func (h *passHandle) PassthroughFd() (int, bool) { return int(h.local.Fd()), true }

func (h *passHandle) Release(ctx context.Context) syscall.Errno {
	h.handle.Release(ctx)
	h.local.Close()
	return 0
}

// logRelease logs, at debug level, how an open file was served: the READs
// that reached ghlfs and their bytes (none for a passthrough file).
func (h *handle) logRelease(m ioMode) {
	l := h.file.fsys.log
	if !l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	p := "/" + h.file.Path(nil)
	l.Debug("release "+p, "path", p, "passthrough", m == modePass, "reads", h.reads.Load(), "read_bytes", h.readBytes.Load())
}

// Writes of new files. A file made by CREATE is written by the kernel
// straight into its spool file (cache.Handle.Direct), as go-fuse's own
// loopback writes its files: no WRITE reaches ghlfs, which learns what was
// written from the file at each close, fsync, time set and release. While
// such an open lasts, every other open of the inode passes through the
// same spool file (readers read what the writers wrote), and counts as
// one more; once the last is released the inode is read and written the
// ordinary way, and never passes other bytes through (admit).
//
// Writes past the upload limit are not refused one by one then: the
// close that learns of them fails with EFBIG, and the bytes, all of them,
// are set aside in recovered/.

// spoolPrefix starts the names passthrough of a spool file gives its
// bytes (cache.Handle.Direct), which no disk cache copy's name does.
const spoolPrefix = "spool:"

// passingSpool reports whether opens of a new file's spool file by
// passthrough last.
func (st *nodeState) passingSpool() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.passes > 0 && strings.HasPrefix(st.passID, spoolPrefix)
}

// openDirect opens by passthrough of its spool file a file whose bytes
// are all there (a new one, or one a passthrough open of which lasts); ok
// false, with nothing counted, when it cannot.
func (f *File) openDirect(ctx context.Context, ch *cache.Handle, write bool, path string) (gofs.FileHandle, uint32, bool) {
	if !f.fsys.passNew.Load() {
		return nil, 0, false
	}
	local, id, ok := ch.Direct(ctx, write)
	if !ok {
		return nil, 0, false
	}
	switch f.st.admit(id, true) {
	case modePass:
		fh, flags, _ := f.handleAt(ch, modePass, local, path)
		return fh, flags, true
	case modeOrdinary:
		f.st.done(modeOrdinary)
	}
	// Not taken after all (ordinary opens came first): the handle, told
	// its writes pass ghlfs by, still learns of any that do not at its
	// close.
	local.Close()
	return nil, 0, false
}

// openPassingSpool opens a file whose spool file other opens pass
// through: by passthrough of that same file, as the kernel takes no
// other kind of open meanwhile. Where the bytes are no longer all in
// that file (uploaded at a close and out of the queue, or being copied
// in again), those opens are closed, and only their release is on its
// way (the kernel sends it after close(2) returns): the open is then an
// ordinary one, whatever the counts say. (Should a reader by passthrough
// still hold the file after all, the kernel refuses it: ETXTBSY.)
func (f *File) openPassingSpool(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	ch, err := f.fsys.store.Open(ctx, f.st.get(), flags&syscall.O_TRUNC != 0, f.st.now)
	if err != nil {
		return nil, 0, f.fsys.failAs("open", &f.Inode, "", err, writeErrno(err))
	}
	if fh, fuseFlags, ok := f.openDirect(ctx, ch, flags&writeFlags != 0, "/"+f.Path(nil)); ok {
		return fh, fuseFlags, 0
	}
	f.st.admitOrdinary()
	return f.handle(ch, modeOrdinary, nil)
}

// admitOrdinary counts an ordinary open that passthrough opens, closed
// but not yet released, would refuse (openPassingSpool).
func (st *nodeState) admitOrdinary() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.opens++
}
