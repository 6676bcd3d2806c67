// Package removal is the cache's queue of file removals: an unlink of a
// file with no pending bytes becomes a queued removal, written to the
// spool before the unlink returns and hidden from the mount at once, and
// a worker sends the queued removals to the API in batches of at most
// remote.Caps.BulkRemove ids (all of them where no bound is known), so
// that `rm -r`, `rm *` and `find -delete`, which unlink one file at a
// time, cost one bulk call per batch rather than one call per file.
//
// # States
//
// A removal is a file of the spool, ID.removal (File), of one kind and
// one state, "queued": written (atomically, the directory synced) before
// the unlink returns, deleted once the API's answer is applied. The
// crash points are
//
//	removal-before-send   written, not sent: the next mount sends it
//	removal-after-answer  the API answered, the file is not deleted yet:
//	                      the next mount sends it again, and an id the
//	                      service no longer holds counts as gone
//
// The next mount reads every removal of its library back (Recover),
// hides each at once and sends it; a removal is by id, and an id names
// one file (an upload onto its name while the removal is queued waits
// for it to be sent: Queue.WaitName), so it is never applied to another.
// Should the removal fail for a transient cause and be queued again,
// WaitName fails (ErrUnavailable): the create or rename onto the name is
// refused until the removal is sent, rather than go on and put a file
// there (a new version of the file being removed, where an upload onto a
// taken name is one) that the removal would take when sent.
//
// # When a batch is sent
//
// The worker sends what is queued, up to the bound, as soon as one of
// these holds: the batch is full; someone waits for a removal (an unlink
// with --write-back-delay 0, an rmdir of its folder, a create onto its
// name, a drain); or no removal was queued for Config.Quiet (a second
// by default: the end of an rm). A batch takes only what is already queued,
// so a waiting unlink never waits for another user's removals beyond
// those, and no removal waits for the write-back delay.
//
// # Answers
//
// An id the service removed, or says it does not hold (NotDoneError's
// Missing, or no longer listed), is gone: its folder's listing notes the
// drop. An id it refused (NotDoneError's IDs, still listed) reappears in
// the mount, with one ERROR line naming the file and the service's
// message, and shows as failed in the status until it is removed again:
// it is never sent again by itself. Where the unlink still waits for the
// answer (no write-back delay), it returns that error and the fs layer
// logs it, the one line; the queue logs what no waiting unlink reports
// (as the write-back queue leaves a failed upload to a waiting close). A call that fails for a transient
// cause (after the request core's own retries) leaves a queued removal
// queued, sent again after Config.RetryBase; one that waits (no
// write-back delay, or a rename onto the file's name where names are
// unique: the front's removeReplaced) fails instead, and its file
// reappears.
//
// # Lock order
//
// Queue.mu is a leaf: nothing is called holding it (the spool's files are
// written, and the listings told, with it let go). No lock is held across
// a call to the API.
//
// # Goroutines
//
// One worker (Start); Close stops it and waits for it.
package removal
