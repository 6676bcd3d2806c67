package cache

import (
	"context"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// touch records that a folder is in use.
func (s *Store) touch(folderID string) {
	if s.opts.PollInterval <= 0 {
		return
	}
	s.mu.Lock()
	s.used[folderID] = s.opts.Now()
	s.mu.Unlock()
}

func (s *Store) listAll() bool {
	if !s.opts.ListAll {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.allOff
}

// fetchAll lists every folder and every file of the location with
// fetchAll=true and fills the cache for every folder at once.
func (s *Store) fetchAll(ctx context.Context) error {
	_, err, _ := s.flights.Do("all", func() (any, error) {
		ctx, cancel := s.withTimeout(context.WithoutCancel(ctx))
		defer cancel()
		s.mu.Lock()
		before := make(map[string]uint64, len(s.epoch))
		for k, v := range s.epoch {
			before[k] = v
		}
		s.mu.Unlock()
		started := s.opts.Now()
		folders, files, err := s.listBoth(ctx, remote.ListQuery{FetchAll: true})
		if err != nil {
			return nil, err
		}
		children := map[string][]Entry{"": nil}
		for _, f := range folders {
			if _, ok := children[f.ID]; !ok {
				children[f.ID] = nil
			}
		}
		for _, it := range append(folders, files...) {
			if _, ok := children[it.ParentID]; ok {
				children[it.ParentID] = append(children[it.ParentID], entryOf(it))
			}
		}
		if !s.checkAll(ctx, children) {
			return nil, nil
		}
		s.mu.Lock()
		for id, entries := range children {
			if s.epoch[id] != before[id] {
				continue // changed through the Store meanwhile: fetch it alone
			}
			s.listings.SetDefault(id, s.newState(id, entries, started))
		}
		s.mu.Unlock()
		for _, entries := range children {
			s.learnSizes(entries)
		}
		return nil, nil
	})
	return err
}

// checkAll makes sure, once, that the server honoured fetchAll: a server
// that ignored it would have answered with the root's items only, leaving
// every other folder looking empty. It lists up to three folders shown as
// empty on their own; if one holds anything, the strategy is turned off.
// (Emptiness before a removal is judged on a folder's own listing anyway.)
func (s *Store) checkAll(ctx context.Context, children map[string][]Entry) bool {
	s.mu.Lock()
	checked := s.allChecked
	s.mu.Unlock()
	if checked {
		return true
	}
	var empty []string
	for id, entries := range children {
		if id != "" && len(entries) == 0 {
			empty = append(empty, id)
		}
	}
	slices.Sort(empty)
	for _, id := range empty[:min(len(empty), 3)] {
		own, _, err := s.fetch(ctx, id)
		if err != nil {
			return false // not checked: try again on the next listing
		}
		if len(own) > 0 {
			s.log.Warn("the server ignores fetchAll: listing folder by folder instead")
			s.mu.Lock()
			s.allOff, s.allChecked = true, true
			s.mu.Unlock()
			return false
		}
	}
	s.mu.Lock()
	s.allChecked = true
	s.mu.Unlock()
	return true
}

// poller re-lists the folders in use every PollInterval and reports what
// changed. A folder is in use when it was listed within the last ten
// intervals (or the listing TTL, if longer).
func (s *Store) poller() {
	defer s.workers.Done()
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		now := s.opts.Now()
		window := max(10*s.opts.PollInterval, s.opts.DirTTL)
		s.mu.Lock()
		var todo []string
		for id, at := range s.used {
			if now.Sub(at) > window {
				delete(s.used, id)
				continue
			}
			todo = append(todo, id)
		}
		s.mu.Unlock()
		slices.Sort(todo)
		for _, id := range todo {
			if err := s.refresh(s.closing, id); err != nil {
				s.log.Debug("poll failed", "folder", id, "err", err)
			}
		}
	}
}

// refresh lists a folder afresh and, if what it shows changed, keeps the
// new listing and tells OnChange.
func (s *Store) refresh(ctx context.Context, folderID string) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	s.mu.Lock()
	before := s.epoch[folderID]
	v, ok := s.listings.Get(folderID)
	s.mu.Unlock()
	var old *Listing
	if ok {
		old = v.(*folderState).view
	}
	entries, fetched, err := s.fetch(ctx, folderID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.epoch[folderID] != before {
		s.mu.Unlock()
		return nil // changed through the Store meanwhile; the next poll sees it
	}
	st := s.newState(folderID, entries, fetched)
	s.listings.SetDefault(folderID, st)
	onChange := s.onChange
	s.mu.Unlock()
	s.learnSizes(entries)
	if old != nil && !sameListing(old, st.view) && onChange != nil {
		onChange(folderID, old, st.view)
	}
	return nil
}

// sameListing reports whether two listings show the same items, names,
// sizes and times.
func sameListing(a, b *Listing) bool {
	return slices.EqualFunc(a.Entries, b.Entries, func(x, y Entry) bool {
		return x.ID == y.ID && x.Name == y.Name && x.Size == y.Size && x.ModTime.Equal(y.ModTime)
	})
}
