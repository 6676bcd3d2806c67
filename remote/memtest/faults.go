package memtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/ghlfs/ghlfs/remote"
)

// Op names a kind of call, for faults and counts.
type Op string

// The calls. A listing makes one call per page.
const (
	OpCheck         Op = "Check"
	OpList          Op = "List"
	OpListUpdated   Op = "ListUpdated"
	OpReadAt        Op = "ReadAt"
	OpStat          Op = "Stat"
	OpCreateFolder  Op = "CreateFolder"
	OpUpload        Op = "Upload"
	OpFindLanded    Op = "FindLanded"
	OpConfirm       Op = "Confirm"
	OpRename        Op = "Rename"
	OpMove          Op = "Move"
	OpRemove        Op = "Remove"
	OpVersions      Op = "Versions"
	OpRemoveVersion Op = "RemoveVersion"
)

// faults are the failures a test asked for; guarded by Backend.mu.
type faults struct {
	fail   map[Op][]error // the next calls' errors, in turn
	lose   map[Op]int     // calls whose answer is lost after they acted
	holds  map[Op][]*Gate // the next calls held, in turn
	refuse map[string]bool
}

func newFaults() faults {
	return faults{fail: map[Op][]error{}, lose: map[Op]int{}, holds: map[Op][]*Gate{}, refuse: map[string]bool{}}
}

// ErrFault is what a failed call answers when FailNext was given no
// error: a 503, which matches remote.ErrUnavailable.
var ErrFault = &remote.Error{Method: "memtest", Endpoint: "fault", Status: http.StatusServiceUnavailable, Message: "injected fault"}

// FailNext makes the next n calls of op fail with err (nil: ErrFault)
// before they act: the library does not change.
func (b *Backend) FailNext(op Op, n int, err error) {
	if err == nil {
		err = ErrFault
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for range n {
		b.fail[op] = append(b.fail[op], err)
	}
}

// LoseAnswer makes the next n calls of op act, and then fail with an
// error matching remote.ErrAmbiguous, as a connection cut after the
// service acted: the caller cannot tell whether anything changed.
func (b *Backend) LoseAnswer(op Op, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lose[op] += n
}

// RefuseRemoval makes the service refuse to remove these ids (Remove
// names them in its *remote.NotDoneError, with RefusalReason as the
// service's message, and removes the others), until
// AllowRemoval.
func (b *Backend) RefuseRemoval(ids ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		b.refuse[id] = true
	}
}

// AllowRemoval ends RefuseRemoval for every id.
func (b *Backend) AllowRemoval() {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.refuse)
}

// Gate holds one call before it acts, until the test opens it.
type Gate struct {
	reached, open chan struct{}
	reachOnce     sync.Once
	openOnce      sync.Once
}

// Hold makes the next call of op wait, before it acts, until the gate
// returned opens (or the call's context ends: it then fails with the
// context's error, having done nothing). Several holds of one op hold
// the next calls in turn.
func (b *Backend) Hold(op Op) *Gate {
	g := &Gate{reached: make(chan struct{}), open: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holds[op] = append(b.holds[op], g)
	return g
}

// Reached is closed once a call waits at the gate.
func (g *Gate) Reached() <-chan struct{} { return g.reached }

// Open lets the call go on; opening twice is harmless.
func (g *Gate) Open() { g.openOnce.Do(func() { close(g.open) }) }

// Calls counts the calls of op made so far (held, failed and lost ones
// included; calls the backend refuses before making, such as a move its
// Caps do not offer, are not made).
func (b *Backend) Calls(op Op) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[op]
}

// ResetCalls sets every count of Calls and Stats to zero.
func (b *Backend) ResetCalls() {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.calls)
	clear(b.stats)
}

// do makes one call of op: counted, held if a gate waits for it, failed
// if asked; else act runs with mu held, and its answer is lost if asked.
func (b *Backend) do(ctx context.Context, op Op, act func() error) error {
	b.mu.Lock()
	b.calls[op]++
	var gate *Gate
	if q := b.holds[op]; len(q) > 0 {
		gate, b.holds[op] = q[0], q[1:]
	}
	b.mu.Unlock()
	if gate != nil {
		gate.reachOnce.Do(func() { close(gate.reached) })
		select {
		case <-gate.open:
		case <-ctx.Done():
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		b.count(op, 0)
		return err
	}
	if q := b.fail[op]; len(q) > 0 {
		b.fail[op] = q[1:]
		b.count(op, statusOf(q[0]))
		return q[0]
	}
	err := act()
	if b.lose[op] > 0 {
		b.lose[op]--
		b.count(op, 0)
		return fmt.Errorf("memtest %s: %w: the connection was cut after the service acted", op, remote.ErrAmbiguous)
	}
	b.count(op, statusOf(err))
	return err
}

// count counts one call and its status. mu held.
func (b *Backend) count(op Op, status int) {
	b.stats[remote.CallKey{Endpoint: "memtest " + string(op), Status: status}]++
}

// statusOf is the status a call's error stands for: 200 for none.
func statusOf(err error) int {
	var e *remote.Error
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &e):
		return e.Status
	case errors.Is(err, remote.ErrNotSupported):
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}
