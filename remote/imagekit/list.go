package imagekit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// wireItem is a listed item as the API writes it (doc
// list-and-search-files.md, [O] File and Folder).
type wireItem struct {
	Type        string                    `json:"type"`
	FileID      string                    `json:"fileId"`
	FolderID    string                    `json:"folderId"`
	Name        string                    `json:"name"`
	FilePath    string                    `json:"filePath"`
	URL         string                    `json:"url"`
	Mime        string                    `json:"mime"`
	Size        json.Number               `json:"size"`
	VersionInfo struct{ ID, Name string } `json:"versionInfo"`
	CreatedAt   string                    `json:"createdAt"`
	UpdatedAt   string                    `json:"updatedAt"`
}

func (w wireItem) folder() bool { return w.Type == "folder" }

// id is the item's id as listed.
func (w wireItem) id() string {
	if w.folder() {
		return w.FolderID
	}
	return w.FileID
}

// listDir reads the items of type typ ("file", "folder", "all") of folder
// path dir, page by page by skip, and hands each to add once: pages
// overlap, and are read again when they do not line up
// (remote.ListOverlapped; skip-shifts). A page shorter than asked for is
// the last (the API gives no total).
func (b *Backend) listDir(ctx context.Context, dir, typ, label string, restart func(), add func(wireItem)) error {
	bad := 0
	err := remote.ListOverlapped("GET /v1/files: listing "+label, b.maxItems, func(skip int) ([]wireItem, bool, error) {
		page, err := b.listPage(ctx, url.Values{"type": {typ}, "path": {dir + "/"}, "skip": {strconv.Itoa(skip)}, "limit": {strconv.Itoa(b.pageSize)}})
		return page, len(page) >= b.pageSize, err
	}, wireItem.id, func() {
		bad = 0
		if restart != nil {
			restart()
		}
	}, func(w wireItem) {
		if !validID(w.id()) || !b.ownItem(w, dir) {
			bad++
			return
		}
		add(w)
	})
	if bad > 0 {
		b.log.Warn(fmt.Sprintf("listing %s: skipped %d items the server described badly (an id, a name, a path or a url out of bounds)", label, bad))
	}
	return err
}

// ownItem reports whether w is a well-formed item of folder dir: a name
// that can be shown; a file's path dir/name, its url under the url
// endpoint, its version's id.
func (b *Backend) ownItem(w wireItem, dir string) bool {
	if !validListedName(w.Name) {
		return false
	}
	switch w.Type {
	case "folder":
		return true
	case "file", "":
		return w.FilePath == dir+"/"+w.Name && b.onEndpoint(w.URL) && validID(w.VersionInfo.ID)
	}
	return false
}

// onEndpoint reports whether u is a file url under the url endpoint.
func (b *Backend) onEndpoint(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.User != nil || !strings.EqualFold(p.Scheme, b.endpoint.Scheme) || !strings.EqualFold(p.Host, b.endpoint.Host) {
		return false
	}
	return strings.HasPrefix(p.EscapedPath(), b.endpoint.EscapedPath()+"/")
}

// listPage is one GET /v1/files.
func (b *Backend) listPage(ctx context.Context, q url.Values) ([]wireItem, error) {
	body, err := b.api.Do(ctx, remote.Call{Method: http.MethodGet, Endpoint: "/v1/files", Path: "/v1/files", Query: q, Idempotent: true})
	if err != nil {
		return nil, err
	}
	var page []wireItem
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("GET /v1/files: the answer is not a list of items: %w", err)
	}
	return page, nil
}

// List reads a folder's files and folders (one listing: type=all), or
// those of one type.
func (b *Backend) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	if q.All {
		return fmt.Errorf("imagekit: listing the whole library: %w", remote.ErrNotSupported)
	}
	dir, err := b.pathOf(ctx, q.ParentID)
	if err != nil {
		return err
	}
	typ := "all"
	switch q.Type {
	case remote.TypeFile:
		typ = "file"
	case remote.TypeFolder:
		typ = "folder"
	}
	label := q.Label
	if label == "" {
		label = "folder " + dir + "/"
	}
	return b.listDir(ctx, dir, typ, label, restart, func(w wireItem) { add(b.item(w, q.ParentID, dir)) })
}

// item is w, an item of folder parentID at path dir, as the backend hands
// it on; a folder's path is learnt (and its id as first seen at the path
// kept: aliases).
func (b *Backend) item(w wireItem, parentID, dir string) remote.Item {
	it := remote.Item{ID: w.id(), Name: w.Name, ParentID: parentID, Path: strings.TrimPrefix(dir+"/"+w.Name, "/"), Size: -1,
		CreatedAt: parseTime(w.CreatedAt), UpdatedAt: parseTime(w.UpdatedAt)}
	if w.folder() {
		it.Type = remote.TypeFolder
		it.ID = b.learnFolder(it.ID, dir+"/"+w.Name)
		return it
	}
	it.Type, it.URL, it.ContentType, it.Rev = remote.TypeFile, remote.BareURL(w.URL), clean(w.Mime, 128), w.VersionInfo.ID
	if n, err := w.Size.Int64(); err == nil && n >= 0 && n <= remote.MaxFileSize {
		it.Size = n
		b.noteSize(it.ID, it.Rev, n)
	}
	return it
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// noteSize remembers the size of a file's version (bounded).
func (b *Backend) noteSize(id, rev string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.sizes) >= maxSizes {
		clear(b.sizes)
	}
	b.sizes[fileRev{id, rev}] = n
}

// maxSizes bounds the versions whose size is remembered.
const maxSizes = 1 << 20

// ListUpdated is not offered (Caps.ListRecent is false).
func (b *Backend) ListUpdated(context.Context, string, func(remote.Item) bool) error {
	return fmt.Errorf("imagekit: listing by last change: %w", remote.ErrNotSupported)
}

// lookupFile finds the file named name in folder path dir with the
// exact-name query ([R] util.go): type = "file" AND name = "x".
func (b *Backend) lookupFile(ctx context.Context, dir, name string) (wireItem, bool, error) {
	if ValidName(name, false) != nil {
		return wireItem{}, false, nil // never stored under that name
	}
	page, err := b.listPage(ctx, url.Values{"path": {dir + "/"}, "searchQuery": {`type = "file" AND name = "` + name + `"`}})
	if err != nil {
		return wireItem{}, false, err
	}
	for _, w := range page {
		if !w.folder() && w.Name == name && validID(w.FileID) && b.ownItem(w, dir) {
			return w, true, nil
		}
	}
	return wireItem{}, false, nil
}
