package listing

import (
	"cmp"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/snapshot"
)

// journalGrace is how long a change outlives the fetches it could be
// missing from.
const journalGrace = 10 * time.Second

// lagAllowance is how long at most a change made through the mount is
// held over whole-library answers that do not show it yet: past it, such
// an answer is taken as it comes (the change was undone elsewhere, or the
// service lags more than that).
const lagAllowance = 10 * time.Minute

type changeKind int

const (
	putEntry changeKind = iota // add or replace an entry (by ID)
	dropID                     // remove the entry with an id
	renameID                   // give the entry with an id a new name
	locateID                   // give the entry with an id the url of e, if it has none
)

// change is one change made through the mount to a folder's listing.
type change struct {
	seq  uint64
	at   time.Time
	kind changeKind
	e    Entry  // putEntry, locateID
	id   string // dropID, renameID
	name string // renameID
	// settled is set once the change is held over whole-library answers
	// no more: one showed it.
	settled bool
}

// itemID is the id of the item the change is about.
func (c change) itemID() string {
	if c.kind == putEntry || c.kind == locateID {
		return c.e.ID
	}
	return c.id
}

// shownBy reports whether a listing in which the item is e (or, when not
// found, is absent) shows the change made.
func (c change) shownBy(e Entry, found bool) bool {
	switch c.kind {
	case putEntry:
		return found && e.Name == c.e.Name
	case dropID:
		return !found
	case renameID:
		return found && e.Name == c.name
	}
	return true // locateID: nothing a listing could undo
}

// applyAll returns entries with the changes cs made, in order; entries
// may be changed. It costs one pass over entries, whatever the number of
// changes (a whole-library answer may take thousands at once).
func applyAll(entries []Entry, cs []change) []Entry {
	if len(cs) <= 4 {
		for _, c := range cs {
			entries = c.apply(entries)
		}
		return entries
	}
	at := make(map[string]int, len(entries)) // id -> index; -1: dropped
	for i, e := range entries {
		at[e.ID] = i
	}
	dropped := false
	for _, c := range cs {
		i, ok := at[c.itemID()]
		if ok && i < 0 {
			ok = false
		}
		switch c.kind {
		case putEntry:
			if ok {
				entries[i] = c.e
			} else {
				at[c.e.ID] = len(entries)
				entries = append(entries, c.e)
			}
		case dropID:
			if ok {
				at[c.id] = -1
				entries[i].ID, dropped = "", true
			}
		case renameID:
			if ok {
				entries[i].Name = c.name
			}
		case locateID:
			if ok && entries[i].URL() == "" {
				entries[i].SetURL(c.e.URL())
			}
		}
	}
	if dropped {
		entries = slices.DeleteFunc(entries, func(e Entry) bool { return e.ID == "" })
	}
	return entries
}

// apply returns entries with c made; entries may be changed.
func (c change) apply(entries []Entry) []Entry {
	switch c.kind {
	case putEntry:
		return append(entry.Without(entries, c.e.ID), c.e)
	case dropID:
		return entry.Without(entries, c.id)
	case renameID:
		for i := range entries {
			if entries[i].ID == c.id {
				entries[i].Name = c.name
			}
		}
	case locateID:
		for i := range entries {
			if entries[i].ID == c.e.ID && entries[i].URL() == "" {
				entries[i].SetURL(c.e.URL())
			}
		}
	}
	return entries
}

// settleLocked returns the changes of a folder's journal that a listing
// of it (entries) that began at start needs applied: those noted since it
// began. A whole-library answer (whole) settles the changes held that it
// shows, each only once every earlier change to the same item is (a file
// uploaded and then removed is absent before it shows, as after); one
// that does not show a change held makes settleLocked report false. The
// folder's own listing settles nothing: that it does not show a change
// may be the doing of another change of the mount's still under way (a
// copy being sent to the trash), and it is taken as it comes anyway.
// f.mu is held.
func (f *Folders) settleLocked(folderID string, entries []Entry, start uint64, whole bool) ([]change, bool) {
	j := f.journal[folderID]
	held := whole && f.wholeLocked()
	var out []change
	var byID map[string]Entry
	var blocked map[string]bool
	ok := true
	for i := range j {
		c := &j[i]
		if c.seq > start {
			out = append(out, *c)
			continue
		}
		if !held || c.settled {
			continue
		}
		if byID == nil {
			byID = make(map[string]Entry, len(entries))
			for _, e := range entries {
				byID[e.ID] = e
			}
			blocked = make(map[string]bool)
		}
		id := f.listedIDLocked(c.itemID())
		e, found := byID[id]
		if !blocked[id] && c.shownBy(e, found) {
			c.settled = true
			continue
		}
		blocked[id] = true
		ok = false
	}
	return out, ok
}

