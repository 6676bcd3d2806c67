package ocm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ghlfs/ghlfs/remote"
)

// fileInfo is GET files/{id} (?version=rev when rev is set): the file,
// or that version of it, as it is now.
func (b *Backend) fileInfo(ctx context.Context, id, rev string) (wireItem, error) {
	if !validID(id) {
		return wireItem{}, notFound("/files/{id}", "no file of that id")
	}
	var q url.Values
	if rev != "" {
		if _, ok := parseRev(rev); !ok {
			return wireItem{}, notFound("/files/{id}", "no version "+remote.CleanText(rev, 32))
		}
		q = url.Values{"version": {rev}}
	}
	body, err := b.do(ctx, remote.Call{Method: http.MethodGet, Endpoint: "/files/{id}", Path: filePath(id), Query: q, Idempotent: true})
	if err != nil {
		return wireItem{}, err
	}
	var w wireItem
	if err := json.Unmarshal(body, &w); err != nil || w.ID != id || (w.Type != "" && w.Type != remote.TypeFile) ||
		!remote.ValidListedName(w.Name) || !w.Version.set || w.Version.n < 1 || !w.Size.set || w.Size.n > remote.MaxFileSize {
		return wireItem{}, fmt.Errorf("GET /files/{id}: the answer is not the file asked for (an id, a name, a version and a size)")
	}
	w.Type = remote.TypeFile
	b.noteSize(w.ID, revOf(w.Version.n), w.Size.n)
	return w, nil
}

