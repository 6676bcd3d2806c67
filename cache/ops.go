package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// Changes made through the mount. Each is sent to the API first; the cached
// listings change only once the API has said yes.

// Mkdir creates a folder named name in parentID.
func (s *Store) Mkdir(ctx context.Context, parentID, name string) (Entry, error) {
	if s.opts.ReadOnly {
		return Entry{}, ErrReadOnly
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	it, err := s.rc.CreateFolder(ctx, parentID, name)
	if err != nil {
		return Entry{}, translate(err)
	}
	e := entryOf(it)
	e.ParentID = parentID
	if e.ModTime.IsZero() {
		e.ModTime = s.opts.Now()
	}
	s.update(parentID, func(entries []Entry) []Entry { return append(without(entries, e.ID), e) })
	s.seedEmpty(e.ID)
	return e, nil
}

// Rename gives e the name newName in its folder. If replace is set, that
// entry (of the same folder) is replaced: e is renamed first and the old
// entry removed after, so that a failure never leaves neither. A folder
// can only replace an empty folder.
func (s *Store) Rename(ctx context.Context, e Entry, newName string, replace *Entry) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	e = s.Current(e)
	if replace != nil {
		r := s.Current(*replace)
		replace = &r
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if replace != nil && replace.IsDir {
		if !e.IsDir {
			return fmt.Errorf("%w: a file cannot replace a folder", ErrExists)
		}
		if err := s.checkEmpty(ctx, *replace); err != nil {
			return err
		}
	}
	if e, p := s.resolve(e); p != nil {
		if err := p.rename(ctx, newName); err != nil {
			return err
		}
	} else if e.Pending {
		return ErrNotFound
	} else {
		if err := s.rc.Rename(ctx, e.ID, newName); err != nil {
			return translate(err)
		}
		s.update(e.ParentID, func(entries []Entry) []Entry {
			for i := range entries {
				if entries[i].ID == e.ID {
					entries[i].Name = newName
				}
			}
			return entries
		})
	}
	if replace != nil && replace.ID != e.ID {
		if err := s.remove(ctx, *replace); err != nil {
			return fmt.Errorf("renamed, but the file it replaced is still there: %w", err)
		}
	}
	return nil
}

// rename gives a pending file a new name: locally, and on the API for an
// upload already made.
func (p *Pending) rename(ctx context.Context, newName string) error {
	s := p.s
	// The name first, then the upload made so far: an upload that lands in
	// between sees the new name and renames itself (Pending.landed).
	s.pmu.Lock()
	oldName := p.meta.Name
	p.meta.Name = newName
	remoteID := p.meta.RemoteID
	parent := p.meta.ParentID
	s.pmu.Unlock()
	if remoteID != "" {
		if err := s.rc.Rename(ctx, remoteID, newName); err != nil {
			s.pmu.Lock()
			p.meta.Name = oldName
			s.pmu.Unlock()
			return translate(err)
		}
	}
	if err := p.saveMeta(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.update(parent, func(entries []Entry) []Entry {
		for i := range entries {
			if entries[i].ID == remoteID {
				entries[i].Name = newName
			}
		}
		return entries
	})
	return nil
}

// Remove removes a file: to the trash by default. A pending file is thrown
// out of the spool, with what it was to replace.
func (s *Store) Remove(ctx context.Context, e Entry) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return s.remove(ctx, e)
}

func (s *Store) remove(ctx context.Context, e Entry) error {
	e, p := s.resolve(e)
	if p != nil {
		// Wait for an upload under way, so that it cannot publish the file
		// after it is removed.
		p.commitMu.Lock()
		defer p.commitMu.Unlock()
		if p.isGone() {
			// It finished and left the spool meanwhile: remove its upload.
			return s.remove(ctx, s.Current(e))
		}
		s.pmu.Lock()
		gone := append([]string(nil), p.meta.Replaces...)
		if p.meta.RemoteID != "" {
			gone = append(gone, p.meta.RemoteID)
		}
		s.pmu.Unlock()
		if len(gone) > 0 {
			if err := s.removeRemote(ctx, e.ParentID, gone...); err != nil {
				return err
			}
			s.update(e.ParentID, func(entries []Entry) []Entry { return without(entries, gone...) })
		}
		p.discard()
		return nil
	}
	if e.Pending {
		return ErrNotFound
	}
	if err := s.removeRemote(ctx, e.ParentID, e.ID); err != nil {
		return err
	}
	s.update(e.ParentID, func(entries []Entry) []Entry { return without(entries, e.ID) })
	if e.IsDir {
		s.Invalidate(e.ID)
	}
	s.forgetTimes(e.ID)
	return nil
}

// Rmdir removes an empty folder. Emptiness is judged on a fresh listing:
// the API is never relied on to delete what a folder holds.
func (s *Store) Rmdir(ctx context.Context, e Entry) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.checkEmpty(ctx, e); err != nil {
		return err
	}
	return s.remove(ctx, e)
}

// checkEmpty lists the folder afresh, on its own (not from the cache, nor
// from a whole-library listing), and fails if it holds anything, files
// waiting for upload included.
func (s *Store) checkEmpty(ctx context.Context, dir Entry) error {
	entries, _, err := s.fetch(ctx, dir.ID)
	if err != nil {
		return err
	}
	n := len(s.overlay(dir.ID, entries))
	if n > 0 {
		return fmt.Errorf("%w: %s holds %d items", ErrNotEmpty, dir.Name, n)
	}
	return nil
}

// removeRemote trashes (or, with Options.Delete, deletes) items of the API
// in folder parentID. If the API says some were not removed, a fresh
// listing decides: an item it no longer shows is gone (a retried call whose
// first attempt did the work answers that way).
func (s *Store) removeRemote(ctx context.Context, parentID string, ids ...string) error {
	status := remote.StatusTrashed
	if s.opts.Delete {
		status = remote.StatusDeleted
	}
	err := s.rc.DeleteMany(ctx, ids, status)
	var notDone *remote.NotDoneError
	if !errors.As(err, &notDone) {
		return translate(err)
	}
	s.Invalidate(parentID)
	if _, lerr := s.ListDir(ctx, parentID); lerr != nil {
		return lerr
	}
	s.mu.Lock()
	v, ok := s.listings.Get(parentID)
	s.mu.Unlock()
	if !ok {
		return translate(err)
	}
	for _, e := range v.(*folderState).remote { // what the API lists, hidden or not
		if slices.Contains(notDone.IDs, e.ID) {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return nil
}

// SetModTime keeps t as e's modification time. The API has no field for
// it, so it is kept locally, beside the cache.
func (s *Store) SetModTime(e Entry, t time.Time) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	e, p := s.resolve(e)
	if p != nil {
		s.pmu.Lock()
		if s.pending[p.key] != p {
			// It left the spool meanwhile: the time goes to its upload.
			s.pmu.Unlock()
			return s.SetModTime(s.Current(e), t)
		}
		p.meta.ModTime = &t
		var err error
		if uploaded := p.meta.RemoteID; uploaded != "" {
			// The upload made so far keeps the time too, should no other follow.
			err = s.times.set(uploaded, t)
		}
		s.pmu.Unlock()
		if err != nil {
			return err
		}
		return p.saveMeta()
	}
	if e.Pending {
		return ErrNotFound
	}
	return s.times.set(e.ID, t)
}

func (s *Store) forgetTimes(ids ...string) {
	for _, id := range ids {
		if err := s.times.forget(id); err != nil {
			s.log.Warn("could not update the file times", "err", err)
		}
	}
}
