package cache

import (
	"context"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ghlfs/ghlfs/remote"
)

// Listing is a snapshot of one folder. It is never changed once made: a
// change makes a new Listing, so a caller may key derived data (display
// names, say) on the pointer.
type Listing struct {
	FolderID string
	Entries  []Entry // sorted by Name, then ID
	Fetched  time.Time
}

// Find returns the entry with the given id.
func (l *Listing) Find(id string) (Entry, bool) {
	for _, e := range l.Entries {
		if e.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

func newListing(folderID string, entries []Entry, fetched time.Time) *Listing {
	slices.SortFunc(entries, func(a, b Entry) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return &Listing{FolderID: folderID, Entries: entries, Fetched: fetched}
}

// ListDir returns the folder's entries, from the cache while it is fresh.
// Concurrent calls for one folder share a single fetch: two list calls, one
// for folders and one for files, plus any further pages.
func (s *Store) ListDir(ctx context.Context, folderID string) (*Listing, error) {
	s.touch(folderID)
	if l, ok := s.cached(folderID); ok {
		return l, nil
	}
	if s.listAll() {
		// One listing of the whole library fills every folder at once.
		if err := s.fetchAll(ctx); err != nil {
			return nil, err
		}
		if l, ok := s.cached(folderID); ok {
			return l, nil
		}
	}
	v, err, _ := s.flights.Do("list\x00"+folderID, func() (any, error) {
		// Detached from the first caller: a caller that gives up must not
		// fail the others waiting on the same fetch.
		ctx, cancel := s.withTimeout(context.WithoutCancel(ctx))
		defer cancel()
		for attempt := 0; ; attempt++ {
			s.mu.Lock()
			before := s.epoch[folderID]
			s.mu.Unlock()
			remoteEntries, fetched, err := s.fetch(ctx, folderID)
			if err != nil {
				return nil, err
			}
			s.mu.Lock()
			changed := s.epoch[folderID] != before
			st := s.newState(folderID, remoteEntries, fetched)
			if !changed {
				s.listings.SetDefault(folderID, st)
			}
			s.mu.Unlock()
			l := st.view
			// A change made through the Store while the fetch was under way
			// may be missing from it: fetch again rather than keep it.
			if !changed || attempt >= 2 {
				s.learnSizes(l.Entries)
				return l, nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return v.(*Listing), nil
}

// folderState is what the cache holds for a folder: the entries the API
// listed (with the changes made through the Store since), and the view
// shown, which adds the files still waiting for upload.
type folderState struct {
	remote  []Entry
	fetched time.Time
	view    *Listing
}

// newState builds a folder's state; the caller holds s.mu.
func (s *Store) newState(folderID string, remote []Entry, fetched time.Time) *folderState {
	return &folderState{remote: remote, fetched: fetched, view: newListing(folderID, s.overlay(folderID, remote), fetched)}
}

func (s *Store) cached(folderID string) (*Listing, bool) {
	v, ok := s.listings.Get(folderID)
	if !ok {
		return nil, false
	}
	st := v.(*folderState)
	if s.opts.Now().Sub(st.fetched) >= s.opts.DirTTL {
		return nil, false
	}
	return st.view, true
}

// listBoth lists the folders and the files that q selects (the API lists
// one type at a time), both at once.
func (s *Store) listBoth(ctx context.Context, q remote.ListQuery) (folders, files []remote.Item, err error) {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		fq := q
		fq.Type = remote.TypeFolder
		folders, err = s.rc.List(gctx, fq)
		return err
	})
	g.Go(func() (err error) {
		fq := q
		fq.Type = remote.TypeFile
		files, err = s.rc.List(gctx, fq)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, nil, translate(err)
	}
	return folders, files, nil
}

func (s *Store) fetch(ctx context.Context, folderID string) ([]Entry, time.Time, error) {
	started := s.opts.Now()
	folders, files, err := s.listBoth(ctx, remote.ListQuery{ParentID: folderID})
	if err != nil {
		return nil, started, err
	}
	entries := make([]Entry, 0, len(folders)+len(files))
	for _, it := range append(folders, files...) {
		// A server that ignores parentId would hand back the whole
		// location; keep only this folder's children.
		if it.ParentID != folderID {
			continue
		}
		entries = append(entries, entryOf(it))
	}
	return entries, started, nil
}

// Invalidate forgets the cached listing of a folder; the next ListDir
// fetches it again.
func (s *Store) Invalidate(folderID string) {
	s.mu.Lock()
	s.epoch[folderID]++
	s.listings.Delete(folderID)
	s.mu.Unlock()
}

// update applies fn to the API entries of folderID's cached state, if there
// is one, rebuilds its view, and marks the folder changed so that a fetch
// under way is not kept. fn may be nil: the view is rebuilt (after a
// change to the files waiting for upload).
func (s *Store) update(folderID string, fn func([]Entry) []Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch[folderID]++
	v, exp, ok := s.listings.GetWithExpiration(folderID)
	if !ok {
		return
	}
	old := v.(*folderState)
	entries := slices.Clone(old.remote)
	if fn != nil {
		entries = fn(entries)
	}
	ttl := time.Until(exp)
	if exp.IsZero() || ttl <= 0 {
		return
	}
	s.listings.Set(folderID, s.newState(folderID, entries, old.fetched), ttl)
}

// seedEmpty records a folder known to be empty (one just created), which
// saves the two list calls its first look would cost.
func (s *Store) seedEmpty(folderID string) {
	s.mu.Lock()
	s.listings.SetDefault(folderID, s.newState(folderID, nil, s.opts.Now()))
	s.mu.Unlock()
}

// without returns entries less the one with the given id.
func without(entries []Entry, ids ...string) []Entry {
	return slices.DeleteFunc(entries, func(e Entry) bool { return slices.Contains(ids, e.ID) })
}
