package index

import (
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/listing"
)

// What the records of a folder change in its listing: each record has a
// part (SetPart), and a folder's overlay is its records' parts together,
// rebuilt when read after one changed.

// Part is one record's part of its folder's overlay.
type Part struct {
	ParentID string
	Hides    []string          // API ids not shown
	Rename   map[string]string // API id -> the name shown for it
	Entry    *Entry            // the record, shown with its own bytes
	Sent     []Sent            // its uploads under way (or whose answer was lost)
	// Left is what the record still changes in the folder it was moved
	// from, while its copy in the API (Hides), or an upload it sent
	// there (Sent), has not followed it: nil when there is none. Its
	// ParentID is that folder; its Entry, Rename and Left are not read.
	Left *Part
}

// folders are the folders the part changes.
func (p Part) folders() []string {
	if p.Left != nil && p.Left.ParentID != p.ParentID {
		return []string{p.ParentID, p.Left.ParentID}
	}
	return []string{p.ParentID}
}

// in is the part's part in folder folderID.
func (p Part) in(folderID string) Part {
	if p.ParentID != folderID && p.Left != nil && p.Left.ParentID == folderID {
		return Part{ParentID: folderID, Hides: p.Left.Hides, Sent: p.Left.Sent}
	}
	return p
}

// Sent is an upload under way: until its answer is in, a listing may
// hold it as a file the mount does not know yet. It is also a removed
// file's upload whose answer's id no listing has shown: a listing may
// hold it under another id until the removal finds it.
type Sent struct {
	Name string
	Size int64
	At   time.Time // when it was sent (this machine's clock; a claim's: the API client's)
	// Until is when its answer came, on At's clock: a file created later
	// is another. Zero while no answer is in.
	Until time.Time
}

func (p Part) empty() bool {
	return p.Entry == nil && len(p.Hides) == 0 && len(p.Rename) == 0 && len(p.Sent) == 0
}

// overlay is what the records of one folder change in its listing.
type overlay struct {
	gen     uint64            // counts the changes
	hidden  map[string]bool   // API ids not shown
	renamed map[string]string // API id -> the name shown for it
	shown   []Entry           // records shown with their own bytes
	sent    []Sent            // uploads under way (or whose answer was lost)
}

// ViewGen tells whether a folder's view is still what its records and the
// keys of the API copies make it.
type ViewGen struct{ overlay, keys uint64 }

// SetPart stores a record's part of its folder's overlay; the folders it
// was and is in are rebuilt when next read.
func (ix *Index[R]) SetPart(r R, p Part) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old, had := ix.parts[r]
	if had {
		ix.countNamesLocked(old, -1)
		for _, f := range old.folders() {
			delete(ix.byFolder[f], r)
			if len(ix.byFolder[f]) == 0 {
				delete(ix.byFolder, f)
			}
			ix.stale[f] = true
		}
	}
	if p.Left != nil && p.Left.empty() {
		p.Left = nil
	}
	if p.empty() && p.Left == nil {
		delete(ix.parts, r)
		if !had {
			ix.stale[p.ParentID] = true
		}
		return
	}
	ix.parts[r] = p
	ix.countNamesLocked(p, 1)
	for _, f := range p.folders() {
		if ix.byFolder[f] == nil {
			ix.byFolder[f] = make(map[R]bool)
		}
		ix.byFolder[f][r] = true
		ix.stale[f] = true
	}
}

// Gen returns the generation a folder's view has now: it changes
// whenever what its records change in its listing, or an API copy's key,
// does.
func (ix *Index[R]) Gen(folderID string) ViewGen {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	_, gen := ix.overlayLocked(folderID)
	return gen
}

func (ix *Index[R]) overlayLocked(folderID string) (*overlay, ViewGen) {
	if ix.stale[folderID] {
		delete(ix.stale, folderID)
		ix.reindexLocked(folderID)
	}
	o := ix.overlays[folderID]
	if o == nil {
		return nil, ViewGen{keys: ix.keysGen}
	}
	return o, ViewGen{o.gen, ix.keysGen}
}

// Shows reports whether the records of a folder show an entry named
// name in it (their own, or a listed file under the name they give it):
// the only names a view holds that its listing does not.
func (ix *Index[R]) Shows(folderID, name string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.names[folderID][name] > 0
}

// names are the names a part shows in its folder: its record's entry's,
// and those it gives listed files. (What it changes in the folder it
// was moved from, Left, only hides.)
func (p Part) names() []string {
	var out []string
	if p.Entry != nil {
		out = append(out, p.Entry.Name)
	}
	for _, name := range p.Rename {
		out = append(out, name)
	}
	return out
}

