package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// Commit uploads p's bytes if they changed since the last upload, then
// sends the files it replaces to the trash. It returns when the upload is
// done; on failure the bytes stay in the spool and are tried again later.
func (p *Pending) Commit(ctx context.Context) error {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	<-p.ready
	s := p.s
	p.mu.Lock()
	switch {
	case p.gone:
		p.mu.Unlock()
		return nil // removed: nothing to upload
	case p.tooBig:
		p.mu.Unlock()
		// Not uploaded, and it goes now. An upload made of it by an earlier
		// close stays (the last good copy); if there was none, the file it
		// was to replace is shown again as it was.
		s.log.Warn("discarding a file that passed the upload limit", "name", p.Name())
		p.dropIfIdle()
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
		// Uploaded, clean and closed: the spool file goes.
		p.dropIfIdle()
	}()
	fail := func(err error) error {
		p.mu.Lock()
		p.dirty = true
		p.failures++
		p.mu.Unlock()
		if derr := p.makeDurable(); derr != nil {
			s.log.Error(fmt.Sprintf("spool: could not flush %s to disk: %v", p.Name(), derr), "name", p.Name())
		}
		s.scheduleRetry(p)
		return fmt.Errorf("uploading %s: %w (kept in the spool, will retry)", p.Name(), err)
	}
	fi, err := os.Stat(p.path)
	if err != nil {
		return fail(fmt.Errorf("spool: %w", err))
	}

	// The deadline grows with the size: a slow link must still be able to
	// send 25 MB (the budget allows 64 KiB/s on top of the usual deadline).
	ctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout+time.Duration(size>>16)*time.Second)
	defer cancel()

	s.pmu.Lock()
	meta := p.meta
	meta.Replaces = slices.Clone(p.meta.Replaces)
	s.pmu.Unlock()
	// Ids that exist already are never taken for this upload's trace.
	exclude := append(slices.Clone(meta.Replaces), meta.RemoteID)

	var item remote.Item
	landed := false
	if !meta.AttemptAt.IsZero() {
		// An earlier attempt's outcome is unknown: look for it first.
		found, ok, err := s.rc.FindCreated(ctx, meta.ParentID, remote.TypeFile, meta.Name, meta.AttemptSize, meta.AttemptAt, exclude)
		if err != nil {
			return fail(translate(err))
		}
		switch {
		case ok && fi.Size() == meta.AttemptSize && fi.ModTime().Equal(meta.AttemptMtime):
			s.log.Info("an earlier upload had landed; not sending it again", "name", meta.Name, "id", found.ID)
			item, landed = found, true
		case ok:
			// It landed, with bytes that have changed since: it goes to the
			// trash once the new upload is in.
			meta.Replaces = append(meta.Replaces, found.ID)
			exclude = append(exclude, found.ID)
			s.pmu.Lock()
			p.meta.Replaces = append(p.meta.Replaces, found.ID)
			s.pmu.Unlock()
		}
	}
	if !landed {
		s.pmu.Lock()
		p.meta.AttemptAt, p.meta.AttemptSize, p.meta.AttemptMtime = time.Now(), fi.Size(), fi.ModTime()
		s.pmu.Unlock()
		if err := p.saveMeta(); err != nil {
			return fail(fmt.Errorf("spool: %w", err))
		}
		item, err = s.rc.UploadFile(ctx, remote.Upload{
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
			Exclude: exclude,
		})
		if err != nil {
			if refused(err) {
				// The API said no: nothing landed, nothing to look for.
				s.pmu.Lock()
				p.meta.AttemptAt = time.Time{}
				s.pmu.Unlock()
				if serr := p.saveMeta(); serr != nil {
					s.log.Warn("spool: could not update a record", "name", meta.Name, "err", serr)
				}
			}
			return fail(translate(err))
		}
	}
	return p.landed(ctx, meta, item, size)
}

