package ghltest

import (
	"cmp"
	"encoding/hex"
	"errors"
	"mime"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Item statuses.
const (
	StatusActive  = "active"
	StatusTrashed = "trashed"
	StatusDeleted = "deleted"
)

// Item types.
const (
	TypeFile   = "file"
	TypeFolder = "folder"
)

// Item is a copy of one item of the fake's library, for tests.
type Item struct {
	ID          string
	Name        string
	Type        string // "file" or "folder"
	ParentID    string // "" at the root
	Status      string // "active", "trashed" or "deleted"
	ContentType string
	Size        int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	URL         string // storage URL of a file; "" for folders
	// Essential and AppFolder are a system folder's flags (see
	// AddSystemFolder).
	Essential, AppFolder bool
}

// item is the stored form of an item. Its data is never modified once the
// item exists, so it may be shared (the demo library's bytes are shared by
// every server seeded with it).
type item struct {
	id          string
	name        string
	typ         string
	parentID    string
	status      string
	contentType string
	size        int64
	createdAt   time.Time
	updatedAt   time.Time
	objectPath  string // "msgsndr/<loc>/media/<id><ext>" for files
	url         string // set by Server.SetFileURL: the url listings give instead
	data        []byte

	// essential and appFolder are a system folder's flags
	// (essential-folders): listed as isEssential and appFolder, and the
	// folder cannot be removed or renamed.
	essential, appFolder bool
	// trashedAt is when the item was last trashed; removedBy the id whose
	// removal gave it its status (itself, or a folder above it): a
	// restore brings back what was trashed with the item restored.
	trashedAt time.Time
	removedBy string
	// born and past serve the answers that lag (fetchall-lag, lag.go):
	// born is when an item created while the lag was on was created
	// (zero: shown to every answer), past the states it had before its
	// latest changes, oldest first, kept as long as the lag needs them.
	born time.Time
	past []pastState
}

var (
	errNoItem    = errors.New("media not found")
	errNotFolder = errors.New("parent is not an active folder")
)

// store holds the library of the one location the fake serves.
type store struct {
	loc  string
	now  func() time.Time
	ids  *idGen
	save func(st *store) // called with mu held after every change; may be nil

	// lag is the fetchall-lag in force (0: none): changes keep the state
	// they replace for that long (lag.go). nil: never.
	lag func() time.Duration
	// uuidIDs, when set and true, makes new ids UUIDs (the uuid-ids
	// quirk), drawn from uuid.
	uuidIDs func() bool
	uuid    func() string

	mu    sync.RWMutex
	items map[string]*item
	// objects maps the object path of a file whose storage object is not
	// named after its id (an upload under upload-id-differs) to its id.
	objects map[string]string
	gen     uint64    // guarded by mu: counts changes (changed)
	index   listIndex // sorted listings of the current generation
	// lastChange is when the last change was made (a creation, a rename,
	// a removal, a restore): an answer as of a later time is the library
	// as it is.
	lastChange time.Time // guarded by mu
}

func newStore(loc string, now func() time.Time, ids *idGen) *store {
	return &store{loc: loc, now: now, ids: ids, items: map[string]*item{}, objects: map[string]string{}}
}

// stamp is the current time as the service stores it (milliseconds, UTC).
func (st *store) stamp() time.Time {
	return st.now().UTC().Truncate(time.Millisecond)
}

// changed persists the store. st.mu is held.
func (st *store) changed() {
	st.gen++
	if st.save != nil {
		st.save(st)
	}
}

// objectPath is the storage path of a file: the extension comes from the
// name the file had when it was created, and never changes afterwards (a
// rename does not move the stored object).
func objectPath(loc, id, name string) string {
	return "msgsndr/" + loc + "/media/" + id + extOf(name)
}

// extOf is the extension of a name when it looks like one: a dot and 1 to 16
// letters or digits after the last slash. Anything else gives "".
func extOf(name string) string {
	ext := path.Ext(name)
	if len(ext) < 2 || len(ext) > 17 {
		return ""
	}
	for _, c := range ext[1:] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return ""
		}
	}
	return ext
}

