package listing

import (
	"context"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// touch records that a folder is in use, for the poller.
func (f *Folders) touch(folderID string) {
	f.mu.Lock()
	f.used[folderID] = f.clock.Now()
	f.mu.Unlock()
}

// poll re-lists, every interval, the folders in use and tells changed of
// each whose listing is not what it was. A folder is in use when it was
// listed within the last ten intervals (or the listing TTL, if longer).
// It returns when ctx ends.
func (f *Folders) poll(ctx context.Context, interval time.Duration) {
	t := f.clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		f.pollUsed(ctx, interval)
	}
}

// pollUsed re-lists the folders in use (see poll) and reports those
// whose listing changed.
func (f *Folders) pollUsed(ctx context.Context, interval time.Duration) {
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
		before, _ := f.Cached(id)
		// ctx ends at Close; each page has its own deadline.
		after, err := f.Load(remote.Background(ctx), id)
		if err != nil {
			f.log.Debug("poll failed", "folder", id, "err", err)
			continue
		}
		f.report(id, before, after)
	}
}

// report tells changedFn of a folder whose stored listing changed.
func (f *Folders) report(folderID string, before, after *State) {
	if before != nil && before != after && !sameEntries(before.entries, after.entries) {
		f.cfg.Changed(folderID, before, after)
	}
}

// sameEntries reports whether two listings hold the same items, names,
// versions (where the service keeps them under one id), sizes and times,
// in any order.
func sameEntries(a, b []Entry) bool {
	if len(a) != len(b) {
		return false
	}
	type sig struct {
		name, rev string
		size      int64
		mod       time.Time
	}
	m := make(map[string]sig, len(a))
	for _, e := range a {
		m[e.ID] = sig{e.Name, e.Rev, e.Size, e.ModTime.UTC()}
	}
	for _, e := range b {
		if s, ok := m[e.ID]; !ok || s != (sig{e.Name, e.Rev, e.Size, e.ModTime.UTC()}) {
			return false
		}
	}
	return true
}
