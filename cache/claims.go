package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// Uploads whose answer's id no listing has shown yet.
//
// The service may list an upload under another id than its answer gave
// (a field report: API uploads are named by a UUID in their url, and
// nothing promises that fileId is the _id listings show); a rename or a
// removal sent with the answer's id may then act on nothing, and its
// answer (a 404, or {"deleted": false} followed by a listing without that
// id) would read as "already gone" while the file stays. So an id from an
// answer is unconfirmed (Entry.Unconfirmed, remote.Item.Unconfirmed) until
// a listing shows the file, and nothing is renamed or removed by it:
//
//   - Every listing of its folder that comes in is searched for it (by
//     id, else by url): found, it is adopted (adopted, listedAs), the
//     entry that stood for it gives way to the listed one, and the queue
//     re-keys the listed id as the file (queue.adoptedAs).
//   - Before the first change to such a file, the change looks it up
//     itself (confirmEntry, queue.confirmRecord: remote.Confirm, by id,
//     url, or name, size and time); not found, the change fails and is
//     tried again, never taken as done.
//   - By name, size and time (an answer without the listed id or a url a
//     listing shows), a file is taken only if it was created while its
//     upload was under way and nothing else the mount knows accounts for
//     it: the copies it made, changed or retired (queue.keys), the files
//     other uploads were found to be (adopted), every copy a record holds
//     or is to trash (exclusions); the other uploads no listing has shown
//     yet are its rivals (folders.rivals), told apart by the order they
//     were sent in (remote.PickCreated). More than one file left that
//     could be it: none is taken, and the change waits. (Taking the
//     newest match took a rewrite's new copy for the old one, and trashed
//     it.) Listings apply the same rule as they come in (matchLocked,
//     adoptGuesses), without a call.
//   - The mark lasts as long as the id: a record keeps its answers'
//     claims (recordFile.Claims) across restarts, and the saved listings
//     keep the flag (snapUnconfirmed).

// adoption is one unconfirmed id found in a listing.
type adoption struct {
	answer string
	listed Entry
}

// claim notes an upload whose answer's id is unconfirmed: listings of its
// folder are searched for it from now on.
func (f *folders) claim(id string, c claimFile) {
	if id == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, done := f.adopted[id]; done {
		return
	}
	if f.claims[c.ParentID] == nil {
		f.claims[c.ParentID] = make(map[string]claimFile)
	}
	f.claims[c.ParentID][id] = c
}

// unclaim forgets an upload whose file no listing showed, when nothing
// looks for it any more.
func (f *folders) unclaim(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unclaimLocked(id)
}

func (f *folders) unclaimLocked(id string) {
	for folder, m := range f.claims {
		if _, ok := m[id]; ok {
			delete(m, id)
			if len(m) == 0 {
				delete(f.claims, folder)
			}
		}
	}
}

// claimed returns the claim noted for an answer's id.
func (f *folders) claimed(id string) (claimFile, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.claims {
		if c, ok := m[id]; ok {
			return c, true
		}
	}
	return claimFile{}, false
}

// rivals returns the other uploads of a folder that no listing has shown
// yet, as remote.Confirm takes them: a file one of them stands for is
// not another's.
func (f *folders) rivals(folderID, except string) []remote.Item {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []remote.Item
	for id, c := range f.claims[folderID] {
		if id != except {
			out = append(out, c.item(id))
		}
	}
	return out
}

// adoptedIDs returns the listed ids uploads were found to be: each is
// that upload's file, and no other's.
func (f *folders) adoptedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.adopted))
	for _, x := range f.adopted {
		out = append(out, x.ID)
	}
	return out
}

// adoptedOf returns the listed file an unconfirmed id was found to be.
func (f *folders) adoptedOf(id string) (Entry, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x, ok := f.adopted[id]
	return x, ok
}

