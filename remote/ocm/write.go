package ocm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// maxAttempts is how often an upload or a folder's creation whose
// answer was lost, and that a look proved did not land, is sent in all.
const maxAttempts = 4

// Upload sends a file: a version of the file holding the name (holder),
// or a new file; an answer under another name is undone, and a lost one
// looked into before the bytes go again (doc.go, Uploads).
func (b *Backend) Upload(ctx context.Context, up remote.Upload) (remote.Item, error) {
	if err := ValidName(up.Name, false); err != nil {
		return remote.Item{}, err
	}
	if b.maxSize > 0 && up.Size > b.maxSize {
		return remote.Item{}, fmt.Errorf("ocm: upload of %s: %d bytes: %w: the instance takes at most %d", up.Name, up.Size, remote.ErrTooLarge, b.maxSize)
	}
	parent := b.folderID(up.ParentID)
	into, err := b.holder(ctx, parent, up)
	if err != nil {
		return remote.Item{}, err
	}
	start, listed, relooked := b.clk.Now(), false, false
	for attempt := 0; ; attempt++ {
		it, err := b.uploadOnce(ctx, up, parent, into)
		if errors.Is(err, remote.ErrNotFound) && into != nil && !relooked {
			// The file that held the name is gone (removed meanwhile,
			// or in the trash and shown by its id: trash-visible):
			// nothing was stored; the name is looked up again.
			relooked = true
			free := up
			free.Into = ""
			if into, err = b.holder(ctx, parent, free); err != nil {
				return remote.Item{}, err
			}
			continue
		}
		if errors.Is(err, errRenamed) && !listed {
			// The service saw a file of the name that the look-up did
			// not: the folder's listing finds it.
			listed = true
			w, ok, lerr := b.findFold(ctx, parent, up.Name)
			if lerr != nil || !ok || w.folder() {
				return remote.Item{}, cmp.Or(lerr, err)
			}
			into = &w
			continue
		}
		if !errors.Is(err, remote.ErrAmbiguous) || attempt >= maxAttempts-1 {
			return it, err
		}
		found, landed, again := b.lostUpload(ctx, up, parent, into, start)
		switch {
		case landed:
			return found, nil
		case !again:
			return remote.Item{}, err
		}
		b.api.CountRetry(http.MethodPost, "/files/data")
		b.log.Debug("ocm: an upload did not land; sending it again", "name", up.Name, "err", err)
		if werr := remote.Sleep(ctx, b.clk, remote.Backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return remote.Item{}, err
		}
	}
}

// errRenamed marks an upload the service stored under another name
// than sent (removed since): it matches remote.ErrExists.
var errRenamed = fmt.Errorf("%w: the service stored the upload under another name", remote.ErrExists)

// holder is the file up's name holds in folder parent (ignoring case),
// nil for none: up.Into when it is still there under the name (one
// GET), else what an exact-name look-up finds. A folder of the name is
// remote.ErrExists.
func (b *Backend) holder(ctx context.Context, parent string, up remote.Upload) (*wireItem, error) {
	if err := b.resolveRoot(ctx); err != nil {
		return nil, err
	}
	if up.Into != "" {
		w, err := b.fileInfo(ctx, up.Into, "")
		switch {
		case err == nil && b.sameFolder(w.ParentID, parent) && strings.EqualFold(w.Name, up.Name):
			return &w, nil
		case err != nil && !errors.Is(err, remote.ErrNotFound):
			return nil, err
		}
	}
	w, held, err := b.lookup(ctx, parent, up.Name)
	switch {
	case err != nil:
		return nil, err
	case !held:
		return nil, nil
	case w.folder():
		return nil, fmt.Errorf("ocm: upload of %s: %w: folder %q holds the name", up.Name, remote.ErrExists, w.Name)
	}
	return &w, nil
}

