package iktest

import (
	"time"
)

// Faults are the failures the fake injects, as ghltest's do: read by
// every API and upload request when it starts.
type Faults struct {
	// Fault500 is the fraction of API and upload requests answered 500
	// before anything is done.
	Fault500 float64
	// FaultCut is the fraction of API and upload requests carried out
	// in full whose connection is then cut before any answer.
	FaultCut float64
	// Fault429 is the fraction of API requests (uploads are not rate
	// limited) answered 429 before anything is done, with the
	// rate-limit headers and an X-RateLimit-Reset of Reset429 (default
	// 100ms).
	Fault429 float64
	Reset429 time.Duration
	// UploadDelay: an upload, its body read, waits this long before it
	// is stored (UploadsReceived counts it when it arrives).
	UploadDelay time.Duration
	// Down answers every request, the CDN's too, 503.
	Down bool
}

// Endpoints, as CutNext and Calls name them.
const (
	EndpointList     = "GET /v1/files"
	EndpointDetails  = "GET /v1/files/{id}/details"
	EndpointVersions = "GET /v1/files/{id}/versions"
	EndpointVersion  = "GET /v1/files/{id}/versions/{versionId}"
	// EndpointDeleteVersion, EndpointRestoreVersion: one version of a
	// file deleted, or made the current one again.
	EndpointDeleteVersion  = "DELETE /v1/files/{id}/versions/{versionId}"
	EndpointRestoreVersion = "PUT /v1/files/{id}/versions/{versionId}/restore"
	EndpointDelete         = "DELETE /v1/files/{id}"
	EndpointUpload         = "POST /api/v1/files/upload"
	EndpointRename         = "PUT /v1/files/rename"
	EndpointMove           = "POST /v1/files/move"
	EndpointBulkDelete     = "POST /v1/files/batch/deleteByFileIds"
	EndpointFolder         = "POST /v1/folder"
	EndpointFolderDelete   = "DELETE /v1/folder"
	EndpointMoveFolder     = "/v1/bulkJobs/moveFolder"
	EndpointRenameFolder   = "/v1/bulkJobs/renameFolder"
	EndpointCopyFolder     = "/v1/bulkJobs/copyFolder"
	EndpointJob            = "GET /v1/bulkJobs/{jobId}"
	EndpointCDN            = "GET cdn"
	// CDNWithCredentials counts the CDN requests that carried an
	// Authorization header: the private key must never go there.
	CDNWithCredentials = "cdn with credentials"
	// UploadsReceived counts the uploads as they arrive, authorised,
	// before anything is done (EndpointUpload counts them answered).
	UploadsReceived = "uploads received"
	// RateLimited counts the 429s answered (a spent window, Fault429),
	// whatever the endpoint: each is counted under its endpoint too.
	RateLimited = "429"
)

// SetFaults replaces the fault settings (fractions clamped to [0, 1]).
func (s *Server) SetFaults(f Faults) {
	f.Fault500 = min(max(f.Fault500, 0), 1)
	f.FaultCut = min(max(f.FaultCut, 0), 1)
	f.Fault429 = min(max(f.Fault429, 0), 1)
	if f.Reset429 <= 0 {
		f.Reset429 = 100 * time.Millisecond
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// CutNext makes the next request to one of endpoints be carried out and
// its connection cut before any answer. The job endpoints are named
// without their method (EndpointMoveFolder ...).
func (s *Server) CutNext(endpoints ...string) { s.net.CutNext(endpoints...) }

// FailNext makes the next request to one of endpoints be answered 500
// before anything is done, as Faults.Fault500 does by draw.
func (s *Server) FailNext(endpoints ...string) { s.net.FailNext(endpoints...) }

// Calls is how many requests endpoint was sent (every answer counted,
// faults too).
func (s *Server) Calls(endpoint string) int { return s.net.Count(endpoint) }

// ResetCalls sets every count of Calls to zero.
func (s *Server) ResetCalls() { s.net.ResetCalls() }
