package fs

import (
	"sync"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
)

// changed is told by the cache that a folder's listing changed outside the
// mount. It tells the kernel which names to forget, so that the next look
// at them asks again. It runs on the cache's poller goroutine: go-fuse's
// notifications must not be sent from inside a FUSE callback.
func (f *FS) changed(folderID string, before, after *cache.Listing) {
	f.mu.Lock()
	d := f.dirs[folderID]
	f.mu.Unlock()
	if d == nil {
		return
	}
	f.gate.mu.RLock()
	defer f.gate.mu.RUnlock()
	if !f.gate.mounted {
		return // the kernel holds nothing yet (and go-fuse's nodes are not set up)
	}
	// The names the kernel was given are those of the view it was shown.
	d.st.mu.Lock()
	seen := d.st.view
	d.st.mu.Unlock()
	old := seen
	if old == nil || old.listing != before {
		old = newDirView(before, old)
	}
	now := newDirView(after, old)
	// The folder's view is now this one, unless a newer one was built
	// meanwhile: names are kept from view to view, and one built later
	// from the view seen before (older than before: say from before a
	// file was removed and another made under its name through the
	// mount, which builds no view) would give the name back to the
	// removed file once it is restored.
	d.st.mu.Lock()
	if d.st.view == seen {
		d.st.view = now
	}
	d.st.mu.Unlock()
	for _, name := range old.names {
		e, _ := old.lookup(name)
		n, ok := now.lookup(name)
		switch {
		case !ok:
			if child := d.GetChild(name); child != nil {
				d.NotifyDelete(name, child)
			} else {
				d.NotifyEntry(name)
			}
		case n.Key != e.Key || n.ID != e.ID || n.Rev != e.Rev || n.Size != e.Size || !n.ModTime.Equal(e.ModTime):
			d.NotifyEntry(name)
		}
	}
	for _, name := range now.names {
		if _, ok := old.byName[name]; !ok {
			d.NotifyEntry(name) // a name the kernel may hold as missing
		}
	}
	f.log.Debug("folder changed elsewhere", "folder", folderID, "before", len(before.Entries), "after", len(after.Entries))
}

// mountGate orders go-fuse's mount before the notifications sent through
// its nodes. go-fuse sets up a node tree's inodes and the server they
// notify through while it mounts, unguarded; the cache reports changes from
// its own goroutine, whose first pass over the library may end while the
// mount is still being made. No notification is sent before the mount (the
// kernel holds nothing yet, and the nodes cannot send one); one due during
// it waits for it.
type mountGate struct {
	mu      sync.RWMutex // held to mount; read-held to notify
	mounted bool         // guarded by mu
}

// mount mounts root at target with opts (mountVia), and returns the
// server and a path to the mount's root.
func (g *mountGate) mount(target string, reach func() (string, error), root gofs.InodeEmbedder, opts Options) (*fuse.Server, string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	server, at, err := mountVia(target, reach, root, mountOptions(opts))
	g.mounted = err == nil
	return server, at, err
}