// adopt records that the upload answered as id is listed as x, rewrites
// the stored listing of its folder accordingly, and tells the queue; false
// if id was adopted already, or x is another upload's file.
func (f *folders) adopt(id string, x Entry) bool {
	f.mu.Lock()
	done := f.adoptLocked(id, x)
	if done {
		if v, ok := f.cache.Get(x.ParentID); ok {
			old := v.(*folderState)
			if entries, changed := f.resolveLocked(old.entries, false); changed {
				sortEntries(entries)
				f.storeLocked(x.ParentID, &folderState{entries: entries, fetched: old.fetched, start: old.start, upto: old.upto, stale: old.stale})
			}
		}
	}
	f.mu.Unlock()
	if done {
		f.tellAdopted([]adoption{{answer: id, listed: x}})
	}
	return done
}

// adoptLocked records an adoption; false if id was adopted already. The
// caller holds mu.
func (f *folders) adoptLocked(id string, x Entry) bool {
	if _, done := f.adopted[id]; done {
		return false
	}
	if other, ok := f.listedAs[x.ID]; ok && other != id {
		return false // the file of another upload
	}
	x.Key, x.Pending = x.ID, false
	x.SetUnconfirmed(false)
	f.adopted[id] = x
	if x.ID != id {
		f.listedAs[x.ID] = id
	}
	f.unclaimLocked(id)
	return true
}

func (f *folders) tellAdopted(done []adoption) {
	for _, a := range done {
		if a.listed.ID != a.answer {
			f.log.Debug("an upload is listed under another id than its answer gave", "name", a.listed.Name, "answer", a.answer, "listed", a.listed.ID)
		}
		if f.adoptedFn != nil {
			f.adoptedFn(a.answer, a.listed)
		}
	}
}

// matchLocked looks for the unconfirmed uploads of a folder among
// entries as listed, and adopts those found by id or by url (done). An
// answer that gave neither is told by name, size and time of creation
// among the listed files of its name no other upload accounts for, as
// remote.PickCreated tells them apart: those are guesses, which
// adoptGuesses checks against the files the queue knows (the copy an
// upload replaces may be of its name and size, and listed by a fetch that
// began before the upload landed) before it adopts them. (A file renamed
// elsewhere is found by confirmEntry.) The caller holds mu, and hands
// both on once it has let go of mu: done to tellAdopted, guesses to
// adoptGuesses.
func (f *folders) matchLocked(folderID string, entries []Entry) (done, guesses []adoption) {
	claims := f.claims[folderID]
	if len(claims) == 0 {
		return nil, nil
	}
	byName := make(map[string][]string, len(claims))
	for id, c := range claims {
		byName[c.Name] = append(byName[c.Name], id)
	}
	listed := make(map[string][]remote.Item) // by name: the files that may be one of the claims
	for _, x := range entries {
		ids, ok := byName[x.Name]
		if !ok || x.Unconfirmed() || x.Pending || x.IsDir {
			continue
		}
		found := false
		for _, id := range ids {
			c, open := claims[id]
			if !open || (x.ID != id && !remote.SameURL(x.URL(), c.URL)) {
				continue
			}
			if f.adoptLocked(id, x) {
				done = append(done, adoption{answer: id, listed: f.adopted[id]})
			}
			found = true
			break
		}
		if !found {
			listed[x.Name] = append(listed[x.Name], remote.Item{ID: x.ID, Name: x.Name, Type: remote.TypeFile,
				ParentID: x.ParentID, URL: x.URL(), Size: x.Size, CreatedAt: x.Created()})
		}
	}
	if len(listed) == 0 || len(claims) == 0 {
		return done, nil
	}
	taken := make([]string, 0, len(f.adopted))
	for _, x := range f.adopted {
		taken = append(taken, x.ID)
	}
	for name, files := range listed {
		ids := slices.Clone(byName[name])
		slices.Sort(ids)
		for _, id := range ids {
			c, open := claims[id]
			if !open || c.URL != "" {
				continue // an answer with a url is told by it alone
			}
			var rivals []remote.Item
			for _, other := range byName[name] {
				if rc, ok := claims[other]; ok && other != id {
					rivals = append(rivals, rc.item(other))
				}
			}
			x, err := f.rc.PickCreated(files, c.item(id), rivals, taken)
			if err != nil {
				continue
			}
			if i := slices.IndexFunc(entries, func(e Entry) bool { return e.ID == x.ID }); i >= 0 {
				guesses = append(guesses, adoption{answer: id, listed: entries[i]})
				taken = append(taken, x.ID)
			}
		}
	}
	return done, guesses
}

