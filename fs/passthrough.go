package fs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
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
