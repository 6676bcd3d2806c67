package snapshot

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unique"
	"unsafe"

	"github.com/google/renameio/v2"
	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/fsync"
	"github.com/ghlfs/ghlfs/remote"
)

// Snapshot keeps the library's listings (each folder's entries as the API
// gave them, and when that folder was listed) in the cache directory, so
// that the next mount can answer from them at once and revalidate in the
// background.
//
// Changes are recorded in memory (Put, Drop) and the whole snapshot is
// written in the background by one goroutine: at once after a change when
// nothing was written in the last snapshotInterval, else at that
// interval's end (a failed write is tried again the same way). It goes to
// a temporary file renamed over the previous one: a crash leaves the
// previous snapshot whole. Close writes the last state.
//
// Snapshot.mu is a leaf: nothing is called while it is held, and it is
// never held across the disk write (the listings are never changed, so a
// write works from a copy of the map of them).
//
// The format is a plain length-prefixed binary one: 100,000 entries take
// 8.0 MB and load in ~25 ms into ~25 MB of heap (BenchmarkSnapshotLoad);
// gzip would halve the file but triple the load time.
//
// # File format (snapshotVersion 3)
//
// All integers are varints (encoding/binary); a string is its length, as
// a uvarint, then its bytes.
//
//	"GHLFSLST"  magic
//	uvarint     version
//	string      location, string API (base URL)
//	uvarint     number of folders
//	per folder: uvarint length, then that many bytes:
//	  string    folder id ("" = root)
//	  varint    when listed, Unix nanoseconds (math.MinInt64: zero time)
//	  uvarint   n, then n strings: the folder's URL heads and tails
//	  uvarint   m, then m strings: the folder's content types
//	  uvarint   number of entries, then per entry:
//	    byte    flags: snapDir, snapURLHasID, snapKey, snapParent,
//	            snapCreated, snapSystem (a system folder),
//	            snapUnconfirmed (the ID is an upload's answer no listing
//	            has shown yet), snapRev (the entry has a version token)
//	    string  ID; Key (if snapKey, else Key = ID); Name;
//	            ParentID (if snapParent, else the folder id)
//	    varint  Size; ModTime as Unix nanoseconds (math.MinInt64: zero)
//	    URL     snapURLHasID: uvarint head and tail, indexes into the
//	            folder's strings; else: string, the whole URL
//	    uvarint content type: 0 none, else 1 + an index into the
//	            folder's content types
//	    varint  created (if snapCreated), Unix nanoseconds less ModTime's
//	            (most files were not changed since: one byte)
//	    string  Rev (if snapRev): the version of the file's bytes listed
//	            (a flag, not a new version: a snapshot without versions,
//	            as HighLevel's, is byte for byte what version 3 was)
//	uvarint     number of changes made through the mount that no
//	            whole-library answer showed yet (Change), then per
//	            change:
//	  string    folder id
//	  byte      kind: 0 an entry put, 1 an id dropped, 2 an id renamed
//	  varint    when made, Unix nanoseconds
//	  put:      uvarint length, then a folder block (as above) of the
//	            folder holding the one entry put
//	  dropped:  string id
//	  renamed:  string id, string name
//	4 bytes     CRC-32C (Castagnoli), little-endian, of all before it
//
// A folder is a block of its own so that loading it costs two
// allocations (its bytes as one string, which every id and name of the
// folder is a part of, and its entries) and so that the bytes of a folder
// are freed with the folder once it is listed again.
type Snapshot struct {
	path          string
	location, api string
	earlier       string // Config.EarlierAPI
	clock         clockwork.Clock
	log           *slog.Logger
	interval      time.Duration

	mu      sync.Mutex
	folders map[string]Folder // guarded by mu: folder id -> listing
	changes []Change          // guarded by mu: changes to hand to the next mount
	dirty   bool              // guarded by mu: folders changed since the last write began

	kick     chan struct{} // buffered(1): a change waits to be written
	stop     chan struct{} // closed by close
	done     chan struct{} // closed when the writer goroutine returns
	closeErr error
	closeOne sync.Once

	// Owned by the writer goroutine, then by close once it has returned.
	failing bool // the last write failed (logged once per run of failures)

	writes atomic.Int64    // successful writes
	saved  func(err error) // tests: called after each write tried
}

