// Package index is what the write-back queue's records share, under one
// lock (Index.mu): the records by file key and by spool id, each
// folder's overlay (what its records show, hide and rename in its
// listing, and the uploads under way a listing may hold already: view.go),
// what the API copies are across uploads (the key each holds, and the
// copy that holds each key now: keys.go), and the work list the workers
// take records from (work.go).
//
// It is generic in the queue's record type and never calls a record: a
// record calls down into it holding its own lock (Record.mu), which is
// why the index is a package below the queue's rather than a part of it.
// It imports listing (a view takes its folder's listing at the instant it
// takes the overlay) and entry; writeback imports it.
//
// # Lock order
//
//	Index.mu      leaf in this package; taken with a record's lock held
//	  │           or none
//	  └→ the listing part's locks (View: Folders.Refresh, Folders.Aliases)
//
// KnownIDs calls the listing part (Folders.ClaimURLs) after letting go of
// Index.mu. A worker waiting for work (Next), or a drain for progress
// (Watch), waits on a condition of Index.mu, which releases it.
package index
