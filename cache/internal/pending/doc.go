// Package pending is what a write-back record knows of its file, and the
// decisions made from it, below the queue (internal/writeback) that
// carries them out: the states of a pending file and what a restart does
// with each (facts.go, resume.go), its record file (file.go), its bytes
// in the spool and the open files that use them (Bytes, with a lock of
// its own), the fsyncs waiting for an upload (Waiters), the step a worker
// takes next (Next) and how the API's answers are judged (step.go), a
// record as the status display shows it (Status), and the crash points
// (crash.go: GHLFS_CRASH_AT in test builds).
//
// Facts has no lock of its own: the queue's Record holds one, made with
// the record (New), guarded by its Record.mu, and calls its methods
// holding that lock (calling down). They write the record's files in the
// spool (Save, Set, Unsave, CloseData, KeepAside), and log what the
// record did; nothing here calls the queue, the API or the listings: a
// method changes Facts, or says what the caller is to do (Next, Resume,
// Looked, Failing). No field is set after New but under Record.mu.
//
// It imports spool (the record file), index (a record's part of its
// folder's overlay), listing (claims), entry and remote (errors,
// progress, items); writeback imports it, and the front (its Upload, for
// the status display).
//
// # Lock order
//
//	writeback.Record.mu  (the caller's: guards Facts)
//	  ↓
//	Bytes.mu             leaf: nothing is taken while it is held, and it
//	                     is held across no I/O but its own spool files'
//
// Waiting for a send to end (Bytes.Sending) is the caller's: a wait on
// Record.cond, which the worker broadcasts once it called Bytes.Sent.
package pending