// adoptGuesses adopts the files matchLocked told by name, size and time,
// but those the queue knows as other files (knownFn: copies it uploaded,
// replaced or retired). Called with no lock of folders held.
// It reports whether it adopted any.
func (f *folders) adoptGuesses(guesses []adoption) bool {
	any := false
	for _, g := range guesses {
		if f.knownFn != nil && f.knownFn(g.listed.ID) {
			continue
		}
		any = f.adopt(g.answer, g.listed) || any
	}
	return any
}

// resolveLocked puts each unconfirmed entry of an adopted id out of
// entries: the listed entry stands for the file (added when entries lack
// it). entries is changed in place only when owned (a copy is made
// otherwise); the result is not sorted. The caller holds mu.
func (f *folders) resolveLocked(entries []Entry, owned bool) ([]Entry, bool) {
	if len(f.adopted) == 0 {
		return entries, false
	}
	changed := false
	for i := 0; i < len(entries); i++ {
		e := entries[i]
		if !e.Unconfirmed() {
			continue
		}
		x, ok := f.adopted[e.ID]
		if !ok {
			continue
		}
		if !owned {
			entries, owned = slices.Clone(entries), true
		}
		changed = true
		listed := slices.ContainsFunc(entries, func(y Entry) bool { return y.ID == x.ID && !y.Unconfirmed() })
		if listed {
			entries = slices.Delete(entries, i, i+1)
			i--
			continue
		}
		x.Name = e.Name // a change noted since (none renames by an unconfirmed id, but keep what is shown)
		entries[i] = x
	}
	return entries, changed
}

// aliases returns, for the entries whose id is a listed id an upload's
// answer gave otherwise, that answer's id: the queue knows the file by it
// until it learns the listed one.
func (f *folders) aliases(entries []Entry) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.listedAs) == 0 {
		return nil
	}
	var out map[string]string
	for _, e := range entries {
		if a, ok := f.listedAs[e.ID]; ok {
			if out == nil {
				out = make(map[string]string)
			}
			out[e.ID] = a
		}
	}
	return out
}

// claimURLs returns the urls of the unconfirmed uploads: a create looked
// for after its answer was lost is none of them.
func (f *folders) claimURLs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.claims {
		for _, c := range m {
			if c.URL != "" {
				out = append(out, c.URL)
			}
		}
	}
	return out
}

// confirmEntry returns the file e stands for as listed, when e's id is an
// upload's answer no listing has shown: known already, or looked up in
// its folder's listing (remote.Confirm: by id, by url, else by name, size
// and time among the files no other upload or record accounts for). Not
// found, it fails (ErrUnavailable): the file is not known to be gone, and
// a change must not act on a guessed id.
func (q *queue) confirmEntry(ctx context.Context, e Entry) (Entry, error) {
	if !e.Unconfirmed() {
		return e, nil
	}
	if x, ok := q.folders.adoptedOf(e.ID); ok {
		x.Key = e.Key
		return x, nil
	}
	claim := q.claimOf(e).item(e.ID)
	if name, ok := q.remoteName(e.Key, e.ID); ok {
		// Renamed through the queue, not yet in the library: it is
		// listed under the name it was uploaded with.
		claim.Name = name
	}
	found, err := q.rc.Confirm(ctx, claim, q.folders.rivals(claim.ParentID, e.ID), q.exclusions(e.ID, claim.URL))
	if x, ok := q.folders.adoptedOf(e.ID); ok {
		// Found meanwhile (a listing, or another look-up): the listed id
		// it was found as is among those a look-up begun since excludes.
		x.Key = e.Key
		return x, nil
	}
	if err != nil {
		return e, fmt.Errorf("%s: its id in the library is not known yet (no listing has shown it): %w", e.Name, translate(err))
	}
	x := entryOf(found)
	x.ParentID = e.ParentID
	q.folders.adopt(e.ID, x)
	x, _ = q.folders.adoptedOf(e.ID)
	x.Key = e.Key
	return x, nil
}

