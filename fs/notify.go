package fs

import (
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
	old, now := newDirView(before), newDirView(after)
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
		case n.Key != e.Key || n.ID != e.ID || n.Size != e.Size || !n.ModTime.Equal(e.ModTime):
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
