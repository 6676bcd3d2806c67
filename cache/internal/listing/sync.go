package listing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/snapshot"
	"github.com/ghlfs/ghlfs/remote"
)

// Keeping the whole library known without making anyone wait for it.
//
// With Config.ListAll, the mount lists the whole library in the
// background (fetchAll, two paged listings) as soon as it starts: every
// call of it goes to the API client as a background call, which a call a
// user waits on always overtakes. A look-up of a folder not listed yet
// waits for that pass while the pass is young (Config.ListWait), or when
// it is part of a walk of the tree (awaitPass); otherwise it lists its
// folder on its own. The pass stores what it found only as it ends: the
// API pages the files of all folders in an order of its own (by time of
// creation), so no folder is known whole before the last page.
//
// After that, with Config.PollInterval, each poll asks for the items
// changed most recently (ListUpdated) and stops at the first one already
// known as it is: one call per type of item when nothing changed. Removals
// do not show that way, so a whole pass runs again every
// Config.FullSyncInterval. A poll that finds more changes than it
// applies one by one, or whose listing cannot be read whole (items of one
// time of change, more than a page of them, that the server orders anew
// at each request), makes a whole pass instead. A server that ignores
// that order, or fetchAll, is polled as before: the folders in use, one
// by one.
//
// Listings an earlier mount saved (package snapshot) are shown at once, marked
// stale, until the first pass (or, without one, a background listing of
// the folder) replaces them.

// libraryPass is a pass over the whole library under way.
type libraryPass struct {
	done  chan struct{} // closed when it ends
	began time.Time
	// own holds the folders look-ups listed on their own while it runs
	// (guarded by Folders.mu).
	own map[string]bool
}

// walkRun is how many folders in a row of one parent's listing, listed
// on their own while a pass runs, make a look-up of the next one part of
// a walk (awaitPass): one or two are a user's ls of neighbours.
const walkRun = 2

// maxRecent bounds the changes one poll applies item by item; more, and
// a whole pass is cheaper than finding each one's folder.
const maxRecent = 1000

// errManyChanges says a poll found more than maxRecent changes.
var errManyChanges = errors.New("many changes")

