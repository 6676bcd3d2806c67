package entry

import (
	"slices"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/ghlfs/ghlfs/remote"
)

// Entry is a file or folder as the filesystem sees it.
type Entry struct {
	// Key is the item's identity in this mount: it stays the same when a
	// file's bytes are replaced (which gives the file a new ID in the API)
	// and when a new file is uploaded. The filesystem keys inodes on it.
	Key string
	// ID is the item's id in the API; "" for a file not uploaded yet.
	ID string
	// Rev is the version of the file's bytes the listing showed
	// (remote.Item.Rev), where the service keeps versions under one id;
	// "" where an id's bytes never change (HighLevel). Content is cached
	// by ID and Rev (ContentKey).
	Rev      string
	Name     string // the name in the API, unescaped
	ParentID string // "" = root
	// The download URL is urlHead + ID + urlTail when the URL holds the id
	// (as storage URLs do), else urlHead alone: the head and tail are then
	// shared by every file of a location, which matters in listings of
	// hundreds of thousands of files.
	urlHead, urlTail string
	Size             int64 // -1 until known; see Store.Stat
	ModTime          time.Time
	// created is when the API says the item was created, in Unix
	// nanoseconds; 0 when it did not say (see Created).
	created int64
	// ctype is the content type the API gave, interned: a library holds a
	// handful of types, so each entry holds a pointer to a shared string
	// (8 bytes, not 16 and a copy). The zero handle: none given.
	ctype    unique.Handle[string]
	urlHasID bool
	// unchecked marks an entry of a listing an earlier mount saved, not
	// yet checked against the server: its url may be stale (the content
	// part's Reader.recheck).
	unchecked bool
	IsDir     bool
	// System marks a system folder of the library (the API lists it
	// isEssential or appFolder): it is never removed or renamed.
	System bool
	// Pending marks a file whose bytes are held by the write-back queue.
	Pending bool
	// unconfirmed marks an ID taken from an upload's answer that no
	// listing has shown yet (remote.Item.Unconfirmed): nothing is renamed
	// or removed by it (see internal/listing/claims.go).
	unconfirmed bool
}

// MaxContentTypeBytes bounds a content type kept: type and subtype are
// at most 127 characters each (RFC 6838), and a few parameters fit
// besides. A longer one, which no real service sends, is taken as none.
const MaxContentTypeBytes = 255

// Of is the entry of an item as a backend gave it.
func Of(it remote.Item) Entry {
	e := Entry{
		Key:      it.ID,
		ID:       it.ID,
		Rev:      it.Rev,
		Name:     it.Name,
		ParentID: it.ParentID,
		IsDir:    it.IsFolder(),
		System:   it.IsFolder() && it.System,
		Size:     it.Size,
		ModTime:  it.ModTime(),

		unconfirmed: it.Unconfirmed,
	}
	e.SetURL(it.URL)
	e.SetContentType(it.ContentType)
	e.SetCreated(it.CreatedAt)
	return e
}

// Unconfirmed reports whether e's ID is an upload's answer that no
// listing has shown yet.
func (e Entry) Unconfirmed() bool { return e.unconfirmed }

// SetUnconfirmed marks e's ID as an upload's answer that no listing has
// shown yet, or, with false, as one a listing showed.
func (e *Entry) SetUnconfirmed(b bool) { e.unconfirmed = b }

// Unchecked reports whether e comes from a listing an earlier mount
// saved, not yet checked against the server: its url may be stale.
func (e Entry) Unchecked() bool { return e.unchecked }

// SetUnchecked marks e as from a saved listing (true), or as checked
// against the server since (false).
func (e *Entry) SetUnchecked(b bool) { e.unchecked = b }

// ContentType is the content type the API gave for the file; "" when it
// gave none.
func (e Entry) ContentType() string {
	if e.ctype == (unique.Handle[string]{}) {
		return ""
	}
	return e.ctype.Value()
}

// SetContentType keeps t as e's content type, interned; "" or one
// longer than MaxContentTypeBytes is none.
func (e *Entry) SetContentType(t string) {
	if t == "" || len(t) > MaxContentTypeBytes {
		e.ctype = unique.Handle[string]{}
		return
	}
	e.ctype = unique.Make(t)
}

// ContentTypeHandle and SetContentTypeHandle give and take the content
// type as e holds it, interned (the zero handle: none), for the listing
// snapshot, which writes each type of a folder once.
func (e Entry) ContentTypeHandle() unique.Handle[string] { return e.ctype }

func (e *Entry) SetContentTypeHandle(h unique.Handle[string]) { e.ctype = h }

