package locate

import (
	"context"
	"fmt"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
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
		return e, fmt.Errorf("%s: its id in the library is not known yet (no listing has shown it): %w", e.Name, entry.Translate(err))
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
