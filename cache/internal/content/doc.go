// Package content is the cache's part for file bytes: it reads them from
// the storage host in chunks (ChunkSize, aligned), keeps the chunks in a
// bounded LRU in memory (blockCache) and, when asked, on disk (Disk),
// lets one fetch of a chunk serve every reader waiting for it
// (fetchGroup), reads ahead of a sequential reader (Reader), joins a
// file wholly on disk into one local file the kernel can read directly
// (FUSE passthrough: LocalCopy), and learns the sizes listings leave out
// (Sized, LearnSizes).
//
// It imports entry and remote, and nothing else of the cache: listings
// are not its business. The one thing it needs of them, a file's entry
// as its folder's listing shows it once checked against the server (for
// a url from a saved listing that the storage host refused), comes as a
// function in Config (Relist), called with none of this package's locks
// held. Everything a Cache is made with comes in Config; nothing is set
// on it after.
//
// # Lock order
//
// A goroutine that holds two of these locks took them in this order, and
// none is held across a request to the storage host:
//
//	Reader.mu       a reader's position and read-ahead (leaf: let go
//	                before it fetches, and before Relist)
//	fetchGroup.mu   the chunks being fetched; held while it looks at,
//	                takes from and puts into the caches below, so that a
//	                chunk is never fetched twice at once
//	  blockCache.mu the chunks in memory, their pins and spare buffers
//	  Disk.mu       the chunks and whole files on disk (files are read
//	                and written outside it; the removals of evicted and
//	                joined chunks are made under it)
//
// blockCache.mu and Disk.mu are never held together. The sizes learnt
// are in a go-cache (see Cache.sizes), whose own lock is taken and let
// go inside each of its calls: a leaf.
//
// # Goroutines
//
// Fetches run detached from the reader that asked (fetchRun: a reader
// that gives up does not fail the others), with their disk copies; size
// look-ups run in the background (LearnSizes), and so does the filling of
// the spare buffers at the start (Config.Warm). Each ends when
// Config.Closing is done, and Wait waits for them.
package content
