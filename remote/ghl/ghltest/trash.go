package ghltest

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The trash and system folders.
//
// The media library keeps trashed items TrashRetention, and a restore (in
// the web UI; the API has no call for it) puts an item back where it was,
// with its id: Location.Restore, or POST /_ghlfake/restore. Under
// restore-keeps-updated a restore leaves updatedAt as it was (the trash
// set it), so that a listing by last change does not see it.
//
// Under essential-folders, folders flagged isEssential or appFolder (a
// system folder: the web UI will not delete it) are listed with the flags,
// and their removal or renaming is refused with 400; what is inside them
// is ordinary.

// TrashRetention is how long the trash keeps an item: a restore after that
// finds it gone.
const TrashRetention = 30 * 24 * time.Hour

// The system folders the essential-folders quirk seeds at the root of a
// library it starts (the service's own names are not known; these are
// made up): one flagged isEssential, left empty, and one flagged
// appFolder, holding AppFolderFile.
const (
	EssentialFolder = "Essentials"
	AppFolder       = "App Uploads"
	AppFolderFile   = "from-the-app.txt"
)

var (
	errNotTrashed = errors.New("the item is not in the trash")
	errSystem     = errors.New("a system folder")
)

// seedSystemFolders adds the system folders to a new library.
func seedSystemFolders(st *store) {
	st.addSystemFolder(EssentialFolder, true, false)
	app := st.addSystemFolder(AppFolder, false, true)
	if _, err := st.addFile(app, AppFolderFile, "", []byte("uploaded by an app\n"), nil); err != nil {
		panic(err) // the folder was just made
	}
}

// addSystemFolder creates a folder at the root with the given flags.
func (st *store) addSystemFolder(name string, essential, appFolder bool) string {
	it, err := st.addFolder("", name)
	if err != nil {
		panic(err) // the root always takes a folder
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.items[it.id].essential, st.items[it.id].appFolder = essential, appFolder
	st.changed()
	return it.id
}

// isSystem reports whether it is a system folder.
func (it *item) isSystem() bool { return it.typ == TypeFolder && (it.essential || it.appFolder) }

// anySystem reports whether one of ids is a system folder.
func (st *store) anySystem(ids []string) bool {
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, id := range ids {
		if it, ok := st.items[id]; ok && it.isSystem() {
			return true
		}
	}
	return false
}

// refuseSystem answers 400 and reports true when the essential-folders
// quirk is on and one of ids is a system folder; what names what is
// refused ("deleted", "renamed").
func (s *Server) refuseSystem(w http.ResponseWriter, l *Location, q quirks, ids []string, what string) bool {
	if !q.has(QuirkEssentialFolders) || !l.store.anySystem(ids) {
		return false
	}
	writeError(w, http.StatusBadRequest, "System folders cannot be "+what, "Bad Request")
	return true
}

// AddSystemFolder creates a folder at the root flagged isEssential and/or
// appFolder (listed so, and protected, under essential-folders) and
// returns its id.
func (l *Location) AddSystemFolder(name string, essential, appFolder bool) string {
	return l.store.addSystemFolder(name, essential, appFolder)
}

// AddSystemFolder is Location.AddSystemFolder for the first location.
func (s *Server) AddSystemFolder(name string, essential, appFolder bool) string {
	return s.primary.AddSystemFolder(name, essential, appFolder)
}

// Restore takes a trashed item out of the trash, as the web UI does: it
// is active again with its id, in its folder (the folders above it that
// are trashed come back too, without the rest of what they held), with
// what was trashed along with it (the items of a folder trashed as one).
// updatedAt becomes now, unless restore-keeps-updated is on. It returns
// the ids restored. An item trashed more than TrashRetention ago, deleted,
// unknown, or whose folder was deleted, gives errNoItem; an active one
// errNotTrashed.
func (l *Location) Restore(id string) ([]string, error) {
	return l.store.restore(id, l.s.quirkSet().has(QuirkRestoreKeepsUpdated))
}

// Restore is Location.Restore for the first location.
func (s *Server) Restore(id string) ([]string, error) { return s.primary.Restore(id) }

func (st *store) restore(id string, keepUpdated bool) ([]string, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	it, ok := st.items[id]
	if !ok || it.status == StatusDeleted {
		return nil, errNoItem
	}
	if it.status != StatusTrashed {
		return nil, errNotTrashed
	}
	now := st.stamp()
	if now.Sub(it.trashedAt) > TrashRetention {
		return nil, errNoItem
	}
	// Where it goes back to, judged before anything changes.
	var above []*item
	for p := it.parentID; p != ""; {
		pi, ok := st.items[p]
		if !ok || pi.status == StatusDeleted {
			return nil, errNoItem
		}
		if pi.status == StatusTrashed {
			above = append(above, pi)
		}
		p = pi.parentID
	}
	var restored []string
	bring := func(x *item) {
		st.remember(x, now)
		x.status, x.removedBy, x.trashedAt = StatusActive, "", time.Time{}
		if !keepUpdated {
			x.updatedAt = now
		}
		restored = append(restored, x.id)
	}
	for _, pi := range above {
		bring(pi)
	}
	children := map[string][]*item{}
	for _, c := range st.items {
		if c.parentID != "" {
			children[c.parentID] = append(children[c.parentID], c)
		}
	}
	by := it.removedBy
	var back func(x *item)
	back = func(x *item) {
		bring(x)
		for _, c := range children[x.id] {
			if c.status == StatusTrashed && c.removedBy == by {
				back(c)
			}
		}
	}
	back(it)
	st.changed()
	return restored, nil
}

// restoreBody is the JSON of POST /_ghlfake/restore.
type restoreBody struct {
	ID       string `json:"id"`
	Location string `json:"location"` // "" = the first
}

// serveRestore serves POST /_ghlfake/restore {"id", "location"}: 200
// {"restored": [ids]}, 404 for an item that is not in the trash any more
// (or never was), 400 for one that is active or a bad body.
func (s *Server) serveRestore(w http.ResponseWriter, r *http.Request) {
	var body restoreBody
	err := decodeControl(r, &body)
	if err == nil && body.ID == "" {
		err = errors.New("id should not be empty")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "Bad Request")
		return
	}
	l := s.primary
	if body.Location != "" {
		if l = s.Location(body.Location); l == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no location %q", body.Location), "Not Found")
			return
		}
	}
	ids, err := l.Restore(body.ID)
	switch {
	case errors.Is(err, errNotTrashed):
		writeError(w, http.StatusBadRequest, err.Error(), "Bad Request")
	case err != nil:
		writeError(w, http.StatusNotFound, "Media not found in the trash", "Not Found")
	default:
		writeJSON(w, http.StatusOK, object{{"restored", ids}})
	}
}
