package listing

import (
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
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
//     id, else by url), and the one stored when it is claimed: found, it is adopted (adopted, listedAs), the
//     entry that stood for it gives way to the listed one, and the queue
//     re-keys the listed id as the file (Config.Adopted:
//     writeback.Queue.AdoptedAs).
//   - Before the first change to such a file, the change looks it up
//     itself (locate.Locator.Confirm, and the write-back queue's
//     confirmRecord: remote.Confirm, by id, url, or name, size and
//     time); not found, the
//     change fails and is tried again, never taken as done.
//   - By name, size and time (an answer without the listed id or a url a
//     listing shows), a file is taken only if it was created while its
//     upload was under way and nothing else the mount knows accounts for
//     it: the copies it made, changed or retired (the queue's keys), the
//     files other uploads were found to be (adopted), every copy a record
//     holds or is to trash (exclusions); the other uploads no listing has
//     shown yet are its rivals (Folders.Rivals), told apart by the order
//     they were sent in (remote.PickCreated). More than one file left
//     that could be it: none is taken, and the change waits. (Taking the
//     newest match took a rewrite's new copy for the old one, and trashed
//     it.) Listings apply the same rule as they come in (matchLocked,
//     adoptGuesses), without a call.
//   - A removed file's copies that no look-up one by one can tell apart
//     (two uploads of a rewrite of one size, listed with one time of
//     creation) are looked up together (locate.Locator.ConfirmAll with
//     all, remote.GroupConfirmer): when the listing shows exactly as many
//     files of their name and size in the time they were sent, and no
//     other upload's span reaches it, those files are all the removed
//     file's, and all go to the trash; which was which does not matter.
//     Meanwhile the mount hides them by name, size and time
//     (pending.Facts.hideClaims), as it hides an upload under way. (Each
//     was dropped as unlisted after locate.UnlistedGrace: both copies
//     stayed, and the file came back, twice.)
//   - A look-up for an upload whose answer was lost (a 5xx, a cut
//     connection: writeback's upload and findAttempt) takes the uploads
//     no listing has shown yet as rivals too (remote.Attempt.Rivals): the
//     file an earlier upload of the same file made, of its name and size
//     a moment before, is not taken for the lost one, which made the
//     old bytes the file's new ones. (The look-up took the newest match.)
//   - The mark lasts as long as the id: a record keeps its answers'
//     claims (spool.RecordFile.Claims) across restarts, and the saved
//     listings keep the flag (snapUnconfirmed).

// adoption is one unconfirmed id found in a listing.
type adoption struct {
	answer string
	listed Entry
}

// Claim notes an upload whose answer's id is unconfirmed: listings of its
// folder are searched for it from now on, and so is the one stored now.
// (A claim made for an entry of a listing an earlier mount saved, as a
// removal of it is, may come after the folder's listing came in: that
// listing shows the file by its listed id, and no later one may come
// before the queue's own look-up; until then the file the removal hides
// by its answer's id showed again under the listed one.)
func (f *Folders) Claim(id string, c Claim) {
	if id == "" {
		return
	}
	f.mu.Lock()
	if _, done := f.adopted[id]; done {
		f.mu.Unlock()
		return
	}
	if f.claims[c.ParentID] == nil {
		f.claims[c.ParentID] = make(map[string]Claim)
	}
	f.claims[c.ParentID][id] = c
	var done, guesses []adoption
	// Not before Start: the claims a restart takes up are matched by the
	// listings that come in, as the saved ones are revalidated.
	if st, ok := f.Cached(c.ParentID); ok && f.started {
		done, guesses = f.matchLocked(c.ParentID, st.entries)
		if len(done) > 0 {
			f.resolveStoredLocked(c.ParentID)
		}
	}
	f.mu.Unlock()
	f.tellAdopted(done)
	f.adoptGuesses(guesses)
}

// Unclaim forgets an upload whose file no listing showed, when nothing
// looks for it any more.
func (f *Folders) Unclaim(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unclaimLocked(id)
}

func (f *Folders) unclaimLocked(id string) {
	for folder, m := range f.claims {
		if _, ok := m[id]; ok {
			delete(m, id)
			if len(m) == 0 {
				delete(f.claims, folder)
			}
		}
	}
}

// Claimed returns the claim noted for an answer's id.
func (f *Folders) Claimed(id string) (Claim, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.claims {
		if c, ok := m[id]; ok {
			return c, true
		}
	}
	return Claim{}, false
}

// Rivals returns the other uploads of a folder that no listing has shown
// yet, as remote.Confirm takes them: a file one of them stands for is
// not another's.
func (f *Folders) Rivals(folderID, except string) []remote.Item {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []remote.Item
	for id, c := range f.claims[folderID] {
		if id != except {
			out = append(out, c.Item(id))
		}
	}
	return out
}

// AdoptedIDs returns the listed ids uploads were found to be: each is
// that upload's file, and no other's.
func (f *Folders) AdoptedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.adopted))
	for _, x := range f.adopted {
		out = append(out, x.ID)
	}
	return out
}

