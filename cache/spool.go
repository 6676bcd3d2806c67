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
// start the Store uploads what it finds in the spool.

const pendingPrefix = "pending:"

// Pending is a file whose bytes are held in the spool.
type Pending struct {
	s    *Store
	key  string
	path string // the bytes; path+".json" is the record

	commitMu sync.Mutex // one upload at a time

	mu        sync.Mutex // guards the fields below
	f         *os.File
	size      int64
	opens     int
	dirty     bool // bytes not uploaded yet
	tooBig    bool // a write went past the upload limit
	uploading bool // a Commit is under way; it decides what happens next
	discarded bool
	lastWrite time.Time
	failures  int
	lastErr   error

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
	// RemoteID is the uploaded copy, once there is one, and UploadedSize
	// its size: on recovery, a spool no newer than its upload is done.
	RemoteID     string    `json:"remoteId,omitempty"`
	UploadedAt   time.Time `json:"uploadedAt,omitzero"`
	UploadedSize int64     `json:"uploadedSize,omitempty"`
	// AttemptAt is when an upload began whose outcome is not known yet. If
	// the process dies meanwhile, the next one looks for that upload
	// before sending the bytes again, so a crash makes no duplicate.
	AttemptAt time.Time `json:"attemptAt,omitzero"`
	Created   time.Time `json:"created"`
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
	return s.newPending(pendingMeta{ParentID: parentID, Name: name}, nil)
}

