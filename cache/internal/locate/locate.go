package locate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/content"
	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/remote"
)

// Entry is a file or folder as the filesystem sees it (entry.Entry).
type Entry = entry.Entry

// Config is what a Locator is made with; nothing is set on it after.
type Config struct {
	Backend remote.Backend
	// Folders is where files are looked for; Content reads their bytes.
	Folders *listing.Folders
	Content *content.Cache
	Clock   clockwork.Clock
	Logger  *slog.Logger
	// The links up to the write-back queue, called with no lock held.
	// Exclusions returns the ids and urls of the files the mount knows,
	// less one file's own (id, url): a look-up by name, size and time
	// takes none of them. RemoteName returns the name the library has
	// for the copy id of the file key, when the file's record holds that
	// copy (a rename of it may be pending in the queue). Located notes
	// where the bytes of the copy id are, once a listing said so.
	Exclusions func(id, url string) []string
	// Sending reports whether an upload of a file of that name and size
	// to that folder is under way (or its answer was lost).
	Sending    func(parentID, name string, size int64) bool
	RemoteName func(key, id string) (string, bool)
	Located    func(id, url string)
}

// Locator finds files in the library for the write-back queue.
type Locator struct{ cfg Config }

// New returns a Locator.
func New(cfg Config) *Locator { return &Locator{cfg: cfg} }

// Locate returns e with the address of its bytes. An upload's answer may
// give the new file's id alone; its folder's listing says where the bytes
// are, so the first read of such a file lists the folder again (once: the
// address is kept for the file's key). Where the service reads bytes by
// id (and version) rather than from a url (Caps.PublicURL off), the entry
// is its address: it comes back as it is, or, for an upload no listing
// has shown yet, as its listing shows it.
func (l *Locator) Locate(ctx context.Context, e Entry) (Entry, error) {
	if e.IsDir || e.Pending || e.ID == "" || e.URL() != "" {
		return e, nil
	}
	byURL := l.cfg.Backend.Caps().PublicURL
	if !byURL && !e.Unconfirmed() {
		return e, nil
	}
	if e.Unconfirmed() {
		// Its answer gave an id, and no url: the listing may know the
		// file by another id (Confirm).
		x, err := l.Confirm(ctx, e)
		if err != nil {
			return e, err
		}
		if x.URL() != "" {
			return l.withURL(e, x), nil
		}
		if !byURL {
			return x, nil
		}
		e = x
	}
	if st, ok := l.cfg.Folders.Cached(e.ParentID); ok {
		if f, ok := findLocated(st.Entries(), e.ID); ok {
			return l.withURL(e, f), nil
		}
	}
	// A listing of its own, begun now: a shared one may have begun before
	// the upload landed, and then shows the file as the upload's answer
	// did (without its url).
	entries, _, err := l.cfg.Folders.Fetch(ctx, e.ParentID)
	if err != nil {
		return e, err
	}
	if f, ok := findLocated(entries, e.ID); ok {
		// The folder's cached listing learns the url too, without being
		// listed again; an entry it no longer holds (the file replaced or
		// removed since) is not brought back.
		l.cfg.Folders.NoteLocated(e.ParentID, f)
		return l.withURL(e, f), nil
	}
	return e, fmt.Errorf("%w: the service has not said where the bytes of %q (id %s) are: its folder's listing does not show it with a url", entry.ErrUnavailable, e.Name, e.ID)
}

func (l *Locator) withURL(e, listed Entry) Entry {
	url := listed.URL()
	l.cfg.Located(e.ID, url)
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

// Download copies e's bytes into f and returns how many there were.
func (l *Locator) Download(ctx context.Context, e Entry, f *os.File) (int64, error) {
	// Located here, for the copy that is copied: it may have changed since
	// the caller looked.
	e, err := l.Locate(ctx, e)
	if err != nil {
		return 0, err
	}
	rd := l.cfg.Content.Reader(e)
	buf := make([]byte, 1<<20)
	var off int64
	for {
		n, err := rd.ReadAt(ctx, buf, off)
		if n > 0 {
			if _, werr := f.WriteAt(buf[:n], off); werr != nil {
				return off, fmt.Errorf("spool: %w", werr)
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
}

// Gone reports whether src, a copy whose bytes were not found, is gone
// from the library: a fresh listing of its folder does not show it. When
// the listing shows it at another address, that is moved. An upload no
// listing has shown yet (answered at answered) is not known to be gone
// while it is recent (UnlistedGrace): a listing may be late to show it.
func (l *Locator) Gone(ctx context.Context, src Entry, answered time.Time) (gone bool, moved string) {
	if src.Unconfirmed() {
		x, ok := l.cfg.Folders.AdoptedOf(src.ID)
		if !ok {
			return l.cfg.Clock.Since(answered) >= UnlistedGrace, ""
		}
		src = x
	}
	entries, _, err := l.cfg.Folders.Fetch(ctx, src.ParentID)
	if err != nil {
		return false, ""
	}
	for _, x := range entries {
		if x.ID == src.ID {
			if u := x.URL(); u != "" && u != src.URL() {
				return false, u
			}
			return false, ""
		}
	}
	return true, ""
}
