// Package cache is the cached remote layer between the filesystem and the
// media store. It reaches the store through remote.Backend alone (cmd
// builds the backend; this package imports no backend's own package), and
// reads what the service does from its remote.Caps.
//
// # Layout
//
// The filesystem talks to one front, Store (and the Handle of an open
// file); behind it each concern has its own part. The parts under
// internal/ are packages of their own, which only this package can
// import, so that "fs talks to the front alone" is a rule the compiler
// keeps; the rest still lives in this package, in files of its own:
//
//	cache (store.go, handle.go, passthrough.go, known.go, status.go,
//	      stats.go, limits.go, errors.go, entry.go)
//	      the front: views, Stat, changes, open files; status and stats
//	      for cmd; the error kinds and Entry, re-exported from entry
//	  ├─ queue (queue.go, record.go, changes.go, worker.go, recover.go,
//	  │        recopy.go, locate.go, claims.go, crash.go)
//	  │        the write-back queue: every pending change to a file's
//	  │        bytes, as records with explicit, persisted states; uploads
//	  │        whose answer's id no listing has shown yet (claims.go)
//	  │    ├─ folders (folders.go, poll.go, sync.go)   listings with TTLs,
//	  │    │        the journal of changes made through the mount, and
//	  │    │        the background passes and polls that keep them in sync
//	  │    │    └─ snapshot (snapshot.go)   the listings saved for the
//	  │    │             next mount
//	  │    └─ times (times.go)   modification times users set
//	  ├─ internal/content   file bytes: chunks in memory and on disk,
//	  │        read-ahead, whole files for FUSE passthrough, the sizes
//	  │        listings lack
//	  └─ internal/entry     Entry, Listing and the error kinds: the leaf
//	                        every part imports
//
// The imports run one way: cache → content → entry → remote, and cache
// → entry. Content imports no listing: what it needs of one comes as a
// function passed to content.New. The queue calls folders, content and
// times, never the other way round; folders reaches the queue and the
// front only through functions the front hands it (adoptedFn: an upload
// found in a listing; changedFn: a listing found changed; fetched: the
// sizes a listing lacked, for content.LearnSizes).
//
// # Lock order
//
// The one rule, which the imports enforce between packages: a lock may
// be held while calling down, never up. A package cannot name what is
// above it, so the only way up is a function it was handed (at
// construction, for content), and it calls one with none of its own
// locks held.
//
// A goroutine that holds several of these locks took them in this order
// (an arrow: may be taken while the one above is held), and none is held
// across a call to the API or the storage host:
//
//	Handle.mu     an open file: outermost, taken with nothing held;
//	  │           held while its record is looked up (queue.read), and
//	  │           let go of before a read, a write or a call to the API
//	  ↓
//	record.mu     one record at a time, never two at once
//	  │  └→ timeStore.mu (leaf: a time set on a pending file, an
//	  │           upload that landed)
//	  ↓
//	queue.mu      the records' index, identities, overlays, the work
//	  │           list, and the records' busy, queued and again
//	  ↓
//	folders.mu    the journal, claims and adoptions, the passes
//	  ├→ snapshot.mu (leaf: a listing stored or dropped is saved)
//	  └→ the listings' go-cache (its own lock, taken inside each call;
//	              also taken with no lock held)
//
//	Store.mu      the views built, and OnChange's function (leaf)
//	content's locks: Reader.mu, then fetchGroup.mu, then blockCache.mu
//	              or Disk.mu (internal/content/doc.go); taken with none
//	              of the locks above held
//
// Waiting for a record's upload to end (a write into a file whose bytes
// are being sent) is a wait on record.cond, which releases record.mu; a
// worker waiting for work, or a drain for progress, waits on a condition
// of queue.mu, which releases it. A record's worker lets go of record.mu
// across each call to the API (record.away, record.back).
//
// # Goroutines
//
// Every goroutine the package starts is stopped by Store.Close, which
// waits for it: the queue's workers and its timers (queue.go), listing
// refreshes (folders.go, poll.go), the passes over the library, polls
// and revalidations of saved listings (sync.go), the snapshot's writer
// (snapshot.go), and content fetches with their disk copies and the size
// look-ups (internal/content).
//
// # Time
//
// Every TTL, delay and backoff reads one clock, Options.Clock, so tests
// move time instead of sleeping. The one span timed on the wall clock is
// how long a learnt size is kept (below): it decides when a size is
// asked again, never what a file shows or when a change is sent. (The
// disk cache's file times are real times on disk, for its LRU across
// restarts.)
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