// Folder is a folder's listing as the snapshot keeps it. Its
// entries are never changed once kept.
type Folder struct {
	Entries []Entry   // as the API lists them, sorted (entry.Sort)
	Listed  time.Time // when the folder was listed
}

// Change is a change made through the mount that no whole-library
// answer showed yet, kept for the next mount (the listing part's journal
// holds it over the next mount's first answers).
type Change struct {
	Folder string // the folder it was made in
	Kind   Kind
	At     time.Time // when it was made
	Entry  Entry     // Put: the entry put
	ID     string    // Drop, Rename: the item's id
	Name   string    // Rename: its new name
}

// Kind is what a Change did.
type Kind int

// The kinds of Change.
const (
	Put    Kind = iota // an entry put (an upload landed, a folder made)
	Drop               // an item removed
	Rename             // an item renamed
)

// itemID is the id of the item the change is about.
func (c Change) itemID() string {
	if c.Kind == Put {
		return c.Entry.ID
	}
	return c.ID
}

// Kinds of saved change, as the file has them.
const (
	snapPut    = 0
	snapDrop   = 1
	snapRename = 2
)

// maxSnapChanges bounds the changes a snapshot hands on.
const maxSnapChanges = 1_000_000

const (
	snapshotName  = "listing.snap"
	snapshotMagic = "GHLFSLST"
	// snapshotVersion 2 added each entry's content type and creation
	// time; 3 the system folder flag (a warm start must refuse to remove
	// one, as a cold one does). A snapshot of another version is ignored
	// (listed again).
	snapshotVersion = 3
	// snapshotInterval is the least time between two writes.
	snapshotInterval = 5 * time.Second
	// maxSnapshotBytes bounds the file: about 6 million entries.
	maxSnapshotBytes = 512 << 20
	// maxSnapURLBytes bounds a URL kept (a storage URL is ~100 bytes);
	// maxSnapKeyBytes a key (a retired copy's is longer than its id, see
	// writeback.Queue.retireKeyLocked).
	maxSnapURLBytes = 16 << 10
	maxSnapKeyBytes = remote.MaxIDBytes + 24
	// minSnapEntryBytes is the least an entry takes in the file: flags,
	// an id of at least one byte, a name's length, size, time, URL,
	// content type, created.
	minSnapEntryBytes = 8
	// snapMemoryRatio bounds what a snapshot's folders, entries and
	// strings may take in memory, per byte of the file (besides the
	// file's bytes themselves, which the folders' strings are cut from),
	// plus snapMemorySlack. A real snapshot takes 2 to 3 (an entry is 40
	// to 100 bytes in the file, snapEntryCost, 152, in memory; a library
	// of empty folders with 24-character ids 3, with 8-character ids 5);
	// a crafted one of 8-byte entries 19, so that a 512 MiB file would
	// cost 10 GB. One past the bound is ignored (one WARN line), and the
	// folders are listed again.
	snapMemoryRatio = 6
	snapMemorySlack = 1 << 20
)

// What a snapshot's parts cost in memory, as decode counts them: an
// entry; a folder (its slot in the map of folders, made to size: a key,
// a Folder, the map's own; and the allocation of its string); a URL
// part (its slice slot, and its interned copy in a map that is never
// emptied); a content type (its handle, and unique's map entry).
const (
	snapEntryCost  = int(unsafe.Sizeof(Entry{}))
	snapFolderCost = 128
	snapChangeCost = int(unsafe.Sizeof(Change{}))
	snapStringCost = 16 + 96
	snapTypeCost   = 8 + 96
)

// Entry flags.
const (
	snapDir = 1 << iota
	snapURLHasID
	snapKey
	snapParent
	snapCreated
	snapSystem
	snapUnconfirmed
	snapRev
	snapFlags = snapDir | snapURLHasID | snapKey | snapParent | snapCreated | snapSystem | snapUnconfirmed | snapRev
)

var snapCRC = crc32.MakeTable(crc32.Castagnoli)

