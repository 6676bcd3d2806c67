package memtest

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// Status is an item's state in the library.
type Status string

const (
	Active  Status = "active"
	Trashed Status = "trashed"
	Deleted Status = "deleted"
)

// Item is one item of the library as the service holds it, removed ones
// too.
type Item struct {
	remote.Item
	Status Status
	// Versions are a file's versions, the oldest first and the current
	// one last: one where every upload is a new file, and only the
	// current one where the service keeps none (Caps.Versions off).
	Versions []Version
}

// Version is one version of a file.
type Version struct {
	Rev string
	// Num is the version's number, 1 for the first: it stays with the
	// version when an earlier one is removed.
	Num         int
	Size        int64
	ContentType string
	At          time.Time // when it was made
}

// item is an item of the library; guarded by Backend.mu.
type item struct {
	id, name, parent string
	folder           bool
	status           Status
	created, updated time.Time
	versions         []version // files: the current one last
	nums             int       // files: versions numbered so far
}

type version struct {
	rev   string
	num   int // 1 for the first; never reused
	data  []byte
	ctype string
	at    time.Time
}

func (it *item) current() *version { return &it.versions[len(it.versions)-1] }

// urlPrefix is where the public urls of a library's files begin (a
// service with Caps.PublicURL): the id follows.
const urlPrefix = "https://memtest.invalid/files/"

// remoteItem is it as the backend hands it on. mu held.
func (b *Backend) remoteItem(it *item) remote.Item {
	out := remote.Item{ID: it.id, Name: it.name, Type: remote.TypeFolder, ParentID: it.parent, Size: -1,
		CreatedAt: it.created, UpdatedAt: it.updated, Path: b.pathLocked(it)}
	if !it.folder {
		v := it.current()
		out.Type, out.Size, out.ContentType, out.Rev = remote.TypeFile, int64(len(v.data)), v.ctype, v.rev
		if b.caps.PublicURL {
			out.URL = urlPrefix + it.id
		}
	}
	return out
}

// pathLocked is the item's path of names from the root.
func (b *Backend) pathLocked(it *item) string {
	parts := []string{it.name}
	for p := b.items[it.parent]; p != nil; p = b.items[p.parent] {
		parts = append(parts, p.name)
	}
	slices.Reverse(parts)
	return strings.Join(parts, "/")
}

// publicItem is it as Items gives it. mu held.
func (b *Backend) publicItem(it *item) Item {
	out := Item{Item: b.remoteItem(it), Status: it.status}
	out.Deleted = it.status != Active
	for _, v := range it.versions {
		out.Versions = append(out.Versions, Version{Rev: v.rev, Num: v.num, Size: int64(len(v.data)), ContentType: v.ctype, At: v.at})
	}
	return out
}

// sameName compares names as the service does.
func (b *Backend) sameName(a, c string) bool {
	if b.caps.CaseInsensitive {
		return strings.EqualFold(a, c)
	}
	return a == c
}

// stored is the name the service keeps for one it is sent.
func (b *Backend) stored(name string, dir bool) string {
	if b.prof.Rewrite == nil {
		return name
	}
	return b.prof.Rewrite(name, dir)
}

// storedName is the name the service keeps for one it is sent, or its
// refusal of a name no service keeps (400).
func (b *Backend) storedName(name string, dir bool) (string, error) {
	name = b.stored(name, dir)
	if name == "" || name == "." || name == ".." {
		return "", errStatus(http.StatusBadRequest, "the name %q is not allowed", name)
	}
	return name, nil
}

// newName is the name an item made in folder parent gets: 404 when
// parent is no active folder. mu held.
func (b *Backend) newName(parent, name string, dir bool) (string, error) {
	if !b.activeFolder(parent) {
		return "", errStatus(http.StatusNotFound, "the folder %s does not exist", parent)
	}
	return b.storedName(name, dir)
}

// activeFolder reports whether id is the root or an active folder. mu
// held.
func (b *Backend) activeFolder(id string) bool {
	if id == "" {
		return true
	}
	it := b.items[id]
	return it != nil && it.folder && it.status == Active
}

// holder is the active item of folder parent holding name (as the
// service compares names), other than not; nil when none. mu held.
func (b *Backend) holder(parent, name, not string) *item {
	for _, it := range b.sorted() {
		if it.parent == parent && it.status == Active && it.id != not && b.sameName(it.name, name) {
			return it
		}
	}
	return nil
}

// sorted is every item, the oldest first (ties by id). mu held.
func (b *Backend) sorted() []*item {
	out := make([]*item, 0, len(b.items))
	for _, it := range b.items {
		out = append(out, it)
	}
	slices.SortFunc(out, func(x, y *item) int {
		return cmp.Or(x.created.Compare(y.created), strings.Compare(x.id, y.id))
	})
	return out
}

// newItem adds an item. mu held.
func (b *Backend) newItem(parent, name string, folder bool) *item {
	b.seq++
	now := b.clk.Now()
	it := &item{id: b.prof.ID(b.seq, folder, now), name: name, parent: parent, folder: folder, status: Active, created: now, updated: now}
	b.items[it.id] = it
	return it
}

// addVersion makes data it's current version. mu held.
func (b *Backend) addVersion(it *item, data []byte, ctype string) {
	now := b.clk.Now()
	it.nums++
	v := version{num: it.nums, data: data, ctype: ctype, at: now}
	if !b.caps.NewIDPerUpload && b.prof.Rev != nil {
		b.revs++
		v.rev = b.prof.Rev(b.revs, v.num)
	}
	if !b.caps.Versions {
		it.versions = it.versions[:0]
	}
	it.versions = append(it.versions, v)
	it.updated = now
}