// guessContentType maps a name's extension to a media type: videoTypes,
// else the system's table.
func guessContentType(name string) string {
	ext := strings.ToLower(extOf(name))
	if ct, ok := videoTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// videoTypes are the video types the service surely knows, before the
// system's tables, which may lack them (Go's own has no video) or differ
// (.webm as audio/webm): the video limit depends on them.
var videoTypes = map[string]string{
	".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime",
	".webm": "video/webm", ".mkv": "video/x-matroska", ".avi": "video/x-msvideo",
	".mpeg": "video/mpeg", ".mpg": "video/mpeg",
}

// activeFolder reports whether id is an active folder. st.mu is held.
func (st *store) activeFolder(id string) bool {
	it, ok := st.items[id]
	return ok && it.typ == TypeFolder && it.status == StatusActive
}

// addFolder creates a folder under parentID ("" = root).
func (st *store) addFolder(parentID, name string) (item, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if parentID != "" && !st.activeFolder(parentID) {
		return item{}, errNotFolder
	}
	now := st.stamp()
	it := &item{
		id:        st.newID(now),
		name:      name,
		typ:       TypeFolder,
		parentID:  parentID,
		status:    StatusActive,
		createdAt: now,
		updatedAt: now,
	}
	st.created(it, now)
	st.items[it.id] = it
	st.changed()
	return *it, nil
}

// addFile creates a file under parentID ("" = root). blob, when not nil, is
// called with the new id before the item becomes visible, to store the bytes
// on disk; it runs without the lock held.
func (st *store) addFile(parentID, name, contentType string, data []byte, blob func(id string, data []byte) error) (item, error) {
	return st.addFileAs(parentID, name, contentType, data, blob, "")
}

// addFileAs is addFile, with the storage object named object (plus the
// name's extension) instead of after the new id when object is not "".
func (st *store) addFileAs(parentID, name, contentType string, data []byte, blob func(id string, data []byte) error, object string) (item, error) {
	st.mu.Lock()
	if parentID != "" && !st.activeFolder(parentID) {
		st.mu.Unlock()
		return item{}, errNotFolder
	}
	now := st.stamp()
	id := st.newID(now)
	st.mu.Unlock()

	if blob != nil {
		if err := blob(id, data); err != nil {
			return item{}, err
		}
	}
	it := st.fileItem(id, parentID, name, contentType, data, now)
	if object != "" {
		it.objectPath = objectPath(st.loc, object, name)
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	if parentID != "" && !st.activeFolder(parentID) {
		return item{}, errNotFolder // the folder went away meanwhile
	}
	st.created(it, now)
	st.items[id] = it
	if object != "" {
		st.objects[it.objectPath] = id
	}
	st.changed()
	return *it, nil
}

// addFilesAt creates files under parentID, all created at t.
func (st *store) addFilesAt(parentID string, names []string, data [][]byte, t time.Time, blob func(id string, data []byte) error) ([]string, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if parentID != "" && !st.activeFolder(parentID) {
		return nil, errNotFolder
	}
	ids := make([]string, len(names))
	for i, name := range names {
		id := st.newID(t)
		if blob != nil {
			if err := blob(id, data[i]); err != nil {
				return nil, err
			}
		}
		it := st.fileItem(id, parentID, name, "", data[i], t)
		st.created(it, st.stamp())
		st.items[id] = it
		ids[i] = id
	}
	st.changed()
	return ids, nil
}

// fileItem is a new active file created at t; an empty contentType is
// guessed from the name.
func (st *store) fileItem(id, parentID, name, contentType string, data []byte, t time.Time) *item {
	if contentType == "" {
		contentType = guessContentType(name)
	}
	return &item{
		id:          id,
		name:        name,
		typ:         TypeFile,
		parentID:    parentID,
		status:      StatusActive,
		contentType: contentType,
		size:        int64(len(data)),
		createdAt:   t,
		updatedAt:   t,
		objectPath:  objectPath(st.loc, id, name),
		data:        data,
	}
}

// newID returns an id no item has. st.mu is held.
func (st *store) newID(t time.Time) string {
	for {
		id := st.ids.next(t)
		if st.uuidIDs != nil && st.uuidIDs() {
			id = st.uuid()
		}
		if _, taken := st.items[id]; !taken {
			return id
		}
	}
}

// get returns an active item.
func (st *store) get(id string) (item, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	it, ok := st.items[id]
	if !ok || it.status != StatusActive {
		return item{}, false
	}
	return *it, true
}

// rename renames an active item.
func (st *store) rename(id, name string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	it, ok := st.items[id]
	if !ok || it.status != StatusActive {
		return errNoItem
	}
	now := st.stamp()
	st.remember(it, now)
	it.name = name
	it.updatedAt = now
	st.changed()
	return nil
}

// renameMany renames the active items among ids and reports, per entry,
// whether it was renamed.
func (st *store) renameMany(ids, names []string) []bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.stamp()
	done := make([]bool, len(ids))
	for i, id := range ids {
		it, ok := st.items[id]
		if !ok || it.status != StatusActive {
			continue
		}
		st.remember(it, now)
		it.name = names[i]
		it.updatedAt = now
		done[i] = true
	}
	st.changed()
	return done
}

// canRemove reports whether an item may be given status. Active items may
// be trashed or deleted; trashed ones may still be deleted (emptying the
// trash); deleted ones are gone. st.mu is held.
func (st *store) canRemove(id, status string) bool {
	it, ok := st.items[id]
	if !ok {
		return false
	}
	return it.status == StatusActive || (it.status == StatusTrashed && status == StatusDeleted)
}

// remove gives each of ids, and everything below the folders among them,
// the status trashed or deleted. Eligibility is judged on the state before
// the call, so an item listed after its folder is reported removed too.
func (st *store) remove(ids []string, status string) []bool {
	return st.removeIf(ids, status, st.canRemove)
}

// deleteActive deletes one active item (and what is inside it) and reports
// whether it was there.
func (st *store) deleteActive(id string) bool {
	return st.removeIf([]string{id}, StatusDeleted, func(id, _ string) bool {
		it, ok := st.items[id]
		return ok && it.status == StatusActive
	})[0]
}

// removeIf removes the ids that eligible allows. eligible is called with
// st.mu held.
func (st *store) removeIf(ids []string, status string, eligible func(id, status string) bool) []bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	done := make([]bool, len(ids))
	for i, id := range ids {
		done[i] = eligible(id, status)
	}
	children := map[string][]*item{}
	for _, it := range st.items {
		if it.parentID != "" {
			children[it.parentID] = append(children[it.parentID], it)
		}
	}
	now := st.stamp()
	var mark func(it *item, by string)
	mark = func(it *item, by string) {
		if it.status == StatusDeleted || it.status == status {
			return
		}
		st.remember(it, now)
		it.status = status
		it.updatedAt = now
		it.removedBy = by
		if status == StatusTrashed {
			it.trashedAt = now
		}
		for _, c := range children[it.id] {
			mark(c, by)
		}
	}
	for i, id := range ids {
		if done[i] {
			mark(st.items[id], id)
		}
	}
	st.changed()
	return done
}