// uploadOnce sends the upload once: a version of into, or a new file in
// folder parent.
func (b *Backend) uploadOnce(ctx context.Context, up remote.Upload, parent string, into *wireItem) (remote.Item, error) {
	endpoint, path, name := "/files/data", "/files/data", up.Name
	var fields [][2]string
	if into != nil {
		endpoint, path, name = "/files/{id}/data", filePath(into.ID)+"/data", into.Name
	} else {
		params, _ := json.Marshal(map[string]string{"parentID": parent})
		fields = [][2]string{{"jsonInputParameters", string(params)}}
	}
	form, length := remote.UploadForm(up, fields, "primaryFile", name, cmp.Or(up.ContentType, remote.TypeByName(up.Name)))
	call := remote.Call{Method: http.MethodPost, Endpoint: endpoint, Path: path, Body: form, Length: length}
	body, err := b.do(ctx, call)
	if err != nil {
		return remote.Item{}, err
	}
	var w wireItem
	if err := json.Unmarshal(body, &w); err != nil || !validID(w.ID) || !remote.ValidListedName(w.Name) || !w.Version.set || w.Version.n < 1 {
		return remote.Item{}, fmt.Errorf("POST %s: %s: the answer names no file", endpoint, up.Name)
	}
	w.Type = remote.TypeFile
	switch {
	case into != nil && w.ID == into.ID && w.Version.n <= into.Version.n:
		return remote.Item{}, fmt.Errorf("POST %s: %s: the service answered version %d of %s, not one after %d", endpoint, up.Name, w.Version.n, w.ID, into.Version.n)
	case into != nil && (w.ID != into.ID || w.Name != into.Name):
		return remote.Item{}, b.undoUpload(ctx, w, into, endpoint, fmt.Sprintf("asked for a version of %s (%q, version %d), the service answered %s (%q, version %d)",
			into.ID, into.Name, into.Version.n, w.ID, remote.CleanText(w.Name, 256), w.Version.n))
	case into == nil && w.Name != up.Name && !(strings.EqualFold(w.Name, up.Name) && w.Version.n > 1):
		return remote.Item{}, b.undoUpload(ctx, w, nil, endpoint, fmt.Sprintf("stored as %q", remote.CleanText(w.Name, 256)))
	case w.ParentID != "" && !b.sameFolder(w.ParentID, parent):
		return remote.Item{}, fmt.Errorf("POST %s: %s: the service put it in folder %s, not %s", endpoint, up.Name, remote.CleanText(w.ParentID, 64), parent)
	}
	it := b.item(w, up.ParentID)
	if up.Size >= 0 && it.Size != up.Size {
		return remote.Item{}, fmt.Errorf("POST %s: %s: %d bytes sent, the service holds %d", endpoint, up.Name, up.Size, it.Size)
	}
	return it, nil
}

// undoUpload removes what an upload made that is not what was asked:
// a new file under another name (the whole file: errRenamed), or a
// version of another file than into (that version); it is the upload's
// error, remote.ErrExists.
func (b *Backend) undoUpload(ctx context.Context, w wireItem, into *wireItem, endpoint, what string) error {
	err := fmt.Errorf("POST %s: %w: %s", endpoint, remote.ErrExists, what)
	var undo func() error
	switch {
	case w.Version.n > 1 && (into == nil || w.ID != into.ID):
		// A version of a file that held the name in another case: that
		// version goes, the one before is current again.
		undo = func() error {
			if err := b.deleteVersion(ctx, w.ID, w.Version.n); err != nil {
				return err
			}
			now, err := b.fileInfo(ctx, w.ID, "")
			if err == nil && now.Version.n >= w.Version.n {
				err = fmt.Errorf("version %d is still current", w.Version.n)
			}
			return err
		}
	case into != nil && w.ID == into.ID:
		undo = func() error { return b.nameBack(ctx, w, into.Name) }
	default:
		err = fmt.Errorf("POST %s: %w: %s", endpoint, errRenamed, what)
		undo = func() error { return b.removeFile(ctx, w.ID) }
	}
	return b.undone(err, w.ID, w.Name, undo)
}

// lostUpload looks at what an upload sent at start whose answer was lost
// did, by its name: the file it landed as (landed), or proof that it did
// not land (again): into as it was, or, for a new file, no file of the
// name. Neither: nobody can tell.
func (b *Backend) lostUpload(ctx context.Context, up remote.Upload, parent string, into *wireItem, start time.Time) (it remote.Item, landed, again bool) {
	w, ok, err := b.lookup(ctx, parent, up.Name)
	switch {
	case err != nil:
		return remote.Item{}, false, false
	case !ok:
		return remote.Item{}, false, into == nil
	case into != nil && w.ID == into.ID && w.Version.n == into.Version.n:
		return remote.Item{}, false, true
	}
	a := remote.Attempt{ParentID: up.ParentID, Name: up.Name, Size: up.Size, At: start, Exclude: up.Exclude}
	if into != nil {
		a.Into, a.BaseRev = into.ID, revOf(into.Version.n)
	}
	found, ok := b.landedAs(b.item(w, up.ParentID), a)
	return found, ok, false
}

// skew is the margin FindLanded allows between this machine's clock and
// the service's.
const skew = 2 * time.Minute

// FindLanded looks for an upload whose answer was lost by its name in
// its folder: the file there now, of the size sent, is the upload when
// it is a.Into at a version after a.BaseRev, or another file (not
// excluded, under the exact name) changed since the upload was sent.
func (b *Backend) FindLanded(ctx context.Context, a remote.Attempt) (remote.Item, bool, error) {
	w, ok, err := b.lookup(ctx, b.folderID(a.ParentID), a.Name)
	if err != nil || !ok || w.folder() {
		return remote.Item{}, false, err
	}
	it, ok := b.landedAs(b.item(w, a.ParentID), a)
	return it, ok, nil
}

