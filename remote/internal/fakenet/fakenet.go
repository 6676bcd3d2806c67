// Package fakenet holds what the fakes of the services (iktest,
// ocmtest) share of their faults: the queues of CutNext and FailNext, the
// draw of a fault's fraction, and the cut of a connection.
package fakenet

import (
	"math/rand/v2"
	"net/http"
	"slices"
)

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
