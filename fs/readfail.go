package fs

import "sync"

// readFailures remembers the read errors a handle has logged. The kernel
// follows a failed readahead with a read of the one page asked for, so one
// read(2) can fail twice in a row with the same error: it is logged once
// per open file, and the repeats at debug level.
type readFailures struct {
	mu   sync.Mutex
	last string // guarded by mu
}

// again records err and reports whether it repeats the last one.
func (r *readFailures) again(err error) bool {
	msg := err.Error()
	r.mu.Lock()
	defer r.mu.Unlock()
	same := r.last == msg
	r.last = msg
	return same
}
