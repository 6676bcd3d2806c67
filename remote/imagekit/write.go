package imagekit

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// Upload sends a file to the upload host in one multipart request
// (doc server-side-file-upload.md), with useUniqueFileName=false (the
// service's default, true, would add a random suffix) and
// overwriteFile=true: onto a name a file holds, a new version of that
// file (same fileId, a new versionInfo.id). A file over the plan's limit
// is refused before its bytes are read; a name the service would rewrite,
// and a folder no longer there (the service would make it anew), before
// anything is sent. An answer lost after the bytes went (a 5xx, a cut
// connection) is looked into before the bytes are sent again: the file
// the upload landed as (FindLanded, with up.Into and BaseRev) is the
// answer; the name holding no file, or the file up.Into at BaseRev,
// proves it did not land, and it is sent again (four attempts in all, as
// HighLevel's uploads); else it is remote.ErrAmbiguous, never sent twice.
func (b *Backend) Upload(ctx context.Context, up remote.Upload) (remote.Item, error) {
	ctype := cmp.Or(up.ContentType, remote.TypeByName(up.Name))
	if limit := b.uploadLimit(ctype); up.Size > limit {
		return remote.Item{}, fmt.Errorf("imagekit: upload of %s: %d bytes: %w: the plan takes at most %d of %s", up.Name, up.Size, remote.ErrTooLarge, limit, ctype)
	}
	if err := ValidName(up.Name, false); err != nil {
		return remote.Item{}, err
	}
	dir, err := b.existingFolder(ctx, up.ParentID)
	if err != nil {
		return remote.Item{}, err
	}
	start := b.clk.Now()
	for attempt := 0; ; attempt++ {
		it, err := b.uploadOnce(ctx, up, dir, ctype)
		if !errors.Is(err, remote.ErrAmbiguous) || attempt >= 3 {
			return it, err
		}
		found, landed, again := b.lostUpload(ctx, up, dir, start)
		switch {
		case landed:
			return found, nil
		case !again:
			return remote.Item{}, err
		}
		b.log.Debug("upload did not land; sending it again", "name", up.Name, "err", err)
		if werr := remote.Sleep(ctx, b.clk, remote.Backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return remote.Item{}, err
		}
	}
}

// lostUpload looks for what an upload sent at start whose answer was
// lost did: the file it landed as (landed), or proof that it did not
// land (again): its name holds no file, or the file it was sent over as
// it was (up.Into at BaseRev). Neither: nobody can tell.
func (b *Backend) lostUpload(ctx context.Context, up remote.Upload, dir string, start time.Time) (it remote.Item, landed, again bool) {
	w, ok, err := b.lookupFile(ctx, dir, up.Name)
	switch {
	case err != nil:
		return remote.Item{}, false, false
	case !ok:
		return remote.Item{}, false, true
	}
	cur := b.item(w, up.ParentID, dir)
	if up.Into != "" && cur.ID == up.Into && cur.Rev == up.BaseRev {
		return remote.Item{}, false, true
	}
	a := remote.Attempt{ParentID: up.ParentID, Name: up.Name, Size: up.Size, At: start, Exclude: up.Exclude, Into: up.Into, BaseRev: up.BaseRev}
	if found, ok := b.landedAs(cur, a); ok {
		return found, true, false
	}
	return remote.Item{}, false, false
}

