package ocmtest

import (
	"time"
)

// Faults are the failures the fake injects, as the other fakes': read by
// every API request when it starts (the token endpoint's too, Down
// apart from the control API).
type Faults struct {
	// Fault500 is the fraction of API requests answered 500 before
	// anything is done.
	Fault500 float64 `json:"fault_500"`
	// FaultCut is the fraction of API requests carried out in full whose
	// connection is then cut before any answer.
	FaultCut float64 `json:"fault_cut"`
	// Fault429 is the fraction of API requests answered 429 before
	// anything is done, with Retry-After: RetryAfter in whole seconds,
	// rounded up (default 1s). The service documents no rate limit: this
	// is the only 429 the fake answers.
	Fault429   float64       `json:"fault_429"`
	RetryAfter time.Duration `json:"retry_after"`
	// UploadDelay: an upload, its body read, waits this long before it
	// is stored (UploadsReceived counts it when it arrives).
	UploadDelay time.Duration `json:"upload_delay"`
	// Down answers every request but the control API's 503.
	Down bool `json:"down"`
}

// Endpoints, as CutNext, FailNext and Calls name them.
const (
	EndpointToken         = "POST /oauth2/v1/token"
	EndpointHomeItems     = "GET folders/items"
	EndpointList          = "GET folders/{id}/items"
	EndpointFolder        = "GET folders/{id}"
	EndpointCreateFolder  = "POST folders/{id}"
	EndpointRenameFolder  = "PUT folders/{id}"
	EndpointDeleteFolder  = "DELETE folders/{id}"
	EndpointMoveFolder    = "POST folders/{id}/move"
	EndpointCopyFolder    = "POST folders/{id}/copy"
	EndpointFile          = "GET files/{id}"
	EndpointRenameFile    = "PUT files/{id}"
	EndpointDeleteFile    = "DELETE files/{id}"
	EndpointDownload      = "GET files/{id}/data"
	EndpointUpload        = "POST files/data"
	EndpointUploadVersion = "POST files/{id}/data"
	EndpointVersions      = "GET files/{id}/versions"
	EndpointMoveFile      = "POST files/{id}/move"
	EndpointCopyFile      = "POST files/{id}/copy"
	EndpointReserve       = "POST files/{id}/reserve"
	EndpointUnreserve     = "POST files/{id}/unreserve"
	// UploadsReceived counts the uploads (both endpoints) as they
	// arrive, authorised, before anything is done.
	UploadsReceived = "uploads received"
	// Unauthorized counts the 401s answered, whatever the endpoint.
	Unauthorized = "401"
	// RateLimited counts the 429s answered (Fault429).
	RateLimited = "429"
)

// Endpoints lists every API endpoint (the token endpoint's too).
func Endpoints() []string {
	return []string{EndpointToken, EndpointHomeItems, EndpointList, EndpointFolder, EndpointCreateFolder,
		EndpointRenameFolder, EndpointDeleteFolder, EndpointMoveFolder, EndpointCopyFolder, EndpointFile,
		EndpointRenameFile, EndpointDeleteFile, EndpointDownload, EndpointUpload, EndpointUploadVersion,
		EndpointVersions, EndpointMoveFile, EndpointCopyFile, EndpointReserve, EndpointUnreserve}
}

// SetFaults replaces the fault settings (fractions clamped to [0, 1]).
func (s *Server) SetFaults(f Faults) {
	f.Fault500 = min(max(f.Fault500, 0), 1)
	f.FaultCut = min(max(f.FaultCut, 0), 1)
	f.Fault429 = min(max(f.Fault429, 0), 1)
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// CurrentFaults are the fault settings now.
func (s *Server) CurrentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// CutNext makes the next request to one of endpoints be carried out and
// its connection cut before any answer.
func (s *Server) CutNext(endpoints ...string) { s.net.CutNext(endpoints...) }

// FailNext makes the next request to one of endpoints be answered 500
// before anything is done.
func (s *Server) FailNext(endpoints ...string) { s.net.FailNext(endpoints...) }

// Calls is how many requests endpoint was sent (every answer counted,
// faults and refusals too).
func (s *Server) Calls(endpoint string) int { return s.net.Count(endpoint) }

// AllCalls is every count of Calls that is not zero.
func (s *Server) AllCalls() map[string]int { return s.net.AllCalls() }

// ResetCalls sets every count of Calls to zero.
func (s *Server) ResetCalls() { s.net.ResetCalls() }

func (s *Server) count(endpoint string) {
	s.mu.Lock()
	s.net.Calls[endpoint]++
	s.mu.Unlock()
}