// listQuery selects the items of one list page.
type listQuery struct {
	typ      string
	parentID string
	all      bool   // every item of typ regardless of parentID (fetchAll)
	search   string // what match matches, as a key of the list index ("" = every name)
	sortBy   string // createdAt, name or updatedAt
	desc     bool
	offset   int
	limit    int
	// match, when set, is the name search (query); nil matches every name.
	match func(name string) bool
	// trashed lists trashed items too (the trash-listed quirk).
	trashed bool
	// tieSalt, when not zero, orders items with equal sort keys by a hash
	// of their id and the salt instead of by id (the unstable-ties quirk).
	tieSalt uint64
	// asOf, when set, asks for the library as it was then (fetchall-lag).
	asOf time.Time
}

// list returns one page of active items (and trashed ones, when asked),
// and whether the page is of the library as it was at q.asOf rather than
// as it is (a change was made since).
func (st *store) list(q listQuery) ([]item, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	var sorted []*item
	lagged := !q.asOf.IsZero() && q.asOf.Before(st.lastChange)
	if lagged {
		sorted = st.sortedAsOfLocked(q)
	} else {
		sorted = st.sortedLocked(q)
	}
	if q.tieSalt != 0 {
		sorted = shuffleTies(sorted, q)
	}
	if q.offset >= len(sorted) {
		return nil, lagged
	}
	sorted = sorted[q.offset:]
	if len(sorted) > q.limit {
		sorted = sorted[:q.limit]
	}
	out := make([]item, len(sorted))
	for i, it := range sorted {
		out[i] = *it
	}
	return out, lagged
}