// remoteName is the name the library has for the copy id of the file
// key, when the file's record holds that copy (a rename of it may be
// pending in the queue).
func (q *queue) remoteName(key, id string) (string, bool) {
	r := q.lookup(key)
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

// known returns e with the id listings show for it, and false when e's
// id is an upload's answer no listing has shown (nor adoption found).
func (q *queue) known(e Entry) (Entry, bool) {
	if !e.Unconfirmed() {
		return e, true
	}
	if x, ok := q.folders.adoptedOf(e.ID); ok {
		x.Key = e.Key
		return x, true
	}
	return e, false
}

// exclusions are the ids and urls of the files the mount knows, less one
// file's own: a lost upload, or an unconfirmed one, is none of them. They
// are the copies the mount uploaded or retired (and the urls of those no
// listing has shown), the listed files uploads were found to be, and
// every copy a record holds or is to trash.
func (q *queue) exclusions(id, url string) []string {
	out := append(q.knownIDs(), q.folders.adoptedIDs()...)
	for _, r := range q.records() {
		r.mu.Lock()
		if r.rf.RemoteID != "" {
			out = append(out, r.rf.RemoteID)
		}
		out = append(out, r.rf.Replaces...)
		r.mu.Unlock()
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == id || (url != "" && s == url) })
}