// uploadOnce sends the upload once, into folder path dir.
func (b *Backend) uploadOnce(ctx context.Context, up remote.Upload, dir, ctype string) (remote.Item, error) {
	// useUniqueFileName=false: the service's default would add a random
	// suffix; overwriteFile=true: a taken name gets a new version.
	form, length := remote.UploadForm(up, [][2]string{{"fileName", up.Name}, {"folder", dir + "/"}, {"useUniqueFileName", "false"}, {"overwriteFile", "true"}},
		"file", up.Name, ctype)
	call := remote.Call{Method: http.MethodPost, Endpoint: "/api/v1/files/upload", Path: "/api/v1/files/upload", Body: form, Length: length}
	body, err := b.up.Do(ctx, call)
	var e *remote.Error
	if errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "size exceeds") {
		return remote.Item{}, fmt.Errorf("%w: %w", remote.ErrTooLarge, err)
	}
	if err != nil {
		return remote.Item{}, err
	}
	var w wireItem
	if err := json.Unmarshal(body, &w); err != nil || !validID(w.FileID) || !validID(w.VersionInfo.ID) {
		return remote.Item{}, fmt.Errorf("POST /api/v1/files/upload: %s: the answer names no file", up.Name)
	}
	w.Type = "file"
	if w.Name != up.Name || w.FilePath != dir+"/"+up.Name {
		// Never shown under the wrong name: the cache drops it.
		return remote.Item{}, fmt.Errorf("POST /api/v1/files/upload: %w: %s was stored as %q (in %q)", remote.ErrInvalid, up.Name, clean(w.FilePath, 256), dir+"/")
	}
	if !b.onEndpoint(w.URL) {
		return remote.Item{}, fmt.Errorf("POST /api/v1/files/upload: %s: the answer's url is not under the url endpoint", up.Name)
	}
	it := b.item(w, up.ParentID, dir)
	if up.Size >= 0 && it.Size != up.Size {
		return remote.Item{}, fmt.Errorf("POST /api/v1/files/upload: %s: %d bytes sent, the service holds %d", up.Name, up.Size, it.Size)
	}
	return it, nil
}

// skew is the margin FindLanded allows between this machine's clock and
// the service's.
const skew = 2 * time.Minute

// FindLanded looks for an upload whose answer was lost, by the exact
// name in its folder: the file there now, of the size sent, is the
// upload when it is a.Into at another version than a.BaseRev, or another
// file (not excluded) changed since the upload was sent.
func (b *Backend) FindLanded(ctx context.Context, a remote.Attempt) (remote.Item, bool, error) {
	dir, err := b.pathOf(ctx, a.ParentID)
	if err != nil {
		return remote.Item{}, false, err
	}
	w, ok, err := b.lookupFile(ctx, dir, a.Name)
	if err != nil || !ok {
		return remote.Item{}, false, err
	}
	it, ok := b.landedAs(b.item(w, a.ParentID, dir), a)
	return it, ok, nil
}

// landedAs reports whether it, the file a's name holds now, is the upload
// a (FindLanded).
func (b *Backend) landedAs(it remote.Item, a remote.Attempt) (remote.Item, bool) {
	switch {
	case a.Size >= 0 && it.Size != a.Size:
		return remote.Item{}, false
	case a.Into != "" && it.ID == a.Into && it.Rev == a.BaseRev:
		return remote.Item{}, false // the file as it was: the upload did not land
	case a.Into != "" && it.ID == a.Into:
		return it, true
	case slices.Contains(a.Exclude, it.ID) || slices.ContainsFunc(a.Exclude, func(u string) bool { return remote.SameURL(u, it.URL) }):
		return remote.Item{}, false
	case !a.At.IsZero() && !it.UpdatedAt.IsZero() && it.UpdatedAt.Before(b.api.ServerTime(a.At).Add(-skew)):
		return remote.Item{}, false
	}
	return it, true
}