// countNamesLocked adds d to the counts of the names p shows. The caller
// holds mu.
func (ix *Index[R]) countNamesLocked(p Part, d int) {
	for _, name := range p.names() {
		m := ix.names[p.ParentID]
		if m == nil {
			m = make(map[string]int)
			ix.names[p.ParentID] = m
		}
		if m[name] += d; m[name] <= 0 {
			delete(m, name)
			if len(m) == 0 {
				delete(ix.names, p.ParentID)
			}
		}
	}
}

// View returns a folder's listing st as the mount shows it, the listing
// it was built from and the generation of the records' part. The records
// are taken first, and then the listing (Folders.Refresh) and the keys of
// the API copies, at one instant: a record that lands shows its upload in
// the listing before it stops showing its own entry, so taken the other
// way round, or apart, a file showed twice (the record's entry beside its
// upload, keyed as the file already) or not at all.
func (ix *Index[R]) View(folderID string, st *listing.State) ([]Entry, *listing.State, ViewGen) {
	ix.mu.Lock()
	o, gen := ix.overlayLocked(folderID)
	st = ix.folders.Refresh(folderID, st) // lock order: ix.mu, then folders.mu
	entries := st.Entries()
	// A file listed under another id than its upload's answer gave is
	// known by the answer's until the queue learns the listed one.
	alias := ix.folders.Aliases(entries)
	if len(ix.keys) > 0 {
		keyed := entries
		for i, e := range entries {
			k, ok := ix.keys[e.ID]
			if !ok && alias != nil {
				k, ok = ix.keys[alias[e.ID]]
			}
			if ok {
				if &keyed[0] == &entries[0] {
					keyed = slices.Clone(entries)
				}
				keyed[i].Key = k
			}
		}
		entries = keyed
	}
	ix.mu.Unlock()
	return o.apply(entries, alias), st, gen // o is never changed once built
}

func (ix *Index[R]) reindexLocked(folderID string) {
	o := &overlay{hidden: map[string]bool{}, renamed: map[string]string{}}
	if prev := ix.overlays[folderID]; prev != nil {
		o.gen = prev.gen
	}
	o.gen++
	for r := range ix.byFolder[folderID] {
		p := ix.parts[r].in(folderID)
		for _, id := range p.Hides {
			if id != "" {
				o.hidden[id] = true
			}
		}
		for id, name := range p.Rename {
			o.renamed[id] = name
		}
		if p.Entry != nil {
			o.shown = append(o.shown, *p.Entry)
		}
		o.sent = append(o.sent, p.Sent...)
	}
	ix.overlays[folderID] = o
}

// sentSkew is how far a server's clock may be behind this one: a copy
// created up to that long before an upload was sent may be that upload.
const sentSkew = 10 * time.Minute

// isSent reports whether e, a file no record knows, looks like an upload
// under way: same name, same size, created since it was sent.
func (o *overlay) isSent(e Entry) bool {
	for _, a := range o.sent {
		if e.Name != a.Name || (e.Size >= 0 && e.Size != a.Size) {
			continue
		}
		// When it was created, on the service's clock: as listed, else
		// its last change (the same, for a file just made).
		at := e.Created()
		if at.IsZero() {
			at = e.ModTime
		}
		if at.IsZero() || (!at.Before(a.At.Add(-sentSkew)) && (a.Until.IsZero() || !at.After(a.Until.Add(sentSkew)))) {
			return true
		}
	}
	return false
}

// apply returns a folder's API entries as the mount shows them. alias
// gives, for a listed id, the id an upload's answer gave the same file:
// the records may know it by that one still.
func (o *overlay) apply(entries []Entry, alias map[string]string) []Entry {
	if o == nil || (len(o.hidden) == 0 && len(o.renamed) == 0 && len(o.shown) == 0 && len(o.sent) == 0) {
		return entries
	}
	// A file shown by its record is shown once: an API copy that holds
	// the same key (the record's upload, landed) gives way to it.
	shownKeys := make(map[string]bool, len(o.shown))
	for _, e := range o.shown {
		shownKeys[e.Key] = true
	}
	out := make([]Entry, 0, len(entries)+len(o.shown))
	for _, e := range entries {
		a, aliased := alias[e.ID]
		if o.hidden[e.ID] || (aliased && o.hidden[a]) || shownKeys[e.Key] || (e.Key == e.ID && !e.IsDir && o.isSent(e)) {
			continue
		}
		if name, ok := o.renamed[e.ID]; ok {
			e.Name = name
		} else if name, ok := o.renamed[a]; ok && aliased {
			e.Name = name
		}
		out = append(out, e)
	}
	return append(out, o.shown...)
}