// HasSavedListings reports whether the cache directory dir holds the
// listings an earlier mount of the library at location through api saved,
// and ended cleanly (its header is read, not the whole).
func HasSavedListings(dir, location, api string) bool {
	if _, err := os.Stat(filepath.Join(dir, cleanName)); err != nil {
		return false
	}
	f, err := os.Open(filepath.Join(dir, snapshotName))
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(snapshotMagic)+binary.MaxVarintLen64+2*(binary.MaxVarintLen64+maxSnapURLBytes))
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if !bytes.HasPrefix(head, []byte(snapshotMagic)) {
		return false
	}
	r := &snapReader{b: head, off: len(snapshotMagic)}
	v := r.uvarint()
	loc, a := string(r.bytes(maxSnapURLBytes)), string(r.bytes(maxSnapURLBytes))
	return r.err == nil && v == snapshotVersion && loc == location && a == api
}

// cleanName is a file a mount leaves in the cache directory when it ended
// cleanly, with its listings saved last; a mount removes it as it starts.
const cleanName = "listing.clean"

// EndedCleanly reports whether the last mount of dir ended cleanly, and
// removes the mark: should this mount end otherwise, the next one knows.
func EndedCleanly(dir string) bool {
	p := filepath.Join(dir, cleanName)
	_, err := os.Stat(p)
	if err != nil {
		return false
	}
	if os.Remove(p) != nil {
		return false
	}
	fsync.Dir(dir)
	return true
}

// MarkClean leaves the mark of a mount that ended cleanly, once the last
// snapshot is on the disk: a power cut must not leave the mark with an
// older snapshot.
func MarkClean(dir string) {
	fsync.Dir(dir)
	if f, err := os.OpenFile(filepath.Join(dir, cleanName), os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		f.Close()
		fsync.Dir(dir)
	}
}

// DropAll forgets every folder (the next write saves none).
func (s *Snapshot) DropAll() {
	s.mu.Lock()
	clear(s.folders)
	s.dirty = true
	s.mu.Unlock()
	s.wake()
}

// Config is what a Snapshot is made with; nothing is set on it after.
type Config struct {
	// Dir is the cache directory the snapshot is kept in.
	Dir string
	// Location and API name the library; EarlierAPI, when set, is the
	// name an earlier ghlfs gave the same API: a snapshot saved under it
	// is this library's.
	Location, API, EarlierAPI string
	Clock                     clockwork.Clock
	Logger                    *slog.Logger
}

// Open returns the snapshot kept in cfg.Dir for the library, and starts
// its writer. Temporary files an interrupted write left are removed.
// Nothing is read until Load.
func Open(cfg Config) *Snapshot {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := cfg.Dir
	s := &Snapshot{
		path:     filepath.Join(dir, snapshotName),
		location: cfg.Location,
		api:      cfg.API,
		earlier:  cfg.EarlierAPI,
		clock:    cfg.Clock,
		log:      log,
		interval: snapshotInterval,
		folders:  make(map[string]Folder),
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	// renameio's temporary files are "." + the name + a number; the
	// cache dir's lock makes this process their only writer.
	if left, err := filepath.Glob(filepath.Join(dir, "."+snapshotName+"*")); err == nil {
		for _, p := range left {
			os.Remove(p)
		}
	}
	go s.run()
	return s
}

// Load reads the snapshot and returns its folders, which it also keeps as
// the state later writes start from. A snapshot of another library, of
// another format version, or unreadable (corrupt, cut short, too large)
// is ignored with one log line: load returns no folders and no error. An
// error is returned only when the file could not be read at all; it is
// not a reason to fail the mount.
func (s *Snapshot) Load() (map[string]Folder, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Folder{}, nil
	}
	if err != nil {
		return map[string]Folder{}, fmt.Errorf("listing snapshot: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return map[string]Folder{}, fmt.Errorf("listing snapshot: %w", err)
	}
	if fi.Size() > maxSnapshotBytes {
		s.log.Warn(fmt.Sprintf("listing snapshot %s is %d bytes, over %d: ignored; folders are listed again", s.path, fi.Size(), maxSnapshotBytes))
		return map[string]Folder{}, nil
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			s.log.Warn(fmt.Sprintf("listing snapshot %s changed while read: ignored; folders are listed again", s.path))
			return map[string]Folder{}, nil
		}
		return map[string]Folder{}, fmt.Errorf("listing snapshot: %w", err)
	}
	folders, changes, err := s.decode(data)
	var other *otherSnapshot
	switch {
	case errors.As(err, &other):
		s.log.Info(fmt.Sprintf("listing snapshot %s ignored: %s; folders are listed again", s.path, other.why))
		return map[string]Folder{}, nil
	case err != nil:
		s.log.Warn(fmt.Sprintf("listing snapshot %s is unreadable, ignored; folders are listed again: %v", s.path, err))
		return map[string]Folder{}, nil
	}
	s.mu.Lock()
	for id, sf := range folders {
		if _, ok := s.folders[id]; !ok { // a put since open is newer
			s.folders[id] = sf
		}
	}
	s.changes = changes
	s.mu.Unlock()
	return folders, nil
}