// Confirm is the file as listed: an upload's answer carries the fileId
// its listings use, so this is never needed; it asks the details.
func (b *Backend) Confirm(ctx context.Context, it remote.Item, _ []remote.Item, _ []string) (remote.Item, error) {
	w, err := b.details(ctx, it.ID)
	if err != nil {
		return remote.Item{}, fmt.Errorf("%w: %s: %w", remote.ErrUnconfirmed, it.Name, err)
	}
	dir, _ := split(w.FilePath)
	return b.item(w, it.ParentID, dir), nil
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

// folderOrFile is the path of item id when it is a folder; ok false for a
// file (the details of which are w).
func (b *Backend) folderOrFile(ctx context.Context, id string) (p string, folder bool, w wireItem, err error) {
	if p, ok := b.knownFolder(id); ok {
		return p, true, wireItem{}, nil
	}
	w, err = b.details(ctx, id)
	if err == nil || !errors.Is(err, remote.ErrNotFound) {
		return "", false, w, err
	}
	if p, ferr := b.pathOf(ctx, id); ferr == nil {
		return p, true, wireItem{}, nil
	}
	return "", false, w, err
}

// Rename renames a file (PUT /v1/files/rename: all its versions; 409 →
// remote.ErrExists) or a folder (a renameFolder job, polled to its end).
// A lost answer is looked into: the file under the new name is success.
func (b *Backend) Rename(ctx context.Context, id, name string) error {
	p, folder, w, err := b.folderOrFile(ctx, id)
	if err != nil {
		return err
	}
	if folder {
		return b.renameFolder(ctx, id, p, name)
	}
	return b.renameFile(ctx, w, name)
}

func (b *Backend) renameFile(ctx context.Context, w wireItem, name string) error {
	if err := ValidName(name, false); err != nil {
		return err
	}
	if w.Name == name {
		return nil
	}
	return b.doChecked(ctx, remote.Call{Method: http.MethodPut, Endpoint: "/v1/files/rename", Path: "/v1/files/rename",
		Body: remote.JSONBody(map[string]any{"filePath": w.FilePath, "newFileName": name, "purgeCache": false})},
		w, func(now wireItem) bool { return now.Name == name })
}

// doChecked sends call, a change to the file w that is not idempotent. A
// lost answer (a 5xx, a cut) is looked into by the file's details: the
// change made (done) is success; the file where it was proves the call
// was not carried out, and it is sent again (four attempts in all, as
// the core retries an idempotent call); anything else is the call's
// error (remote.ErrAmbiguous).
func (b *Backend) doChecked(ctx context.Context, call remote.Call, w wireItem, done func(now wireItem) bool) error {
	for attempt := 0; ; attempt++ {
		_, err := b.api.Do(ctx, call)
		if !errors.Is(err, remote.ErrAmbiguous) {
			return err
		}
		now, derr := b.details(ctx, w.FileID)
		switch {
		case derr != nil:
			return err
		case done(now):
			return nil
		case now.FilePath != w.FilePath || attempt >= 3:
			return err
		}
		b.log.Debug("a change was not carried out; sending it again", "call", call.Endpoint, "err", err)
		if werr := remote.Sleep(ctx, b.clk, remote.Backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return err
		}
	}
}

// Move puts a file or a folder in folder parentID under name ("" its
// own). The service would merge a file moved onto a name the destination
// holds into that file's history (doc move-file.md): the destination is
// looked at first, and a name taken there is remote.ErrExists. That
// check is no lock: another client may take the name between it and the
// move (doc.go). A file under a new name goes through a name of its own
// (tempName): renamed, moved, renamed. A folder's new name is given by a
// rename, before the move when the destination holds the old name, else
// after; where the source holds the new name too, neither order works,
// and the move is remote.ErrNotSupported (swapped), with nothing
// changed: mv copies it.
func (b *Backend) Move(ctx context.Context, id, parentID, name string) error {
	dest, err := b.existingFolder(ctx, parentID)
	if err != nil {
		return err
	}
	p, folder, w, err := b.folderOrFile(ctx, id)
	if err != nil {
		return err
	}
	if folder {
		return b.moveFolderAs(ctx, id, p, dest, name)
	}
	name = cmp.Or(name, w.Name)
	if err := ValidName(name, false); err != nil {
		return err
	}
	src, _ := split(w.FilePath)
	if src == dest {
		return b.renameFile(ctx, w, name)
	}
	if _, taken, err := b.lookupFile(ctx, dest, name); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("imagekit: moving %s to %s/%s: %w (the service would merge the two files' versions)", w.FilePath, dest, name, remote.ErrExists)
	}
	if name != w.Name {
		// Under a name of its own on the way: the service moves a file
		// under the name it has, and one of the destination's (its old
		// one, or one a new upload there is taking as the move goes)
		// would merge the two files' versions. A crash between the calls
		// leaves it under that name, its id and versions kept.
		tmp := tempName(w.Name)
		if err := b.renameFile(ctx, w, tmp); err != nil {
			return err
		}
		old := w
		w.FilePath, w.Name = src+"/"+tmp, tmp
		if err := b.moveFile(ctx, w, dest); err != nil {
			return renamedBack(w.FilePath, old.Name, err, b.renameFile(ctx, w, old.Name))
		}
		w.FilePath = dest + "/" + tmp
		return b.renameFile(ctx, w, name)
	}
	if err := b.moveFile(ctx, w, dest); err != nil {
		return err
	}
	w.FilePath = dest + "/" + w.Name
	return b.renameFile(ctx, w, name)
}

