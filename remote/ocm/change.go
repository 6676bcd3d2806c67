package ocm

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// itemOf is item id as it is now, a file or a folder: a folder seen
// before is asked as one, else the file's route first.
func (b *Backend) itemOf(ctx context.Context, id string) (wireItem, error) {
	if err := b.resolveRoot(ctx); err != nil {
		return wireItem{}, err
	}
	if b.knownFolder(id) {
		return b.folderInfo(ctx, id)
	}
	w, err := b.fileInfo(ctx, id, "")
	if !errors.Is(err, remote.ErrNotFound) && !errors.Is(err, remote.ErrInvalid) {
		return w, err
	}
	if fw, ferr := b.folderInfo(ctx, id); ferr == nil {
		return fw, nil
	}
	return w, err
}

// itemPath is the route and path of item w.
func itemPath(w wireItem) (endpoint, path string) {
	if w.folder() {
		return "/folders/{id}", folderPath(w.ID)
	}
	return "/files/{id}", filePath(w.ID)
}

// putName renames w (PUT files/{id} or folders/{id} {"name"}) and
// returns the name the service answers it has, or, when the answer
// names none, as its details say.
func (b *Backend) putName(ctx context.Context, w wireItem, name string) (string, error) {
	endpoint, path := itemPath(w)
	body, err := b.do(ctx, remote.Call{Method: http.MethodPut, Endpoint: endpoint, Path: path,
		Body: remote.JSONBody(map[string]string{"name": name}), Idempotent: true})
	if err != nil {
		return "", err
	}
	var a wireItem
	if json.Unmarshal(body, &a) == nil && a.ID == w.ID && remote.ValidListedName(a.Name) {
		return a.Name, nil
	}
	now, err := b.itemOf(ctx, w.ID)
	if err != nil {
		return "", err
	}
	return now.Name, nil
}

// Rename gives item id a new name in its folder, after a look-up
// (remote.ErrExists); a name the service answers otherwise is put back,
// remote.ErrExists; a change of case it refuses goes through a
// temporary name (renameVia).
func (b *Backend) Rename(ctx context.Context, id, name string) error {
	w, err := b.itemOf(ctx, id)
	if err != nil {
		return err
	}
	return b.rename(ctx, w, name)
}

func (b *Backend) rename(ctx context.Context, w wireItem, name string) error {
	if err := ValidName(name, w.folder()); err != nil {
		return err
	}
	if w.Name == name {
		return nil
	}
	if h, ok, err := b.lookup(ctx, w.ParentID, name); err != nil {
		return err
	} else if ok && h.ID != w.ID {
		return fmt.Errorf("ocm: renaming %q to %q: %w: %s %q holds the name", w.Name, name, remote.ErrExists, h.Type, h.Name)
	}
	got, err := b.putName(ctx, w, name)
	var e *remote.Error
	switch {
	case err == nil && got == name:
		return nil
	case strings.EqualFold(w.Name, name) && (err == nil && got == w.Name || errors.As(err, &e) && e.Status/100 == 4 && e.Status != http.StatusNotFound):
		return b.renameVia(ctx, w, name)
	case err != nil:
		return err
	}
	return b.undone(fmt.Errorf("ocm: renaming %q to %q: %w: the service named it %q", w.Name, name, remote.ErrExists, remote.CleanText(got, 256)),
		w.ID, got, func() error { return b.nameBack(ctx, w, w.Name) })
}

// nameBack names w name, as the answer must say.
func (b *Backend) nameBack(ctx context.Context, w wireItem, name string) error {
	got, err := b.putName(ctx, w, name)
	if err == nil && got != name {
		err = fmt.Errorf("the service named it %q", remote.CleanText(got, 256))
	}
	return err
}

// undone is err, the failure of a change the service made otherwise than
// asked, once undo has put things back; an undo that fails is logged,
// naming what is left, and said in the error.
func (b *Backend) undone(err error, id, left string, undo func() error) error {
	if uerr := undo(); uerr != nil {
		left = remote.CleanText(left, 256)
		b.log.Error("ocm: a change the service made otherwise than asked could not be undone", "id", id, "left", left, "err", uerr)
		// No longer the clash it was: something is left to see to.
		return fmt.Errorf("%s; undoing it failed, %q (id %s) is left: %w", err.Error(), left, id, uerr)
	}
	return err
}

// renameVia changes the case of w's name through a temporary name
// (NAME.ghlfs-case-XXXXXXXX), for a service that takes a name equal to
// the old one ignoring case for a clash with itself
// (case-rename-refused). A crash between the two renames leaves the item
// under the temporary name, in the same folder, with its id, content and
// versions; the next listing shows it so.
func (b *Backend) renameVia(ctx context.Context, w wireItem, name string) error {
	tmp := tempName(w.Name, "case")
	if err := b.nameBack(ctx, w, tmp); err != nil {
		return fmt.Errorf("ocm: renaming %q to %q through %q: %w", w.Name, name, tmp, err)
	}
	if err := b.nameBack(ctx, w, name); err != nil {
		return b.undone(fmt.Errorf("ocm: renaming %q to %q through %q: %w", w.Name, name, tmp, err),
			w.ID, tmp, func() error { return b.nameBack(ctx, w, w.Name) })
	}
	return nil
}