// SetChanges records the changes to hand to the next mount (those of
// another kind than put, drop and rename are left out).
func (s *Snapshot) SetChanges(cs []Change) {
	cs = slices.DeleteFunc(slices.Clone(cs), func(sc Change) bool {
		return sc.Kind != Put && sc.Kind != Drop && sc.Kind != Rename
	})
	if len(cs) > maxSnapChanges {
		cs = cs[len(cs)-maxSnapChanges:]
	}
	s.mu.Lock()
	if len(cs) > 0 || len(s.changes) > 0 {
		s.changes, s.dirty = cs, true
	}
	s.mu.Unlock()
	s.wake()
}

// LoadedChanges returns the changes the last load found.
func (s *Snapshot) LoadedChanges() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.changes)
}

// Put records folderID's listing, listed at listed. entries are kept, not
// copied: they must not be changed afterwards (a State's never
// are). Pending entries and entries without an id (files of the
// write-back queue) are left out when written.
func (s *Snapshot) Put(folderID string, entries []Entry, listed time.Time) {
	s.mu.Lock()
	s.folders[folderID] = Folder{Entries: entries, Listed: listed}
	s.dirty = true
	s.mu.Unlock()
	s.wake()
}

// Drop forgets folderID's listing.
func (s *Snapshot) Drop(folderID string) {
	s.mu.Lock()
	if _, ok := s.folders[folderID]; ok {
		delete(s.folders, folderID)
		s.dirty = true
	}
	s.mu.Unlock()
	s.wake()
}

func (s *Snapshot) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Close writes the last state, if it changed, and stops the writer; it
// returns the error of that write. Later calls return the same.
func (s *Snapshot) Close() error {
	s.closeOne.Do(func() {
		close(s.stop)
		<-s.done
		s.closeErr = s.save()
	})
	return s.closeErr
}

// run writes the snapshot after each change, no sooner than interval
// after the previous write.
func (s *Snapshot) run() {
	defer close(s.done)
	var last time.Time // of the last write; zero: none yet
	for {
		select {
		case <-s.kick:
		case <-s.stop:
			return
		}
		if wait := last.Add(s.interval).Sub(s.clock.Now()); !last.IsZero() && wait > 0 {
			t := s.clock.NewTimer(wait)
			select {
			case <-t.Chan():
			case <-s.stop:
				t.Stop()
				return
			}
		}
		s.save()
		last = s.clock.Now()
	}
}

// save writes the snapshot if it changed since the last write began. The
// lock is held only to copy the map of folders (the listings themselves
// are never changed), not across the write.
func (s *Snapshot) save() error {
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	view := maps.Clone(s.folders)
	changes := s.changes
	s.dirty = false
	s.mu.Unlock()

	err := s.write(view, changes)
	if err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		s.wake() // tried again after the interval
		if !s.failing {
			s.log.Warn(fmt.Sprintf("could not save the listing snapshot %s (tried again later): %v", s.path, err))
		}
		s.failing = true
	} else {
		if s.failing {
			s.log.Info(fmt.Sprintf("listing snapshot %s saved again", s.path))
		}
		s.failing = false
		s.writes.Add(1)
	}
	if s.saved != nil {
		s.saved(err)
	}
	return err
}