// swapped is the error of the rename a move makes first (the
// destination holds the item's old name), given its err: refused as the
// item's folder holds the new name too, it is remote.ErrNotSupported.
func swapped(p, dest, name string, err error) error {
	if !errors.Is(err, remote.ErrExists) {
		return err
	}
	return fmt.Errorf("imagekit: moving %s to %s/%s: %w: the destination holds its name and its folder the new one, so neither a rename nor a move can come first (%v)", p, dest, name, remote.ErrNotSupported, err)
}

// tempName is a name of name's own for a file on its way to another
// folder: the name, a dot and 8 random hex digits, within ImageKit's
// rules.
func tempName(name string) string {
	var r [4]byte
	rand.Read(r[:])
	suffix := ".ghlfs-move-" + hex.EncodeToString(r[:])
	if max := maxName - len(suffix); len(name) > max {
		name = name[:max]
	}
	return name + suffix
}

// moveFile is POST /v1/files/move; a lost answer is looked into.
func (b *Backend) moveFile(ctx context.Context, w wireItem, dest string) error {
	return b.doChecked(ctx, remote.Call{Method: http.MethodPost, Endpoint: "/v1/files/move", Path: "/v1/files/move",
		Body: remote.JSONBody(map[string]string{"sourceFilePath": w.FilePath, "destinationPath": dest + "/"})},
		w, func(now wireItem) bool { return now.FilePath == dest+"/"+w.Name })
}

// moveFolderAs moves the folder at p into dest under name ("" its own).
func (b *Backend) moveFolderAs(ctx context.Context, id, p, dest, name string) error {
	dir, old := split(p)
	name = cmp.Or(name, old)
	if err := ValidName(name, true); err != nil {
		return err
	}
	if dir == dest {
		return b.renameFolder(ctx, id, p, name)
	}
	if _, taken, err := b.lookupFolder(ctx, dest, name); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("imagekit: moving folder %s to %s/%s: %w", p, dest, name, remote.ErrExists)
	}
	if name != old {
		if _, oldTaken, err := b.lookupFolder(ctx, dest, old); err != nil {
			return err
		} else if oldTaken {
			if err := b.renameFolder(ctx, id, p, name); err != nil {
				return swapped(p, dest, name, err)
			}
			renamed := dir + "/" + name
			if err := b.moveFolder(ctx, renamed, dest); err != nil {
				// An empty folder, say, which the job does not move.
				return renamedBack(renamed, old, err, b.renameFolder(ctx, id, renamed, old))
			}
			return nil
		}
	}
	if err := b.moveFolder(ctx, p, dest); err != nil {
		return err
	}
	return b.renameFolder(ctx, id, dest+"/"+old, name)
}

// renamedBack is the error of a move that renamed the item at p in its
// folder first (the destination holds its old name), then failed with
// err: undo is the error of the rename back to old. Undone, the move is
// err, nothing changed (an EXDEV stays true: mv copies the item from
// where it was); else the item is left renamed, which no errno the
// caller would act on can say: remote.ErrAmbiguous, naming both names.
func renamedBack(p, old string, err, undo error) error {
	if undo == nil {
		return err
	}
	return fmt.Errorf("imagekit: moving %s: %w: renamed in its folder first, the move then failed (%v), and renaming it back to %s failed too (%v)", p, remote.ErrAmbiguous, err, old, undo)
}

// Remove deletes items for good (ImageKit has no trash): files by bulk
// delete, BulkRemove ids a call (seed 003): 200 all gone; 207 the ids of
// errors[] stay, named with the service's message; 404 with
// missingFileIds: nothing was deleted, the missing ones are gone already
// and the others are sent again. A folder goes by DELETE /v1/folder,
// with everything in it (the caller removes only a folder a fresh
// listing shows empty). A *remote.NotDoneError names the ids not
// removed: Missing those the service does not hold, Reasons its message
// for each it refused.
func (b *Backend) Remove(ctx context.Context, ids []string, permanent bool) error {
	if !permanent {
		return fmt.Errorf("imagekit: removing to the trash: %w: ImageKit has no trash", remote.ErrNotSupported)
	}
	nd := &remote.NotDoneError{Call: "POST /v1/files/batch/deleteByFileIds", Reasons: map[string]string{}}
	var files []string
	for _, id := range ids {
		if p, ok := b.knownFolder(id); ok {
			if err := b.removeFolder(ctx, id, p, nd); err != nil {
				return err
			}
			continue
		}
		files = append(files, id)
	}
	for batch := range slices.Chunk(files, BulkRemove) {
		if err := b.removeFiles(ctx, batch, nd); err != nil {
			return err
		}
	}
	// An id the service does not hold as a file may be a folder this
	// backend has not seen yet (a restart): looked for, and removed.
	// One walk of the library at most finds none: it learns every folder.
	missing := nd.Missing
	nd.Missing = nil
	walked := false
	for _, id := range missing {
		p, ok := b.knownFolder(id)
		if !ok && !walked {
			var err error
			p, err = b.pathOf(ctx, id)
			if ok = err == nil; !ok && !errors.Is(err, remote.ErrNotFound) {
				return err
			}
			walked = !ok
		}
		if ok {
			nd.IDs = slices.DeleteFunc(nd.IDs, func(x string) bool { return x == id })
			delete(nd.Reasons, id)
			if err := b.removeFolder(ctx, id, p, nd); err != nil {
				return err
			}
			continue
		}
		nd.Missing = append(nd.Missing, id)
	}
	if len(nd.IDs) == 0 {
		return nil
	}
	return nd
}