// tempName is a name no item holds, made of name: NAME.ghlfs-WHY-XXXXXXXX
// (cut to maxName bytes).
func tempName(name, why string) string {
	var r [4]byte
	rand.Read(r[:])
	suffix := ".ghlfs-" + why + "-" + hex.EncodeToString(r[:])
	if len(name)+len(suffix) > maxName {
		name = strings.ToValidUTF8(name[:maxName-len(suffix)], "") // a rune cut in two goes
	}
	return name + suffix
}

// Move puts a file or a folder in folder parentID under name ("" its
// own), on the server (doc.go, Moves): the destination looked at first,
// the item after; a rename before the move when the destination holds
// the old name (through a temporary name when the source holds the new
// one; undone if the move then fails), else after. A folder is never
// moved into itself or below (remote.ErrInvalid).
func (b *Backend) Move(ctx context.Context, id, parentID, name string) error {
	w, err := b.itemOf(ctx, id)
	if err != nil {
		return err
	}
	dest := b.folderID(parentID)
	name = cmp.Or(name, w.Name)
	if err := ValidName(name, w.folder()); err != nil {
		return err
	}
	if b.sameFolder(w.ParentID, dest) {
		return b.rename(ctx, w, name)
	}
	if w.folder() {
		if err := b.notBelow(ctx, dest, w.ID); err != nil {
			return err
		}
	}
	if h, ok, err := b.lookup(ctx, dest, name); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("ocm: moving %q to %s as %q: %w: %s %q holds the name", w.Name, dest, name, remote.ErrExists, h.Type, h.Name)
	}
	renamedFrom := "" // the name it had, when renamed before the move
	if !strings.EqualFold(name, w.Name) {
		// The move is sent under the old name: taken in the destination,
		// in any case (which the exact look-up cannot see: a listing of
		// the folder can), the item takes its new name first.
		if _, oldTaken, err := b.findFold(ctx, dest, w.Name); err != nil {
			return err
		} else if oldTaken {
			// Where the source holds the new name (in any case), through
			// a temporary name (a crash leaves the item under it, its id
			// and versions kept; the next listing shows it so).
			first := name
			err := b.rename(ctx, w, first)
			if errors.Is(err, remote.ErrExists) {
				first = tempName(w.Name, "move")
				err = b.nameBack(ctx, w, first)
			}
			if err != nil {
				return err
			}
			renamedFrom = w.Name
			w.Name = first
		}
	}
	src := w.ParentID
	now, err := b.moveTo(ctx, w, dest)
	if err != nil && renamedFrom != "" {
		// Nothing moved: the rename made for it goes too.
		return b.undone(err, w.ID, w.Name, func() error { return b.nameBack(ctx, w, renamedFrom) })
	}
	if err != nil {
		return err
	}
	if now.Name != w.Name {
		return b.undone(fmt.Errorf("ocm: moving %q to %s: %w: the service named it %q there", w.Name, dest, remote.ErrExists, remote.CleanText(now.Name, 256)),
			w.ID, now.Name, func() error {
				if _, err := b.moveTo(ctx, now, src); err != nil {
					return err
				}
				return b.nameBack(ctx, now, w.Name)
			})
	}
	return b.rename(ctx, now, name)
}

// moveTo sends the move of w into dest and returns w as it is after. A
// lost answer is looked into: w in dest is done; w where it was, the
// move is sent again (maxAttempts in all).
func (b *Backend) moveTo(ctx context.Context, w wireItem, dest string) (wireItem, error) {
	endpoint, path := itemPath(w)
	for attempt := 0; ; attempt++ {
		_, err := b.do(ctx, remote.Call{Method: http.MethodPost, Endpoint: endpoint + "/move", Path: path + "/move",
			Body: remote.JSONBody(map[string]string{"destinationID": dest})})
		if err != nil && !errors.Is(err, remote.ErrAmbiguous) {
			return wireItem{}, err
		}
		now, ierr := b.itemOf(ctx, w.ID)
		switch {
		case ierr != nil && err != nil:
			return wireItem{}, err
		case ierr != nil:
			return wireItem{}, ierr
		case b.sameFolder(now.ParentID, dest):
			return now, nil
		case err == nil:
			return wireItem{}, fmt.Errorf("POST %s/move: the service answered success, and %q is still in folder %s", endpoint, w.Name, remote.CleanText(now.ParentID, 64))
		case !b.sameFolder(now.ParentID, w.ParentID) || attempt >= maxAttempts-1:
			return wireItem{}, err
		}
		b.api.CountRetry(http.MethodPost, endpoint+"/move")
		if werr := remote.Sleep(ctx, b.clk, remote.Backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return wireItem{}, err
		}
	}
}

