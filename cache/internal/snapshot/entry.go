package snapshot

import "github.com/ghlfs/ghlfs/cache/internal/entry"

// Entry is a file or folder as the filesystem sees it (entry.Entry).
type Entry = entry.Entry
