package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/renameio/v2"
	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/fsync"
)

// Spool is the spool of one cache directory: the records and their bytes
// in Dir/spool, bytes set aside in Dir/recovered, and Dir/owner.json. It
// is not changed after New; the files of one record are written by their
// owner, one call at a time.
type Spool struct {
	dir    string // records and their bytes
	rescue string // recovered/: bytes that must not be uploaded
	clock  clockwork.Clock
	log    *slog.Logger
}

// New returns the spool of the cache directory dir. Nothing is read or
// made on disk before Recover.
func New(dir string, clock clockwork.Clock, log *slog.Logger) *Spool {
	return &Spool{
		dir:    filepath.Join(dir, "spool"),
		rescue: filepath.Join(dir, "recovered"),
		clock:  clock,
		log:    log,
	}
}

func (s *Spool) jsonPath(id string) string { return filepath.Join(s.dir, id+".json") }

// DataPath is where the bytes of the record id are.
func (s *Spool) DataPath(id string) string { return filepath.Join(s.dir, id+".data") }

// Save writes the file of the record id, atomically and durably; first
// says its name may not be durable yet (the directory is synced too, so
// that the name survives a power cut).
func (s *Spool) Save(id string, rf *RecordFile, first bool) error {
	b, err := json.Marshal(rf)
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(s.jsonPath(id), b, 0o600); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if first {
		if err := fsync.Dir(s.dir); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return nil
}

// Note writes the file of the record id atomically but not durably: it
// outlives the process (a kill -9 finds it whole) but a power cut may
// find the one before it, or none; the next Save makes it durable. It is
// for the changes a user's calls make (a create, a close): a local
// filesystem makes those durable at fsync, not at close, and so does the
// queue, before it acts on the record in the API (a Save, with the bytes
// synced first). What a power cut leaves is checked at the next start:
// bytes are uploaded only if they are exactly those the record's
// checksum was taken of.
func (s *Spool) Note(id string, rf *RecordFile) error {
	b, err := json.Marshal(rf)
	if err != nil {
		return err
	}
	// A name Recover passes over (a leading dot), and one per record: its
	// files are written by one caller at a time.
	tmp := filepath.Join(s.dir, "."+id+".json")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.jsonPath(id))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// NoteOn notes the file of the record id as Note does, on its bytes,
// open as data, where it can (an extended attribute of id.data: one call,
// no name made in the spool's directory), else as Note. The note with the
// highest Seq, in either place, is the record's (Recover).
func (s *Spool) NoteOn(id string, data *os.File, rf *RecordFile) error {
	if data != nil {
		b, err := json.Marshal(rf)
		if err != nil {
			return err
		}
		if setNote(data, b) == nil {
			return nil
		}
	}
	return s.Note(id, rf)
}

// Delete deletes the file of the record id (of the file name): nothing is
// pending any more.
func (s *Spool) Delete(id, name string) {
	// The note first: a crash between the two leaves the file, which
	// outranks no note, never a note that would bring the record back.
	if err := dropNote(s.DataPath(id)); err != nil {
		s.log.Warn("spool: could not delete a record noted on its bytes", "name", name, "err", err)
	}
	if err := os.Remove(s.jsonPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("spool: could not delete a record", "name", name, "err", err)
	}
	fsync.Dir(s.dir)
}

// CreateData creates the empty bytes of a new record id.
func (s *Spool) CreateData(id string) (*os.File, error) {
	f, err := os.OpenFile(s.DataPath(id), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return f, nil
}

// OpenData opens the bytes of the record id, made empty if there are
// none.
func (s *Spool) OpenData(id string) (*os.File, error) {
	f, err := os.OpenFile(s.DataPath(id), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return f, nil
}

// RemoveData removes the name of the bytes of the record id; a file open
// on them keeps them.
func (s *Spool) RemoveData(id string) error {
	return os.Remove(s.DataPath(id))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Extend is the checksum (Checksum) of bytes whose first part had sum,
// followed by p.
func Extend(sum uint32, p []byte) uint32 { return crc32.Update(sum, castagnoli, p) }

// Checksum is the CRC-32C of the first size bytes of f.
func Checksum(f *os.File, size int64) (uint32, error) {
	h := crc32.New(castagnoli)
	// A buffer no larger than the file: a resume checks thousands of
	// small files, and a 1 MiB buffer each was most of its time.
	buf := make([]byte, min(max(size, 512), 1<<20))
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, size), buf); err != nil {
		return 0, err
	}
	return h.Sum32(), nil
}

// Damaged says how the bytes data (size long; nil when missing) differ
// from what they were when the record rf was complete; "" if they do not.
func Damaged(data *os.File, size int64, rf *RecordFile) string {
	switch {
	case data == nil:
		return "its bytes are missing"
	case size != rf.Size:
		return fmt.Sprintf("its bytes (%d) are not the size they were when complete (%d)", size, rf.Size)
	}
	sum, err := Checksum(data, size)
	switch {
	case err != nil:
		return "its bytes cannot be read: " + err.Error()
	case sum != rf.Sum:
		return "its bytes are not what they were when complete (checksum)"
	}
	return ""
}
