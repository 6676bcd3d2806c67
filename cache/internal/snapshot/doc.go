// Package snapshot keeps the library's listings in the cache directory
// for the next mount (listing.snap), with the changes made through the
// mount that no whole-library answer had shown yet, and the mark of a
// mount that ended cleanly (listing.clean): the next mount shows the
// listings at once, and revalidates them behind (package listing). The
// file's format is on Snapshot.
//
// It imports entry, fsync and remote (the bounds of ids and names), and
// nothing else of the cache; the listing part calls it.
//
// # Lock order
//
// Snapshot.mu is a leaf: the listing part hands it a listing stored or
// dropped with its own lock held, and nothing is called while it is
// held; it is never held across the disk write.
//
// # Goroutines
//
// One writer per Snapshot (Snapshot.run), started by Open and stopped by
// Close, which writes the last state.
package snapshot