// Created is when the API says the item was created (its createdAt, else
// the time in its id); the zero time when unknown.
func (e Entry) Created() time.Time {
	if e.created == 0 {
		return time.Time{}
	}
	return time.Unix(0, e.created).UTC()
}

// SetCreated keeps t, if Unix nanoseconds can hold it (years 1678 to
// 2262); any other time is taken as unknown.
func (e *Entry) SetCreated(t time.Time) {
	e.created = 0
	if !t.IsZero() && t.Year() > 1678 && t.Year() < 2262 {
		e.created = t.UnixNano()
	}
}

// CreatedNanos and SetCreatedNanos give and take the creation time as e
// holds it, in Unix nanoseconds (0: unknown), for the listing snapshot.
func (e Entry) CreatedNanos() int64 { return e.created }

func (e *Entry) SetCreatedNanos(n int64) { e.created = n }

// URL is where the file's bytes are; "" for folders and pending files.
func (e Entry) URL() string {
	if e.urlHasID {
		return e.urlHead + e.ID + e.urlTail
	}
	return e.urlHead
}

// FileRef names e's bytes to the backend: its id, the version its
// listing showed, its url.
func (e Entry) FileRef() remote.FileRef { return remote.FileRef{ID: e.ID, Rev: e.Rev, URL: e.URL()} }

// ContentKey names e's bytes in the content caches (memory, disk, the
// sizes learnt, the kernel's page cache): the id, and the version where
// the service keeps versions under one id, so that bytes cached of one
// version are never served for another. A NUL, which no id holds,
// parts them; where there is no version it is the id alone (HighLevel's
// disk cache keeps its names).
func (e Entry) ContentKey() string {
	if e.Rev == "" {
		return e.ID
	}
	return e.ID + "\x00" + e.Rev
}

// SetURL keeps u as where e's bytes are (set e.ID first: the url is kept
// in parts around it).
func (e *Entry) SetURL(u string) {
	if i := strings.Index(u, e.ID); e.ID != "" && i >= 0 {
		e.urlHead, e.urlTail, e.urlHasID = Intern(u[:i]), Intern(u[i+len(e.ID):]), true
		return
	}
	e.urlHead, e.urlTail, e.urlHasID = u, "", false
}

// URLParts and SetURLParts give and take the URL as the entry holds it
// (see urlHead), for the listing snapshot.
func (e Entry) URLParts() (head, tail string, hasID bool) {
	return e.urlHead, e.urlTail, e.urlHasID
}

func (e *Entry) SetURLParts(head, tail string, hasID bool) {
	e.urlHead, e.urlTail, e.urlHasID = head, tail, hasID
}

var interned sync.Map // string -> string

// Intern returns s, shared with every other string interned equal to it:
// the url heads and tails of a library are a handful, held by every
// entry.
func Intern(s string) string {
	if v, ok := interned.Load(s); ok {
		return v.(string)
	}
	c := strings.Clone(s)
	v, _ := interned.LoadOrStore(c, c)
	return v.(string)
}

// Listing is a snapshot of one folder as the mount shows it. It is never
// changed once made: a change makes a new Listing, so a caller may key
// derived data (display names, say) on the pointer.
type Listing struct {
	FolderID string
	Entries  []Entry // sorted by Name, then Key
	Fetched  time.Time
}

// Find returns the entry with the given key.
func (l *Listing) Find(key string) (Entry, bool) {
	for _, e := range l.Entries {
		if e.Key == key {
			return e, true
		}
	}
	return Entry{}, false
}

// Sort sorts entries as a Listing holds them: by Name, then Key. A view
// of a folder is its sorted listing with the pending files appended
// (index: overlay.apply), rebuilt at each change to one of them: a
// sorted head is kept, and the tail sorted and merged into it, in time
// linear in the head.
func Sort(entries []Entry) {
	head := 1
	for head < len(entries) && compareEntries(entries[head-1], entries[head]) <= 0 {
		head++
	}
	if head >= len(entries) {
		return
	}
	if head < len(entries)/2 {
		slices.SortFunc(entries, compareEntries)
		return
	}
	tail := slices.Clone(entries[head:])
	slices.SortFunc(tail, compareEntries)
	// Merged from the back: each place written is one already read.
	i, j := head-1, len(tail)-1
	for k := len(entries) - 1; j >= 0; k-- {
		if i >= 0 && compareEntries(entries[i], tail[j]) > 0 {
			entries[k] = entries[i]
			i--
		} else {
			entries[k] = tail[j]
			j--
		}
	}
}

func compareEntries(a, b Entry) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Key, b.Key)
}

// Without returns entries less those with the given ids.
func Without(entries []Entry, ids ...string) []Entry {
	return slices.DeleteFunc(entries, func(e Entry) bool { return slices.Contains(ids, e.ID) })
}
