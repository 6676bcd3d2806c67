// Package fakenet holds what the fakes of the services (iktest,
// ocmtest) share of their faults: the queues of CutNext and FailNext and
// the count of each endpoint's requests (Plumbing), the draw of a fault's
// fraction, and the cut of a connection.
//
// It has no lock of its own: a Plumbing is guarded by its fake's lock,
// which its methods take, and which a fake's handler holds while it
// reads the fields.
package fakenet

import (
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
)

// Plumbing is a fake's queues of CutNext and FailNext and its count of
// requests by endpoint. Every field is guarded by L, the fake's lock:
// the methods take it, a handler holds it to use the fields.
type Plumbing struct {
	L     sync.Locker
	Cuts  Next           // CutNext's
	Fails Next           // FailNext's
	Calls map[string]int // requests by endpoint, and what else the fake counts
}

// NewPlumbing returns a Plumbing guarded by l.
func NewPlumbing(l sync.Locker) *Plumbing { return &Plumbing{L: l, Calls: map[string]int{}} }

// CutNext queues a cut of the next request to one of endpoints.
func (p *Plumbing) CutNext(endpoints ...string) {
	p.L.Lock()
	defer p.L.Unlock()
	p.Cuts.Add(endpoints...)
}

// FailNext queues a 500 for the next request to one of endpoints.
func (p *Plumbing) FailNext(endpoints ...string) {
	p.L.Lock()
	defer p.L.Unlock()
	p.Fails.Add(endpoints...)
}

// Count is how many requests endpoint was sent.
func (p *Plumbing) Count(endpoint string) int {
	p.L.Lock()
	defer p.L.Unlock()
	return p.Calls[endpoint]
}

// AllCalls is every count that is not zero.
func (p *Plumbing) AllCalls() map[string]int {
	p.L.Lock()
	defer p.L.Unlock()
	return maps.Clone(p.Calls)
}

// ResetCalls sets every count to zero.
func (p *Plumbing) ResetCalls() {
	p.L.Lock()
	defer p.L.Unlock()
	clear(p.Calls)
}

// Next is a fake's queue of CutNext (or FailNext) calls: each names the
// endpoints whose next request it takes. Not safe for concurrent use:
// the fake's lock guards it.
type Next [][]string

// Add queues one call naming endpoints.
func (n *Next) Add(endpoints ...string) { *n = append(*n, endpoints) }

// Take uses up the first call that names endpoint, and reports whether
// there was one.
func (n *Next) Take(endpoint string) bool {
	for i, eps := range *n {
		if slices.Contains(eps, endpoint) {
			*n = slices.Delete(*n, i, i+1)
			return true
		}
	}
	return false
}

// Draw reports whether a fault of fraction p happens this time.
func Draw(p float64) bool { return p > 0 && rand.Float64() < p }

// Cut closes the connection under w without an answer.
func Cut(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
