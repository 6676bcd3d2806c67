package iktest

import (
	"fmt"
	"mime"
	"path"
	"slices"
	"strings"
)

// The library as a test reads and changes it, without requests: no fault
// applies, nothing is counted.

// Item is one item of the library, deleted ones too.
type Item struct {
	// ID is the item's id now (fileId, folderId); FirstID the one it was
	// made with (a folder's changes under folderid-changes-on-rename).
	ID, FirstID string
	Name        string
	// ParentID is the id of the folder it is in ("" the root); Path its
	// path ("/a/b.txt").
	ParentID, Path string
	Folder         bool
	Deleted        bool
	// Files: the current version's size, id and type, and how many
	// versions the file keeps.
	Size     int64
	Rev      string
	Mime     string
	Versions int
}

// Items is every item, deleted ones too, the oldest first.
func (s *Server) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*node
	for _, n := range s.nodes {
		all = append(all, n)
	}
	slices.SortFunc(all, func(a, b *node) int { return int(a.seq) - int(b.seq) })
	out := make([]Item, 0, len(all))
	for _, n := range all {
		it := Item{ID: n.id, FirstID: n.firstID, Name: n.name, ParentID: s.folderID(n.dir), Path: n.path(), Folder: n.folder, Deleted: n.deleted}
		if !n.folder {
			v := n.current()
			it.Size, it.Rev, it.Mime, it.Versions = int64(len(v.data)), v.id, v.mime, len(n.versions)
		}
		out = append(out, it)
	}
	return out
}

// folderID is the id of the folder at path p: the active one, else the
// last deleted one. mu held.
func (s *Server) folderID(p string) string {
	if p == "" {
		return ""
	}
	var best *node
	for _, n := range s.nodes {
		if n.folder && n.path() == p && (best == nil || !n.deleted && best.deleted || n.deleted == best.deleted && n.seq > best.seq) {
			best = n
		}
	}
	if best == nil {
		return ""
	}
	return best.id
}

// Item is one item by id, deleted or not.
func (s *Server) Item(id string) (Item, bool) {
	for _, it := range s.Items() {
		if it.ID == id {
			return it, true
		}
	}
	return Item{}, false
}

// ByPath is the active item at path p ("/a/b.txt").
func (s *Server) ByPath(p string) (Item, bool) {
	for _, it := range s.Items() {
		if it.Path == p && !it.Deleted {
			return it, true
		}
	}
	return Item{}, false
}

// Content is the bytes of a file's version rev ("" the current one),
// deleted or not.
func (s *Server) Content(id, rev string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[id]
	if n == nil || n.folder {
		return nil, false
	}
	for i := range n.versions {
		if v := n.versions[i]; v.id == rev || rev == "" && i == len(n.versions)-1 {
			return slices.Clone(v.data), true
		}
	}
	return nil, false
}

// VersionIDs is a file's versions, the oldest first.
func (s *Server) VersionIDs(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if n := s.nodes[id]; n != nil {
		for _, v := range n.versions {
			out = append(out, v.id)
		}
	}
	return out
}

// dirOf is the path of active folder id ("" the root). mu held.
func (s *Server) dirOf(id string) string {
	if id == "" {
		return ""
	}
	n := s.nodes[id]
	if n == nil || !n.folder || n.deleted {
		panic(fmt.Sprintf("iktest: no active folder %s", id))
	}
	return n.path()
}

// AddFolder makes a folder in parentID as another client would (its name
// rewritten as the service does), and returns its id.
func (s *Server) AddFolder(parentID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.dirOf(parentID) + "/" + StoredName(name, true)
	s.ensureFolder(p)
	f, _ := s.folderAt(p)
	return f.id
}

// AddFile uploads a file into parentID as another client would, with
// useUniqueFileName=false: a name taken makes a new version. It returns
// the file's id.
func (s *Server) AddFile(parentID, name string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := s.dirOf(parentID)
	name = StoredName(name, false)
	n := s.fileAt(dir + "/" + name)
	if n == nil {
		n = s.add(&node{name: name, dir: dir})
	}
	mt, _, _ := mime.ParseMediaType(mime.TypeByExtension(path.Ext(name)))
	if mt == "" {
		mt = "application/octet-stream"
	}
	s.addVersion(n, slices.Clone(data), mt)
	return n.id
}

// Remove deletes an item for good as another client would (a folder with
// everything below it).
func (s *Server) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[id]; n != nil && !n.deleted {
		s.removeNode(n)
	}
}

// RefuseRemoval makes a bulk delete refuse these file ids (207, errors[]
// with the message "Error in deleting tags", the seed's), until
// AllowRemoval.
func (s *Server) RefuseRemoval(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.refuse[id] = "Error in deleting tags"
	}
}

// AllowRemoval ends every RefuseRemoval.
func (s *Server) AllowRemoval() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refuse)
}

// Tree is the active items by path.
func (s *Server) Tree() map[string]Item {
	out := map[string]Item{}
	for _, it := range s.Items() {
		if !it.Deleted {
			out[strings.TrimPrefix(it.Path, "/")] = it
		}
	}
	return out
}