// heldLocked reports whether a change made through the mount to item id
// of a folder is held, and a whole-library answer in which the item is e
// (or, when not found, absent) does not show it: then that answer must
// not be taken for the item. f.mu is held.
func (f *Folders) heldLocked(folderID, id string, e Entry, found bool) bool {
	if !f.wholeLocked() {
		return false
	}
	for _, c := range f.journal[folderID] {
		if !c.settled && f.listedIDLocked(c.itemID()) == id && !c.shownBy(e, found) {
			return true
		}
	}
	return false
}

// listedIDLocked is the id listings show for the item id: the listed id
// of an upload whose answer gave another (claims.go), else id. A change
// noted under an upload's answer is shown by a listing under the listed
// one. f.mu is held.
func (f *Folders) listedIDLocked(id string) string {
	if x, ok := f.adopted[id]; ok {
		return x.ID
	}
	return id
}

// wholeLocked reports whether whole-library answers are in use (and so
// changes are kept until one shows them). f.mu is held.
func (f *Folders) wholeLocked() bool { return f.listAll && !f.allOff }

// NotePut notes that the mount put e in folderID (an upload landed): e
// is the entry that stands for it, by its id.
func (f *Folders) NotePut(folderID string, e Entry) {
	f.note(folderID, change{kind: putEntry, e: e})
}

// NoteDrop notes that the mount removed (or found gone) the item id of
// folderID.
func (f *Folders) NoteDrop(folderID, id string) {
	f.note(folderID, change{kind: dropID, id: id})
}

// NoteLocated notes where the bytes of e, a file of folderID, are (a
// url learnt from a listing of its own): the stored listing learns it,
// without being listed again, unless it no longer holds the file.
func (f *Folders) NoteLocated(folderID string, e Entry) {
	f.note(folderID, change{kind: locateID, e: e})
}

// note records a change made through the mount, and applies it to the
// stored listing.
func (f *Folders) note(folderID string, c change) {
	f.mu.Lock()
	cs := []change{c}
	if a, ok := f.listedAs[c.id]; ok && c.kind == dropID {
		// The file an upload was found to be: the upload's own entry (by
		// its answer's id, which the journal may hold from its landing)
		// goes too, else resolveLocked would bring the file back.
		cs = append(cs, change{kind: dropID, id: a})
	}
	var adopted, guesses []adoption
	for _, c := range cs {
		f.seq++
		c.seq, c.at = f.seq, f.clock.Now()
		f.journal[folderID] = append(f.journal[folderID], c)
		if old, ok := f.Cached(folderID); ok {
			if c.kind == putEntry && c.e.Unconfirmed() {
				// The listing may hold the upload already (a listing that
				// began after it landed).
				adopted, guesses = f.matchLocked(folderID, old.entries)
			}
			entries := c.apply(slices.Clone(old.entries))
			entry.Sort(entries)
			if resolved, changed := f.resolveLocked(entries, true); changed {
				entries = resolved
				entry.Sort(entries)
			}
			f.storeLocked(folderID, &State{entries: entries, fetched: old.fetched, start: old.start, upto: c.seq, stale: old.stale})
		}
		f.pruneLocked(folderID, c.at)
	}
	f.mu.Unlock()
	f.tellAdopted(adopted)
	f.adoptGuesses(guesses)
}