// landedAs reports whether it, the file a's name holds now, is the
// upload a.
func (b *Backend) landedAs(it remote.Item, a remote.Attempt) (remote.Item, bool) {
	rev, _ := parseRev(it.Rev)
	base, _ := parseRev(a.BaseRev)
	switch {
	case a.Size >= 0 && it.Size != a.Size:
		return remote.Item{}, false
	case a.Into != "" && it.ID == a.Into:
		return it, rev > base // at BaseRev (or before): the file as it was
	case it.Name != a.Name || slices.Contains(a.Exclude, it.ID):
		return remote.Item{}, false
	case !a.At.IsZero() && !it.UpdatedAt.IsZero() && it.UpdatedAt.Before(b.api.ServerTime(a.At).Add(-skew)):
		return remote.Item{}, false
	}
	return it, true
}

// Confirm is the file as the API has it, listed in its folder
// (liveFile): an upload's answer carries the id its listings use, so
// this is never needed.
func (b *Backend) Confirm(ctx context.Context, it remote.Item, _ []remote.Item, _ []string) (remote.Item, error) {
	w, err := b.liveFile(ctx, it.ID, "")
	if err != nil {
		return remote.Item{}, fmt.Errorf("%w: %s: %w", remote.ErrUnconfirmed, it.Name, err)
	}
	return b.item(w, it.ParentID), nil
}

// PickCreated finds the item by its id, as Confirm does.
func (b *Backend) PickCreated(all []remote.Item, it remote.Item, _ []remote.Item, _ []string) (remote.Item, error) {
	for _, x := range all {
		if x.ID == it.ID {
			return x, nil
		}
	}
	return remote.Item{}, fmt.Errorf("%w: %s (id %s) is not listed", remote.ErrUnconfirmed, it.Name, it.ID)
}

// CreateFolder makes folder name in parentID after a look-up (the
// service would answer name(2) for a taken name): an answer under
// another name is removed, remote.ErrExists; a lost answer is looked
// into (a folder of the name is the one made; none, it goes again).
func (b *Backend) CreateFolder(ctx context.Context, parentID, name string) (remote.Item, error) {
	if err := ValidName(name, true); err != nil {
		return remote.Item{}, err
	}
	parent := b.folderID(parentID)
	if w, ok, err := b.lookup(ctx, parent, name); err != nil {
		return remote.Item{}, err
	} else if ok {
		return remote.Item{}, fmt.Errorf("ocm: folder %s: %w: %s %q holds the name", name, remote.ErrExists, w.Type, w.Name)
	}
	for attempt := 0; ; attempt++ {
		body, err := b.do(ctx, remote.Call{Method: http.MethodPost, Endpoint: "/folders/{id}", Path: folderPath(parent),
			Body: remote.JSONBody(map[string]string{"name": name, "description": ""})})
		if errors.Is(err, remote.ErrAmbiguous) && attempt < maxAttempts-1 {
			w, ok, lerr := b.lookup(ctx, parent, name)
			switch {
			case lerr != nil:
				return remote.Item{}, err
			case ok && w.folder() && w.Name == name:
				return b.item(w, parentID), nil
			case ok:
				return remote.Item{}, err
			}
			b.api.CountRetry(http.MethodPost, "/folders/{id}")
			if werr := remote.Sleep(ctx, b.clk, remote.Backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
				return remote.Item{}, err
			}
			continue
		}
		if err != nil {
			return remote.Item{}, err
		}
		var w wireItem
		if err := json.Unmarshal(body, &w); err != nil || !validID(w.ID) || !remote.ValidListedName(w.Name) || (w.Type != "" && !w.folder()) {
			return remote.Item{}, fmt.Errorf("POST /folders/{id}: %s: the answer names no folder", name)
		}
		w.Type = remote.TypeFolder
		if w.Name != name {
			return remote.Item{}, b.undone(fmt.Errorf("POST /folders/{id}: %w: folder %s was made as %q", remote.ErrExists, name, remote.CleanText(w.Name, 256)),
				w.ID, w.Name, func() error { return b.removeFolder(ctx, w.ID) })
		}
		if w.ParentID != "" && !b.sameFolder(w.ParentID, parent) {
			return remote.Item{}, fmt.Errorf("POST /folders/{id}: folder %s was made in folder %s, not %s", name, remote.CleanText(w.ParentID, 64), parent)
		}
		return b.item(w, parentID), nil
	}
}