func (f *Folders) wholeLibrary() bool {
	if !f.listAll {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.allOff
}

// awaitPass waits for the pass over the library under way to end, and
// reports whether one did, when a look-up of folderID (not listed yet)
// had better be served by it than list the folder on its own:
//
//   - while the pass is young (it began less than listWait ago), for the
//     rest of that time: a small library's pass ends within it, and
//     saves every look-up its own listing (a first walk costs the
//     pass's pages and no more);
//   - for as long as it runs, when the look-up is part of a walk of the
//     tree (find, du, ls -R, rsync, cp -r): the walkRun folders before
//     folderID in its parent's listing were listed on their own during
//     this pass. A walk goes through a folder's subfolders in the order
//     of its listing, back to back, and would list every folder of the
//     library on its own beside the pass, each listing overtaking the
//     pass's pages: at least twice the pass's calls, and slower than the
//     pass alone. Waiting, it ends as the pass does.
//
// Otherwise (a user's ls or stat of a folder here and there, as soon as
// the mount is up or while a big library's pass runs for minutes) the
// look-up lists its folder on its own, without waiting, and notes it for
// the rule above. A pass stores nothing before its end (see the top of
// this file), so what a look-up that waited finds is whole.
func (f *Folders) awaitPass(ctx context.Context, folderID string) bool {
	f.mu.Lock()
	p := f.pass
	f.mu.Unlock()
	if p == nil {
		return false
	}
	var timeout <-chan time.Time
	switch left := f.listWait - f.clock.Since(p.began); {
	case left > 0:
		t := f.clock.NewTimer(left)
		defer t.Stop()
		timeout = t.Chan()
	case f.walking(p, folderID):
		f.log.Debug("a walk of the tree: waiting for the pass over the library", "folder", folderID)
	default:
		f.listsOwn(p, folderID)
		return false
	}
	select {
	case <-p.done:
		return true
	case <-timeout:
		f.listsOwn(p, folderID)
	case <-ctx.Done():
	}
	return false
}

// listsOwn notes that a look-up lists folderID on its own during the
// pass p.
func (f *Folders) listsOwn(p *libraryPass, folderID string) {
	f.mu.Lock()
	p.own[folderID] = true
	f.mu.Unlock()
}

// walking reports whether a look-up of folderID, during the pass p, is
// part of a walk: the walkRun folders before it in its parent's stored
// listing were listed on their own during p (awaitPass).
func (f *Folders) walking(p *libraryPass, folderID string) bool {
	var before []string // the folders before folderID in its parent's listing, nearest last
	f.each(func(_ string, st *State) bool {
		i := slices.IndexFunc(st.entries, func(e Entry) bool { return e.IsDir && e.ID == folderID })
		if i < 0 {
			return true
		}
		for _, e := range st.entries[:i] {
			if e.IsDir {
				before = append(before, e.ID)
			}
		}
		return false
	})
	if len(before) < walkRun {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range before[len(before)-walkRun:] {
		if !p.own[id] {
			return false
		}
	}
	return true
}

// revalidate lists a stale folder again in the background, unless a pass
// over the library under way will (one that failed, or is waiting to try
// again, will not: the folder is listed on its own).
func (f *Folders) revalidate(folderID string) {
	f.mu.Lock()
	if f.pass != nil || f.stopped || f.revalidating[folderID] || f.ctx.Err() != nil {
		f.mu.Unlock()
		return
	}
	f.revalidating[folderID] = true
	f.bg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.bg.Done()
		defer func() {
			f.mu.Lock()
			delete(f.revalidating, folderID)
			f.mu.Unlock()
		}()
		before, _ := f.Cached(folderID)
		after, err := f.Load(remote.Background(f.ctx), folderID)
		if err != nil {
			f.log.Debug("could not revalidate a folder's saved listing", "folder", folderID, "err", err)
			return
		}
		f.report(folderID, before, after)
	}()
}

// loadSaved stores the listings an earlier mount saved, as stale.
func (f *Folders) loadSaved(saved map[string]snapshot.Folder, took time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lmu.Lock()
	defer f.lmu.Unlock()
	n := 0
	for id, sf := range saved {
		f.listings[id] = &State{entries: sf.Entries, fetched: sf.Listed, upto: f.seq, stale: true}
		n += len(sf.Entries)
	}
	if len(saved) > 0 {
		f.log.Info("showing the listings saved by the last mount until they are checked", "folders", len(saved), "items", n, "took", took.Round(time.Millisecond))
	}
}

// keepInSync runs until ctx ends: a first pass over the library, retried
// until it works, then, every poll, the recent changes, and every full,
// another pass (see the comment at the top of this file).
func (f *Folders) keepInSync(ctx context.Context, poll, full, retry time.Duration) {
	for attempt := 0; ; attempt++ {
		err := f.passOverLibrary(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		wait := min(retry<<min(attempt, 10), 5*time.Minute)
		f.log.Warn("could not list the library; showing what is known, and trying again", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-f.clock.After(wait):
		}
	}
	if poll <= 0 {
		return
	}
	t := f.clock.NewTicker(poll)
	defer t.Stop()
	last := f.clock.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		if !f.wholeLibrary() {
			f.pollUsed(ctx, poll)
			continue
		}
		if full > 0 && f.clock.Since(last) >= full {
			if err := f.passOverLibrary(ctx); err != nil {
				f.log.Debug("pass over the library failed", "err", err)
				continue
			}
			last = f.clock.Now()
			continue
		}
		f.mu.Lock()
		off := f.recentOff
		f.mu.Unlock()
		if off {
			f.pollUsed(ctx, poll)
			continue
		}
		if f.pollChanges(ctx, poll) {
			last = f.clock.Now()
		}
	}
}

// pollChanges polls the latest changes (pollRecent). A server that cannot
// serve such polls is polled folder by folder from then on; too many
// changes, or a listing by last change whose pages did not line up
// (remote.ErrListUnstable: it may have missed some, and would again),
// make a pass over the library instead. It reports whether a pass ran
// to its end.
func (f *Folders) pollChanges(ctx context.Context, poll time.Duration) (passed bool) {
	n, err := f.pollRecent(ctx)
	switch {
	case err == nil:
		f.log.Debug("polled the latest changes", "changed", n)
	case f.pollByFolder(err):
		f.pollUsed(ctx, poll)
	case errors.Is(err, errManyChanges), errors.Is(err, remote.ErrListUnstable):
		f.log.Debug("a poll cannot see every change: listing the whole library", "err", err)
		return f.passOverLibrary(ctx) == nil
	default:
		f.log.Debug("poll failed", "err", err)
	}
	return false
}

// passOverLibrary lists every folder and every file of the location with
// fetchAll, in the background, and stores the listing of every folder.
// Folders it no longer finds are forgotten; changes are reported.
func (f *Folders) passOverLibrary(ctx context.Context) error {
	if !f.wholeLibrary() {
		f.revalidateStale()
		return nil
	}
	f.mu.Lock()
	p := &libraryPass{done: make(chan struct{}), began: f.clock.Now(), own: make(map[string]bool)}
	f.pass = p
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.pass = nil
		f.mu.Unlock()
		close(p.done)
	}()
	ctx, cancel := f.listingContext(remote.Background(ctx))
	defer cancel()
	f.mu.Lock()
	mark := f.polling && !f.recentOff
	f.mu.Unlock()
	if mark {
		// What changes while the pass runs is seen by the next poll.
		if err := f.markRecent(ctx); err != nil && !f.pollByFolder(err) {
			return err
		}
	}
	start := f.begin()
	defer f.end(start)
	children, err := f.listLibrary(ctx)
	if errors.Is(err, remote.ErrAnswerTooLarge) {
		// The whole library at once, in an answer larger than ghlfs takes.
		f.log.Warn(fmt.Sprintf("the server answers the whole library in one answer larger than %d MiB: listing folder by folder instead", remote.MaxListAnswerBytes>>20), "err", err)
		f.mu.Lock()
		f.allOff, f.checked = true, true
		f.mu.Unlock()
		f.revalidateStale()
		return nil
	}
	if err != nil {
		return err
	}
	ended := f.clock.Now() // the TTL runs from here (see fetch)
	ok, err := f.checkAll(ctx, children)
	if err != nil {
		return err
	}
	if !ok {
		f.revalidateStale()
		return nil
	}
	var recheck []string
	for id, entries := range children {
		before, _ := f.Cached(id)
		st, ok := f.keep(id, entries, ended, start, true)
		if !ok {
			recheck = append(recheck, id) // it lags behind the mount's changes
			continue
		}
		f.cfg.Fetched(st.entries)
		f.report(id, before, st)
	}
	// A folder known before that the library no longer holds (unless the
	// mount made it, and the answer does not show it yet).
	var gone []string
	f.each(func(id string, st *State) bool {
		if _, ok := children[id]; !ok && st.start <= start {
			gone = append(gone, id)
		}
		return true
	})
	for _, id := range gone {
		if !f.madeHere(id) {
			f.Invalidate(id)
		}
	}
	f.recheck(ctx, recheck)
	f.mu.Lock()
	f.passes++
	first := f.passes == 1
	f.mu.Unlock()
	if first {
		files := 0
		for _, entries := range children {
			for _, e := range entries {
				if !e.IsDir {
					files++
				}
			}
		}
		f.log.Info("library listed", "folders", len(children), "files", files)
	}
	return nil
}

