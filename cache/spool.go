package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// New and changed files are written to a spool file on local disk and
// uploaded when the writer closes them. A spool file is kept, with a small
// JSON record of where it belongs, until its upload succeeds or the user
// removes the file: a failed upload, or a crash, loses nothing. On the next
// start the Store uploads what it finds in the spool (upload.go).
//
// Lock order: Pending.commitMu, then Pending.mu, then Store.mu, then
// Store.pmu. Pending.metaMu is taken alone.

const pendingPrefix = "pending:"

// Pending is a file whose bytes are held in the spool.
type Pending struct {
	s    *Store
	key  string
	path string // the bytes; path+".json" is the record

	// ready is closed once the bytes are in place (a change to an existing
	// file starts from a copy of it); fillErr says why that failed.
	ready   chan struct{}
	fillErr error

	commitMu sync.Mutex // one upload at a time; also held by a removal
	metaMu   sync.Mutex // one writer of the record at a time

	mu        sync.Mutex // guards the fields below
	f         *os.File
	size      int64
	opens     int
	dirty     bool // bytes not uploaded yet
	tooBig    bool // a write went past the upload limit
	uploading bool // a Commit is under way; it decides what happens next
	gone      bool // out of the Store (uploaded and dropped, or removed)
	lastWrite time.Time
	failures  int

	// Guarded by Store.pmu: what the listing shows, and the entry of the
	// last upload.
	meta     pendingMeta
	uploaded Entry
}

// pendingMeta is the record kept beside a spool file.
type pendingMeta struct {
	ParentID string `json:"parentId"`
	Name     string `json:"name"`
	// Replaces lists the API ids this file supersedes: they go to the trash
	// once the upload is done.
	Replaces []string `json:"replaces,omitempty"`
	// ModTime is a time the user set; nil means the time of the last write.
	ModTime *time.Time `json:"modTime,omitempty"`
	// RemoteID is the last upload of these bytes, UploadedAt and
	// UploadedSize when and how big it was, and Dirty whether the bytes
	// changed since: on recovery a spool file that is not dirty is done.
	RemoteID     string    `json:"remoteId,omitempty"`
	UploadedAt   time.Time `json:"uploadedAt,omitzero"`
	UploadedSize int64     `json:"uploadedSize,omitempty"`
	Dirty        bool      `json:"dirty,omitempty"`
	// AttemptAt is when an upload began whose outcome is not known yet (its
	// answer was lost, or the process died waiting), and AttemptSize and
	// AttemptMtime what the spool file was then. The next attempt looks
	// for that upload first: if the bytes are unchanged it is taken as
	// done, else it is trashed once the new one lands. No duplicate either
	// way.
	AttemptAt    time.Time `json:"attemptAt,omitzero"`
	AttemptSize  int64     `json:"attemptSize,omitempty"`
	AttemptMtime time.Time `json:"attemptMtime,omitzero"`
	Created      time.Time `json:"created"`
}

func (p *Pending) id() string { return pendingPrefix + p.key }

// entryLocked is p as a listing entry; the caller holds s.pmu.
func (p *Pending) entryLocked() Entry {
	return Entry{ID: p.id(), Name: p.meta.Name, ParentID: p.meta.ParentID, Size: -1, Pending: true}
}

// Entry is p as a listing entry.
func (p *Pending) Entry() Entry {
	p.s.pmu.Lock()
	defer p.s.pmu.Unlock()
	return p.entryLocked()
}

// overlay returns a folder's entries as shown: the API's entries, less those
// a pending file replaces, plus the pending files of that folder. It may
// return remoteEntries itself; neither is changed after.
func (s *Store) overlay(folderID string, remoteEntries []Entry) []Entry {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if len(s.pending) == 0 && len(s.hidden) == 0 {
		return remoteEntries // nothing to add or hide: share the slice
	}
	out := make([]Entry, 0, len(remoteEntries)+len(s.pending))
	for _, e := range remoteEntries {
		if _, hidden := s.hidden[e.ID]; !hidden {
			out = append(out, e)
		}
	}
	for _, p := range s.pending {
		if p.meta.ParentID == folderID {
			out = append(out, p.entryLocked())
		}
	}
	return out
}

