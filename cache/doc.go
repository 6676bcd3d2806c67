// Package cache is the cached remote layer between the filesystem and the
// media store. It reaches the store through remote.Backend alone (cmd
// builds the backend; this package imports no backend's own package), and
// reads what the service does from its remote.Caps. The filesystem talks
// to one front, Store; behind it each concern has its own part, and the
// dependencies run one way:
//
//	Store (store.go, handle.go)      the front: views, Stat, changes, open files
//	  ├─ queue (queue.go, record.go, changes.go, worker.go, recover.go,
//	  │        locate.go, claims.go)
//	  │        the write-back queue: every pending change to a file's bytes,
//	  │        as records with explicit, persisted states; uploads whose
//	  │        answer's id no listing has shown yet (claims.go)
//	  │    ├─ folders (folders.go, poll.go, sync.go)   listings with TTLs,
//	  │    │        the journal of changes made through the mount, and the
//	  │    │        background passes and polls that keep them in sync
//	  │    │    └─ snapshot (snapshot.go)   the listings saved for the
//	  │    │             next mount
//	  │    ├─ content (internal/content)   file bytes by ranges; whole
//	  │    │        files on disk for FUSE passthrough
//	  │    └─ times (times.go)   modification times users set
//	  └─ (folders, content, times, directly)
//
// Nothing below the front knows of the front; the queue calls folders,
// content and times, never the other way round. Folders and content
// reach each other only through functions the front hands them: folders
// tells content the sizes a listing lacked (content.LearnSizes), and
// content asks folders for a listing checked against the server when a
// url from a listing an earlier mount saved is refused
// (folders.relisted); folders tells the queue of an upload found in a
// listing (adoptedFn). Each is called with none of the caller's locks
// held.
//
// # Lock order
//
// A goroutine that holds several of these locks took them in this order,
// and no lock is held across a call to the API or the storage host:
//
//	record.mu   one record at a time, never two at once
//	queue.mu    the records, the folder index, identities, the work list
//	Store.mu    the cached views
//	folders.mu  the listings and the journal
//	content's locks (internal/content/doc.go; none calls out)
//	timeStore.mu (leaf)
//	snapshot.mu (leaf; folders.mu may be held when it is taken)
//
// Waiting for a record's upload to end (a write into a file whose bytes
// are being sent) is a wait on record.cond, which releases record.mu.
//
// # Goroutines
//
// Every goroutine the package starts is stopped by Store.Close, which
// waits for it: the queue's workers and its timers (queue.go), listing
// refreshes and size look-ups (folders.go, poll.go), the passes over the
// library, polls and revalidations of saved listings (sync.go), the
// snapshot's writer (snapshot.go), and content fetches with their disk
// copies (internal/content).
//
// # Time
//
// Every TTL, delay and backoff reads one clock, Options.Clock, so tests
// move time instead of sleeping. The one thing timed on the wall clock is
// how long a learnt size is kept (below): it decides when a size is
// asked again, never what a file shows or when a change is sent.
//
// # go-cache
//
// go-cache (github.com/patrickmn/go-cache) is a locked map whose items
// expire. It serves where an item may go after a while with nothing lost
// but a request: the sizes learnt from the storage host for listings
// that lack them (internal/content), each kept an hour, so that the memo
// does not grow with every file the mount ever looked at. Its expiry
// reads the wall clock, which no test can move; that is right there only
// because nothing but a request depends on it (a size never goes stale
// under an id). Its janitor is not used, as its goroutine would outlive
// Close: the content part drops the expired sizes itself, when it starts
// learning more.
//
// It does not serve the listings, which a plain map under the listing
// part's lock serves better. Nothing in them expires: a listing past its
// TTL is still what a look-up shows while it is fetched again, the
// "before" of a change report, and where a file's url is found, so it
// may not vanish; and their TTL reads Options.Clock, which go-cache's
// expiry cannot. A pass over the library walks every listing, which
// go-cache hands out only as a copy of the whole map (Items); and each
// read of one is a type assertion. The listings still sit in a go-cache
// with no expiry until they move into their own package (issue 18's
// next step), which makes that map plain.
package cache
