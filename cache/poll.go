package cache

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// touch records that a folder is in use, for the poller.
func (f *folders) touch(folderID string) {
	f.mu.Lock()
	f.used[folderID] = f.clock.Now()
	f.mu.Unlock()
}

func (f *folders) wholeLibrary() bool {
	if !f.listAll {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.allOff
}

// fetchAll lists every folder and every file of the location with
// fetchAll=true and stores the listing of every folder at once.
func (f *folders) fetchAll(ctx context.Context) error {
	_, err, _ := f.flights.Do("all", func() (any, error) {
		ctx, cancel := f.listingContext(ctx)
		defer cancel()
		start := f.begin()
		defer f.end(start)
		// Items of one folder share one parent string.
		var mu sync.Mutex
		parents := make(map[string]string)
		folders, files, err := f.listBoth(ctx, remote.ListQuery{FetchAll: true}, func(it *remote.Item) bool {
			mu.Lock()
			if p, ok := parents[it.ParentID]; ok {
				it.ParentID = p
			} else {
				parents[it.ParentID] = it.ParentID
			}
			mu.Unlock()
			return true
		})
		if err != nil {
			return nil, err
		}
		children := map[string][]Entry{"": nil}
		for _, e := range folders {
			if _, ok := children[e.ID]; !ok {
				children[e.ID] = nil
			}
		}
		for _, list := range [][]Entry{folders, files} {
			for _, e := range list {
				if _, ok := children[e.ParentID]; ok {
					children[e.ParentID] = append(children[e.ParentID], e)
				}
			}
		}
		ended := f.clock.Now() // the TTL runs from here (see fetch)
		if !f.checkAll(ctx, children) {
			return nil, nil
		}
		for id, entries := range children {
			st := f.keep(id, entries, ended, start)
			if f.fetched != nil {
				f.fetched(st.entries)
			}
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
func (f *folders) checkAll(ctx context.Context, children map[string][]Entry) bool {
	f.mu.Lock()
	checked := f.checked
	f.mu.Unlock()
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
		own, _, err := f.fetch(ctx, id)
		if err != nil {
			return false // not checked: try again on the next listing
		}
		if len(own) > 0 {
			f.log.Warn("the server ignores fetchAll: listing folder by folder instead")
			f.mu.Lock()
			f.allOff, f.checked = true, true
			f.mu.Unlock()
			return false
		}
	}
	f.mu.Lock()
	f.checked = true
	f.mu.Unlock()
	return true
}

// poll re-lists, every interval, the folders in use and tells changed of
// each whose listing is not what it was. A folder is in use when it was
// listed within the last ten intervals (or the listing TTL, if longer).
// It returns when ctx ends.
func (f *folders) poll(ctx context.Context, interval time.Duration, changed func(folderID string, before, after *folderState)) {
	t := f.clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		now := f.clock.Now()
		window := max(10*interval, f.ttl)
		f.mu.Lock()
		var todo []string
		for id, at := range f.used {
			if now.Sub(at) > window {
				delete(f.used, id)
				continue
			}
			todo = append(todo, id)
		}
		f.mu.Unlock()
		slices.Sort(todo)
		for _, id := range todo {
			before, _ := f.cached(id)
			// ctx ends at Close; each page has its own deadline.
			after, err := f.load(ctx, id)
			if err != nil {
				f.log.Debug("poll failed", "folder", id, "err", err)
				continue
			}
			if before != nil && !sameEntries(before.entries, after.entries) {
				changed(id, before, after)
			}
		}
	}
}

// sameEntries reports whether two listings hold the same items, names,
// sizes and times, in any order.
func sameEntries(a, b []Entry) bool {
	if len(a) != len(b) {
		return false
	}
	type sig struct {
		name string
		size int64
		mod  time.Time
	}
	m := make(map[string]sig, len(a))
	for _, e := range a {
		m[e.ID] = sig{e.Name, e.Size, e.ModTime.UTC()}
	}
	for _, e := range b {
		if s, ok := m[e.ID]; !ok || s != (sig{e.Name, e.Size, e.ModTime.UTC()}) {
			return false
		}
	}
	return true
}
