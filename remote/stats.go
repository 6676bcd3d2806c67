package remote

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// The client counts what it sends: every request, by endpoint and by the
// status of its answer; the requests sent again; the 429s; the bytes read
// from the storage host. Stats reads the counters (for metrics and
// status); they only grow, from the client's creation on.
//
// Endpoints are a bounded set of labels, never a path: an API call is
// named by its method and route template, as in "GET /medias/files" or
// "POST /medias/{id}", and a request to the storage host by its method
// and "storage" (StorageGet, StorageHead). No label holds an id, a name, a
// url or a token.

// The endpoints of requests to the storage host.
const (
	StorageGet  = "GET " + storageRoute
	StorageHead = "HEAD " + storageRoute

	storageRoute = "storage"
)

// CallKey names one kind of request and its outcome.
type CallKey struct {
	// Endpoint is "METHOD /route/template", or StorageGet or StorageHead.
	Endpoint string
	// Status is the HTTP status of the answer, or 0 when none came (the
	// connection failed or was refused).
	Status int
}

// IsStorage reports whether k is a request to the storage host (not an
// API call: those do not count against the API's limits).
func (k CallKey) IsStorage() bool {
	return k.Endpoint == StorageGet || k.Endpoint == StorageHead
}

// Stats is what a Client has sent since it was made.
type Stats struct {
	// Calls counts the requests sent, API calls and storage requests, by
	// endpoint and status. A request the client refused to send (a url
	// off the allow-list, a body that could not be read) is not counted.
	Calls map[CallKey]int64
	// Retries counts requests sent again after a failed one (a 429, a 5xx,
	// a broken connection, a 401 retried with a renewed token, a storage
	// read resumed), by endpoint.
	Retries map[string]int64
	// Throttled counts the API's 429 answers (each is in Calls too).
	Throttled int64
	// StorageBytes counts the body bytes read from the storage host.
	StorageBytes int64
	// Pacer is what the pacer did (PacerStats).
	Pacer PacerStats
}

// APICalls is the number of API calls in s, storage requests left out.
func (s Stats) APICalls() int64 {
	var n int64
	for k, v := range s.Calls {
		if !k.IsStorage() {
			n += v
		}
	}
	return n
}

// Stats returns the client's counters.
func (c *Core) Stats() Stats {
	out := c.stats.snapshot()
	out.Pacer = c.pacer.snapshot()
	return out
}

// CallCounts counts the requests sent outside a Client: an oauth.App's.
// Its zero value is ready; a nil one counts nothing.
type CallCounts struct{ s clientStats }

// Stats returns the counts (Calls only: the app's requests are neither
// paced nor retried, and none goes to the storage host).
func (c *CallCounts) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	return c.s.snapshot()
}

// Count counts one request sent as method to route, answered with status
// (0: no answer).
func (c *CallCounts) Count(method, route string, status int) {
	if c != nil {
		c.s.call(method, route, status)
	}
}

// callKey is CallKey without the concatenation, for counting.
type callKey struct {
	method, route string
	status        int
}

// clientStats holds a Client's counters. mu is a leaf: it is held only
// to change or copy the maps, never with Client.mu or pacer.mu.
type clientStats struct {
	mu      sync.Mutex
	calls   map[callKey]int64   // guarded by mu
	retries map[[2]string]int64 // guarded by mu: method and route

	throttled    atomic.Int64
	storageBytes atomic.Int64
}

// call counts one request sent as method to route, answered with status
// (0 = no answer).
func (s *clientStats) call(method, route string, status int) {
	if status == http.StatusTooManyRequests && route != storageRoute {
		s.throttled.Add(1)
	}
	s.mu.Lock()
	if s.calls == nil {
		s.calls = make(map[callKey]int64)
	}
	s.calls[callKey{method, route, status}]++
	s.mu.Unlock()
}

// StatusOf is the status of what http.Client.Do returned: 0 for no
// answer.
func StatusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// retry counts one request sent again.
func (s *clientStats) retry(method, route string) {
	s.mu.Lock()
	if s.retries == nil {
		s.retries = make(map[[2]string]int64)
	}
	s.retries[[2]string{method, route}]++
	s.mu.Unlock()
}

func (s *clientStats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{
		Calls:        make(map[CallKey]int64, len(s.calls)),
		Retries:      make(map[string]int64, len(s.retries)),
		Throttled:    s.throttled.Load(),
		StorageBytes: s.storageBytes.Load(),
	}
	for k, v := range s.calls {
		out.Calls[CallKey{Endpoint: k.method + " " + k.route, Status: k.status}] += v
	}
	for k, v := range s.retries {
		out.Retries[k[0]+" "+k[1]] += v
	}
	return out
}

// storageBody counts the bytes read through it as storage bytes.
type storageBody struct {
	r io.Reader
	n *atomic.Int64
}

func (b storageBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// countStorage returns r, counting what is read from it.
func (s *clientStats) countStorage(r io.Reader) io.Reader {
	return storageBody{r: r, n: &s.storageBytes}
}