// shuffleTies reorders each run of items with equal sort keys by tieRank,
// as a server whose order among them is not stable may.
func shuffleTies(sorted []*item, q listQuery) []*item {
	out := slices.Clone(sorted)
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && sortCompare(out[i], out[j], q.sortBy) == 0 {
			j++
		}
		slices.SortFunc(out[i:j], func(a, b *item) int {
			return cmp.Or(cmp.Compare(tieRank(a.id, q.tieSalt), tieRank(b.id, q.tieSalt)), strings.Compare(a.id, b.id))
		})
		i = j
	}
	return out
}

// tieRank is a pseudo-random rank of id for one salt: FNV-1a of the id,
// mixed with the salt by a splitmix64 finaliser, so that the orders of two
// salts are unrelated.
func tieRank(id string, salt uint64) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= salt
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// all returns a copy of every item, sorted by id.
func (st *store) all() []item {
	st.mu.RLock()
	out := make([]item, 0, len(st.items))
	for _, it := range st.items {
		out = append(out, *it)
	}
	st.mu.RUnlock()
	slices.SortFunc(out, func(a, b item) int { return strings.Compare(a.id, b.id) })
	return out
}

// lookup returns any item, whatever its status.
func (st *store) lookup(id string) (item, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	it, ok := st.items[id]
	if !ok {
		return item{}, false
	}
	return *it, true
}

// idGen makes MongoDB ObjectID style ids: 4 bytes of Unix seconds, 5 bytes
// fixed per generator, a 3 byte counter; written as 24 lowercase hex digits.
type idGen struct {
	mu      sync.Mutex
	machine [5]byte
	counter uint32
}

func newIDGen(r *lockedRand) *idGen {
	g := &idGen{}
	v := r.uint64()
	for i := range g.machine {
		g.machine[i] = byte(v >> (8 * i))
	}
	g.counter = uint32(v>>40) & 0xffffff
	return g
}

func (g *idGen) next(t time.Time) string {
	g.mu.Lock()
	c := g.counter
	g.counter = (g.counter + 1) & 0xffffff
	g.mu.Unlock()
	var b [12]byte
	sec := uint32(t.Unix())
	b[0], b[1], b[2], b[3] = byte(sec>>24), byte(sec>>16), byte(sec>>8), byte(sec)
	copy(b[4:9], g.machine[:])
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}

// validID reports whether s looks like an id: 24 lowercase hex digits,
// or a UUID (the uuid-ids quirk) in its usual lowercase form.
func validID(s string) bool {
	switch len(s) {
	case 24:
	case 36:
		for _, i := range []int{8, 13, 18, 23} {
			if s[i] != '-' {
				return false
			}
		}
		s = strings.ReplaceAll(s, "-", "")
	default:
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// byObject returns the active file stored as the object objPath when its
// object is not named after its id.
func (st *store) byObject(objPath string) (item, bool) {
	st.mu.RLock()
	id, ok := st.objects[objPath]
	st.mu.RUnlock()
	if !ok {
		return item{}, false
	}
	return st.get(id)
}
