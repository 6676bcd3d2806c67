package ocmtest

import (
	"cmp"
	"errors"
	"fmt"
	"mime"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The library as a test reads and changes it, without requests: no fault
// applies, nothing is counted.

// Item is one item of the library (the home folder apart), trashed and
// purged ones too.
type Item struct {
	// ID is the item's GUID; ParentID its folder's id as the API writes
	// it ("self" for the home folder, or its GUID under home-guid).
	ID, Name, ParentID string
	Folder             bool
	// Trashed: in the trash, itself or under a folder that is; Purged:
	// gone for good (Trashed too).
	Trashed, Purged bool
	// Files: the current version's size, number (Rev: the same, as the
	// API writes it) and type; the numbers of the versions kept, the
	// oldest first; who reserved it (login name, "" none).
	Size       int64
	Version    int
	Rev        string
	Mime       string
	Versions   []int
	ReservedBy string
	Created    time.Time
	Modified   time.Time
}

// HomeID is the home folder's id as the API writes it: "self", or its
// GUID under home-guid.
func (s *Server) HomeID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicID(s.home)
}

// HomeGUID is the home folder's GUID (what home-guid writes).
func (s *Server) HomeGUID() string { return s.home.id }

// Items is every item, trashed and purged ones too, the oldest first.
func (s *Server) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*node
	for _, n := range s.nodes {
		if n != s.home {
			all = append(all, n)
		}
	}
	slices.SortFunc(all, func(a, b *node) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Item, 0, len(all))
	for _, n := range all {
		out = append(out, s.item(n))
	}
	return out
}

// item is n as Items writes it. mu held.
func (s *Server) item(n *node) Item {
	it := Item{ID: n.id, Name: n.name, ParentID: s.publicID(n.parent), Folder: n.folder, Trashed: inTrash(n),
		Purged: n.purged, Created: n.created, Modified: n.modified}
	if n.folder {
		return it
	}
	v := n.current()
	it.Size, it.Version, it.Rev, it.Mime = int64(len(v.data)), v.num, strconv.Itoa(v.num), v.mime
	for _, v := range n.versions {
		it.Versions = append(it.Versions, v.num)
	}
	if n.reservedBy != nil {
		it.ReservedBy = n.reservedBy.login
	}
	return it
}

// Item is one item by id, trashed or not.
func (s *Server) Item(id string) (Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[id]
	if n == nil || n == s.home {
		return Item{}, false
	}
	return s.item(n), true
}

// Tree is the items outside the trash by path from the home folder
// ("a/b.txt").
func (s *Server) Tree() map[string]Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Item{}
	for _, n := range s.nodes {
		if n == s.home || inTrash(n) {
			continue
		}
		p := n.name
		for f := n.parent; f != s.home; f = f.parent {
			p = f.name + "/" + p
		}
		out[p] = s.item(n)
	}
	return out
}

// ByPath is the item outside the trash at path p from the home folder
// ("a/b.txt", names exact).
func (s *Server) ByPath(p string) (Item, bool) {
	it, found := s.Tree()[strings.Trim(p, "/")]
	return it, found
}

// Content is the bytes of a file's version rev ("" the current one, else
// its number), trashed or not.
func (s *Server) Content(id, rev string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[id]
	if n == nil || n.folder {
		return nil, false
	}
	for _, v := range n.versions {
		if rev == "" && v == n.current() || rev == strconv.Itoa(v.num) {
			return slices.Clone(v.data), true
		}
	}
	return nil, false
}

// resolve is the folder or file a test names: "" and "self" the home
// folder. mu held.
func (s *Server) resolve(id string) *node {
	if id == "" {
		return s.home
	}
	if n := s.lookup(id); n != nil && !n.purged {
		return n
	}
	return nil
}

// activeFolder is the folder of id outside the trash, or a panic (a
// test's mistake). mu held.
func (s *Server) activeFolder(id string) *node {
	f := s.resolve(id)
	if f == nil || !f.folder || inTrash(f) {
		panic(fmt.Sprintf("ocmtest: no folder %s outside the trash", id))
	}
	return f
}

// AddFolder makes a folder in parentID ("" or "self": the home folder)
// as another client would (a name taken, ignoring case, gives name(2)),
// and returns its id.
func (s *Server) AddFolder(parentID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.activeFolder(parentID)
	return s.add(p, s.freeName(p, name, true, nil), true, s.owner).id
}

// AddFile uploads a file into parentID as another client would: a name
// the folder holds, ignoring case, is a new version of that file. It
// returns the file's id.
func (s *Server) AddFile(parentID, name string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.activeFolder(parentID)
	n := s.taken(p, name, nil)
	if n != nil && n.folder {
		panic(fmt.Sprintf("ocmtest: %s is a folder's name", name))
	}
	if n == nil {
		n = s.add(p, name, false, s.owner)
	}
	mt, _, _ := mime.ParseMediaType(mime.TypeByExtension(path.Ext(name)))
	s.addVersion(n, slices.Clone(data), cmp.Or(mt, "application/octet-stream"), s.owner)
	return n.id
}

// Remove puts an item in the trash as another client would (REST deletes
// go to the trash), a folder with what it holds.
func (s *Server) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.resolve(id); n != nil && n != s.home {
		n.trashed = true
	}
}

// Restore takes an item out of the trash (the UI's restore: no REST
// route is known). A name its folder took meanwhile gives name(2); an
// item whose folder is itself in the trash, or purged, is not restored.
func (s *Server) Restore(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.resolve(id)
	switch {
	case n == nil || n == s.home:
		return fmt.Errorf("ocmtest: no item %s", id)
	case !n.trashed:
		return fmt.Errorf("ocmtest: %s is not itself in the trash", id)
	case inTrash(n.parent):
		return errors.New("ocmtest: its folder is in the trash")
	}
	n.name = s.freeName(n.parent, n.name, n.folder, n)
	n.trashed = false
	return nil
}

// Purge deletes an item for good (the trash's purge), a folder with what
// it holds: Items still lists it, Purged.
func (s *Server) Purge(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.resolve(id)
	if n == nil || n == s.home {
		return
	}
	for _, m := range s.nodes {
		if below(m, n) {
			m.trashed, m.purged = true, true
		}
	}
}

// Reserve reserves a file as the user of login name ("" ends any
// reservation), as another client would.
func (s *Server) Reserve(id, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.resolve(id)
	if n == nil || n.folder {
		panic(fmt.Sprintf("ocmtest: no file %s", id))
	}
	n.reservedBy = nil
	if login != "" {
		n.reservedBy, n.reservedAt = s.userNamed(login), s.now()
	}
}
