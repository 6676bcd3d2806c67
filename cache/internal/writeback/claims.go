package writeback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
	if r.rf.RemoteID != id || r.rf.RemoteName == "" {
		return "", false
	}
	return r.rf.RemoteName, true
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
	for _, r := range q.ix.All() {
		r.mu.Lock()
		if r.rf.RemoteID != "" {
			out = append(out, r.rf.RemoteID)
		}
		out = append(out, r.rf.Replaces...)
		r.mu.Unlock()
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == id || (url != "" && s == url) })
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
	for _, id := range r.toConfirmLocked() {
		claims[id] = r.rf.Claims[id]
	}
	name, removed, remoteID := r.rf.Name, r.state == stateRemoved, r.rf.RemoteID
	r.away()
	found := make(map[string]Entry, len(claims))
	var unlisted []string
	var firstErr, quiet error // quiet: a copy not listed yet, said already
	for id, c := range claims {
		e := c.Entry(id)
		ctx, cancel := q.opContext(0)
		x, err := q.ConfirmEntry(ctx, e)
		cancel()
		toTrash := errors.Is(err, remote.ErrUnconfirmed) && (removed || id != remoteID)
		switch {
		case toTrash && q.clock.Since(c.At) >= locate.UnlistedGrace:
			q.log.Warn(fmt.Sprintf("%s: a copy to trash (answered as id %s at %s) is still not in its folder's listing; it is no longer looked for, and should the library hold it after all, it shows as a file of its own: %v",
				name, id, c.At.Format(time.RFC3339), err), "name", name)
			unlisted = append(unlisted, id)
		case toTrash:
			q.log.Info(fmt.Sprintf("%s: a copy to trash is not in its folder's listing yet; looked for again later: %v", name, err), "name", name)
			quiet = cmpErr(quiet, err)
		case err != nil:
			firstErr = cmpErr(firstErr, err)
		default:
			found[id] = x
		}
	}
	alive := r.back()
	defer r.mu.Unlock()
	if !alive {
		return false, nil
	}
	if len(found)+len(unlisted) > 0 {
		for id, x := range found {
			r.confirmedLocked(id, x.ID)
		}
		for _, id := range unlisted {
			r.unlistedLocked(id)
			q.folders.Unclaim(id)
		}
		if err := r.saveLocked(); err != nil {
			return false, err
		}
		crashPoint("confirmed", name)
		r.publishLocked()
	}
	if firstErr != nil {
		q.log.Error(fmt.Sprintf("%s: could not find its upload in the library's listing; nothing is changed by a guessed id (will retry): %v", name, firstErr), "name", name)
		return false, firstErr
	}
	if quiet != nil {
		return false, quiet
	}
	return true, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// confirmedLocked replaces an answer's id by the listed one wherever the
// record holds it. The caller holds r.mu.
func (r *Record) confirmedLocked(id, listed string) {
	delete(r.rf.Claims, id)
	if len(r.rf.Claims) == 0 {
		r.rf.Claims = nil
	}
	if r.rf.RemoteID == id {
		r.rf.RemoteID = listed
	}
	for i, x := range r.rf.Replaces {
		if x == id {
			r.rf.Replaces[i] = listed
		}
	}
	r.rf.Replaces = slices.Compact(r.rf.Replaces)
}

// needsConfirmLocked reports whether the record is about to act on an id
// of an answer no listing has shown. The caller holds r.mu.
func (r *Record) needsConfirmLocked() bool {
	return len(r.toConfirmLocked()) > 0
}

// toConfirmLocked returns the ids of answers no listing has shown that the
// record's next step acts on: every copy of a removed file; else the copy
// to rename; else the copies to trash. The caller holds r.mu.
func (r *Record) toConfirmLocked() []string {
	if len(r.rf.Claims) == 0 {
		return nil
	}
	var ids []string
	switch {
	case r.state == stateRemoved:
		ids = append(slices.Clone(r.rf.Replaces), r.rf.RemoteID)
	case r.elsewhereLocked():
		ids = []string{r.rf.RemoteID}
	default:
		ids = r.rf.Replaces
	}
	var out []string
	for _, id := range ids {
		if _, ok := r.rf.Claims[id]; ok {
			out = append(out, id)
		}
	}
	return out
}

// unlistedLocked drops an answer's id that no listing shows from the
// copies the record is to trash. The caller holds r.mu.
func (r *Record) unlistedLocked(id string) {
	delete(r.rf.Claims, id)
	if len(r.rf.Claims) == 0 {
		r.rf.Claims = nil
	}
	r.rf.Replaces = slices.DeleteFunc(r.rf.Replaces, func(x string) bool { return x == id })
	if r.rf.RemoteID == id && r.state == stateRemoved {
		r.rf.RemoteID = ""
	}
}

// claimURLsLocked are the urls of the record's unconfirmed answers. The
// caller holds r.mu.
func (r *Record) claimURLsLocked() []string {
	var out []string
	for _, c := range r.rf.Claims {
		if c.URL != "" {
			out = append(out, c.URL)
		}
	}
	return out
}

// AdoptID replaces an answer's id by the listed one in the record, if it
// holds it.
func (r *Record) AdoptID(id, listed string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == listed || r.gone || (r.rf.RemoteID != id && !slices.Contains(r.rf.Replaces, id)) {
		return
	}
	r.confirmedLocked(id, listed)
	if r.saved {
		if err := r.saveLocked(); err != nil {
			r.q.log.Warn("spool: could not update a record", "name", r.rf.Name, "err", err)
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
	if r.rf.Claims == nil {
		r.rf.Claims = make(map[string]listing.Claim)
	}
	r.rf.Claims[id] = c
	r.q.folders.Claim(id, c)
}
