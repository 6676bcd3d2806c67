// Package listing is the cache's part for folders: each folder's listing
// as the API gives it, trusted for a while and fetched once however many
// callers ask (Folders.Get); the journal of the changes made through the
// mount, which keeps a listing true while they land (journal.go); the
// uploads whose answer's id no listing has shown yet, looked for in every
// listing that comes in (claims.go); and the passes over the whole library
// and the polls that keep the listings in sync (sync.go, poll.go). The
// listings are saved for the next mount through package snapshot, which
// New opens and loads, and Close saves.
//
// It imports snapshot, entry and remote, and nothing else of the cache:
// neither the file bytes (content) nor the write-back queue are its
// business. What it tells them, or asks of them, goes through the
// functions in Config (Fetched, Changed, Adopted, Known), which the front
// passes to New; each is called with none of this package's locks held.
// Everything Folders are made with comes in Config; nothing is set on
// them after.
//
// # Lock order
//
// A goroutine that holds two of these locks took them in this order, and
// none is held across a call to the API:
//
//	Folders.mu     the journal, the claims and adoptions, the fetches
//	  │            under way, the passes' and polls' state
//	  ├→ Folders.lmu  the map of stored listings (a RWMutex: a look-up
//	  │            or a scan of them all reads it with lmu alone; it is
//	  │            changed only with mu held too, so that the listings
//	  │            are saved in the order stored)
//	  └→ snapshot.Snapshot.mu  the listings to save (a leaf: a listing
//	               stored or dropped is handed to it under Folders.mu)
//
// The layers above may hold their own locks while they call in: the
// write-back queue calls Refresh and Aliases under its queue lock, and
// notes an upload (NotePut, Claim) under a record's.
//
// # Goroutines
//
// Start starts the passes and polls (one goroutine); a stale listing is
// revalidated by one of its own (Folders.revalidate); the snapshot has
// its writer. Close stops them all and waits for them.
//
// # A plain map, not go-cache
//
// The listings sit in a plain map under lmu rather than in a go-cache:
// nothing in them expires (a listing past its TTL is still what a look-up
// shows while it is fetched again, the "before" of a change report, and
// where a file's url is found, so it may not vanish); their TTL reads the
// injected clock, which go-cache's expiry cannot; and a pass walks them
// all, which go-cache hands out only as a copy of the whole map, each
// read of one a type assertion.
package listing
