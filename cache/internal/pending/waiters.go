package pending

// Waiters are the fsyncs (or closes in sync mode) waiting for the upload
// of a version of the bytes. They are guarded by the record's lock, as
// the rest of Facts.
type Waiters struct {
	list []*Waiter
}

// Waiter is one fsync waiting for the upload of version content.
type Waiter struct {
	content uint64
	done    chan error // buffered
}

// Add returns a new waiter for the upload of version content.
func (ws *Waiters) Add(content uint64) *Waiter {
	w := &Waiter{content: content, done: make(chan error, 1)}
	ws.list = append(ws.list, w)
	return w
}

// Done is where the waiter hears the upload's outcome.
func (w *Waiter) Done() <-chan error { return w.done }

// Remove forgets a waiter that stopped waiting.
func (ws *Waiters) Remove(w *Waiter) {
	for i, x := range ws.list {
		if x == w {
			ws.list = append(ws.list[:i], ws.list[i+1:]...)
			return
		}
	}
}

// Len counts the waiters.
func (ws *Waiters) Len() int { return len(ws.list) }

// Notify answers every waiter with err (nil: nothing more to wait for).
func (ws *Waiters) Notify(err error) {
	for _, w := range ws.list {
		w.done <- err
	}
	ws.list = nil
}

// Settle answers the waiters a worker's step settled, now that version
// uploaded of the bytes is in the API: those whose version was uploaded
// (the copies it replaces go to the trash after, and a failure to trash
// them is not theirs), and, when the step failed, those whose version was
// not uploaded, with its error.
func (ws *Waiters) Settle(uploaded uint64, stepErr error) {
	keep := ws.list[:0]
	for _, w := range ws.list {
		switch {
		case w.content <= uploaded:
			w.done <- nil
		case stepErr != nil:
			w.done <- stepErr
		default:
			keep = append(keep, w)
		}
	}
	ws.list = keep
}
