package spool

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// noteAttr is the extended attribute of a record's bytes (id.data) that
// holds the record's file as a note (Spool.NoteOn): one call on a file
// already open, where a file of its own costs a create and a rename in
// the spool's directory for each of a user's creates and closes.
const noteAttr = "user.ghlfs.record"

// setNote writes b as the note on data.
func setNote(data *os.File, b []byte) error {
	rc, err := data.SyscallConn()
	if err != nil {
		return err
	}
	cerr := rc.Control(func(fd uintptr) { err = unix.Fsetxattr(int(fd), noteAttr, b, 0) })
	return errors.Join(cerr, err)
}

// readNote reads the note on the bytes at path; nil when there is none.
func readNote(path string) ([]byte, error) {
	for size := 4096; size <= 1<<16; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Lgetxattr(path, noteAttr, buf)
		switch {
		case err == nil:
			return buf[:n], nil
		case errors.Is(err, unix.ERANGE):
			continue
		case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.ENOENT):
			return nil, nil
		default:
			return nil, err
		}
	}
	return nil, nil // larger than any note written (setNote is refused past the inode's room)
}

// dropNote removes the note on the bytes at path, if any.
func dropNote(path string) error {
	err := unix.Lremovexattr(path, noteAttr)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTSUP) {
		return nil
	}
	return err
}