// Modify returns the pending file through which e's bytes are changed. For
// a file of the API, that is a new pending file under the same name that
// replaces it, filled with e's bytes unless truncate is set; for a pending
// file, the file itself.
func (s *Store) Modify(ctx context.Context, e Entry, truncate bool) (*Pending, error) {
	if s.opts.ReadOnly {
		return nil, ErrReadOnly
	}
	e = s.Current(e)
	if p, ok := s.PendingOf(e); ok {
		p.mu.Lock()
		p.opens++
		p.mu.Unlock()
		if truncate {
			if err := p.Truncate(0); err != nil {
				p.Release()
				return nil, err
			}
		}
		return p, nil
	}
	if e.Pending {
		return nil, ErrNotFound
	}
	s.pmu.Lock()
	if p, ok := s.hidden[e.ID]; ok {
		// Someone is changing this file already: share their copy.
		s.pmu.Unlock()
		return s.Modify(ctx, p.Entry(), truncate)
	}
	s.pmu.Unlock()
	var fill func(*os.File) error
	if !truncate {
		fill = func(f *os.File) error { return s.download(ctx, e, f) }
	}
	meta := pendingMeta{ParentID: e.ParentID, Name: e.Name, Replaces: []string{e.ID}}
	if t, ok := s.times.get(e.ID); ok && !truncate {
		meta.ModTime = &t
	}
	return s.newPending(meta, fill)
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

func (s *Store) newPending(meta pendingMeta, fill func(*os.File) error) (*Pending, error) {
	key := newKey()
	p := &Pending{s: s, key: key, path: filepath.Join(s.spoolDir, key), opens: 1, dirty: true, lastWrite: time.Now()}
	meta.Created = time.Now()
	p.meta = meta
	f, err := os.OpenFile(p.path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	p.f = f
	if fill != nil {
		if err := fill(f); err != nil {
			f.Close()
			os.Remove(p.path)
			return nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			os.Remove(p.path)
			return nil, err
		}
		p.size = fi.Size()
	}
	if err := p.saveMeta(); err != nil {
		f.Close()
		os.Remove(p.path)
		return nil, err
	}
	s.pmu.Lock()
	s.pending[key] = p
	s.hideLocked(p)
	s.pmu.Unlock()
	s.update(meta.ParentID, nil)
	return p, nil
}

// saveMeta writes p's record beside its bytes, atomically: a process
// killed at any point leaves the old record or the new one. (Surviving a
// crash of the whole machine is makeDurable's job.)
func (p *Pending) saveMeta() error {
	p.s.pmu.Lock()
	data, err := json.Marshal(p.meta)
	p.s.pmu.Unlock()
	if err != nil {
		return err
	}
	return writeFileAtomic(p.path+".json", data, false)
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
	p.s.pmu.Lock()
	data, err := json.Marshal(p.meta)
	p.s.pmu.Unlock()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p.path+".json", data, true); err != nil {
		return err
	}
	dir, err := os.Open(p.s.spoolDir)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
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

// WriteAt writes b at off. A write that would take the file past the
// largest upload the API takes fails with ErrTooLarge, and the file will
// not be uploaded.
func (p *Pending) WriteAt(b []byte, off int64) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return 0, ErrNotFound
	}
	if off+int64(len(b)) > remote.MaxUploadSize {
		p.tooBig = true
		return 0, fmt.Errorf("%w: %s would pass the API's upload limit of %d bytes", ErrTooLarge, p.meta.Name, remote.MaxUploadSize)
	}
	n, err := p.f.WriteAt(b, off)
	if end := off + int64(n); end > p.size {
		p.size = end
	}
	if n > 0 {
		p.dirty = true
		p.lastWrite = time.Now()
		p.s.pmu.Lock()
		p.meta.ModTime = nil // a write sets the time, as on any filesystem
		p.s.pmu.Unlock()
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
	defer p.mu.Unlock()
	if p.f == nil {
		return ErrNotFound
	}
	if size > remote.MaxUploadSize {
		p.tooBig = true
		return fmt.Errorf("%w: %s would pass the API's upload limit of %d bytes", ErrTooLarge, p.meta.Name, remote.MaxUploadSize)
	}
	if err := p.f.Truncate(size); err != nil {
		return err
	}
	p.size = size
	p.dirty = true
	p.lastWrite = time.Now()
	return nil
}

// Open counts one more handle on p.
func (p *Pending) Open() {
	p.mu.Lock()
	p.opens++
	p.mu.Unlock()
}

// Commit uploads p's bytes if they changed since the last upload, then
// sends the files it replaces to the trash. It returns when the upload is
// done; on failure the bytes stay in the spool and are tried again later.
func (p *Pending) Commit(ctx context.Context) error {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	s := p.s
	p.mu.Lock()
	switch {
	case p.discarded:
		p.mu.Unlock()
		return nil
	case p.tooBig:
		p.mu.Unlock()
		// Nothing of it is uploaded, and it goes now: the file it was to
		// replace, if any, is shown again as it was.
		s.log.Warn("discarding a file that passed the upload limit", "name", p.Name())
		s.pmu.Lock()
		own, parent := p.meta.RemoteID, p.meta.ParentID
		s.pmu.Unlock()
		if own != "" {
			// An earlier close uploaded part of it: that goes too.
			if err := s.removeRemote(ctx, parent, own); err != nil {
				s.log.Error(fmt.Sprintf("%s: could not remove an upload of its first part: %v", p.Name(), err), "name", p.Name())
			}
			s.update(parent, func(entries []Entry) []Entry { return without(entries, own) })
		}
		p.drop()
		return fmt.Errorf("%w: %s was not uploaded: it passed the API's upload limit of %d bytes", ErrTooLarge, p.Name(), remote.MaxUploadSize)
	case !p.dirty:
		p.mu.Unlock()
		return nil
	}
	size := p.size
	p.dirty = false // a write from now on makes it dirty again
	p.uploading = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.uploading = false
		p.mu.Unlock()
	}()

	s.pmu.Lock()
	meta := p.meta
	meta.Replaces = append([]string(nil), p.meta.Replaces...)
	prior := p.meta.AttemptAt
	if prior.IsZero() {
		p.meta.AttemptAt = time.Now()
	}
	s.pmu.Unlock()
	if err := p.saveMeta(); err != nil {
		p.mu.Lock()
		p.dirty = true
		p.mu.Unlock()
		return fmt.Errorf("spool: %w", err)
	}

	// The deadline grows with the size: a slow link must still be able to
	// send 25 MB (the budget allows 64 KiB/s on top of the usual deadline).
	ctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout+time.Duration(size>>16)*time.Second)
	defer cancel()
	item, err := s.rc.UploadFile(ctx, remote.Upload{
		ParentID:    meta.ParentID,
		Name:        meta.Name,
		ContentType: contentType(meta.Name),
		Size:        size,
		Open: func() (io.ReadCloser, error) {
			f, err := os.Open(p.path)
			if err != nil {
				return nil, err
			}
			return readCloser{io.LimitReader(f, size), f}, nil
		},
		PriorAttempt: prior,
	})
	if err != nil {
		if refused(err) {
			// The API said no: nothing landed, nothing to look for later.
			s.pmu.Lock()
			p.meta.AttemptAt = time.Time{}
			s.pmu.Unlock()
			if serr := p.saveMeta(); serr != nil {
				s.log.Warn("spool: could not update a record", "name", meta.Name, "err", serr)
			}
		}
		err = translate(err)
		p.mu.Lock()
		p.dirty = true
		p.failures++
		p.lastErr = err
		p.mu.Unlock()
		if derr := p.makeDurable(); derr != nil {
			s.log.Error(fmt.Sprintf("spool: could not flush %s to disk: %v", meta.Name, derr), "name", meta.Name)
		}
		s.scheduleRetry(p)
		return fmt.Errorf("uploading %s: %w (kept in the spool, will retry)", meta.Name, err)
	}

	// Uploaded. What the new file supersedes goes to the trash: the files it
	// replaces, and an earlier upload of the same spool.
	old := meta.Replaces
	if meta.RemoteID != "" {
		old = append(old, meta.RemoteID)
	}
	s.pmu.Lock()
	for _, id := range old {
		delete(s.hidden, id)
	}
	p.meta.Replaces = slicesWithout(p.meta.Replaces, meta.Replaces)
	p.meta.RemoteID = item.ID
	p.meta.AttemptAt = time.Time{}
	p.meta.UploadedAt = time.Now()
	p.meta.UploadedSize = size
	s.hidden[item.ID] = p
	nameNow := p.meta.Name
	e := entryOf(item)
	var timeErr error
	if mt := p.meta.ModTime; mt != nil {
		// The time as set now (perhaps during the upload), not as it was
		// when the upload began. Kept under pmu, as SetModTime does, so the
		// two cannot store in the wrong order.
		e.ModTime = *mt
		timeErr = s.times.set(item.ID, *mt)
	}
	p.uploaded = e
	s.pmu.Unlock()
	if timeErr != nil {
		s.log.Warn("could not keep a file time", "name", meta.Name, "err", timeErr)
	}
	if err := p.saveMeta(); err != nil {
		s.log.Warn("spool: could not record an upload", "name", meta.Name, "err", err)
	}
	if nameNow != meta.Name {
		// Renamed while it was being uploaded: rename the upload too.
		if err := s.rc.Rename(ctx, item.ID, nameNow); err != nil {
			s.log.Warn("could not rename an upload", "name", meta.Name, "to", nameNow, "err", err)
		} else {
			e.Name = nameNow
			s.pmu.Lock()
			p.uploaded.Name = nameNow
			s.pmu.Unlock()
		}
	}
	s.update(meta.ParentID, func(entries []Entry) []Entry {
		return append(without(entries, old...), e)
	})
	if len(old) > 0 {
		if err := s.removeRemote(ctx, meta.ParentID, old...); err != nil {
			s.log.Error(fmt.Sprintf("%s: uploaded, but the old copy could not be removed; both are listed: %v", meta.Name, err), "name", meta.Name)
		}
	}
	s.forgetTimes(old...)
	p.mu.Lock()
	p.failures, p.lastErr = 0, nil
	done := p.opens == 0 && !p.dirty
	p.mu.Unlock()
	if done {
		p.drop()
	}
	return nil
}