// adoptedAs is told that the upload answered as id is listed as x: the
// listed id holds that file's key from now on, and the file's time moves
// to it.
func (q *queue) adoptedAs(id string, x Entry) {
	q.mu.Lock()
	key, keyed := q.keys[id]
	if keyed {
		q.setKeyLocked(x.ID, key)
	} else {
		key = id
	}
	if e, ok := q.latest[key]; ok && e.ID == id {
		x.Key, x.Name = key, e.Name
		q.latest[key] = x
	}
	q.mu.Unlock()
	if x.ID == id {
		return
	}
	if t, ok := q.times.get(id); ok {
		if err := q.times.set(x.ID, t); err != nil {
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
// again, as long as its upload is recent (unlistedGrace since its
// answer). After that it is not in the library as far as a listing can
// tell, which is what trashing it is for: it is dropped, as a trash
// answered {"deleted": false} for an item no longer listed is
// (folders.remove), with one WARN line (should the library hold it after
// all, it shows as a file of its own). The copy that holds the file is
// only ever renamed by a listed id: not found, the rename waits.
func (q *queue) confirmRecord(r *record) (bool, error) {
	claims := make(map[string]claimFile)
	for _, id := range r.toConfirmLocked() {
		claims[id] = r.rf.Claims[id]
	}
	name, removed, remoteID := r.rf.Name, r.state == stateRemoved, r.rf.RemoteID
	r.away()
	found := make(map[string]Entry, len(claims))
	var unlisted []string
	var firstErr, quiet error // quiet: a copy not listed yet, said already
	for id, c := range claims {
		e := c.entry(id)
		ctx, cancel := q.opContext(0)
		x, err := q.confirmEntry(ctx, e)
		cancel()
		toTrash := errors.Is(err, remote.ErrUnconfirmed) && (removed || id != remoteID)
		switch {
		case toTrash && q.clock.Since(c.At) >= unlistedGrace:
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
			q.folders.unclaim(id)
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

// unlistedGrace is how long after its answer an upload its folder's
// listing does not show is still looked for, as a copy to trash.
const unlistedGrace = 10 * time.Minute

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// confirmedLocked replaces an answer's id by the listed one wherever the
// record holds it. The caller holds r.mu.
func (r *record) confirmedLocked(id, listed string) {
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

// claimFile is an upload's answer whose id no listing has shown yet, as a
// record keeps it.
type claimFile struct {
	ParentID string    `json:"parentId"`
	Name     string    `json:"name"`
	URL      string    `json:"url,omitempty"`
	Size     int64     `json:"size"`
	At       time.Time `json:"at"` // when the answer came, by this machine's clock
	// Sent and Answered are when the upload was sent and answered, by
	// the API client's clock (remote.Item.SentAt and CreatedAt; the same
	// clock as At but in tests): its file was created between them
	// (remote.Confirm). Zero when not known (a record of an earlier
	// version, or a claim read from a listing an earlier mount saved).
	Sent     time.Time `json:"sent,omitzero"`
	Answered time.Time `json:"answered,omitzero"`
}

// item is the claim as remote.Confirm takes it.
func (c claimFile) item(id string) remote.Item {
	it := remote.Item{ID: id, Name: c.Name, Type: remote.TypeFile, ParentID: c.ParentID, URL: c.URL, Size: c.Size,
		SentAt: c.Sent, CreatedAt: c.Answered, Unconfirmed: true}
	if it.CreatedAt.IsZero() {
		it.SentAt, it.CreatedAt = time.Time{}, c.At
	}
	return it
}

func (c claimFile) entry(id string) Entry {
	e := Entry{Key: id, ID: id, Name: c.Name, ParentID: c.ParentID, Size: c.Size}
	e.SetUnconfirmed(true)
	e.SetURL(c.URL)
	e.SetCreated(c.At)
	return e
}

// needsConfirmLocked reports whether the record is about to act on an id
// of an answer no listing has shown. The caller holds r.mu.
func (r *record) needsConfirmLocked() bool {
	return len(r.toConfirmLocked()) > 0
}

// toConfirmLocked returns the ids of answers no listing has shown that the
// record's next step acts on: every copy of a removed file; else the copy
// to rename; else the copies to trash. The caller holds r.mu.
func (r *record) toConfirmLocked() []string {
	if len(r.rf.Claims) == 0 {
		return nil
	}
	var ids []string
	switch {
	case r.state == stateRemoved:
		ids = append(slices.Clone(r.rf.Replaces), r.rf.RemoteID)
	case r.rf.RemoteID != "" && r.rf.Name != r.rf.RemoteName:
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
func (r *record) unlistedLocked(id string) {
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
func (r *record) claimURLsLocked() []string {
	var out []string
	for _, c := range r.rf.Claims {
		if c.URL != "" {
			out = append(out, c.URL)
		}
	}
	return out
}

// adoptID replaces an answer's id by the listed one in the record, if it
// holds it.
func (r *record) adoptID(id, listed string) {
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

// claimOf is an unconfirmed entry as a record keeps it: the claim noted
// when its upload was answered, if this mount has it (with the times the
// upload was under way), else as the entry shows it.
func (q *queue) claimOf(e Entry) claimFile {
	if c, ok := q.folders.claimed(e.ID); ok {
		return c
	}
	return claimFile{ParentID: e.ParentID, Name: e.Name, URL: e.URL(), Size: e.Size, At: e.Created()}
}

// withClaim adds e's claim to claims when e's id is unconfirmed.
func (q *queue) withClaim(claims map[string]claimFile, e Entry) map[string]claimFile {
	if !e.Unconfirmed() || e.ID == "" {
		return claims
	}
	if claims == nil {
		claims = make(map[string]claimFile)
	}
	claims[e.ID] = q.claimOf(e)
	return claims
}

// addClaimLocked keeps e's claim when the record holds e's id and it is
// unconfirmed. The caller holds r.mu.
func (r *record) addClaimLocked(e Entry) {
	if e.Unconfirmed() && e.ID != "" {
		r.keepClaimLocked(e.ID, r.q.claimOf(e))
	}
}

// keepClaimLocked keeps the claim of an id the record holds, and has
// listings look for it. The caller holds r.mu.
func (r *record) keepClaimLocked(id string, c claimFile) {
	if r.rf.Claims == nil {
		r.rf.Claims = make(map[string]claimFile)
	}
	r.rf.Claims[id] = c
	r.q.folders.claim(id, c)
}