// removeFolder is DELETE /v1/folder: 404 is a folder gone already.
func (b *Backend) removeFolder(ctx context.Context, id, p string, nd *remote.NotDoneError) error {
	_, err := b.api.Do(ctx, remote.Call{Method: http.MethodDelete, Endpoint: "/v1/folder", Path: "/v1/folder",
		Body: remote.JSONBody(map[string]string{"folderPath": p + "/"}), Idempotent: true})
	switch {
	case errors.Is(err, remote.ErrNotFound):
		nd.IDs, nd.Missing = append(nd.IDs, id), append(nd.Missing, id)
		nd.Reasons[id] = clean(err.Error(), maxMessage)
	case err != nil:
		return err
	}
	b.forget(p)
	return nil
}

// bulkAnswer is the bulk delete's 200 or 207 (seed 003).
type bulkAnswer struct {
	Deleted []string `json:"successfullyDeletedFileIds"`
	Errors  []struct {
		FileID string `json:"fileId"`
		Error  string `json:"error"`
	} `json:"errors"`
}

// removeFiles deletes one batch of at most BulkRemove file ids, and
// notes in nd those not deleted. The call is sent again after a lost
// answer: what the first one deleted comes back as missing.
func (b *Backend) removeFiles(ctx context.Context, batch []string, nd *remote.NotDoneError) error {
	rest := slices.Clone(batch)
	for len(rest) > 0 {
		body, err := b.api.Do(ctx, remote.Call{Method: http.MethodPost, Endpoint: "/v1/files/batch/deleteByFileIds",
			Path: "/v1/files/batch/deleteByFileIds", Body: remote.JSONBody(map[string][]string{"fileIds": rest}), Idempotent: true})
		var e *remote.Error
		if errors.As(err, &e) && e.Status == http.StatusNotFound {
			// Nothing was deleted: the missing ones are gone, the others
			// go again. Each round takes at least one id out.
			var missing []string
			for _, id := range e.IDs {
				if slices.Contains(rest, id) && !slices.Contains(missing, id) {
					missing = append(missing, id)
				}
			}
			if len(missing) == 0 {
				return err
			}
			for _, id := range missing {
				nd.IDs, nd.Missing = append(nd.IDs, id), append(nd.Missing, id)
				nd.Reasons[id] = e.Message
			}
			rest = slices.DeleteFunc(rest, func(id string) bool { return slices.Contains(missing, id) })
			continue
		}
		if err != nil {
			return err
		}
		var a bulkAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			return fmt.Errorf("POST /v1/files/batch/deleteByFileIds: the answer is not the bulk delete's: %w", err)
		}
		for _, id := range rest {
			switch i := slices.IndexFunc(a.Errors, func(x struct {
				FileID string `json:"fileId"`
				Error  string `json:"error"`
			}) bool {
				return x.FileID == id
			}); {
			case i >= 0:
				nd.IDs = append(nd.IDs, id)
				nd.Reasons[id] = clean(a.Errors[i].Error, maxMessage)
			case !slices.Contains(a.Deleted, id):
				// Neither deleted nor refused: not taken as gone.
				nd.IDs = append(nd.IDs, id)
				nd.Reasons[id] = "the answer does not name it as deleted"
			}
		}
		return nil
	}
	return nil
}