// AdoptedOf returns the listed file an unconfirmed id was found to be.
func (f *Folders) AdoptedOf(id string) (Entry, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x, ok := f.adopted[id]
	return x, ok
}

// Adopt records that the upload answered as id is listed as x, rewrites
// the stored listing of its folder accordingly, and tells the queue; false
// if id was adopted already, or x is another upload's file.
func (f *Folders) Adopt(id string, x Entry) bool {
	f.mu.Lock()
	done := f.adoptLocked(id, x)
	if done {
		f.resolveStoredLocked(x.ParentID)
	}
	f.mu.Unlock()
	if done {
		f.tellAdopted([]adoption{{answer: id, listed: x}})
	}
	return done
}

// resolveStoredLocked rewrites the stored listing of a folder after an
// adoption (resolveLocked). The caller holds mu.
func (f *Folders) resolveStoredLocked(folderID string) {
	old, ok := f.Cached(folderID)
	if !ok {
		return
	}
	if entries, changed := f.resolveLocked(old.entries, false); changed {
		entry.Sort(entries)
		f.storeLocked(folderID, &State{entries: entries, fetched: old.fetched, start: old.start, upto: old.upto, stale: old.stale})
	}
}

// adoptLocked records an adoption; false if id was adopted already. The
// caller holds mu.
func (f *Folders) adoptLocked(id string, x Entry) bool {
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

func (f *Folders) tellAdopted(done []adoption) {
	for _, a := range done {
		if a.listed.ID != a.answer {
			f.log.Debug("an upload is listed under another id than its answer gave", "name", a.listed.Name, "answer", a.answer, "listed", a.listed.ID)
		}
		f.cfg.Adopted(a.answer, a.listed)
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
// elsewhere is found by locate.Locator.Confirm.) The caller holds mu, and hands
// both on once it has let go of mu: done to tellAdopted, guesses to
// adoptGuesses.
func (f *Folders) matchLocked(folderID string, entries []Entry) (done, guesses []adoption) {
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
					rivals = append(rivals, rc.Item(other))
				}
			}
			// Each claim is told among all the files and all its rivals,
			// the files guessed for the others in this pass included: the
			// ranks give each its own (and Adopt refuses a file taken
			// twice). (A guessed file left out of the candidates while
			// its claim still counted as a rival made "two uploads, one
			// file": the other upload's copy showed as a second file of
			// the name until a look-up of the queue's.)
			x, err := f.rc.PickCreated(files, c.Item(id), rivals, taken)
			if err != nil {
				continue
			}
			if i := slices.IndexFunc(entries, func(e Entry) bool { return e.ID == x.ID }); i >= 0 {
				guesses = append(guesses, adoption{answer: id, listed: entries[i]})
			}
		}
	}
	return done, guesses
}

// adoptGuesses adopts the files matchLocked told by name, size and time,
// but those the queue knows as other files (knownFn: copies it uploaded,
// replaced or retired). Called with no lock of folders held.
// It reports whether it adopted any.
func (f *Folders) adoptGuesses(guesses []adoption) bool {
	any := false
	for _, g := range guesses {
		if f.cfg.Known(g.listed.ID) {
			continue
		}
		any = f.Adopt(g.answer, g.listed) || any
	}
	return any
}

// resolveLocked puts each unconfirmed entry of an adopted id out of
// entries: the listed entry stands for the file (added when entries lack
// it). entries is changed in place only when owned (a copy is made
// otherwise); the result is not sorted. The caller holds mu.
func (f *Folders) resolveLocked(entries []Entry, owned bool) ([]Entry, bool) {
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

// Aliases returns, for the entries whose id is a listed id an upload's
// answer gave otherwise, that answer's id: the queue knows the file by it
// until it learns the listed one.
func (f *Folders) Aliases(entries []Entry) map[string]string {
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

// ClaimURLs returns the urls of the unconfirmed uploads: a create looked
// for after its answer was lost is none of them.
func (f *Folders) ClaimURLs() []string {
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

// Claim is an upload's answer whose id no listing has shown yet, as a
// record keeps it.
type Claim struct {
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

// Item is the claim as remote.Confirm takes it.
func (c Claim) Item(id string) remote.Item {
	it := remote.Item{ID: id, Name: c.Name, Type: remote.TypeFile, ParentID: c.ParentID, URL: c.URL, Size: c.Size,
		SentAt: c.Sent, CreatedAt: c.Answered, Unconfirmed: true}
	if it.CreatedAt.IsZero() {
		it.SentAt, it.CreatedAt = time.Time{}, c.At
	}
	return it
}

func (c Claim) Entry(id string) Entry {
	e := Entry{Key: id, ID: id, Name: c.Name, ParentID: c.ParentID, Size: c.Size}
	e.SetUnconfirmed(true)
	e.SetURL(c.URL)
	e.SetCreated(c.At)
	return e
}
