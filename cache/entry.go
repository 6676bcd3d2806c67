package cache

import (
	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/remote"
)

// Entry is a file or folder as the filesystem sees it (entry.Entry).
type Entry = entry.Entry

// Listing is a snapshot of one folder as the mount shows it, never
// changed once made (entry.Listing).
type Listing = entry.Listing

// The package's short names for entry's helpers.

func entryOf(it remote.Item) Entry { return entry.Of(it) }

func sortEntries(entries []Entry) { entry.Sort(entries) }

func without(entries []Entry, ids ...string) []Entry { return entry.Without(entries, ids...) }

func translate(err error) error { return entry.Translate(err) }
