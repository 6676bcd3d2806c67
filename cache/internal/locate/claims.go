package locate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/remote"
)

// Uploads whose answer's id no listing has shown yet
// (internal/listing/claims.go tells the whole story): before the first
// change to such a file, the change looks it up itself (Confirm).

// UnlistedGrace is how long after its answer an upload its folder's
// listing does not show is still looked for, as a copy to trash. A
// folder's own listing shows an upload at once in every report (only
// whole-library answers lag, and those are not asked here): half a minute
// covers a slow index without holding a removal in the spool for long.
const UnlistedGrace = 30 * time.Second

// Confirm returns the file e stands for as listed, when e's id is an
// upload's answer no listing has shown: known already, or looked up in
// its folder's listing (remote.Confirm: by id, by url, else by name, size
// and time among the files no other upload or record accounts for). Not
// found, it fails (entry.ErrUnavailable): the file is not known to be
// gone, and a change must not act on a guessed id.
func (l *Locator) Confirm(ctx context.Context, e Entry) (Entry, error) {
	if !e.Unconfirmed() {
		return e, nil
	}
	folders := l.cfg.Folders
	if x, ok := folders.AdoptedOf(e.ID); ok {
		x.Key = e.Key
		return x, nil
	}
	claim := l.ClaimOf(e).Item(e.ID)
	if name, ok := l.cfg.RemoteName(e.Key, e.ID); ok {
		// Renamed through the queue, not yet in the library: it is
		// listed under the name it was uploaded with.
		claim.Name = name
	}
	found, err := l.cfg.Backend.Confirm(ctx, claim, folders.Rivals(claim.ParentID, e.ID), l.cfg.Exclusions(e.ID, claim.URL))
	if x, ok := folders.AdoptedOf(e.ID); ok {
		// Found meanwhile (a listing, or another look-up): the listed id
		// it was found as is among those a look-up begun since excludes.
		x.Key = e.Key
		return x, nil
	}
	if err != nil {
		kind := entry.Translate(err)
		if errors.Is(err, remote.ErrUnconfirmed) {
			// Not listed (yet): not known to be gone either, so never
			// ENOENT for a file the user has.
			kind = fmt.Errorf("%w: %w", entry.ErrUnavailable, err)
		}
		return e, fmt.Errorf("%s: its id in the library is not known yet (no listing has shown it): %w", e.Name, kind)
	}
	x := entry.Of(found)
	x.ParentID = e.ParentID
	folders.Adopt(e.ID, x)
	x, _ = folders.AdoptedOf(e.ID)
	x.Key = e.Key
	return x, nil
}

// Known returns e with the id listings show for it, and false when e's
// id is an upload's answer no listing has shown (nor adoption found).
func (l *Locator) Known(e Entry) (Entry, bool) {
	if !e.Unconfirmed() {
		return e, true
	}
	if x, ok := l.cfg.Folders.AdoptedOf(e.ID); ok {
		x.Key = e.Key
		return x, true
	}
	return e, false
}

// ClaimOf is an unconfirmed entry as a record keeps it: the claim noted
// when its upload was answered, if this mount has it (with the times the
// upload was under way), else as the entry shows it.
func (l *Locator) ClaimOf(e Entry) listing.Claim {
	if c, ok := l.cfg.Folders.Claimed(e.ID); ok {
		return c
	}
	return listing.Claim{ParentID: e.ParentID, Name: e.Name, URL: e.URL(), Size: e.Size, At: e.Created()}
}

// WithClaim adds e's claim to claims when e's id is unconfirmed.
func (l *Locator) WithClaim(claims map[string]listing.Claim, e Entry) map[string]listing.Claim {
	if !e.Unconfirmed() || e.ID == "" {
		return claims
	}
	if claims == nil {
		claims = make(map[string]listing.Claim)
	}
	claims[e.ID] = l.ClaimOf(e)
	return claims
}

// Confirmed is what ConfirmAll found of a record's unconfirmed answers.
type Confirmed struct {
	Found    map[string]Entry // an answer's id -> the file listed
	Unlisted map[string]error // copies to trash no listing showed within UnlistedGrace, with why: no longer looked for (UnlistedWarning)
	Err      error            // the first look-up that failed
	Quiet    error            // a copy to trash not listed yet, said already: looked for again later
	// Together are the copies of a removed file found together (all):
	// an answer's id -> one of the files listed, the pairing arbitrary.
	// Not adopted yet: the caller adopts them (AdoptTogether) only while
	// the file is still removed, and else drops them.
	Together map[string]Entry
}

// AdoptTogether adopts x, found together with the other copies of a
// removed file, as the upload answered as id (ConfirmAll's Together),
// and returns it as adopted; false if it is another upload's file now.
func (l *Locator) AdoptTogether(id string, x Entry) (Entry, bool) {
	l.cfg.Folders.Adopt(id, x)
	return l.cfg.Folders.AdoptedOf(id)
}

// UnlistedWarning is the one WARN line of a copy to trash (answered as
// id, claim c) that is no longer looked for, found Unlisted (err).
func UnlistedWarning(name, id string, c listing.Claim, err error) string {
	return fmt.Sprintf("%s: a copy to trash (answered as id %s at %s) is still not in its folder's listing; it is no longer looked for, and should the library hold it after all, it shows as a file of its own: %v",
		name, id, c.At.Format(time.RFC3339), err)
}