// mkdir makes a folder, as the service answers a create: a name it
// rewrites, a clash as its profile says. mu held.
func (b *Backend) mkdir(parent, name string) (*item, error) {
	name, err := b.newName(parent, name, true)
	if err != nil {
		return nil, err
	}
	if b.caps.UniqueNames {
		if h := b.holder(parent, name, ""); h != nil {
			switch {
			case !h.folder || b.prof.FolderClash == ClashRefuse:
				return nil, errStatus(http.StatusConflict, "%q is taken", name)
			case b.prof.FolderClash == ClashSame:
				return h, nil
			}
			for n := 2; ; n++ {
				if alt := fmt.Sprintf("%s(%d)", name, n); b.holder(parent, alt, "") == nil {
					name = alt
					break
				}
			}
		}
	}
	return b.newItem(parent, name, true), nil
}

// put stores an upload's bytes: a new file, or a new version of the file
// holding the name where the service keeps versions under one id. mu
// held.
func (b *Backend) put(parent, name string, data []byte, ctype string) (*item, error) {
	name, err := b.newName(parent, name, false)
	if err != nil {
		return nil, err
	}
	if b.caps.UniqueNames {
		if h := b.holder(parent, name, ""); h != nil {
			if h.folder || b.caps.NewIDPerUpload {
				return nil, errStatus(http.StatusConflict, "%q is taken", name)
			}
			b.addVersion(h, data, ctype)
			return h, nil
		}
	}
	it := b.newItem(parent, name, false)
	b.addVersion(it, data, ctype)
	return it, nil
}

// removeTree gives it and everything active below it status s. mu held.
func (b *Backend) removeTree(it *item, s Status) {
	now := b.clk.Now()
	var walk func(*item)
	walk = func(x *item) {
		x.status, x.updated = s, now
		if !x.folder {
			return
		}
		for _, c := range b.items {
			if c.parent == x.id && (c.status == Active || s == Deleted) && c.status != Deleted {
				walk(c)
			}
		}
	}
	walk(it)
}

// The library as a test reads and changes it, without calls: none of
// these counts, and no fault applies.

// AddFolder makes a folder in parentID ("" = the root), as another client
// would, and returns its id (on a taken name, as the service answers a
// create). It panics when parentID is no active folder.
func (b *Backend) AddFolder(parentID, name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	it, err := b.mkdir(parentID, name)
	if err != nil {
		panic(fmt.Sprintf("memtest: AddFolder(%q, %q): %v", parentID, name, err))
	}
	return it.id
}

// AddFile uploads a file into parentID as another client would, and
// returns its id: a new file, or, where names are unique and the service
// keeps versions under one id, a new version of the file holding the
// name. The content type is guessed from the name. It panics when
// parentID is no active folder or a folder holds the name.
func (b *Backend) AddFile(parentID, name string, data []byte) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	it, err := b.put(parentID, name, slices.Clone(data), remote.TypeByName(name))
	if err != nil {
		panic(fmt.Sprintf("memtest: AddFile(%q, %q): %v", parentID, name, err))
	}
	return it.id
}

// SetName renames an item as another client would (the service's rules
// apply: a rewritten name; no check of a taken one).
func (b *Backend) SetName(id, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if it := b.items[id]; it != nil {
		it.name, it.updated = b.stored(name, it.folder), b.clk.Now()
	}
}

// Delete removes an item and what it holds as another client would: to
// the trash, or for good when permanent.
func (b *Backend) Delete(id string, permanent bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if it := b.items[id]; it != nil && it.status != Deleted {
		s := Trashed
		if permanent {
			s = Deleted
		}
		b.removeTree(it, s)
	}
}

// Items returns every item of the library, removed ones too, the oldest
// first.
func (b *Backend) Items() []Item {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Item
	for _, it := range b.sorted() {
		out = append(out, b.publicItem(it))
	}
	return out
}

// Item returns one item, whatever its status.
func (b *Backend) Item(id string) (Item, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	it := b.items[id]
	if it == nil {
		return Item{}, false
	}
	return b.publicItem(it), true
}

// Content returns a copy of the bytes of a file's version rev ("" = the
// current one), whatever its status.
func (b *Backend) Content(id, rev string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.versionLocked(id, rev, false)
	if !ok {
		return nil, false
	}
	return slices.Clone(v.data), true
}

// versionLocked finds a file's version ("" = the current one); of an
// active file only, when active. mu held.
func (b *Backend) versionLocked(id, rev string, active bool) (*version, bool) {
	it := b.items[id]
	if it == nil || it.folder || (active && it.status != Active) {
		return nil, false
	}
	if rev == "" {
		return it.current(), true
	}
	for i := range it.versions {
		if it.versions[i].rev == rev {
			return &it.versions[i], true
		}
	}
	return nil, false
}

// Tree returns the library's active items by path ("Docs/a.txt"); a path
// two items share (where names need not be unique) is followed by " #"
// and the id for all but the oldest.
func (b *Backend) Tree() map[string]Item {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]Item{}
	for _, it := range b.sorted() {
		if it.status != Active || !b.reachable(it) {
			continue
		}
		p := b.pathLocked(it)
		if _, dup := out[p]; dup {
			p += " #" + it.id
		}
		out[p] = b.publicItem(it)
	}
	return out
}

// reachable reports whether every folder above it is active. mu held.
func (b *Backend) reachable(it *item) bool {
	for p := it.parent; p != ""; p = b.items[p].parent {
		if b.items[p] == nil || b.items[p].status != Active {
			return false
		}
	}
	return true
}
