package imagekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ghlfs/ghlfs/remote"
)

// details is GET /v1/files/{id}/details: the file as it is now.
func (b *Backend) details(ctx context.Context, id string) (wireItem, error) {
	if !validID(id) {
		return wireItem{}, &remote.Error{Method: http.MethodGet, Endpoint: "/v1/files/{id}/details", Status: http.StatusNotFound, Message: "no file of that id"}
	}
	return b.fileCall(ctx, "/v1/files/{id}/details", "/v1/files/"+id+"/details")
}

func (b *Backend) fileCall(ctx context.Context, endpoint, path string) (wireItem, error) {
	body, err := b.api.Do(ctx, remote.Call{Method: http.MethodGet, Endpoint: endpoint, Path: path, Idempotent: true})
	if err != nil {
		return wireItem{}, err
	}
	var w wireItem
	if err := json.Unmarshal(body, &w); err != nil || !validID(w.FileID) || !validID(w.VersionInfo.ID) || !validListedName(w.Name) {
		return wireItem{}, fmt.Errorf("GET %s: the answer is not a file", endpoint)
	}
	return w, nil
}

// version is the file's version rev ("" the current one) as the API
// describes it.
func (b *Backend) version(ctx context.Context, f remote.FileRef) (wireItem, error) {
	w, err := b.details(ctx, f.ID)
	if err != nil || f.Rev == "" || w.VersionInfo.ID == f.Rev {
		return w, err
	}
	if !validID(f.Rev) {
		return wireItem{}, &remote.Error{Method: http.MethodGet, Endpoint: "/v1/files/{id}/versions/{versionId}", Status: http.StatusNotFound, Message: "no version of that id"}
	}
	return b.fileCall(ctx, "/v1/files/{id}/versions/{versionId}", "/v1/files/"+f.ID+"/versions/"+f.Rev)
}

// Stat is the size, time and type of a file's version, from the API.
func (b *Backend) Stat(ctx context.Context, f remote.FileRef) (remote.FileInfo, error) {
	w, err := b.version(ctx, f)
	if err != nil {
		return remote.FileInfo{}, err
	}
	n, err := w.Size.Int64()
	if err != nil || n < 0 || n > remote.MaxFileSize {
		return remote.FileInfo{}, fmt.Errorf("GET /v1/files/{id}/details: file %s: no size", f.ID)
	}
	b.noteSize(f.ID, w.VersionInfo.ID, n)
	return remote.FileInfo{Size: n, ModTime: parseTime(w.UpdatedAt), ContentType: clean(w.Mime, 128)}, nil
}

// ReadAt reads a file's version from the url endpoint, the original
// bytes (tr=orig-true: the default url may serve an optimised copy), the
// version named (ik-obj-version, which no stale copy of an older version
// answers), and checks the answer's total length against the version's
// size: a copy of another length (a CDN's stale copy) is never served
// (remote.ErrStaleCopy). Bytes come only from the url endpoint, without
// the key. A url the file left (renamed or moved since it was listed:
// the url is its path) is found again by the file's details, once.
func (b *Backend) ReadAt(ctx context.Context, f remote.FileRef, bufs [][]byte, off int64) (int, error) {
	if !b.onEndpoint(f.URL) {
		return 0, &remote.RefusedError{URL: remote.RedactURL(f.URL), Reason: "not under the url endpoint " + b.endpoint.String()}
	}
	size := int64(-1)
	if f.ID != "" {
		b.mu.Lock()
		n, ok := b.sizes[fileRev{f.ID, f.Rev}]
		b.mu.Unlock()
		if !ok {
			fi, err := b.Stat(ctx, f)
			if err != nil {
				return 0, err
			}
			n = fi.Size
		}
		size = n
	}
	q := url.Values{"tr": {"orig-true"}}
	if f.Rev != "" {
		q.Set("ik-obj-version", f.Rev)
	}
	n, err := b.api.ReadAtvSized(ctx, remote.BareURL(f.URL)+"?"+q.Encode(), bufs, off, size)
	if n == 0 && errors.Is(err, remote.ErrNotFound) && f.ID != "" {
		// A file's url is its path: a rename or a move since the url
		// was listed (by this mount, or by another client; a folder's
		// too) leaves it behind. The file's details say where it is
		// now; a file that is gone stays ErrNotFound.
		w, derr := b.details(ctx, f.ID)
		if derr != nil || !b.onEndpoint(w.URL) || remote.BareURL(w.URL) == remote.BareURL(f.URL) {
			return n, err
		}
		return b.api.ReadAtvSized(ctx, remote.BareURL(w.URL)+"?"+q.Encode(), bufs, off, size)
	}
	return n, err
}
