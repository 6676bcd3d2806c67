package fs

import (
	"sync"

	gofs "github.com/hanwen/go-fuse/v2/fs"

	"github.com/ghlfs/ghlfs/cache"
)

// nodeState is what ghlfs knows of one inode, shared by every node object
// made for its number. go-fuse may keep an object made by an earlier
// look-up and drop the one a new look-up made (concurrent look-ups of one
// number are merged), so a look-up cannot update "its" object: it updates
// the state, which whichever object go-fuse kept reads.
type nodeState struct {
	mu    sync.Mutex
	entry cache.Entry // guarded by mu
	view  *dirView    // guarded by mu; folders: the names of the last listing seen
	// served is, for a folder, the view the kernel's readdir cache may hold
	// (OpendirHandle): an open of another view clears that cache.
	served *dirView // guarded by mu
	// unlinked is set once the file was removed (or replaced by a rename):
	// an open file of it then says nlink 0.
	unlinked bool // guarded by mu
	// content names the bytes the kernel may hold in its page cache for
	// this inode (cache.Handle.ContentID): an open of other bytes drops
	// them.
	content string // guarded by mu
	// opens and passes count the open files read the ordinary way and by
	// passthrough; passID names the bytes passthrough serves (passthrough.go).
	opens, passes int    // guarded by mu
	passID        string // guarded by mu
}

func (st *nodeState) get() cache.Entry {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.entry
}

// set takes a fresh look-up's entry. A file removed is not brought back
// by a look-up of its open descriptor's stale name.
func (st *nodeState) set(e cache.Entry) {
	st.mu.Lock()
	st.entry = e
	st.unlinked = false
	st.mu.Unlock()
}

// now is the file's name and whether it was removed, as this inode
// knows them now (an open file asks at its first write).
func (st *nodeState) now() (string, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.entry.Name, st.unlinked
}

func (st *nodeState) isUnlinked() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.unlinked
}

// keepCache reports whether an open of the bytes named id may keep the
// kernel's cached pages of this inode, and records id as what they hold.
func (st *nodeState) keepCache(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	keep := id != "" && id == st.content
	st.content = id
	return keep
}

// state returns the shared state of inode number ino, made on first use.
func (f *FS) state(ino uint64) *nodeState {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.states[ino]
	if !ok {
		st = &nodeState{}
		f.states[ino] = st
	}
	return st
}

// stateOf returns the state of the inode of a key, if the kernel holds it.
func (f *FS) stateOf(key string) *nodeState {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ino, ok := f.inos[key]; ok {
		return f.states[ino]
	}
	return nil
}

// forget drops the state of a node the kernel has forgotten.
func (f *FS) forget(n *gofs.Inode, st *nodeState) {
	ino := n.StableAttr().Ino
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.states[ino] == st {
		delete(f.states, ino)
	}
}

// unlinked marks the inode of a key as removed: its open files say nlink 0.
func (f *FS) unlinked(key string) {
	if st := f.stateOf(key); st != nil {
		st.mu.Lock()
		st.unlinked = true
		st.mu.Unlock()
	}
}
