package cache

import "github.com/ghlfs/ghlfs/cache/internal/entry"

// Entry is a file or folder as the filesystem sees it (entry.Entry).
type Entry = entry.Entry

// Listing is a snapshot of one folder as the mount shows it, never
// changed once made (entry.Listing).
type Listing = entry.Listing