// maxDepth bounds the walk up from a folder to the root.
const maxDepth = 256

// notBelow refuses to move folder id into dest when dest is id or lies
// below it (remote.ErrInvalid): the walk goes up dest's folders to the
// root.
func (b *Backend) notBelow(ctx context.Context, dest, id string) error {
	for range maxDepth {
		if dest == id {
			return fmt.Errorf("ocm: moving folder %s: %w: the destination is the folder itself or lies in it", id, remote.ErrInvalid)
		}
		b.mu.Lock()
		root := b.rootIDs[dest]
		b.mu.Unlock()
		if root {
			return nil
		}
		w, err := b.folderInfo(ctx, dest)
		if err != nil {
			return err
		}
		if w.ParentID == "" || w.ParentID == w.ID {
			return nil
		}
		dest = w.ParentID
	}
	return fmt.Errorf("ocm: moving folder %s: %w: more than %d folders above the destination", id, remote.ErrInvalid, maxDepth)
}

// Remove removes items to the trash, one DELETE each (a folder with
// what it holds: the caller removes only a folder a fresh listing shows
// empty). A *remote.NotDoneError names the ids not removed: Missing those
// the service does not hold, Reasons its message for each it refused.
func (b *Backend) Remove(ctx context.Context, ids []string, permanent bool) error {
	if permanent {
		return fmt.Errorf("ocm: removing for good: %w: OCM's REST API removes to the trash", remote.ErrNotSupported)
	}
	nd := &remote.NotDoneError{Call: "DELETE /files/{id}", Reasons: map[string]string{}}
	for _, id := range ids {
		err := b.removeItem(ctx, id)
		var e *remote.Error
		switch {
		case err == nil:
		case errors.Is(err, remote.ErrNotFound):
			nd.IDs, nd.Missing = append(nd.IDs, id), append(nd.Missing, id)
			nd.Reasons[id] = remote.CleanText(err.Error(), maxMessage)
		case errors.As(err, &e) && e.Status/100 == 4 && e.Status != http.StatusTooManyRequests:
			nd.IDs = append(nd.IDs, id)
			nd.Reasons[id] = remote.CleanText(cmp.Or(e.Message, e.Error()), maxMessage)
		default:
			return err
		}
	}
	if len(nd.IDs) == 0 {
		return nil
	}
	return nd
}

// removeItem removes a file or a folder: a folder seen before by its
// route, else the file's route first.
func (b *Backend) removeItem(ctx context.Context, id string) error {
	if !validID(id) {
		return notFound("/files/{id}", "no item of that id")
	}
	if b.knownFolder(id) {
		return b.removeFolder(ctx, id)
	}
	err := b.removeFile(ctx, id)
	if errors.Is(err, remote.ErrNotFound) || errors.Is(err, remote.ErrInvalid) {
		if ferr := b.removeFolder(ctx, id); !errors.Is(ferr, remote.ErrNotFound) {
			return ferr
		}
	}
	return err
}

// removeFolder is DELETE folders/{id}: to the trash, with its content.
func (b *Backend) removeFolder(ctx context.Context, id string) error {
	_, err := b.do(ctx, remote.Call{Method: http.MethodDelete, Endpoint: "/folders/{id}", Path: folderPath(id), Idempotent: true})
	return err
}

// removeFile removes file id, every version: DELETE files/{id}, then a
// look, until it is gone: GET files/{id} answers 404, or its folder no
// longer lists it (a service that shows a trashed file by its id).
// Whether a DELETE without a version removes them all or the latest only
// is contradictory in the doc (seed 004; delete-latest-only): it is sent
// again while the file is there, at most as often as it has versions
// left, so that no older version is ever left showing under the name.
func (b *Backend) removeFile(ctx context.Context, id string) error {
	for sent, most := 0, 1; ; sent++ {
		if sent >= most {
			return fmt.Errorf("ocm: removing file %s: still there after %d deletes", id, sent)
		}
		_, err := b.do(ctx, remote.Call{Method: http.MethodDelete, Endpoint: "/files/{id}", Path: filePath(id), Idempotent: true})
		if err != nil {
			if sent > 0 && errors.Is(err, remote.ErrNotFound) {
				return nil
			}
			return err
		}
		w, err := b.fileInfo(ctx, id, "")
		if errors.Is(err, remote.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if live, err := b.listed(ctx, w); err != nil {
			return err
		} else if !live {
			return nil // in the trash, its details still shown
		}
		if sent == 0 {
			most = 1 + int(min(w.Version.n, MaxVersions))
		}
		b.log.Debug("ocm: a file still there after a delete; deleting again", "id", id, "version", w.Version.n)
	}
}