// listLibrary lists the whole library, by folder.
func (f *Folders) listLibrary(ctx context.Context) (map[string][]Entry, error) {
	// Items of one folder share one parent string.
	var mu sync.Mutex
	parents := make(map[string]string)
	folders, files, err := f.listBoth(ctx, remote.ListQuery{All: true}, func(it *remote.Item) bool {
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
	return children, nil
}

// recheck lists folders on their own, whose whole-library answer lagged
// behind a change made through the mount (or showed it undone elsewhere),
// and reports those that changed.
func (f *Folders) recheck(ctx context.Context, ids []string) {
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		before, _ := f.Cached(id)
		after, err := f.Load(ctx, id)
		if err != nil {
			f.log.Debug("could not list a folder a whole-library answer lagged behind", "folder", id, "err", err)
			continue
		}
		f.report(id, before, after)
	}
}

// revalidateStale lists again, in the background, each folder whose
// listing an earlier mount saved.
func (f *Folders) revalidateStale() {
	var stale []string
	f.each(func(id string, st *State) bool {
		if st.stale {
			stale = append(stale, id)
		}
		return true
	})
	for _, id := range stale {
		f.revalidate(id)
	}
}

// checkAll makes sure, once, that the server honoured fetchAll: a server
// that ignored it would have answered with the root's items only, leaving
// every other folder looking empty. An answer that holds an item inside a
// folder is proof enough; otherwise it lists up to three folders shown as
// empty on their own, and if one holds anything, the strategy is turned
// off. (Emptiness before a removal is judged on a folder's own listing
// anyway.)
func (f *Folders) checkAll(ctx context.Context, children map[string][]Entry) (bool, error) {
	f.mu.Lock()
	checked := f.checked
	f.mu.Unlock()
	if checked {
		return true, nil
	}
	var empty []string
	for id, entries := range children {
		if id != "" && len(entries) > 0 {
			// An item inside a folder: a server that ignored fetchAll
			// would have answered the root's items only.
			empty = nil
			break
		}
		if id != "" {
			empty = append(empty, id)
		}
	}
	slices.Sort(empty)
	for _, id := range empty[:min(len(empty), 3)] {
		own, _, err := f.Fetch(ctx, id)
		if err != nil {
			return false, err // not checked: try again on the next pass
		}
		if len(own) > 0 {
			f.log.Warn("the server ignores fetchAll: listing folder by folder instead")
			f.mu.Lock()
			f.allOff, f.checked = true, true
			f.mu.Unlock()
			return false, nil
		}
	}
	f.mu.Lock()
	f.checked = true
	f.mu.Unlock()
	return true, nil
}

// orderIgnored notes that the server ignores sortBy=updatedAt: polls list
// the folders in use instead.
func (f *Folders) orderIgnored() {
	f.pollsOff("the server does not list by most recent change: polling the folders in use instead")
}

// pollsOff turns polls by last change off, saying why once.
func (f *Folders) pollsOff(why string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.recentOff {
		f.recentOff = true
		f.log.Info(why)
	}
}

// pollByFolder turns polls by last change off if err, from one, says the
// server cannot serve them (another order; the whole library at every
// poll), and reports whether it did.
func (f *Folders) pollByFolder(err error) bool {
	switch {
	case errors.Is(err, remote.ErrOrderIgnored):
		f.orderIgnored()
	case errors.Is(err, remote.ErrUnpaged), errors.Is(err, remote.ErrAnswerTooLarge):
		f.pollsOff("the server answers a listing by most recent change with the whole library at once: polling the folders in use instead")
	default:
		return false
	}
	return true
}

// maxBehind is how many items known, at or before its mark, a poll looks
// over within the margin.
const maxBehind = 50

// markMargin is how far before its mark a poll still looks: the service
// may run on several machines whose clocks differ a little.
var markMargin = 2 * time.Second

// markRecent notes, for each type of item, the time of the latest change
// the service holds now (one call each): the next poll looks at every
// change since. Called as a pass over the library begins, so that what
// changes while it runs is seen by the poll after it.
func (f *Folders) markRecent(ctx context.Context) error {
	ctx, cancel := f.listingContext(remote.Background(ctx))
	defer cancel()
	marks := make(map[string]time.Time)
	for _, typ := range []string{remote.TypeFolder, remote.TypeFile} {
		marks[typ] = time.Time{} // none yet: every item is a change since
		err := f.rc.ListUpdated(ctx, typ, func(it remote.Item) bool {
			marks[typ] = it.UpdatedAt
			return false
		})
		if err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.marks = marks
	f.mu.Unlock()
	return nil
}

// pollRecent asks for the items changed most recently, folders then
// files, newest first, back to the mark the last poll (or pass) left,
// and applies those not known as they are now. When nothing changed,
// that is one call per type.
func (f *Folders) pollRecent(ctx context.Context) (int, error) {
	ctx, cancel := f.listingContext(remote.Background(ctx))
	defer cancel()
	start := f.begin()
	defer f.end(start)
	f.mu.Lock()
	marks := maps.Clone(f.marks)
	f.mu.Unlock()
	next := maps.Clone(marks)
	if next == nil {
		next = make(map[string]time.Time)
	}
	changed := 0
	for _, typ := range []string{remote.TypeFolder, remote.TypeFile} {
		mark, marked := marks[typ]
		idx := &knownIndex{f: f}
		var found []Entry
		first, behind := true, 0
		err := f.rc.ListUpdated(ctx, typ, func(it remote.Item) bool {
			if first {
				// Whatever changes after this answer is newer than it.
				next[typ], first = it.UpdatedAt, false
			}
			if marked && it.UpdatedAt.Before(mark.Add(-markMargin)) {
				return false
			}
			e := entry.Of(it)
			if idx.known(e) {
				// Without a mark (the first poll of a mount whose pass had
				// none), the first item known ends the look. With one, the
				// margin is looked over, up to maxBehind items known (a
				// bulk import shares one time: not all of it, every poll).
				if !it.UpdatedAt.After(mark) {
					behind++
				}
				return marked && behind <= maxBehind
			}
			found = append(found, e)
			return len(found) <= maxRecent
		})
		if err != nil {
			return changed, err
		}
		if len(found) > maxRecent {
			return changed, errManyChanges
		}
		f.applyRecent(ctx, idx, found, start)
		changed += len(found)
	}
	f.mu.Lock()
	f.marks = next
	f.mu.Unlock()
	return changed, nil
}

// knownIndex finds where an item is in the stored listings: a scan of
// them for the first look (a poll that finds nothing new makes one), a
// map built once for more.
type knownIndex struct {
	f     *Folders
	looks int
	where map[string]Entry // id -> the entry stored
}

func (x *knownIndex) find(id string) (Entry, bool) {
	x.looks++
	if x.looks == 1 {
		var found Entry
		ok := false
		x.f.each(func(_ string, st *State) bool {
			if i := slices.IndexFunc(st.entries, func(e Entry) bool { return e.ID == id }); i >= 0 {
				found, ok = st.entries[i], true
			}
			return !ok
		})
		return found, ok
	}
	if x.where == nil {
		x.where = make(map[string]Entry)
		x.f.each(func(_ string, st *State) bool {
			for _, e := range st.entries {
				x.where[e.ID] = e
			}
			return true
		})
	}
	e, ok := x.where[id]
	return e, ok
}

// known reports whether e is stored as it is.
func (x *knownIndex) known(e Entry) bool {
	old, ok := x.find(e.ID)
	return ok && old.Name == e.Name && old.ParentID == e.ParentID && old.ModTime.Equal(e.ModTime) &&
		(e.Size < 0 || old.Size == e.Size)
}

// applyRecent puts entries changed elsewhere, seen by a poll that began
// at start, in the stored listings of their folders (and out of the one
// each was in), and reports the folders changed.
func (f *Folders) applyRecent(ctx context.Context, idx *knownIndex, found []Entry, start uint64) {
	if len(found) == 0 {
		return
	}
	before := make(map[string]*State)
	look := func(id string) {
		if _, ok := before[id]; !ok {
			st, _ := f.Cached(id)
			before[id] = st
		}
	}
	// Oldest first, so that the newest state of an item is the one kept.
	var recheck []string
	for _, e := range slices.Backward(found) {
		if old, ok := idx.find(e.ID); ok && old.ParentID != e.ParentID {
			look(old.ParentID)
			if _, held := f.applyRemote(old.ParentID, change{kind: dropID, id: e.ID}, start); held {
				recheck = append(recheck, old.ParentID)
			}
		}
		look(e.ParentID)
		if _, held := f.applyRemote(e.ParentID, change{kind: putEntry, e: e}, start); held {
			recheck = append(recheck, e.ParentID)
		}
	}
	f.cfg.Fetched(found)
	for id, st := range before {
		after, _ := f.Cached(id)
		f.report(id, st, after)
	}
	f.recheck(ctx, recheck)
}
