// Package pending is what a write-back record knows of its file, and the
// decisions made from it, below the queue (internal/writeback) that
// carries them out: the states of a pending file and what a restart does
// with each (facts.go), a pending file's bytes in the spool and the open
// files that use them (Bytes, with a lock of its own), the fsyncs waiting
// for an upload (Waiters), the step a worker takes next (Next) and how
// the API's answers are judged (Refused, RefusedContent), and a record as
// the status display shows it (Status).
//
// Facts is a value with no lock: the queue's Record holds one, guarded by
// its Record.mu, and calls its methods holding that lock (calling down).
// Nothing here calls the queue, the API or the listings, and nothing here
// logs: a method changes Facts, or says what the caller is to do.
//
// It imports spool (the record file), index (a record's part of its
// folder's overlay) and remote (errors, progress); writeback imports it,
// and the front (its Upload, for the status display).
//
// # Lock order
//
//	writeback.Record.mu  (the caller's: guards Facts)
//	  ↓
//	Bytes.mu             leaf: nothing is taken while it is held
package pending