// landed records a finished upload of p: it supersedes the files p
// replaces and p's earlier upload, which go to the trash.
func (p *Pending) landed(ctx context.Context, meta pendingMeta, item remote.Item, size int64) error {
	s := p.s
	old := meta.Replaces
	if meta.RemoteID != "" {
		old = append(old, meta.RemoteID)
	}
	old = slices.DeleteFunc(old, func(id string) bool { return id == item.ID })

	if p.isGone() {
		// Removed while it was uploading (a removal waits for the upload,
		// so this is a removal that came first): the upload goes too.
		if err := s.removeRemote(ctx, meta.ParentID, item.ID); err != nil {
			s.log.Error(fmt.Sprintf("%s: removed while uploading; the upload could not be removed: %v", meta.Name, err), "name", meta.Name)
		}
		return nil
	}

	e := entryOf(item)
	e.ParentID = meta.ParentID
	s.pmu.Lock()
	for _, id := range old {
		if s.hidden[id] == p {
			delete(s.hidden, id)
		}
	}
	p.meta.Replaces = slices.DeleteFunc(p.meta.Replaces, func(id string) bool { return slices.Contains(meta.Replaces, id) })
	p.meta.RemoteID = item.ID
	s.predecessors.SetDefault(item.ID, p.id())
	p.meta.AttemptAt = time.Time{}
	p.meta.UploadedAt = time.Now()
	p.meta.UploadedSize = size
	s.hidden[item.ID] = p
	nameNow := p.meta.Name
	var timeErr error
	if mt := p.meta.ModTime; mt != nil {
		// The time as set now (perhaps during the upload), not as it was
		// when the upload began. Kept under pmu, as SetModTime does, so the
		// two cannot store in the wrong order.
		e.ModTime = *mt
		timeErr = s.times.set(item.ID, *mt)
	}
	s.pmu.Unlock()
	p.mu.Lock()
	stillDirty := p.dirty // written during the upload
	p.mu.Unlock()
	s.pmu.Lock()
	p.meta.Dirty = stillDirty
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
		}
	}
	s.pmu.Lock()
	p.uploaded = e
	s.pmu.Unlock()
	s.update(meta.ParentID, func(entries []Entry) []Entry {
		return append(without(entries, append(old, item.ID)...), e)
	})
	if len(old) > 0 {
		if err := s.removeRemote(ctx, meta.ParentID, old...); err != nil {
			s.log.Error(fmt.Sprintf("%s: uploaded, but the old copy could not be removed; both are listed: %v", meta.Name, err), "name", meta.Name)
		}
	}
	s.forgetTimes(old...)
	p.mu.Lock()
	p.failures = 0
	p.mu.Unlock()
	return nil
}

// refused reports whether the API answered a request with a definite no
// (a 4xx other than 408 and 429): it was not carried out.
func refused(err error) bool {
	var e *remote.Error
	return errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}

// scheduleRetry tries a failed upload again later, with a growing delay.
// If the file is open then, its last close hands it over instead.
func (s *Store) scheduleRetry(p *Pending) {
	p.mu.Lock()
	n := p.failures
	p.mu.Unlock()
	delay := min(s.opts.RetryBase<<min(max(n-1, 0), 10), 10*time.Minute)
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
// spool at start, those closed without an upload, and those whose upload
// failed. A file open when its turn comes is left to its last Release.
func (s *Store) uploader() {
	defer s.workers.Done()
	for {
		select {
		case <-s.done:
			return
		case p := <-s.uploads:
			p.mu.Lock()
			skip := p.gone || p.opens > 0 || !p.dirty
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
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(s.spoolDir, name)) // a record half written
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		key := strings.TrimSuffix(name, ".json")
		p := &Pending{s: s, key: key, path: filepath.Join(s.spoolDir, key), ready: make(chan struct{})}
		close(p.ready)
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
		done := p.meta.RemoteID != "" && !p.meta.Dirty && p.meta.AttemptAt.IsZero() &&
			fi.Size() == p.meta.UploadedSize && !fi.ModTime().After(p.meta.UploadedAt)
		if done {
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
	e, _ = s.resolve(e)
	return e
}

// Resolve returns e as it stands now and, if it is still a pending file,
// that file, in one look: a pending file may leave the spool at any
// moment, and two looks could see it there and then gone.
func (s *Store) Resolve(e Entry) (Entry, *Pending) { return s.resolve(e) }

func (s *Store) resolve(e Entry) (Entry, *Pending) {
	if !e.Pending {
		return e, nil
	}
	if p, ok := s.PendingOf(e); ok {
		return e, p
	}
	if up, ok := s.successor(e.ID); ok {
		return up, nil
	}
	return e, nil
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

// Predecessor returns the id of the pending file an uploaded file came
// from, while that is remembered: its inode number is the upload's too.
func (s *Store) Predecessor(id string) (string, bool) {
	v, ok := s.predecessors.Get(id)
	if !ok {
		return "", false
	}
	return v.(string), true
}

// PendingCount is how many files wait for upload.
func (s *Store) PendingCount() int {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return len(s.pending)
}
