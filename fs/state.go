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
	entry cache.Entry
	view  *dirView // folders: the names of the last listing seen
}

func (st *nodeState) get() cache.Entry {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.entry
}

func (st *nodeState) set(e cache.Entry) {
	st.mu.Lock()
	st.entry = e
	st.mu.Unlock()
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

// forget drops the state of a node the kernel has forgotten.
func (f *FS) forget(n *gofs.Inode, st *nodeState) {
	ino := n.StableAttr().Ino
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.states[ino] == st {
		delete(f.states, ino)
	}
}
