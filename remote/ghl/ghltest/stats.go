package ghltest

import "sync"

// Stats counts what the fake has served since it started or since the last
// ResetStats. The JSON form is what GET /_ghlfake/stats answers.
type Stats struct {
	// APIRequests counts every request to an API path, whatever its answer.
	APIRequests int64 `json:"api_requests"`
	// ByEndpoint counts API requests per endpoint, keyed like
	// "GET /medias/files" or "POST /medias/{id}". Every endpoint has a key.
	ByEndpoint map[string]int64 `json:"by_endpoint"`
	// StorageRequests counts every request to a storage path.
	StorageRequests int64 `json:"storage_requests"`
	// StorageBytes counts the body bytes storage responses actually wrote.
	StorageBytes int64 `json:"storage_bytes"`
	// RateLimited counts the 429s of the rate limiter (burst and daily), not
	// the injected ones.
	RateLimited int64 `json:"rate_limited"`
	// MaxInWindow is the largest number of requests the rate limiter let
	// through within one sliding RateWindow.
	MaxInWindow int64 `json:"max_in_window"`
	// UploadVersions counts the upload-file requests that reached the
	// handler (past the header, token and rate checks) by their Version
	// header ("2021-07-28" or "v3").
	UploadVersions map[string]int64 `json:"upload_versions"`
	// Locations has the counters of each location, by id. RateLimited and
	// MaxInWindow above are over every location (their sum, and the
	// largest).
	Locations map[string]LocationStats `json:"locations"`
	// Company has the counters of the agency's own calls (the location
	// listings and /oauth/locationToken, with an agency token).
	Company LocationStats `json:"company"`
	// OAuth counts the token grants.
	OAuth OAuthStats `json:"oauth"`
	// LaggedLists counts the listing answers served as the library was
	// earlier (fetchall-lag) because it changed since.
	LaggedLists int64 `json:"lagged_lists"`
}

// The endpoint keys of Stats.ByEndpoint.
const (
	EndpointList       = "GET /medias/files"
	EndpointFolder     = "POST /medias/folder"
	EndpointUpload     = "POST /medias/upload-file"
	EndpointRename     = "POST /medias/{id}"
	EndpointUpdateMany = "PUT /medias/update-files"
	EndpointDeleteMany = "PUT /medias/delete-files"
	EndpointDelete     = "DELETE /medias/{id}"

	EndpointOAuthToken         = "POST /oauth/token"
	EndpointLocationToken      = "POST /oauth/locationToken"
	EndpointInstalledLocations = "GET /oauth/installedLocations"
	EndpointSearchLocations    = "GET /locations/search"
)

var endpointKeys = []string{
	EndpointList, EndpointFolder, EndpointUpload, EndpointRename,
	EndpointUpdateMany, EndpointDeleteMany, EndpointDelete,
	EndpointOAuthToken, EndpointLocationToken, EndpointInstalledLocations,
	EndpointSearchLocations,
	EndpointCSVList, EndpointCSVUpload, EndpointCSVAccounts, EndpointCSVGet, EndpointCSVFinalize, EndpointCSVDelete,
}

type stats struct {
	mu              sync.Mutex
	apiRequests     int64
	byEndpoint      map[string]int64
	storageRequests int64
	storageBytes    int64
	rateLimited     int64
	uploadVersions  map[string]int64
	laggedLists     int64
}

func newStats() *stats {
	st := &stats{}
	st.reset()
	return st
}

func (st *stats) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.apiRequests, st.storageRequests, st.storageBytes, st.rateLimited, st.laggedLists = 0, 0, 0, 0, 0
	st.byEndpoint = map[string]int64{}
	st.uploadVersions = map[string]int64{}
	for _, k := range endpointKeys {
		st.byEndpoint[k] = 0
	}
}

// api counts one API request; endpoint is "" for a path that is no endpoint.
func (st *stats) api(endpoint string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.apiRequests++
	if endpoint != "" {
		st.byEndpoint[endpoint]++
	}
}

// upload counts one upload-file request by its Version.
func (st *stats) upload(version string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.uploadVersions[version]++
}

func (st *stats) storage() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.storageRequests++
}

func (st *stats) addStorageBytes(n int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.storageBytes += n
}

func (st *stats) limited() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.rateLimited++
}

func (st *stats) lagged() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.laggedLists++
}

func (st *stats) snapshot() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	by := make(map[string]int64, len(st.byEndpoint))
	for k, v := range st.byEndpoint {
		by[k] = v
	}
	versions := make(map[string]int64, len(st.uploadVersions))
	for k, v := range st.uploadVersions {
		versions[k] = v
	}
	return Stats{
		UploadVersions:  versions,
		APIRequests:     st.apiRequests,
		ByEndpoint:      by,
		StorageRequests: st.storageRequests,
		StorageBytes:    st.storageBytes,
		RateLimited:     st.rateLimited,
		LaggedLists:     st.laggedLists,
	}
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	out := s.stats.snapshot()
	out.Locations = make(map[string]LocationStats, len(s.locs))
	for _, l := range s.locs {
		ls := l.Stats()
		out.Locations[l.id] = ls
		out.MaxInWindow = max(out.MaxInWindow, ls.MaxInWindow)
	}
	out.Company = LocationStats{
		APIRequests: s.oauth.companyRequests.Load(),
		RateLimited: s.company.refused(),
		MaxInWindow: int64(s.company.maxSeen()),
	}
	out.MaxInWindow = max(out.MaxInWindow, out.Company.MaxInWindow)
	out.OAuth = s.oauth.stats()
	return out
}

// ResetStats sets every counter back to zero. MaxInWindow starts again from
// the requests currently inside the window.
func (s *Server) ResetStats() {
	s.stats.reset()
	for _, l := range s.locs {
		l.limiter.resetMax()
		l.requests.Store(0)
	}
	s.company.resetMax()
	s.oauth.resetStats()
}
