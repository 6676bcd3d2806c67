package ocm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// wireItem is a file or a folder as the API writes it (doc
// folders-folderid-items-get, files-fileid-get; [Tk]): numbers as
// strings.
type wireItem struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	ParentID     string `json:"parentID"`
	Name         string `json:"name"`
	Size         num    `json:"size"`
	Version      num    `json:"version"`
	MimeType     string `json:"mimeType"`
	CreatedTime  string `json:"createdTime"`
	ModifiedTime string `json:"modifiedTime"`
}

func (w wireItem) folder() bool { return w.Type == remote.TypeFolder }

// page is a listing's answer.
type page struct {
	HasMore flag       `json:"hasMore"`
	Total   num        `json:"totalResults"`
	Items   []wireItem `json:"items"`
}

// more reports whether items follow the page at offset: hasMore "1", or
// a totalResults past it (hasmore-zero: what hasMore means in practice
// is unverified).
func (p page) more(offset int) bool {
	return p.HasMore.v || p.Total.set && int64(offset+len(p.Items)) < p.Total.n
}

// folderPath is a folder's path under the base.
func folderPath(id string) string { return "/folders/" + id }

func filePath(id string) string { return "/files/" + id }

// listFolder reads folder id's items, ordered by name, page by page by
// offset while hasMore or totalResults says more, and hands each
// well-formed one to add once: pages overlap, and are read again when
// they do not line up (remote.ListOverlapped).
func (b *Backend) listFolder(ctx context.Context, id, label string, restart func(), add func(wireItem)) error {
	bad := 0
	err := remote.ListOverlapped("GET /folders/{id}/items: listing "+label, b.maxItems, func(offset int) ([]wireItem, bool, error) {
		p, err := b.listPage(ctx, id, url.Values{"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(b.pageSize)}, "orderby": {"name:asc"}})
		return p.Items, p.more(offset), err
	}, func(w wireItem) string { return w.ID }, func() {
		bad = 0
		if restart != nil {
			restart()
		}
	}, func(w wireItem) {
		if !b.ownItem(w, id) {
			bad++
			return
		}
		add(w)
	})
	if bad > 0 {
		b.log.Warn(fmt.Sprintf("ocm: listing %s: skipped %d items the server described badly (an id, a name, a folder, a version out of bounds)", label, bad))
	}
	return err
}

// listPage is one GET folders/{id}/items. hasMore must be there, "0" or
// "1"; items at most MaxPageSize.
func (b *Backend) listPage(ctx context.Context, id string, q url.Values) (page, error) {
	body, err := b.do(ctx, remote.Call{Method: http.MethodGet, Endpoint: "/folders/{id}/items", Path: folderPath(id) + "/items", Query: q, Idempotent: true})
	if err != nil {
		return page{}, err
	}
	var p page
	if err := json.Unmarshal(body, &p); err != nil || !p.HasMore.set || len(p.Items) > MaxPageSize {
		return page{}, fmt.Errorf("GET /folders/{id}/items: the answer is not a listing (hasMore \"0\" or \"1\", %d items at most)", MaxPageSize)
	}
	return p, nil
}

// ownItem reports whether w is a well-formed item of folder id: a valid
// id and name, a type, its folder's id; a file's version (1 or more) and
// size.
func (b *Backend) ownItem(w wireItem, id string) bool {
	if !validID(w.ID) || !remote.ValidListedName(w.Name) || !b.sameFolder(w.ParentID, id) {
		return false
	}
	switch w.Type {
	case remote.TypeFolder:
		return true
	case remote.TypeFile:
		return w.Version.set && w.Version.n >= 1 && w.Size.set && w.Size.n <= remote.MaxFileSize
	}
	return false
}

// sameFolder reports whether a parentID the server gave is folder id:
// the same id, or both the root (by any of its ids).
func (b *Backend) sameFolder(parentID, id string) bool {
	if parentID == id {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rootIDs[parentID] && b.rootIDs[id]
}

// folderID is the id a call names folder parentID by ("" the root).
func (b *Backend) folderID(parentID string) string {
	if parentID == "" {
		return b.root
	}
	return parentID
}

// resolveRoot learns the id the service gives the root (the home
// folder's GUID for "self"), once: items listed in the root name it as
// their folder.
func (b *Backend) resolveRoot(ctx context.Context) error {
	b.mu.Lock()
	done := b.rootResolved
	b.mu.Unlock()
	if done {
		return nil
	}
	_, err := b.folderInfo(ctx, b.root)
	return err
}

// folderInfo is GET folders/{id}: the folder as it is now. The root's id
// as the service gives it is learnt.
func (b *Backend) folderInfo(ctx context.Context, id string) (wireItem, error) {
	if !validID(id) {
		return wireItem{}, notFound("/folders/{id}", "no folder of that id")
	}
	body, err := b.do(ctx, remote.Call{Method: http.MethodGet, Endpoint: "/folders/{id}", Path: folderPath(id), Idempotent: true})
	if err != nil {
		return wireItem{}, err
	}
	var w wireItem
	if err := json.Unmarshal(body, &w); err != nil || !validID(w.ID) || (w.Type != "" && !w.folder()) {
		return wireItem{}, fmt.Errorf("GET /folders/{id}: the answer is not a folder")
	}
	w.Type = remote.TypeFolder
	b.mu.Lock()
	root := b.rootIDs[id]
	if root && !b.rootResolved {
		b.rootIDs[w.ID], b.rootResolved = true, true
	}
	b.mu.Unlock()
	if !root {
		b.noteFolder(w.ID)
	}
	return w, nil
}

// notFound is a 404 the backend answers itself, for an id it would not
// send.
func notFound(endpoint, msg string) *remote.Error {
	return &remote.Error{Method: http.MethodGet, Endpoint: endpoint, Status: http.StatusNotFound, Message: msg}
}

// List reads a folder's files and folders in one listing (type is read
// from each item).
func (b *Backend) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	if q.All {
		return fmt.Errorf("ocm: listing the whole library: %w", remote.ErrNotSupported)
	}
	if err := b.resolveRoot(ctx); err != nil {
		return err
	}
	id := b.folderID(q.ParentID)
	if !validID(id) {
		return notFound("/folders/{id}/items", "no folder of that id")
	}
	label := q.Label
	if label == "" {
		label = "folder " + id
	}
	return b.listFolder(ctx, id, label, restart, func(w wireItem) {
		if q.Type == "" || q.Type == w.Type {
			add(b.item(w, q.ParentID))
		}
	})
}

// item is w, an item of folder parentID, as the backend hands it on.
func (b *Backend) item(w wireItem, parentID string) remote.Item {
	it := remote.Item{ID: w.ID, Name: w.Name, Type: w.Type, ParentID: parentID, Size: -1,
		CreatedAt: parseTime(w.CreatedTime), UpdatedAt: parseTime(w.ModifiedTime)}
	if w.folder() {
		b.noteFolder(w.ID)
		return it
	}
	it.ContentType = remote.CleanText(w.MimeType, 128)
	if w.Version.set && w.Version.n >= 1 {
		it.Rev = revOf(w.Version.n)
	}
	if w.Size.set && w.Size.n <= remote.MaxFileSize {
		it.Size = w.Size.n
		if it.Rev != "" {
			b.noteSize(w.ID, it.Rev, it.Size)
		}
	}
	return it
}

// parseTime reads a time of the API (ISO 8601, "2023-09-20T15:43:48Z").
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// ListUpdated is not offered (Caps.ListRecent is false).
func (b *Backend) ListUpdated(context.Context, string, func(remote.Item) bool) error {
	return fmt.Errorf("ocm: listing by last change: %w", remote.ErrNotSupported)
}

// maxLookupPages bounds the pages an exact-name look-up reads.
const maxLookupPages = 10

// lookup finds the item of folder id whose name is name ignoring case
// (names are unique that way), with filterName; the server's match is
// checked here, whatever it takes filterName to mean. A server that
// answers another name (filter-ignored: the whole folder) is read as a
// listing instead (findFold: overlapped pages, bounded as any listing),
// and, that learnt, every look-up after. ok false: none.
func (b *Backend) lookup(ctx context.Context, id, name string) (wireItem, bool, error) {
	if err := b.resolveRoot(ctx); err != nil {
		return wireItem{}, false, err
	}
	if !validID(id) {
		return wireItem{}, false, notFound("/folders/{id}/items", "no folder of that id")
	}
	b.mu.Lock()
	unfiltered := b.filterIgnored
	b.mu.Unlock()
	if unfiltered {
		return b.findFold(ctx, id, name)
	}
	var found []wireItem
	for offset, pages := 0, 0; ; pages++ {
		if pages >= maxLookupPages {
			return wireItem{}, false, fmt.Errorf("GET /folders/{id}/items: looking up %q: %w: more than %d pages match", name, remote.ErrListTooLong, maxLookupPages)
		}
		p, err := b.listPage(ctx, id, url.Values{"filterName": {name}, "offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(b.pageSize)}})
		if err != nil {
			return wireItem{}, false, err
		}
		if slices.ContainsFunc(p.Items, func(w wireItem) bool { return !strings.EqualFold(w.Name, name) }) {
			b.mu.Lock()
			first := !b.filterIgnored
			b.filterIgnored = true
			b.mu.Unlock()
			if first {
				b.log.Info("ocm: the service does not filter listings by filterName: a look-up by name reads the folder's whole listing")
			}
			return b.findFold(ctx, id, name)
		}
		for _, w := range p.Items {
			if b.ownItem(w, id) && !slices.ContainsFunc(found, func(x wireItem) bool { return x.ID == w.ID }) {
				found = append(found, w)
			}
		}
		if !p.more(offset) || len(p.Items) == 0 {
			break
		}
		offset += len(p.Items)
	}
	return pickName(found, name, nil)
}

// findFold is the item of folder id whose name is name ignoring case,
// from a listing of the whole folder (the exact name first).
func (b *Backend) findFold(ctx context.Context, id, name string) (wireItem, bool, error) {
	var found []wireItem
	err := b.listFolder(ctx, id, "folder "+id, func() { found = nil }, func(w wireItem) {
		if strings.EqualFold(w.Name, name) {
			found = append(found, w)
		}
	})
	return pickName(found, name, err)
}

// pickName is the item of found named name, else the first; ok false
// when there is none, or err is set.
func pickName(found []wireItem, name string, err error) (wireItem, bool, error) {
	if err != nil || len(found) == 0 {
		return wireItem{}, false, err
	}
	if i := slices.IndexFunc(found, func(w wireItem) bool { return w.Name == name }); i >= 0 {
		return found[i], true, nil
	}
	return found[0], true, nil
}