// hideLocked records what p hides; the caller holds s.pmu.
func (s *Store) hideLocked(p *Pending) {
	for _, id := range p.meta.Replaces {
		s.hidden[id] = p
	}
	if p.meta.RemoteID != "" {
		s.hidden[p.meta.RemoteID] = p
	}
}

// unhideLocked forgets what p hides; the caller holds s.pmu.
func (s *Store) unhideLocked(p *Pending) {
	for id, q := range s.hidden {
		if q == p {
			delete(s.hidden, id)
		}
	}
}

// PendingOf returns the pending file behind an entry, if it is one.
func (s *Store) PendingOf(e Entry) (*Pending, bool) {
	if !e.Pending {
		return nil, false
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	p, ok := s.pending[strings.TrimPrefix(e.ID, pendingPrefix)]
	return p, ok
}

func newKey() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// Create makes a new, empty file named name in folder parentID. It is shown
// at once and uploaded when committed.
func (s *Store) Create(ctx context.Context, parentID, name string) (*Pending, error) {
	if s.opts.ReadOnly {
		return nil, ErrReadOnly
	}
	p, err := s.newPending(pendingMeta{ParentID: parentID, Name: name})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.opens = 1
	p.mu.Unlock()
	close(p.ready)
	return p, nil
}

// Modify returns the pending file through which e's bytes are changed, with
// one more handle on it. For a file of the API, that is a new pending file
// under the same name that replaces it, filled with e's bytes unless
// truncate is set; for a pending file, the file itself. Two changes to one
// file at once share one pending file.
func (s *Store) Modify(ctx context.Context, e Entry, truncate bool) (*Pending, error) {
	if s.opts.ReadOnly {
		return nil, ErrReadOnly
	}
	var p *Pending
	for attempt := 0; ; attempt++ {
		var cur Entry
		cur, p = s.resolve(e)
		if p == nil {
			if cur.Pending {
				return nil, ErrNotFound
			}
			var err error
			if p, err = s.replacement(cur, truncate); err != nil {
				return nil, err
			}
		}
		err := p.Open()
		if err == nil {
			break
		}
		// It left the spool between the look and the open: look again,
		// and find its upload.
		if !errors.Is(err, ErrNotFound) || attempt >= 2 {
			return nil, err
		}
	}
	if truncate {
		if err := p.Truncate(0); err != nil {
			p.Release()
			return nil, err
		}
	}
	return p, nil
}

// replacement returns the pending file that replaces e: the one already
// under way, or a new one, reserved before its bytes are copied so that a
// second change to e finds it.
func (s *Store) replacement(e Entry, truncate bool) (*Pending, error) {
	s.pmu.Lock()
	if p, ok := s.hidden[e.ID]; ok {
		s.pmu.Unlock()
		return p, nil
	}
	meta := pendingMeta{ParentID: e.ParentID, Name: e.Name, Replaces: []string{e.ID}}
	if t, ok := s.times.get(e.ID); ok && !truncate {
		meta.ModTime = &t
	}
	p, err := s.newPendingLocked(meta)
	s.pmu.Unlock()
	if err != nil {
		return nil, err
	}
	s.update(meta.ParentID, nil)
	if truncate {
		close(p.ready)
		return p, nil
	}
	go func() {
		// Detached: the copy serves whoever waits on it, and is bounded by
		// the Store's deadline.
		ctx, cancel := s.withTimeout(context.Background())
		defer cancel()
		err := s.download(ctx, e, p.f)
		if err == nil {
			var fi os.FileInfo
			if fi, err = p.f.Stat(); err == nil {
				p.mu.Lock()
				p.size = fi.Size()
				p.mu.Unlock()
			}
		}
		if err != nil {
			p.fillErr = fmt.Errorf("copying %s to change it: %w", e.Name, err)
			p.discard()
		}
		close(p.ready)
	}()
	return p, nil
}

// download copies e's bytes into f.
func (s *Store) download(ctx context.Context, e Entry, f *os.File) error {
	r := s.NewReader(e)
	buf := make([]byte, 1<<20)
	var off int64
	for {
		n, err := r.ReadAt(ctx, buf, off)
		if n > 0 {
			if _, werr := f.WriteAt(buf[:n], off); werr != nil {
				return werr
			}
			off += int64(n)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// newPending makes and registers a pending file; its ready channel is left
// open for the caller to close.
func (s *Store) newPending(meta pendingMeta) (*Pending, error) {
	s.pmu.Lock()
	p, err := s.newPendingLocked(meta)
	s.pmu.Unlock()
	if err != nil {
		return nil, err
	}
	s.update(meta.ParentID, nil)
	return p, nil
}

func (s *Store) newPendingLocked(meta pendingMeta) (*Pending, error) {
	key := newKey()
	p := &Pending{s: s, key: key, path: filepath.Join(s.spoolDir, key), ready: make(chan struct{}), dirty: true, lastWrite: time.Now()}
	meta.Created = time.Now()
	p.meta = meta
	f, err := os.OpenFile(p.path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	p.f = f
	data, err := json.Marshal(p.meta)
	if err == nil {
		err = writeFileAtomic(p.path+".json", data, false)
	}
	if err != nil {
		f.Close()
		os.Remove(p.path)
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.pending[key] = p
	s.hideLocked(p)
	return p, nil
}

// saveMeta writes p's record beside its bytes, atomically: a process
// killed at any point leaves the old record or the new one. (Surviving a
// crash of the whole machine is makeDurable's job.)
func (p *Pending) saveMeta() error {
	return p.writeMeta(false)
}

// makeDurable flushes p's bytes and record to the disk. A spool file only
// needs to outlive the machine when its upload failed: until then the tool
// writing it has not been told it is safe, and after a success it goes.
func (p *Pending) makeDurable() error {
	p.mu.Lock()
	f := p.f
	p.mu.Unlock()
	if f != nil {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := p.writeMeta(true); err != nil {
		return err
	}
	dir, err := os.Open(p.s.spoolDir)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

func (p *Pending) writeMeta(durable bool) error {
	p.metaMu.Lock()
	defer p.metaMu.Unlock()
	if p.isGone() {
		return nil // its files are deleted: do not bring the record back
	}
	p.s.pmu.Lock()
	data, err := json.Marshal(p.meta)
	p.s.pmu.Unlock()
	if err != nil {
		return err
	}
	return writeFileAtomic(p.path+".json", data, durable)
}

func writeFileAtomic(name string, data []byte, durable bool) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// isGone reports whether p has left the Store.
func (p *Pending) isGone() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gone
}

// Size is the current size of p's bytes.
func (p *Pending) Size() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size
}

// ModTime is the time the user set, else the time of the last write.
func (p *Pending) ModTime() time.Time {
	p.s.pmu.Lock()
	mt := p.meta.ModTime
	p.s.pmu.Unlock()
	if mt != nil {
		return *mt
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastWrite
}

// Name is the name p will be uploaded under.
func (p *Pending) Name() string {
	p.s.pmu.Lock()
	defer p.s.pmu.Unlock()
	return p.meta.Name
}

// changed notes a write or truncate; the caller holds p.mu. It returns
// whether the record must be saved: the first change after an upload marks
// the record dirty, so that a restart does not take the spool for done.
func (p *Pending) changed() bool {
	p.dirty = true
	p.lastWrite = time.Now()
	p.s.pmu.Lock()
	defer p.s.pmu.Unlock()
	p.meta.ModTime = nil // a write sets the time, as on any filesystem
	if p.meta.RemoteID != "" && !p.meta.Dirty {
		p.meta.Dirty = true
		return true
	}
	return false
}

// WriteAt writes b at off. A write that would take the file past the
// largest upload the API takes fails with ErrTooLarge, and the file will
// not be uploaded.
func (p *Pending) WriteAt(b []byte, off int64) (int, error) {
	p.mu.Lock()
	if p.f == nil {
		p.mu.Unlock()
		return 0, ErrNotFound
	}
	if off+int64(len(b)) > remote.MaxUploadSize {
		p.tooBig = true
		p.mu.Unlock()
		return 0, fmt.Errorf("%w: %s would pass the API's upload limit of %d bytes", ErrTooLarge, p.Name(), remote.MaxUploadSize)
	}
	n, err := p.f.WriteAt(b, off)
	if end := off + int64(n); end > p.size {
		p.size = end
	}
	save := n > 0 && p.changed()
	p.mu.Unlock()
	if save {
		if serr := p.saveMeta(); serr != nil && err == nil {
			err = fmt.Errorf("spool: %w", serr)
		}
	}
	return n, err
}

// ReadAt reads p's bytes.
func (p *Pending) ReadAt(b []byte, off int64) (int, error) {
	p.mu.Lock()
	f := p.f
	p.mu.Unlock()
	if f == nil {
		return 0, ErrNotFound
	}
	return f.ReadAt(b, off)
}

// Truncate sets p's size.
func (p *Pending) Truncate(size int64) error {
	p.mu.Lock()
	if p.f == nil {
		p.mu.Unlock()
		return ErrNotFound
	}
	if size > remote.MaxUploadSize {
		p.tooBig = true
		p.mu.Unlock()
		return fmt.Errorf("%w: %s would pass the API's upload limit of %d bytes", ErrTooLarge, p.Name(), remote.MaxUploadSize)
	}
	if err := p.f.Truncate(size); err != nil {
		p.mu.Unlock()
		return err
	}
	p.size = size
	save := p.changed()
	p.mu.Unlock()
	if save {
		return p.saveMeta()
	}
	return nil
}

// Open counts one more handle on p, once its bytes are in place. A file
// that has left the Store meanwhile cannot be opened: ErrNotFound (its
// upload, if any, is Store.Current's to give).
func (p *Pending) Open() error {
	<-p.ready
	if p.fillErr != nil {
		return p.fillErr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone {
		return ErrNotFound
	}
	p.opens++
	return nil
}

// Release counts one handle fewer. When none is left and the bytes are
// uploaded, the spool file goes; bytes not uploaded yet (a file made and
// closed without a write, as touch does, or a failed upload) go to the
// background uploader. A file that grew past the upload limit is thrown
// away (the file it replaces, if any, stays as it was).
func (p *Pending) Release() {
	p.mu.Lock()
	p.opens--
	last := p.opens == 0
	if last && p.gone && p.f != nil {
		// Removed while open: its last handle takes the bytes with it.
		p.f.Close()
		p.f = nil
	}
	idle := last && !p.uploading && !p.gone
	dirty, tooBig := p.dirty, p.tooBig
	p.mu.Unlock()
	switch {
	case !idle:
	case !dirty || tooBig:
		p.dropIfIdle()
	default:
		go p.s.enqueue(p)
	}
}

// dropIfIdle drops p if no one has it open and nothing remains to upload:
// the check and the drop are one step, so that an open in between cannot
// lose its writes.
func (p *Pending) dropIfIdle() bool {
	p.mu.Lock()
	if p.gone || p.opens > 0 || p.uploading || (p.dirty && !p.tooBig) {
		p.mu.Unlock()
		return false
	}
	p.gone = true
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
	p.mu.Unlock()
	p.forget()
	return true
}

// discard takes p out of the Store whatever its state (the user removed
// it, or its bytes could not be put in place). Open handles keep reading
// and writing the unlinked file until they close.
func (p *Pending) discard() {
	p.mu.Lock()
	if p.gone {
		p.mu.Unlock()
		return
	}
	p.gone = true
	if p.opens == 0 && p.f != nil {
		p.f.Close()
		p.f = nil
	}
	p.mu.Unlock()
	p.forget()
}

// forget removes a gone p from the Store's maps and its files from the
// spool, and shows the listing without it. What p hid is shown again
// unless it was removed meanwhile; nodes that still hold p find its upload
// through Store.Current.
func (p *Pending) forget() {
	s := p.s
	p.metaMu.Lock() // no record write may land after the removal
	s.pmu.Lock()
	delete(s.pending, p.key)
	s.unhideLocked(p)
	parent := p.meta.ParentID
	if p.uploaded.ID != "" {
		s.successors.SetDefault(p.id(), p.uploaded)
	}
	s.pmu.Unlock()
	os.Remove(p.path + ".json")
	os.Remove(p.path)
	p.metaMu.Unlock()
	s.update(parent, nil)
}

type readCloser struct {
	io.Reader
	io.Closer
}

func contentType(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		return t
	}
	return "application/octet-stream"
}