// listed reports whether file w is listed in its folder under its name:
// one its folder no longer lists is in the trash, or gone, whatever GET
// files/{id} answers (trash-visible: the service may show a trashed item
// by its id). A folder gone is a file gone. An answer naming no folder
// cannot be checked: it is taken as listed.
func (b *Backend) listed(ctx context.Context, w wireItem) (bool, error) {
	if !validID(w.ParentID) {
		return true, nil
	}
	h, ok, err := b.lookup(ctx, w.ParentID, w.Name)
	switch {
	case errors.Is(err, remote.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return ok && h.ID == w.ID, nil
}

// liveFile is fileInfo of a file its folder lists (listed): a trashed
// one is remote.ErrNotFound, as an *remote.Error.
func (b *Backend) liveFile(ctx context.Context, id, rev string) (wireItem, error) {
	w, err := b.fileInfo(ctx, id, rev)
	if err != nil {
		return wireItem{}, err
	}
	if live, err := b.listed(ctx, w); err != nil {
		return wireItem{}, err
	} else if !live {
		return wireItem{}, notFound("/files/{id}", "the file is in the trash: its folder no longer lists it")
	}
	return w, nil
}

// Stat is the size, time and type of a file's version, from the API:
// its details, and its folder's listing showing it (liveFile; Stat is
// for listings that carry no size, which OCM's do: it is rarely asked).
func (b *Backend) Stat(ctx context.Context, f remote.FileRef) (remote.FileInfo, error) {
	w, err := b.liveFile(ctx, f.ID, f.Rev)
	if err != nil {
		return remote.FileInfo{}, err
	}
	return remote.FileInfo{Size: w.Size.n, ModTime: parseTime(w.ModifiedTime), ContentType: remote.CleanText(w.MimeType, 128)}, nil
}

// ReadAt reads a file's version by ranges from the API host (doc.go,
// Reads); a read of the current version (Rev "") pins the version the
// file's details give. An answer of another total length than the
// version's is an error, its cause asked of the file's details.
func (b *Backend) ReadAt(ctx context.Context, f remote.FileRef, bufs [][]byte, off int64) (int, error) {
	rev, size := f.Rev, int64(-1)
	if rev != "" {
		b.mu.Lock()
		n, ok := b.sizes[fileRev{f.ID, rev}]
		b.mu.Unlock()
		if ok {
			size = n
		}
	}
	if size < 0 || !validID(f.ID) {
		w, err := b.fileInfo(ctx, f.ID, rev)
		if err != nil {
			return 0, err
		}
		rev, size = revOf(w.Version.n), w.Size.n
	}
	call := remote.Call{Endpoint: "/files/{id}/data", Path: filePath(f.ID) + "/data", Query: url.Values{"version": {rev}}}
	n, err := b.api.ReadAPIAtvSized(ctx, b.withLink(call), bufs, off, size)
	if errors.Is(err, remote.ErrStaleCopy) {
		if _, ierr := b.fileInfo(ctx, f.ID, rev); ierr != nil {
			return n, ierr
		}
	}
	return n, err
}

// versionsAnswer is GET files/{id}/versions (doc files-fileid-versions-get).
type versionsAnswer struct {
	ID    string     `json:"id"`
	Items []wireItem `json:"items"`
}

// Versions lists a file's versions (GET files/{id}/versions), the
// oldest first; the highest number is the current one. At most
// MaxVersions; a version listed without a number is left out, one
// listed twice is taken once. A file its folder no longer lists is
// remote.ErrNotFound, whatever the versions call answers (liveFile:
// trash-visible).
func (b *Backend) Versions(ctx context.Context, id string) ([]remote.Version, error) {
	if !validID(id) {
		return nil, notFound("/files/{id}/versions", "no file of that id")
	}
	if _, err := b.liveFile(ctx, id, ""); err != nil {
		return nil, err
	}
	body, err := b.do(ctx, remote.Call{Method: http.MethodGet, Endpoint: "/files/{id}/versions", Path: filePath(id) + "/versions", Idempotent: true})
	if err != nil {
		return nil, err
	}
	var a versionsAnswer
	if err := json.Unmarshal(body, &a); err != nil || (a.ID != "" && a.ID != id) {
		return nil, fmt.Errorf("GET /files/{id}/versions: the answer is not the file's versions")
	}
	if len(a.Items) > MaxVersions {
		return nil, fmt.Errorf("GET /files/{id}/versions: %w: more than %d versions", remote.ErrListTooLong, MaxVersions)
	}
	var out []remote.Version
	seen := map[int64]bool{}
	for _, w := range a.Items {
		if !w.Version.set || w.Version.n < 1 || seen[w.Version.n] {
			continue
		}
		seen[w.Version.n] = true
		v := remote.Version{Rev: revOf(w.Version.n), Num: int(min(w.Version.n, 1<<31-1)), Size: -1, ModTime: parseTime(cmp.Or(w.ModifiedTime, w.CreatedTime))}
		if w.Size.set && w.Size.n <= remote.MaxFileSize {
			v.Size = w.Size.n
			b.noteSize(id, v.Rev, v.Size)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("GET /files/{id}/versions: the answer lists no version of the file")
	}
	slices.SortFunc(out, func(x, y remote.Version) int { return x.Num - y.Num })
	out[len(out)-1].Current = true
	return out, nil
}

// errRemovedMore is the failure of a version's removal that took more
// than that version: said loudly, never taken for success.
var errRemovedMore = errors.New("the service removed more than the version asked for")

// RemoveVersion removes version rev of file id (to the trash): never the
// current one (remote.ErrBusy, nothing sent). The version goes in the
// query (?version=N, the doc's parameter table) and in the body
// ({"version":"N"}, every example of the doc and seed 004), so that
// either reading removes it. The versions are listed before and after:
// the file must keep its current version and every other one, and rev
// must be gone; anything else is an error, logged.
func (b *Backend) RemoveVersion(ctx context.Context, id, rev string) error {
	n, ok := parseRev(rev)
	if !ok {
		return notFound("/files/{id}/versions", "no version "+remote.CleanText(rev, 32))
	}
	before, err := b.Versions(ctx, id)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(before, func(v remote.Version) bool { return int64(v.Num) == n })
	switch {
	case i < 0:
		return notFound("/files/{id}/versions", fmt.Sprintf("file %s has no version %d", id, n))
	case before[i].Current:
		return fmt.Errorf("ocm: version %d of %s: %w: it is the file's current version (remove the file instead)", n, id, remote.ErrBusy)
	}
	if err := b.deleteVersion(ctx, id, n); err != nil {
		return err
	}
	after, err := b.Versions(ctx, id)
	if errors.Is(err, remote.ErrNotFound) {
		return b.removedMore(id, n, "the whole file is gone")
	} else if err != nil {
		return fmt.Errorf("ocm: version %d of %s removed, and its versions could not be listed: %w", n, id, err)
	}
	var lost []string
	for _, v := range before {
		if int64(v.Num) != n && !slices.ContainsFunc(after, func(x remote.Version) bool { return x.Num == v.Num }) {
			lost = append(lost, v.Rev)
		}
	}
	cur := before[len(before)-1]
	switch {
	case len(lost) > 0:
		return b.removedMore(id, n, "versions "+strings.Join(lost, ", ")+" are gone too")
	case after[len(after)-1].Num != cur.Num:
		return b.removedMore(id, n, fmt.Sprintf("the current version is %d, was %d", after[len(after)-1].Num, cur.Num))
	case slices.ContainsFunc(after, func(x remote.Version) bool { return int64(x.Num) == n }):
		return fmt.Errorf("ocm: removing version %d of %s: the service answered success and still lists it", n, id)
	}
	return nil
}

// deleteVersion is DELETE files/{id} of version n, the version in the
// query and in the body (RemoveVersion).
func (b *Backend) deleteVersion(ctx context.Context, id string, n int64) error {
	rev := revOf(n)
	_, err := b.do(ctx, remote.Call{Method: http.MethodDelete, Endpoint: "/files/{id}", Path: filePath(id),
		Query: url.Values{"version": {rev}}, Body: remote.JSONBody(map[string]string{"version": rev}), Idempotent: true})
	return err
}

func (b *Backend) removedMore(id string, n int64, what string) error {
	return fmt.Errorf("ocm: removing version %d of %s: %w: %s", n, id, errRemovedMore, what)
}
