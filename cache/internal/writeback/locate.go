package writeback

import (
	"context"
	"fmt"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
)

// Locate returns e with the address of its bytes. An upload's answer may
// give the new file's id alone; its folder's listing says where the bytes
// are, so the first read of such a file lists the folder again (once: the
// address is kept for the file's key).
func (q *Queue) Locate(ctx context.Context, e Entry) (Entry, error) {
	if e.IsDir || e.Pending || e.ID == "" || e.URL() != "" {
		return e, nil
	}
	if e.Unconfirmed() {
		// Its answer gave an id, and no url: the listing may know the
		// file by another id (claims.go).
		x, err := q.ConfirmEntry(ctx, e)
		if err != nil {
			return e, err
		}
		if x.URL() != "" {
			return q.withURL(e, x), nil
		}
		e = x
	}
	if st, ok := q.folders.Cached(e.ParentID); ok {
		if f, ok := findLocated(st.Entries(), e.ID); ok {
			return q.withURL(e, f), nil
		}
	}
	// A listing of its own, begun now: a shared one may have begun before
	// the upload landed, and then shows the file as the upload's answer
	// did (without its url).
	entries, _, err := q.folders.Fetch(ctx, e.ParentID)
	if err != nil {
		return e, err
	}
	if f, ok := findLocated(entries, e.ID); ok {
		// The folder's cached listing learns the url too, without being
		// listed again; an entry it no longer holds (the file replaced or
		// removed since) is not brought back.
		q.folders.NoteLocated(e.ParentID, f)
		return q.withURL(e, f), nil
	}
	return e, fmt.Errorf("%w: the service has not said where the bytes of %q (id %s) are: its folder's listing does not show it with a url", entry.ErrUnavailable, e.Name, e.ID)
}

func (q *Queue) withURL(e, listed Entry) Entry {
	url := listed.URL()
	q.ix.Located(e.ID, url)
	e.SetURL(url)
	return e
}

// findLocated finds the entry of id, with a url, in a listing.
func findLocated(entries []Entry, id string) (Entry, bool) {
	for _, f := range entries {
		if f.ID == id && f.URL() != "" {
			return f, true
		}
	}
	return Entry{}, false
}