// ConfirmAll looks up each answer of claims, a record's (of the file
// name), each within a context of op (Confirm). A copy to trash
// (toTrash) that its folder's listing does not show may not be listed
// yet: it is looked for again, as long as its upload is recent
// (UnlistedGrace since its answer), and after that it is Unlisted (the
// caller logs one WARN line when it drops it: UnlistedWarning).
//
// all says that every copy of claims is to go (the file was removed):
// then the copies a look-up could not tell apart (ErrAmbiguousUpload, say
// a rewrite of one size, both uploads listed with one time of creation)
// are looked up together (confirmGroups), and found when the listing
// shows exactly their files: which is which does not matter when all go.
func (l *Locator) ConfirmAll(op func() (context.Context, context.CancelFunc), name string, claims map[string]listing.Claim, toTrash func(id string) bool, all bool) Confirmed {
	out := Confirmed{Found: make(map[string]Entry, len(claims))}
	settle := func(id string, x Entry, err error) {
		c := claims[id]
		trash := errors.Is(err, remote.ErrUnconfirmed) && toTrash(id)
		switch {
		case trash && l.cfg.Clock.Since(c.At) >= UnlistedGrace:
			if out.Unlisted == nil {
				out.Unlisted = make(map[string]error)
			}
			out.Unlisted[id] = err
		case trash:
			l.cfg.Logger.Info(fmt.Sprintf("%s: a copy to trash is not in its folder's listing yet; looked for again later: %v", name, err), "name", name)
			out.Quiet = cmp.Or(out.Quiet, err)
		case err != nil:
			out.Err = cmp.Or(out.Err, err)
		default:
			out.Found[id] = x
		}
	}
	ambiguous := make(map[string]error)
	for id, c := range claims {
		ctx, cancel := op()
		x, err := l.Confirm(ctx, c.Entry(id))
		cancel()
		if all && errors.Is(err, remote.ErrAmbiguousUpload) {
			ambiguous[id] = err
			continue
		}
		settle(id, x, err)
	}
	out.Together = l.confirmGroups(op, claims, ambiguous)
	for id, err := range ambiguous {
		if _, ok := out.Together[id]; !ok {
			settle(id, Entry{}, err)
		}
	}
	return out
}

// groupAfter is how long after the newest of its answers a group of
// copies is looked up together: a listing that lags (which no report
// says a folder's own does) has shown them all by then, and the look-up
// is not taken for "exactly their files" while one is missing and
// another file stands in its place.
const groupAfter = UnlistedGrace / 2

// confirmGroups looks up together the copies of a removed file that
// look-ups one by one could not tell apart (ambiguous: their ids, with the
// failures), by groups of one folder, name and size
// (remote.GroupConfirmer), each once its newest answer is groupAfter old
// and while no upload of that name and size to that folder is under way
// (Config.Sending: its file could be among them). It returns the files
// found (the pairing arbitrary, see ConfirmGroup), not adopted; a group's
// failure leaves its ids out, with why: the look-up's own failure, when
// it did not get an answer (retried as a failed look-up is).
func (l *Locator) confirmGroups(op func() (context.Context, context.CancelFunc), claims map[string]listing.Claim, ambiguous map[string]error) map[string]Entry {
	gc, ok := l.cfg.Backend.(remote.GroupConfirmer)
	if !ok || len(ambiguous) < 2 {
		return nil
	}
	type kind struct {
		parentID, name string
		size           int64
	}
	groups := make(map[kind][]string)
	for id := range ambiguous {
		c := claims[id]
		k := kind{c.ParentID, c.Name, c.Size}
		groups[k] = append(groups[k], id)
	}
	out := make(map[string]Entry)
	for k, ids := range groups {
		newest := time.Time{}
		for _, id := range ids {
			newest = maxTime(newest, claims[id].At)
		}
		if len(ids) < 2 || l.cfg.Clock.Since(newest) < groupAfter || l.cfg.Sending(k.parentID, k.name, k.size) {
			continue
		}
		slices.Sort(ids)
		its := make([]remote.Item, len(ids))
		for i, id := range ids {
			its[i] = claims[id].Item(id)
		}
		rivals := slices.DeleteFunc(l.cfg.Folders.Rivals(k.parentID, ""), func(r remote.Item) bool { return slices.Contains(ids, r.ID) })
		exclude := slices.DeleteFunc(l.cfg.Exclusions("", ""), func(s string) bool { return slices.Contains(ids, s) })
		ctx, cancel := op()
		files, err := gc.ConfirmGroup(ctx, its, rivals, exclude)
		cancel()
		if err != nil {
			for _, id := range ids {
				if errors.Is(err, remote.ErrUnconfirmed) {
					ambiguous[id] = fmt.Errorf("%w (and with the file's other copies: %w)", ambiguous[id], err)
				} else {
					ambiguous[id] = err // no answer: retried as a failed look-up is
				}
			}
			continue
		}
		for i, id := range ids {
			x := entry.Of(files[i])
			x.ParentID = k.parentID
			out[id] = x
		}
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
