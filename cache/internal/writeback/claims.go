package writeback

import (
	"context"
	"fmt"
	"slices"

	"github.com/ghlfs/ghlfs/cache/internal/pending"

	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/cache/internal/locate"
	"github.com/ghlfs/ghlfs/remote"
)

// The queue's side of the uploads whose answer's id no listing has shown
// yet (internal/listing/claims.go tells the whole story): before the first
// change to such a file, the change looks it up itself (ConfirmEntry, in
// internal/locate, and confirmRecord); a record keeps its answers' claims
// (spool.RecordFile.Claims) across restarts; and an adoption a listing
// found re-keys the listed id as the file (AdoptedAs).

// ConfirmEntry returns the file e stands for as listed, when e's id is an
// upload's answer no listing has shown (locate.Locator.Confirm).
func (q *Queue) ConfirmEntry(ctx context.Context, e Entry) (Entry, error) {
	return q.loc.Confirm(ctx, e)
}

// remoteName is the name the library has for the copy id of the file
// key, when the file's record holds that copy (a rename of it may be
// pending in the queue).
func (q *Queue) remoteName(key, id string) (string, bool) {
	r := q.Lookup(key)
	if r == nil {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.s.File.RemoteID != id || r.s.File.RemoteName == "" {
		return "", false
	}
	return r.s.File.RemoteName, true
}

// Known returns e with the id listings show for it, and false when e's
// id is an upload's answer no listing has shown (nor adoption found).
func (q *Queue) Known(e Entry) (Entry, bool) { return q.loc.Known(e) }

// exclusions are the ids and urls of the files the mount knows, less one
// file's own: a lost upload, or an unconfirmed one, is none of them. They
// are the copies the mount uploaded or retired (and the urls of those no
// listing has shown), the listed files uploads were found to be, and
// every copy a record holds or is to trash.
func (q *Queue) exclusions(id, url string) []string {
	out := append(q.ix.KnownIDs(), q.folders.AdoptedIDs()...)
	q.each(func(r *Record) {
		if r.s.File.RemoteID != "" {
			out = append(out, r.s.File.RemoteID)
		}
		out = append(out, r.s.File.Replaces...)
	})
	return slices.DeleteFunc(out, func(s string) bool { return s == id || (url != "" && s == url) })
}

// sending reports whether a record's upload of a file of that name and
// size to that folder is under way, or its answer was lost.
func (q *Queue) sending(parentID, name string, size int64) bool {
	found := false
	q.each(func(r *Record) {
		if a := r.s.File.Attempt; a != nil && a.ParentID == parentID && a.Name == name && a.Size == size {
			found = true
		}
	})
	return found
}

// lostLookup is what a look-up for an upload of a record whose answer
// was lost takes, with exclude the record's own (Facts.Exclude): the ids
// and urls it is not (those, the copies the mount knows, and the listed
// files uploads were found to be), and the uploads of its folder no
// listing has shown yet, one of which an earlier upload of the same file
// may be (rivals: remote.Attempt.Rivals). The rivals are read first: an
// upload adopted meanwhile is among the adopted ids then.
func (q *Queue) lostLookup(exclude []string, parentID string) ([]string, []remote.Item) {
	rivals := q.folders.Rivals(parentID, "")
	exclude = append(exclude, q.ix.KnownIDs()...)
	return append(exclude, q.folders.AdoptedIDs()...), rivals
}

// AdoptedAs is told that the upload answered as id is listed as x: the
// listed id holds that file's key from now on, and the file's time moves
// to it.
func (q *Queue) AdoptedAs(id string, x Entry) {
	q.ix.Adopted(id, x)
	if x.ID == id {
		return
	}
	if t, ok := q.times.Get(id); ok {
		if err := q.times.Set(x.ID, t); err != nil {
			q.log.Warn("could not keep a file time", "name", x.Name, "err", err)
		}
	}
}

// confirmRecord makes sure a record acts on listed ids only: each id of
// its answers that no listing has shown (rf.Claims) is looked up, and
// replaced by the listed one. Called with r.mu held; it lets go of it.
//
// A copy the record is to trash (one it replaces, or any copy of a file
// removed) that its folder's listing does not show may not be listed yet
// (an index behind the store, a listing that lags): it is looked for
// again, as long as its upload is recent (locate.UnlistedGrace since its
// answer). After that it is not in the library as far as a listing can
// tell, which is what trashing it is for: it is dropped, as a trash
// answered {"deleted": false} for an item no longer listed is
// (listing.Folders.Remove), with one WARN line (should the library hold it after
// all, it shows as a file of its own). The copy that holds the file is
// only ever renamed by a listed id: not found, the rename waits.
func (q *Queue) confirmRecord(r *Record) (bool, error) {
	claims := make(map[string]listing.Claim)
	for _, id := range r.s.ToConfirm() {
		claims[id] = r.s.File.Claims[id]
	}
	name, removed, remoteID := r.s.File.Name, r.s.State == pending.Removed, r.s.File.RemoteID
	r.away()
	op := func() (context.Context, context.CancelFunc) { return q.opContext(r, 0) }
	c := q.loc.ConfirmAll(op, name, claims, func(id string) bool { return removed || id != remoteID }, removed)
	alive := r.back()
	defer r.mu.Unlock()
	if !alive {
		return false, nil
	}
	if (r.s.State == pending.Removed) != removed {
		// Removed while it was looked up: a copy not told apart from the
		// others may be found with them now (ConfirmAll's all), and is
		// not dropped as unlisted.
		c.Unlisted = nil
	}
	for id, x := range c.Together {
		// Found together with the file's other copies, which is which
		// not known: fit only for a file all of whose copies go.
		if r.s.State != pending.Removed {
			break
		}
		if x, ok := q.loc.AdoptTogether(id, x); ok {
			c.Found[id] = x
		}
	}
	if len(c.Found)+len(c.Unlisted) > 0 {
		for id, x := range c.Found {
			r.s.Confirmed(id, x.ID)
		}
		for id, err := range c.Unlisted {
			q.log.Warn(locate.UnlistedWarning(name, id, claims[id], err), "name", name)
			r.s.Unlisted(id)
			q.folders.Unclaim(id)
		}
		if err := r.s.Save(); err != nil {
			return false, err
		}
		pending.CrashPoint("confirmed", name)
		r.publishLocked()
	}
	if c.Err != nil {
		q.log.Error(fmt.Sprintf("%s: could not find its upload in the library's listing; nothing is changed by a guessed id (will retry): %v", name, c.Err), "name", name)
		return false, c.Err
	}
	if c.Quiet != nil {
		return false, pending.Later(c.Quiet)
	}
	return true, nil
}

// AdoptID replaces an answer's id by the listed one in the record, if it
// holds it.
func (r *Record) AdoptID(id, listed string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == listed || r.s.Gone || (r.s.File.RemoteID != id && !slices.Contains(r.s.File.Replaces, id)) {
		return
	}
	r.s.Confirmed(id, listed)
	if r.s.Saved {
		if err := r.s.Save(); err != nil {
			r.q.log.Warn("spool: could not update a record", "name", r.s.File.Name, "err", err)
		}
	}
	r.publishLocked()
}

// addClaimLocked keeps e's claim when the record holds e's id and it is
// unconfirmed. The caller holds r.mu.
func (r *Record) addClaimLocked(e Entry) {
	if e.Unconfirmed() && e.ID != "" {
		r.keepClaimLocked(e.ID, r.q.loc.ClaimOf(e))
	}
}

// keepClaimLocked keeps the claim of an id the record holds, and has
// listings look for it. The caller holds r.mu.
func (r *Record) keepClaimLocked(id string, c listing.Claim) {
	if r.s.File.Claims == nil {
		r.s.File.Claims = make(map[string]listing.Claim)
	}
	r.s.File.Claims[id] = c
	r.q.folders.Claim(id, c)
}