// write writes folders and changes to a temporary file and renames it
// over the snapshot.
func (s *Snapshot) write(folders map[string]Folder, changes []Change) error {
	pf, err := renameio.NewPendingFile(s.path, renameio.WithTempDir(filepath.Dir(s.path)))
	if err != nil {
		return err
	}
	defer pf.Cleanup()
	crc := crc32.New(snapCRC)
	cw := &countWriter{w: io.MultiWriter(pf, crc)}
	w := bufio.NewWriterSize(cw, 256<<10)

	ids := slices.Sorted(maps.Keys(folders))
	var kept []string
	for _, id := range ids {
		if snapFolderOK(id, folders[id].Entries) {
			kept = append(kept, id)
		}
	}
	head := []byte(snapshotMagic)
	head = binary.AppendUvarint(head, snapshotVersion)
	head = appendSnapString(head, s.location)
	head = appendSnapString(head, s.api)
	head = binary.AppendUvarint(head, uint64(len(kept)))
	w.Write(head)
	var buf, lenBuf []byte
	for _, id := range kept {
		buf = appendSnapFolder(buf[:0], id, folders[id])
		lenBuf = binary.AppendUvarint(lenBuf[:0], uint64(len(buf)))
		w.Write(lenBuf)
		w.Write(buf)
		if cw.n+int64(w.Buffered()) > maxSnapshotBytes-4 {
			return fmt.Errorf("the snapshot would pass %d bytes", maxSnapshotBytes)
		}
	}
	var coded []byte
	n := 0
	for _, sc := range changes {
		if c, ok := appendSnapChange(coded, sc); ok {
			coded = c
			n++
		}
	}
	w.Write(binary.AppendUvarint(lenBuf[:0], uint64(n)))
	w.Write(coded)
	if cw.n+int64(w.Buffered()) > maxSnapshotBytes-4 {
		return fmt.Errorf("the snapshot would pass %d bytes", maxSnapshotBytes)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if _, err := pf.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return err
	}
	return pf.CloseAtomicallyReplace()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// snapKept reports whether e goes into the snapshot: files of the API only.
func snapKept(e Entry) bool { return !e.Pending && e.ID != "" }

// snapFolderOK reports whether a folder fits the bounds load checks; one
// that does not is left out of the snapshot (listed again at the next
// mount) rather than making the whole file unreadable.
func snapFolderOK(id string, entries []Entry) bool {
	if len(id) > remote.MaxIDBytes || len(entries) > remote.DefaultMaxListItems {
		return false
	}
	for _, e := range entries {
		if !snapKept(e) {
			continue
		}
		head, tail, hasID := e.URLParts()
		if len(e.ID) > remote.MaxIDBytes || len(e.Rev) > remote.MaxIDBytes || len(e.Key) > maxSnapKeyBytes || len(e.Name) > remote.MaxNameBytes ||
			len(e.ParentID) > remote.MaxIDBytes || len(head) > maxSnapURLBytes || len(tail) > maxSnapURLBytes ||
			(!hasID && tail != "") || len(e.ContentType()) > entry.MaxContentTypeBytes {
			return false
		}
	}
	return true
}

func appendSnapString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func snapTime(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// snapDelta is what an entry's creation time is written relative to:
// its ModTime, in Unix nanoseconds (0 when zero). Wrapping arithmetic
// undoes itself, whatever the two times.
func snapDelta(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func appendSnapFolder(b []byte, id string, sf Folder) []byte {
	b = appendSnapString(b, id)
	b = binary.AppendVarint(b, snapTime(sf.Listed))
	// The URL heads and tails, each once (one or two per location), and
	// the content types, each once (a handful).
	var strs, types []string
	index := make(map[string]int)
	typeIndex := make(map[string]int)
	n := 0
	for _, e := range sf.Entries {
		if !snapKept(e) {
			continue
		}
		n++
		if head, tail, hasID := e.URLParts(); hasID {
			for _, p := range [2]string{head, tail} {
				if _, ok := index[p]; !ok {
					index[p] = len(strs)
					strs = append(strs, p)
				}
			}
		}
		if t := e.ContentType(); t != "" {
			if _, ok := typeIndex[t]; !ok {
				typeIndex[t] = len(types)
				types = append(types, t)
			}
		}
	}
	for _, list := range [2][]string{strs, types} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, p := range list {
			b = appendSnapString(b, p)
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for _, e := range sf.Entries {
		if !snapKept(e) {
			continue
		}
		head, tail, hasID := e.URLParts()
		var flags byte
		if e.IsDir {
			flags |= snapDir
		}
		if hasID {
			flags |= snapURLHasID
		}
		if e.Key != e.ID {
			flags |= snapKey
		}
		if e.ParentID != id {
			flags |= snapParent
		}
		if e.CreatedNanos() != 0 {
			flags |= snapCreated
		}
		if e.System {
			flags |= snapSystem
		}
		if e.Unconfirmed() {
			flags |= snapUnconfirmed
		}
		if e.Rev != "" {
			flags |= snapRev
		}
		b = append(b, flags)
		b = appendSnapString(b, e.ID)
		if flags&snapKey != 0 {
			b = appendSnapString(b, e.Key)
		}
		b = appendSnapString(b, e.Name)
		if flags&snapParent != 0 {
			b = appendSnapString(b, e.ParentID)
		}
		b = binary.AppendVarint(b, e.Size)
		b = binary.AppendVarint(b, snapTime(e.ModTime))
		if hasID {
			b = binary.AppendUvarint(b, uint64(index[head]))
			b = binary.AppendUvarint(b, uint64(index[tail]))
		} else {
			b = appendSnapString(b, head)
		}
		ct := uint64(0)
		if t := e.ContentType(); t != "" {
			ct = uint64(typeIndex[t]) + 1
		}
		b = binary.AppendUvarint(b, ct)
		if e.CreatedNanos() != 0 {
			b = binary.AppendVarint(b, e.CreatedNanos()-snapDelta(e.ModTime))
		}
		if e.Rev != "" {
			b = appendSnapString(b, e.Rev)
		}
	}
	return b
}

// appendSnapChange appends a saved change in the file's form; false for
// one out of the bounds load checks (it is left out).
func appendSnapChange(b []byte, c Change) ([]byte, bool) {
	if len(c.Folder) > remote.MaxIDBytes || len(c.itemID()) > remote.MaxIDBytes || c.itemID() == "" || len(c.Name) > remote.MaxNameBytes ||
		c.At.IsZero() || (c.Kind == Put && (!snapKept(c.Entry) || !snapFolderOK(c.Folder, []Entry{c.Entry}))) {
		return b, false
	}
	start := len(b)
	b = appendSnapString(b, c.Folder)
	switch c.Kind {
	case Put:
		b = append(b, snapPut)
		b = binary.AppendVarint(b, snapTime(c.At))
		block := appendSnapFolder(nil, c.Folder, Folder{Entries: []Entry{c.Entry}})
		b = binary.AppendUvarint(b, uint64(len(block)))
		b = append(b, block...)
	case Drop:
		b = append(b, snapDrop)
		b = binary.AppendVarint(b, snapTime(c.At))
		b = appendSnapString(b, c.ID)
	case Rename:
		b = append(b, snapRename)
		b = binary.AppendVarint(b, snapTime(c.At))
		b = appendSnapString(b, c.ID)
		b = appendSnapString(b, c.Name)
	default:
		return b[:start], false
	}
	return b, true
}

// decodeSnapChange reads one saved change, counting the entry it makes
// against *budget, as the folders' are.
func decodeSnapChange(r *snapReader, budget *int) (Change, error) {
	var sc Change
	sc.Folder = string(r.bytes(remote.MaxIDBytes))
	kind := r.byte()
	sc.At = r.time()
	switch kind {
	case snapPut:
		block := r.bytes(len(r.b))
		if r.err != nil {
			return sc, r.err
		}
		id, sf, err := decodeSnapFolder(block, budget)
		if err != nil {
			return sc, err
		}
		if id != sc.Folder || len(sf.Entries) != 1 {
			r.fail("a change's entry is not one of its folder")
			break
		}
		sc.Kind, sc.Entry = Put, sf.Entries[0]
	case snapDrop:
		sc.Kind, sc.ID = Drop, string(r.bytes(remote.MaxIDBytes))
	case snapRename:
		sc.Kind, sc.ID = Rename, string(r.bytes(remote.MaxIDBytes))
		sc.Name = string(r.bytes(remote.MaxNameBytes))
	default:
		r.fail("an unknown kind of change")
	}
	if r.err == nil && (sc.itemID() == "" || sc.At.IsZero()) {
		r.fail("a change without an id or a time")
	}
	return sc, r.err
}

// otherSnapshot is a snapshot that is whole but not for this mount.
type otherSnapshot struct{ why string }

func (o *otherSnapshot) Error() string { return o.why }

var errSnapCorrupt = errors.New("corrupt")

// decode reads a whole snapshot file: its folders and the changes it
// hands on.
func (s *Snapshot) decode(data []byte) (map[string]Folder, []Change, error) {
	if len(data) < len(snapshotMagic) || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return nil, nil, errors.New("not a listing snapshot")
	}
	r := &snapReader{b: data, off: len(snapshotMagic)}
	if v := r.uvarint(); r.err == nil && v != snapshotVersion {
		return nil, nil, &otherSnapshot{fmt.Sprintf("written in format %d, this ghlfs reads %d", v, snapshotVersion)}
	}
	if len(data) < r.off+4 {
		return nil, nil, fmt.Errorf("%w: cut short", errSnapCorrupt)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, snapCRC) != binary.LittleEndian.Uint32(data[len(body):]) {
		return nil, nil, fmt.Errorf("%w: checksum mismatch (cut short, or damaged)", errSnapCorrupt)
	}
	r.b = body
	// What the folders may take in memory: decodeSnapFolder counts what
	// it makes against it before making it.
	budget := snapMemoryRatio*len(data) + snapMemorySlack
	location := string(r.bytes(maxSnapURLBytes))
	api := string(r.bytes(maxSnapURLBytes))
	if r.err != nil {
		return nil, nil, r.err
	}
	if location != s.location || api != s.api && (s.earlier == "" || api != s.earlier) {
		return nil, nil, &otherSnapshot{fmt.Sprintf("it is of location %q at %q, not %q at %q", location, api, s.location, s.api)}
	}
	n := r.count(1)
	if budget -= n * snapFolderCost; budget < 0 {
		r.fail("more than a snapshot of its size may take in memory")
		n = 0
	}
	folders := make(map[string]Folder, n)
	for range n {
		chunk := r.bytes(len(body))
		if r.err != nil {
			return nil, nil, r.err
		}
		id, sf, err := decodeSnapFolder(chunk, &budget)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := folders[id]; dup {
			return nil, nil, fmt.Errorf("%w: folder %q twice", errSnapCorrupt, id)
		}
		folders[id] = sf
	}
	m := r.count(4)
	if m > maxSnapChanges {
		r.fail("too many changes")
	}
	if budget -= m * snapChangeCost; budget < 0 {
		r.fail("more than a snapshot of its size may take in memory")
	}
	var changes []Change
	for i := 0; i < m && r.err == nil; i++ {
		sc, err := decodeSnapChange(r, &budget)
		if err != nil {
			return nil, nil, err
		}
		changes = append(changes, sc)
	}
	if r.err == nil && r.off != len(body) {
		return nil, nil, fmt.Errorf("%w: %d bytes past the end", errSnapCorrupt, len(body)-r.off)
	}
	return folders, changes, r.err
}

// decodeSnapFolder decodes one folder's block, counting what it makes
// in memory against *budget before it makes it.
func decodeSnapFolder(chunk []byte, budget *int) (string, Folder, error) {
	// One string for the folder: ids and names are parts of it.
	r := &snapReader{b: chunk, s: string(chunk)}
	spend := func(n, cost int) int {
		if *budget -= n * cost; *budget < 0 {
			r.fail("more than a snapshot of its size may take in memory")
			return 0
		}
		return n
	}
	id := r.str(remote.MaxIDBytes)
	listed := r.time()
	strs := make([]string, spend(r.count(1), snapStringCost))
	for i := range strs {
		strs[i] = entry.Intern(r.str(maxSnapURLBytes))
		spend(len(strs[i]), 1)
	}
	types := make([]unique.Handle[string], spend(r.count(1), snapTypeCost))
	for i := range types {
		t := r.str(entry.MaxContentTypeBytes)
		if t == "" {
			r.fail("an empty content type")
		}
		types[i] = unique.Make(t)
	}
	n := r.count(minSnapEntryBytes)
	if n > remote.DefaultMaxListItems {
		r.fail("too many entries")
	}
	n = spend(n, snapEntryCost)
	if r.err != nil {
		return "", Folder{}, r.err
	}
	entries := make([]Entry, n)
	for i := range entries {
		e := &entries[i]
		flags := r.byte()
		if flags&^snapFlags != 0 {
			r.fail("unknown flags")
		}
		e.ID = r.str(remote.MaxIDBytes)
		e.Key = e.ID
		if flags&snapKey != 0 {
			e.Key = r.str(maxSnapKeyBytes)
		}
		e.Name = r.str(remote.MaxNameBytes)
		e.ParentID = id
		if flags&snapParent != 0 {
			e.ParentID = r.str(remote.MaxIDBytes)
		}
		e.IsDir = flags&snapDir != 0
		e.SetUnchecked(true) // until its folder is listed again
		e.System = e.IsDir && flags&snapSystem != 0
		e.SetUnconfirmed(flags&snapUnconfirmed != 0)
		e.Size = r.varint()
		e.ModTime = r.time()
		if flags&snapURLHasID != 0 {
			h, t := r.uvarint(), r.uvarint()
			if h >= uint64(len(strs)) || t >= uint64(len(strs)) {
				r.fail("URL part out of range")
				break
			}
			e.SetURLParts(strs[h], strs[t], true)
		} else {
			e.SetURLParts(r.str(maxSnapURLBytes), "", false)
		}
		if ct := r.uvarint(); ct > uint64(len(types)) {
			r.fail("content type out of range")
			break
		} else if ct > 0 {
			e.SetContentTypeHandle(types[ct-1])
		}
		if flags&snapCreated != 0 {
			e.SetCreatedNanos(r.varint() + snapDelta(e.ModTime))
			if e.CreatedNanos() == 0 {
				r.fail("a creation time of 0")
			}
		}
		if flags&snapRev != 0 {
			if e.Rev = r.str(remote.MaxIDBytes); e.Rev == "" {
				r.fail("an empty version")
			}
		}
		if r.err != nil {
			break
		}
		if e.ID == "" {
			r.fail("an entry without an id")
			break
		}
	}
	if r.err == nil && r.off != len(chunk) {
		r.fail("bytes past a folder's end")
	}
	if r.err != nil {
		return "", Folder{}, r.err
	}
	return id, Folder{Entries: entries, Listed: listed}, nil
}

// snapReader reads a snapshot's bytes; the first error sticks, and every
// read after it returns zero values. s, when set, holds the same bytes as
// b, and strings are cut from it without a copy.
type snapReader struct {
	b   []byte
	s   string
	off int
	err error
}

func (r *snapReader) fail(why string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", errSnapCorrupt, why, r.off)
	}
}

func (r *snapReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad number")
		return 0
	}
	r.off += n
	return v
}

func (r *snapReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad number")
		return 0
	}
	r.off += n
	return v
}

func (r *snapReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("cut short")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

// count reads a count of things that take at least min bytes each, and
// checks that the bytes left could hold them before anything is made.
func (r *snapReader) count(min int) int {
	v := r.uvarint()
	if r.err == nil && v > uint64((len(r.b)-r.off)/min) {
		r.fail("a count past the end")
		return 0
	}
	return int(v)
}

// span reads a length, at most max, and returns where its bytes are.
func (r *snapReader) span(max int) (int, int) {
	v := r.uvarint()
	if r.err != nil {
		return 0, 0
	}
	if v > uint64(max) || v > uint64(len(r.b)-r.off) {
		r.fail("a string too long")
		return 0, 0
	}
	start := r.off
	r.off += int(v)
	return start, r.off
}

func (r *snapReader) bytes(max int) []byte {
	i, j := r.span(max)
	return r.b[i:j]
}

func (r *snapReader) str(max int) string {
	i, j := r.span(max)
	return r.s[i:j]
}

func (r *snapReader) time() time.Time {
	ns := r.varint()
	if ns == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