// applyRemote applies to a folder's stored listing a change made
// elsewhere, seen by a poll that began at start, unless a change to the
// same item was made through the mount since (it is newer than what the
// poll saw), or one held that the poll's answer (a whole-library one,
// which may lag) does not show: then it reports held, and the folder is
// to be listed on its own. It is not journaled: a fetch shows what the
// server holds. It reports whether the listing changed.
func (f *Folders) applyRemote(folderID string, c change, start uint64) (changed, held bool) {
	f.mu.Lock()
	id := c.itemID()
	for _, j := range f.journal[folderID] {
		if j.seq > start && j.itemID() == id {
			f.mu.Unlock()
			return false, false
		}
	}
	if f.heldLocked(folderID, id, c.e, c.kind == putEntry) {
		f.mu.Unlock()
		return false, true
	}
	old, ok := f.Cached(folderID)
	if !ok {
		f.mu.Unlock()
		return false, false
	}
	entries := c.apply(slices.Clone(old.entries))
	entry.Sort(entries)
	adopted, guesses := f.matchLocked(folderID, entries)
	if resolved, changed := f.resolveLocked(entries, true); changed {
		entries = resolved
		entry.Sort(entries)
	}
	f.storeLocked(folderID, &State{entries: entries, fetched: old.fetched, start: old.start, upto: old.upto, stale: old.stale})
	f.mu.Unlock()
	f.tellAdopted(adopted)
	f.adoptGuesses(guesses)
	return true, false
}

// pruneLocked drops the changes of a folder that every fetch under way
// began after, once they are older than the grace; the caller holds mu.
func (f *Folders) pruneLocked(folderID string, now time.Time) {
	oldest := f.seq + 1
	for s := range f.inflight {
		oldest = min(oldest, s+1)
	}
	j := f.journal[folderID]
	whole := f.wholeLocked()
	n := 0
	for n < len(j) && j[n].seq < oldest && now.Sub(j[n].at) >= journalGrace &&
		(!whole || j[n].settled || now.Sub(j[n].at) >= lagAllowance) {
		n++
	}
	switch {
	case n == len(j):
		delete(f.journal, folderID)
	case n > 0:
		f.journal[folderID] = slices.Clone(j[n:])
	}
}

// held returns the changes made through the mount, within lagAllowance,
// that are still held (no whole-library answer has shown them yet): the
// next mount's first answers may not show them either (saved with the
// listings, package snapshot). A url learnt (locateID) is left out: no
// listing could undo it.
func (f *Folders) held() []snapshot.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.wholeLocked() {
		return nil
	}
	now := f.clock.Now()
	type held struct {
		folder string
		c      change
	}
	var hs []held
	for id, j := range f.journal {
		for _, c := range j {
			if !c.settled && now.Sub(c.at) < lagAllowance && c.kind != locateID {
				hs = append(hs, held{id, c})
			}
		}
	}
	slices.SortFunc(hs, func(a, b held) int { return cmp.Compare(a.c.seq, b.c.seq) })
	out := make([]snapshot.Change, 0, len(hs))
	for _, h := range hs {
		out = append(out, snapshot.Change{Folder: h.folder, Kind: savedKinds[h.c.kind], At: h.c.at, Entry: h.c.e, ID: h.c.id, Name: h.c.name})
	}
	return out
}

// savedKinds are the kinds of change as the snapshot keeps them; a url
// learnt (locateID) is not kept.
var savedKinds = map[changeKind]snapshot.Kind{putEntry: snapshot.Put, dropID: snapshot.Drop, renameID: snapshot.Rename}

// loadChanges takes up the changes an earlier mount made that no
// whole-library answer had shown when it ended: they are held over this
// mount's whole-library answers as its own are (the listings it saved
// show them already). Those older than lagAllowance are dropped.
func (f *Folders) loadChanges(cs []snapshot.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	n := 0
	for _, sc := range cs {
		if now.Sub(sc.At) >= lagAllowance {
			continue
		}
		// seq 0: older than any fetch of this mount.
		c := change{at: sc.At, e: sc.Entry, id: sc.ID, name: sc.Name}
		switch sc.Kind {
		case snapshot.Put:
			c.kind = putEntry
		case snapshot.Drop:
			c.kind = dropID
		case snapshot.Rename:
			c.kind = renameID
		default:
			continue
		}
		f.journal[sc.Folder] = append(f.journal[sc.Folder], c)
		n++
	}
	if n > 0 {
		f.log.Debug("held over the whole-library listings until they show them: changes the last mount made", "changes", n)
	}
}

// madeHere reports whether folder id was made through the mount, and no
// whole-library answer has shown it yet.
func (f *Folders) madeHere(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.journal {
		for _, c := range j {
			if c.kind == putEntry && c.e.ID == id && !c.settled {
				return true
			}
		}
	}
	return false
}
