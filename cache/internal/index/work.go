package index

// The work list: records due for a worker, one worker at a time per
// record.

// Enqueue adds r to the work list, unless it is there already; a record
// a worker has now goes again once the worker is done with it.
func (ix *Index[R]) Enqueue(r R) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return
	}
	if ix.busy[r] {
		ix.again[r] = true
		return
	}
	if ix.queued[r] {
		return
	}
	ix.queued[r] = true
	ix.work = append(ix.work, r)
	ix.cond.Signal()
}

// Next waits for a record on the work list and hands it to the calling
// worker (busy until Done); false once the index closes.
func (ix *Index[R]) Next() (R, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for len(ix.work) == 0 && !ix.closed {
		ix.cond.Wait()
	}
	if ix.closed {
		var none R
		return none, false
	}
	r := ix.work[0]
	ix.work = ix.work[1:]
	delete(ix.queued, r)
	ix.busy[r] = true
	return r, true
}

// Done says a worker is done with r, and reports whether r is to go
// again (it was enqueued meanwhile).
func (ix *Index[R]) Done(r R) (again bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.busy, r)
	again = ix.again[r]
	delete(ix.again, r)
	ix.steppedLocked()
	return again
}

// Busy reports whether a worker has r now.
func (ix *Index[R]) Busy(r R) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.busy[r]
}

// Working reports whether a worker has r now, or it waits on the work
// list.
func (ix *Index[R]) Working(r R) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.busy[r] || ix.queued[r]
}

// Drain notes that the mount is unmounting: complete records are due at
// once.
func (ix *Index[R]) Drain() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.draining = true
}

// Draining reports whether Drain was called.
func (ix *Index[R]) Draining() bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.draining
}

// Close empties no list but ends the waits: Next reports false from now
// on, and Watch returns.
func (ix *Index[R]) Close() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.closed = true
	ix.cond.Broadcast()
	ix.progress.Broadcast()
}
