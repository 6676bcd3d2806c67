package ghltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Faults are the failures the fake injects. They are set with
// Options.Faults, Server.SetFaults or POST /_ghlfake/faults, and read by
// every request when it starts.
type Faults struct {
	// Fault500 is the fraction of API requests answered 500 before anything
	// else is done.
	Fault500 float64 `json:"fault_500"`
	// Fault429 is the fraction of API requests answered 429 before anything
	// else is done (not counted in Stats.RateLimited).
	Fault429 float64 `json:"fault_429"`
	// Fault429NoRetryAfter leaves Retry-After out of injected 429s.
	Fault429NoRetryAfter bool `json:"fault_429_no_retry_after"`
	// Fault429RetryAfter is the Retry-After of injected 429s, in whole
	// seconds rounded up; 0 means 1s. A server may ask for a day.
	Fault429RetryAfter Duration `json:"fault_429_retry_after"`
	// FaultCut is the fraction of requests whose connection is cut. A storage
	// GET sends about half of its body and then the TCP connection is
	// closed. An API request is carried out (its effect happens) and the
	// connection is then closed before any response is written.
	FaultCut float64 `json:"fault_cut"`
	// Latency is added before every API request.
	Latency Duration `json:"latency"`
	// StorageLatency is added before every storage request.
	StorageLatency Duration `json:"storage_latency"`
	// StorageRate caps each storage response body at this many bytes per
	// second; 0 is unlimited.
	StorageRate int64 `json:"storage_rate"`
	// Down answers every API and storage request with 503.
	Down bool `json:"down"`
	// RejectUploads answers upload-file with 400 and stores nothing.
	RejectUploads bool `json:"reject_uploads"`
	// RejectUploadsStatus is the status RejectUploads answers instead of
	// 400: a 5xx for a service that fails (a client tries again), where a
	// 400 refuses the file (it does not).
	RejectUploadsStatus int `json:"reject_uploads_status,omitempty"`
	// FailDeletes answers the two delete calls (DELETE /medias/{id} and
	// PUT /medias/delete-files) with 503, and removes nothing.
	FailDeletes bool `json:"fail_deletes"`
	// UploadDelay makes upload-file wait this long before it stores the
	// file; if the client goes away meanwhile nothing is stored.
	UploadDelay Duration `json:"upload_delay"`
	// UploadRate caps how fast upload-file reads its request body, in
	// bytes per second, as a slow uplink would; 0 is unlimited.
	UploadRate int64 `json:"upload_rate"`
	// RefuseVersion refuses every API request's Version header, as a
	// service that retired the version sent would: 400, or 401 under the
	// version-401 quirk (POST /oauth/token takes no Version and is
	// spared).
	RefuseVersion bool `json:"refuse_version"`
	// SpareOAuth keeps Latency and the random faults (Fault500, Fault429,
	// FaultCut) off the OAuth and location endpoints (/oauth/...,
	// /locations/search); Down still applies to them.
	SpareOAuth bool `json:"spare_oauth"`
}

func (f Faults) validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"fault_500", f.Fault500}, {"fault_429", f.Fault429}, {"fault_cut", f.FaultCut}} {
		if p.v < 0 || p.v > 1 {
			return fmt.Errorf("%s must be within [0, 1], got %v", p.name, p.v)
		}
	}
	if f.Latency < 0 || f.StorageLatency < 0 || f.UploadDelay < 0 || f.Fault429RetryAfter < 0 {
		return errors.New("durations must not be negative")
	}
	if f.RejectUploadsStatus != 0 && (f.RejectUploadsStatus < 400 || f.RejectUploadsStatus > 599) {
		return errors.New("reject_uploads_status must be a 4xx or 5xx status")
	}
	if f.StorageRate < 0 || f.UploadRate < 0 {
		return errors.New("storage_rate and upload_rate must not be negative")
	}
	return nil
}

// Duration is a time.Duration that reads and writes JSON as a string such as
// "50ms" (time.ParseDuration). A JSON number is read as nanoseconds.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration must be a string such as \"50ms\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// SetFaults replaces every fault setting. Invalid values (a fraction outside
// [0, 1], a negative duration) are clamped to the nearest valid one.
func (s *Server) SetFaults(f Faults) {
	f.Fault500 = clamp01(f.Fault500)
	f.Fault429 = clamp01(f.Fault429)
	f.FaultCut = clamp01(f.FaultCut)
	f.Latency = max(f.Latency, 0)
	f.StorageLatency = max(f.StorageLatency, 0)
	f.UploadDelay = max(f.UploadDelay, 0)
	f.Fault429RetryAfter = max(f.Fault429RetryAfter, 0)
	f.StorageRate = max(f.StorageRate, 0)
	f.UploadRate = max(f.UploadRate, 0)
	s.faultsMu.Lock()
	s.faults = f
	s.faultsMu.Unlock()
}

// CutNext makes the next API request to one of endpoints (EndpointUpload,
// EndpointRename ...) be carried out in full and its connection closed
// before any answer, as a FaultCut draw does: a test of one lost answer
// needs it at one call, not by chance. Several CutNext calls cut as many
// requests, in turn.
func (s *Server) CutNext(endpoints ...string) {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	s.cuts = append(s.cuts, endpoints)
}

// takeCut reports whether a CutNext waits for a request to endpoint, and
// uses it up.
func (s *Server) takeCut(endpoint string) bool {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	for i, eps := range s.cuts {
		if slices.Contains(eps, endpoint) {
			s.cuts = slices.Delete(s.cuts, i, i+1)
			return true
		}
	}
	return false
}

// Faults returns the current fault settings.
func (s *Server) Faults() Faults {
	s.faultsMu.RLock()
	defer s.faultsMu.RUnlock()
	return s.faults
}

func clamp01(v float64) float64 {
	return min(max(v, 0), 1)
}

// draw reports true with probability p.
func (s *Server) draw(p float64) bool {
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	return s.rand.float64() < p
}

// sleepCtx waits d, or less if ctx ends first; it reports whether the whole
// wait happened.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// cutConnection closes the client connection under w. With flush, what
// the handler wrote so far is sent first; without, nothing at all is sent.
// It hijacks the connection when the server allows it (HTTP/1) and
// otherwise aborts the handler, which makes net/http drop the connection.
func cutConnection(w http.ResponseWriter, flush bool) {
	rc := http.NewResponseController(w)
	if flush {
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// discardWriter swallows a response: it is what the handler of a request
// whose connection is cut writes to.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