// refused reports whether the API answered a request with a definite no
// (a 4xx other than 408 and 429): it was not carried out.
func refused(err error) bool {
	var e *remote.Error
	return errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}

type readCloser struct {
	io.Reader
	io.Closer
}

func slicesWithout(s, drop []string) []string {
	var out []string
	for _, v := range s {
		keep := true
		for _, d := range drop {
			if v == d {
				keep = false
			}
		}
		if keep {
			out = append(out, v)
		}
	}
	return out
}

func contentType(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Release counts one handle fewer. When none is left and the bytes are
// uploaded, the spool file goes. A file that grew past the upload limit is
// thrown away (the file it replaces, if any, stays as it was).
func (p *Pending) Release() {
	p.mu.Lock()
	p.opens--
	last := p.opens == 0
	clean := !p.dirty
	tooBig := p.tooBig
	uploading := p.uploading
	failures := p.failures
	p.mu.Unlock()
	switch {
	case uploading:
		// The upload under way drops or keeps p when it ends.
	case last && (clean || tooBig):
		p.drop()
	case last && failures == 0:
		// Changed but not uploaded by a close (a file made and closed
		// without a write, as touch does): upload it now, in the background.
		// (A failed upload is already set to be tried again.)
		go p.s.enqueue(p)
	}
}

// drop forgets p and deletes its spool file. What p hid is shown again
// unless it was removed meanwhile.
func (p *Pending) drop() {
	s := p.s
	p.mu.Lock()
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
	p.discarded = true
	p.mu.Unlock()
	s.pmu.Lock()
	delete(s.pending, p.key)
	for id, q := range s.hidden {
		if q == p {
			delete(s.hidden, id)
		}
	}
	parent := p.meta.ParentID
	if p.uploaded.ID != "" {
		// Nodes that still hold p find the upload through this.
		s.successors.SetDefault(p.id(), p.uploaded)
	}
	s.pmu.Unlock()
	os.Remove(p.path + ".json")
	os.Remove(p.path)
	s.update(parent, nil)
}

// scheduleRetry tries a failed upload again later, with a growing delay,
// when no one has the file open.
func (s *Store) scheduleRetry(p *Pending) {
	p.mu.Lock()
	n := p.failures
	p.mu.Unlock()
	delay := min(s.opts.RetryBase<<min(n-1, 10), 10*time.Minute)
	time.AfterFunc(delay, func() { s.enqueue(p) })
}

// enqueue hands p to the background uploader.
func (s *Store) enqueue(p *Pending) {
	select {
	case s.uploads <- p:
	case <-s.done:
	}
}

// uploader uploads pending files that no one has open: those found in the
// spool at start, and those whose upload failed.
func (s *Store) uploader() {
	defer s.workers.Done()
	for {
		select {
		case <-s.done:
			return
		case p := <-s.uploads:
			p.mu.Lock()
			skip := p.discarded || p.opens > 0 || !p.dirty
			p.mu.Unlock()
			if skip {
				continue
			}
			// Close cancels an upload under way; its bytes stay in the spool.
			ctx, cancel := context.WithCancel(context.Background())
			stop := context.AfterFunc(s.closing, cancel)
			err := p.Commit(ctx)
			stop()
			cancel()
			if err != nil {
				s.log.Error(fmt.Sprintf("background upload of %s failed: %v", p.Name(), err), "name", p.Name())
			} else {
				s.log.Info("uploaded a pending file", "name", p.Name())
			}
		}
	}
}

// recoverSpool registers the spool files a previous run left behind and
// queues their upload.
func (s *Store) recoverSpool() error {
	names, err := os.ReadDir(s.spoolDir)
	if err != nil {
		return err
	}
	var todo []*Pending
	for _, de := range names {
		name := de.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		key := strings.TrimSuffix(name, ".json")
		p := &Pending{s: s, key: key, path: filepath.Join(s.spoolDir, key)}
		data, err := os.ReadFile(p.path + ".json")
		if err == nil {
			err = json.Unmarshal(data, &p.meta)
		}
		if err != nil {
			s.log.Error("spool: unreadable record; its file is kept", "record", p.path+".json", "err", err)
			continue
		}
		f, err := os.OpenFile(p.path, os.O_RDWR, 0o600)
		if err != nil {
			s.log.Error("spool: record without its bytes", "name", p.meta.Name, "err", err)
			continue
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		p.f, p.size, p.lastWrite = f, fi.Size(), fi.ModTime()
		if p.meta.RemoteID != "" && !fi.ModTime().After(p.meta.UploadedAt) && fi.Size() == p.meta.UploadedSize {
			// Uploaded in full before the stop: nothing left to do.
			f.Close()
			os.Remove(p.path + ".json")
			os.Remove(p.path)
			continue
		}
		p.dirty = true
		s.pmu.Lock()
		s.pending[key] = p
		s.hideLocked(p)
		s.pmu.Unlock()
		todo = append(todo, p)
		s.log.Info("found a file waiting for upload", "name", p.meta.Name, "bytes", p.size)
	}
	for _, p := range todo {
		go s.enqueue(p)
	}
	return nil
}

// Current returns e as it stands now: a pending file that has since been
// uploaded and left the spool is its upload.
func (s *Store) Current(e Entry) Entry {
	if !e.Pending {
		return e
	}
	if _, ok := s.PendingOf(e); ok {
		return e
	}
	if up, ok := s.successor(e.ID); ok {
		return up
	}
	return e
}

// Successor returns the uploaded file that took the place of a pending
// file once it left the spool.
func (s *Store) Successor(p *Pending) (Entry, bool) {
	return s.successor(p.id())
}

func (s *Store) successor(pendingID string) (Entry, bool) {
	v, ok := s.successors.Get(pendingID)
	if !ok {
		return Entry{}, false
	}
	return v.(Entry), true
}

// PendingCount is how many files wait for upload.
func (s *Store) PendingCount() int {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return len(s.pending)
}
