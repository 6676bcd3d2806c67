package memtest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
)

// Options configure a Backend. The zero value is a HighLevel-like one on
// the real clock.
type Options struct {
	// Profile is the kind of service (HighLevel, ImageKit, OCM, or one of
	// a test's own); the zero Profile is HighLevel's.
	Profile Profile
	// Clock gives the library's times (default the real clock).
	Clock clockwork.Clock
	// PageSize is the most items one listing call answers (default 100):
	// a larger folder takes several calls.
	PageSize int
}

// Backend is an in-memory remote.Backend: one library, held in memory,
// behaving as its Profile says. Safe for concurrent use.
type Backend struct {
	caps     remote.Caps
	prof     Profile
	clk      clockwork.Clock
	pageSize int

	// mu guards everything below. It is a leaf: never held while a call
	// waits at a Gate, nor while the caller's code runs (List's add and
	// restart, ListUpdated's visit, Upload's Open and reads).
	mu    sync.Mutex
	items map[string]*item
	seq   uint64 // items made
	revs  uint64 // versions made
	faults
	calls map[Op]int
	stats map[remote.CallKey]int64
}

var _ remote.Backend = (*Backend)(nil)

// New returns a backend with an empty library.
func New(o Options) *Backend {
	if o.Profile.ID == nil {
		o.Profile = HighLevel()
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	return &Backend{caps: o.Profile.Caps, prof: o.Profile, clk: o.Clock, pageSize: o.PageSize,
		items: map[string]*item{}, faults: newFaults(), calls: map[Op]int{}, stats: map[remote.CallKey]int64{}}
}

// errStatus is the service's answer of a status, as the client of a real
// service gives it: an *remote.Error, which matches the kind its status
// says (404 remote.ErrNotFound, 409 remote.ErrExists ...).
func errStatus(status int, format string, args ...any) error {
	return &remote.Error{Method: "memtest", Endpoint: "library", Status: status, Message: fmt.Sprintf(format, args...)}
}

// notSupported is a call the backend does not make: its Caps say so.
func (b *Backend) notSupported(what string) error {
	return fmt.Errorf("memtest %s: %w (%s)", what, remote.ErrNotSupported, b.caps.Kind)
}

// Caps are the profile's, as the test set them.
func (b *Backend) Caps() remote.Caps { return b.caps }

// FolderWrites is always nil: the library puts items where asked.
func (b *Backend) FolderWrites() error { return nil }

// Check is one call that proves nothing but that the backend answers.
func (b *Backend) Check(ctx context.Context) error {
	return b.do(ctx, OpCheck, func() error { return nil })
}

// List hands on, page by page (one call each, of PageSize items), what
// q selects among the active items, the oldest first. A listing reads
// the library as it was at its first page: it is never unstable, and
// never restarts. A folder that is not active is not found (or, as the
// profile says, empty).
func (b *Backend) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	if q.All && !b.caps.ListAll {
		return b.notSupported("listing the whole library")
	}
	typ := q.Type
	if typ == "" && !b.caps.OneListing {
		typ = remote.TypeFile
	}
	var snap []remote.Item
	for off := 0; ; {
		var page []remote.Item
		err := b.do(ctx, OpList, func() error {
			if off == 0 {
				if !q.All && !b.activeFolder(q.ParentID) {
					if b.prof.EmptyUnknownFolder {
						return nil
					}
					return errStatus(http.StatusNotFound, "the folder %s does not exist", q.ParentID)
				}
				for _, it := range b.sorted() {
					if it.status == Active && (q.All || it.parent == q.ParentID) && (typ == "" || (typ == remote.TypeFolder) == it.folder) {
						snap = append(snap, b.remoteItem(it))
					}
				}
			}
			page = snap[off:min(off+b.pageSize, len(snap))]
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range page {
			add(it)
		}
		if len(page) < b.pageSize {
			return nil
		}
		off += len(page)
	}
}

// ListUpdated visits the active items of type typ, the most recently
// changed first, page by page (one call each).
func (b *Backend) ListUpdated(ctx context.Context, typ string, visit func(remote.Item) bool) error {
	if !b.caps.ListRecent {
		return b.notSupported("listing by last change")
	}
	typ = cmp.Or(typ, remote.TypeFile)
	var snap []remote.Item
	for off := 0; ; {
		var page []remote.Item
		err := b.do(ctx, OpListUpdated, func() error {
			if off == 0 {
				for _, it := range b.sorted() {
					if it.status == Active && (typ == remote.TypeFolder) == it.folder {
						snap = append(snap, b.remoteItem(it))
					}
				}
				slices.SortStableFunc(snap, func(x, y remote.Item) int {
					return cmp.Or(y.UpdatedAt.Compare(x.UpdatedAt), strings.Compare(y.ID, x.ID))
				})
			}
			page = snap[off:min(off+b.pageSize, len(snap))]
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range page {
			if !visit(it) {
				return nil
			}
		}
		if len(page) < b.pageSize {
			return nil
		}
		off += len(page)
	}
}

// fileOf finds the active file f names (by id, else by url) and its
// version. mu held.
func (b *Backend) fileOf(f remote.FileRef) (*version, error) {
	id := f.ID
	if id == "" {
		id, _ = strings.CutPrefix(f.URL, urlPrefix)
	}
	v, ok := b.versionLocked(id, f.Rev, true)
	if !ok {
		return nil, errStatus(http.StatusNotFound, "no file %s (version %q)", id, f.Rev)
	}
	return v, nil
}

// ReadAt fills bufs from the file's bytes (its version f.Rev, "" the
// current one) from off on; io.EOF when the file ends first.
func (b *Backend) ReadAt(ctx context.Context, f remote.FileRef, bufs [][]byte, off int64) (int, error) {
	n, eof := 0, false
	err := b.do(ctx, OpReadAt, func() error {
		v, err := b.fileOf(f)
		if err != nil {
			return err
		}
		if off < 0 {
			return errStatus(http.StatusRequestedRangeNotSatisfiable, "offset %d", off)
		}
		for _, buf := range bufs {
			at := off + int64(n)
			if at >= int64(len(v.data)) {
				eof = len(buf) > 0
				if eof {
					break
				}
				continue
			}
			c := copy(buf, v.data[at:])
			n += c
			if c < len(buf) {
				eof = true
				break
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if eof {
		return n, io.EOF
	}
	return n, nil
}

// Stat gives a file's size, the time of its version, its content type.
func (b *Backend) Stat(ctx context.Context, f remote.FileRef) (remote.FileInfo, error) {
	var fi remote.FileInfo
	err := b.do(ctx, OpStat, func() error {
		v, err := b.fileOf(f)
		if err == nil {
			fi = remote.FileInfo{Size: int64(len(v.data)), ModTime: v.at, ContentType: v.ctype}
		}
		return err
	})
	return fi, err
}

// CreateFolder makes a folder; on a name a folder holds, where names are
// unique, as the profile's FolderClash says.
func (b *Backend) CreateFolder(ctx context.Context, parentID, name string) (remote.Item, error) {
	var out remote.Item
	err := b.do(ctx, OpCreateFolder, func() error {
		it, err := b.mkdir(parentID, name)
		if err == nil {
			out = b.remoteItem(it)
		}
		return err
	})
	return out, err
}

// Upload stores a file: a file larger than the service takes is refused
// before its bytes are read (remote.ErrTooLarge, no call); else the
// bytes are read and sent in one call.
func (b *Backend) Upload(ctx context.Context, up remote.Upload) (remote.Item, error) {
	ctype := cmp.Or(up.ContentType, remote.OctetStream)
	if limit := b.caps.UploadLimit(ctype); up.Size > limit {
		return remote.Item{}, fmt.Errorf("memtest upload of %s: %d bytes: %w (at most %d of %s)", up.Name, up.Size, errStatus(http.StatusRequestEntityTooLarge, "too large"), limit, ctype)
	}
	rc, err := up.Open()
	if err != nil {
		return remote.Item{}, err
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, up.Progress.Attempt(rc))
	rc.Close()
	if err != nil {
		return remote.Item{}, err
	}
	if up.Size >= 0 && int64(buf.Len()) != up.Size {
		return remote.Item{}, fmt.Errorf("memtest upload of %s: %d bytes read, %d announced", up.Name, buf.Len(), up.Size)
	}
	var out remote.Item
	err = b.do(ctx, OpUpload, func() error {
		it, err := b.put(up.ParentID, up.Name, buf.Bytes(), ctype)
		if err == nil {
			out = b.remoteItem(it)
		}
		return err
	})
	return out, err
}

// FindLanded finds the file an attempt made: in its folder, under its
// name (as stored and compared by the service), of its size, not
// excluded, whose current version was made at or after a.At and is not
// a.Into at a.BaseRev. The newest such wins.
func (b *Backend) FindLanded(ctx context.Context, a remote.Attempt) (remote.Item, bool, error) {
	var found remote.Item
	err := b.do(ctx, OpFindLanded, func() error {
		name := b.stored(a.Name, false)
		var best *item
		for _, it := range b.sorted() {
			if it.folder || it.status != Active || it.parent != a.ParentID || !b.sameName(it.name, name) {
				continue
			}
			v := it.current()
			if (a.Size >= 0 && int64(len(v.data)) != a.Size) || v.at.Before(a.At) {
				continue
			}
			if it.id == a.Into {
				if v.rev == a.BaseRev {
					continue
				}
			} else if slices.Contains(a.Exclude, it.id) || (b.caps.PublicURL && slices.Contains(a.Exclude, urlPrefix+it.id)) {
				continue
			}
			if best == nil || !v.at.Before(best.current().at) {
				best = it
			}
		}
		if best != nil {
			found = b.remoteItem(best)
		}
		return nil
	})
	return found, found.ID != "", err
}

// Confirm returns the item as listed, by its id: the backend never
// answers an upload with an id its listings do not use.
func (b *Backend) Confirm(ctx context.Context, it remote.Item, rivals []remote.Item, exclude []string) (remote.Item, error) {
	var out remote.Item
	err := b.do(ctx, OpConfirm, func() error {
		x := b.items[it.ID]
		if x == nil || x.status != Active || x.folder {
			return fmt.Errorf("%w: %s (id %s) is not listed", remote.ErrUnconfirmed, it.Name, it.ID)
		}
		out = b.remoteItem(x)
		return nil
	})
	return out, err
}

// PickCreated finds the item among all by its id, as Confirm does: the
// backend's answers carry the listed id.
func (b *Backend) PickCreated(all []remote.Item, it remote.Item, rivals []remote.Item, exclude []string) (remote.Item, error) {
	for _, x := range all {
		if x.ID == it.ID {
			return x, nil
		}
	}
	return remote.Item{}, fmt.Errorf("%w: %s (id %s) is not listed", remote.ErrUnconfirmed, it.Name, it.ID)
}

// Rename gives an active item a new name in its folder (as the service
// stores it). Where names are unique, a name another item holds is
// refused (remote.ErrExists); a folder is renamed only where
// Caps.RenameFolders.
func (b *Backend) Rename(ctx context.Context, id, name string) error {
	return b.do(ctx, OpRename, func() error {
		it := b.items[id]
		if it == nil || it.status != Active {
			return errStatus(http.StatusNotFound, "no item %s", id)
		}
		if it.folder && !b.caps.RenameFolders {
			return b.notSupported("renaming a folder")
		}
		return b.place(it, it.parent, name)
	})
}

// Move puts an active item in another folder, under name ("" = its own):
// files where Caps.Move, folders where Caps.MoveFolders; else
// remote.ErrNotSupported, with no call. A folder never goes into itself.
func (b *Backend) Move(ctx context.Context, id, parentID, name string) error {
	if !b.caps.Move && !b.caps.MoveFolders {
		return b.notSupported("moving an item to another folder")
	}
	return b.do(ctx, OpMove, func() error {
		it := b.items[id]
		if it == nil || it.status != Active {
			return errStatus(http.StatusNotFound, "no item %s", id)
		}
		if (it.folder && !b.caps.MoveFolders) || (!it.folder && !b.caps.Move) {
			return b.notSupported("moving this kind of item")
		}
		if !b.activeFolder(parentID) {
			return errStatus(http.StatusNotFound, "the folder %s does not exist", parentID)
		}
		for p := parentID; p != ""; p = b.items[p].parent {
			if p == id {
				return errStatus(http.StatusBadRequest, "a folder cannot go into itself")
			}
		}
		return b.place(it, parentID, cmp.Or(name, it.name))
	})
}

// place names it name in folder parent, as a rename or a move does. mu
// held.
func (b *Backend) place(it *item, parent, name string) error {
	name, err := b.storedName(name, it.folder)
	if err != nil {
		return err
	}
	if b.caps.UniqueNames && b.holder(parent, name, it.id) != nil {
		return errStatus(http.StatusConflict, "%q is taken", name)
	}
	it.parent, it.name, it.updated = parent, name, b.clk.Now()
	return nil
}

// Remove removes items and what they hold: to the trash, or for good
// when permanent, as Caps allow (else remote.ErrNotSupported, with no
// call); more than Caps.BulkRemove ids are refused whole
// (remote.ErrInvalid). An id not active (unknown, removed; a trashed
// one may still be removed for good), or one RefuseRemoval names, is
// left as it is, and a *remote.NotDoneError names them all; the others
// are removed. Where the profile says MissingRefusesRemoval, a call
// naming an id not held is refused whole (404) and the others are sent
// again: two calls. Where it says RemoveOneByOne, each id is one call,
// their per-id results one *remote.NotDoneError; another failure ends
// the removal.
func (b *Backend) Remove(ctx context.Context, ids []string, permanent bool) error {
	switch {
	case permanent && !b.caps.Permanent:
		return b.notSupported("removing for good")
	case !permanent && !b.caps.Trash:
		return b.notSupported("removing to the trash")
	}
	if b.prof.RemoveOneByOne && len(ids) > 1 {
		all := &remote.NotDoneError{Call: "memtest Remove", Reasons: map[string]string{}}
		for _, id := range ids {
			err := b.Remove(ctx, []string{id}, permanent)
			var nd *remote.NotDoneError
			switch {
			case err == nil:
			case errors.As(err, &nd):
				all.IDs, all.Missing = append(all.IDs, nd.IDs...), append(all.Missing, nd.Missing...)
				maps.Copy(all.Reasons, nd.Reasons)
			default:
				return err
			}
		}
		if len(all.IDs) == 0 {
			return nil
		}
		return all
	}
	var missing []string
	err := b.do(ctx, OpRemove, func() error {
		if n := b.caps.BulkRemove; n > 0 && len(ids) > n {
			return errStatus(http.StatusBadRequest, "%d ids in one call, at most %d", len(ids), n)
		}
		if b.prof.MissingRefusesRemoval {
			if missing = b.missingLocked(ids, permanent); len(missing) > 0 {
				return errStatus(http.StatusNotFound, "missingFileIds: %s", strings.Join(missing, ", "))
			}
		}
		return b.removeLocked(ids, permanent)
	})
	if len(missing) == 0 || !errors.Is(err, remote.ErrNotFound) {
		return err
	}
	var rest []string
	for _, id := range ids {
		if !slices.Contains(missing, id) {
			rest = append(rest, id)
		}
	}
	notDone := &remote.NotDoneError{Call: "memtest Remove", IDs: missing, Missing: slices.Clone(missing)}
	if len(rest) == 0 {
		return notDone
	}
	err = b.do(ctx, OpRemove, func() error { return b.removeLocked(rest, permanent) })
	var nd *remote.NotDoneError
	switch {
	case err == nil:
		return notDone
	case errors.As(err, &nd):
		notDone.IDs = append(notDone.IDs, nd.IDs...)
		notDone.Reasons = nd.Reasons
		return notDone
	}
	return err
}

// removable reports whether a removal may act on it: an active item, or,
// for good, a trashed one. mu held.
func removable(it *item, permanent bool) bool {
	return it != nil && (it.status == Active || (permanent && it.status == Trashed))
}

// missingLocked is the ids of a removal the library does not hold
// removable. mu held.
func (b *Backend) missingLocked(ids []string, permanent bool) []string {
	var out []string
	for _, id := range ids {
		if !removable(b.items[id], permanent) {
			out = append(out, id)
		}
	}
	return out
}

// removeLocked removes the ids it may, and names the others in a
// *remote.NotDoneError. mu held.
func (b *Backend) removeLocked(ids []string, permanent bool) error {
	s := Trashed
	if permanent {
		s = Deleted
	}
	var notDone []string
	for _, id := range ids {
		it := b.items[id]
		if b.refuse[id] || !removable(it, permanent) {
			notDone = append(notDone, id)
			continue
		}
		b.removeTree(it, s)
	}
	if len(notDone) > 0 {
		nd := &remote.NotDoneError{Call: "memtest Remove", IDs: notDone, Reasons: map[string]string{}}
		for _, id := range notDone {
			if b.refuse[id] {
				nd.Reasons[id] = RefusalReason
			}
		}
		return nd
	}
	return nil
}

// RefusalReason is the service's message for an id RefuseRemoval names
// (NotDoneError.Reason), as ImageKit's errors[].error gives one.
const RefusalReason = "Error in deleting tags"

// Stats counts the calls by Op ("memtest Upload") and status (0: the
// answer was lost).
func (b *Backend) Stats() remote.Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := remote.Stats{Calls: make(map[remote.CallKey]int64, len(b.stats)), Retries: map[string]int64{}}
	for k, v := range b.stats {
		out.Calls[k] = v
	}
	return out
}

// Usage counts the calls made; there are no limits.
func (b *Backend) Usage() remote.Usage {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for _, v := range b.stats {
		n += v
	}
	return remote.Usage{Today: n, Total: n}
}

// Versions lists an active file's versions, the oldest first (the
// current one last), with their numbers, sizes and times: one call.
// remote.ErrNotSupported, with no call, where the service keeps none
// (Caps.Versions); 404 for a file not active.
func (b *Backend) Versions(ctx context.Context, id string) ([]remote.Version, error) {
	if !b.caps.Versions {
		return nil, b.notSupported("listing a file's versions")
	}
	var out []remote.Version
	err := b.do(ctx, OpVersions, func() error {
		it, err := b.activeFile(id)
		if err != nil {
			return err
		}
		for i, v := range it.versions {
			out = append(out, remote.Version{Rev: v.rev, Num: v.num, Size: int64(len(v.data)), ModTime: v.at, Current: i == len(it.versions)-1})
		}
		return nil
	})
	return out, err
}

// RemoveVersion removes one version of an active file, for good: one
// call. The current version is refused (remote.ErrBusy, as a 400); a
// file not active, or a version it does not hold, is 404.
// remote.ErrNotSupported, with no call, where the service keeps no
// versions.
func (b *Backend) RemoveVersion(ctx context.Context, id, rev string) error {
	if !b.caps.Versions {
		return b.notSupported("removing a version of a file")
	}
	return b.do(ctx, OpRemoveVersion, func() error {
		it, err := b.activeFile(id)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(it.versions, func(v version) bool { return v.rev == rev })
		switch {
		case i < 0:
			return errStatus(http.StatusNotFound, "file %s has no version %q", id, rev)
		case i == len(it.versions)-1:
			return fmt.Errorf("memtest RemoveVersion: %w: %w", remote.ErrBusy, errStatus(http.StatusBadRequest, "version %q is the current version of file %s", rev, id))
		}
		it.versions = slices.Delete(it.versions, i, i+1)
		return nil
	})
}

// activeFile is the active file id, or the service's 404. mu held.
func (b *Backend) activeFile(id string) (*item, error) {
	it := b.items[id]
	if it == nil || it.folder || it.status != Active {
		return nil, errStatus(http.StatusNotFound, "no file %s", id)
	}
	return it, nil
}
