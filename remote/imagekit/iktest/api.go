package iktest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote/internal/fakenet"
)

// help is the "help" every error body carries (doc).
const help = "For support kindly contact us at support@imagekit.io ."

// reply is a handler's answer, written (or cut) once the handler is done.
type reply struct {
	status int
	body   any // JSON; nil: no body
}

func errBody(message, reason string) map[string]any {
	b := map[string]any{"message": message, "help": help}
	if reason != "" {
		b["reason"] = reason
	}
	return b
}

func fail(status int, message, reason string) reply {
	return reply{status, errBody(message, reason)}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("x-ik-requestId", strconv.FormatInt(time.Now().UnixNano(), 36))
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// window is one endpoint's rate-limit window.
type window struct {
	start time.Time
	count int
}

// authorized checks HTTP Basic: the private key as the user, an empty
// password (doc authentication.md).
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	return err == nil && string(raw) == s.opts.PrivateKey+":"
}

// route names a request's endpoint and its handler; "" when the API has
// no such route.
func (s *Server) route(r *http.Request) (string, func(*http.Request) reply) {
	p, m := r.URL.Path, r.Method
	jobsMethod := http.MethodPost
	if s.quirkSet().has(QuirkJobsViaPut) {
		jobsMethod = http.MethodPut
	}
	switch {
	case p == "/api/v1/files/upload" && m == http.MethodPost:
		return EndpointUpload, nil // read before the lock: handleUpload
	case p == "/v1/files" && m == http.MethodGet:
		return EndpointList, s.handleList
	case p == "/v1/files/rename" && m == http.MethodPut:
		return EndpointRename, s.handleRename
	case p == "/v1/files/move" && m == http.MethodPost:
		return EndpointMove, s.handleMove
	case p == "/v1/files/batch/deleteByFileIds" && m == http.MethodPost:
		return EndpointBulkDelete, s.handleBulkDelete
	case p == "/v1/folder" && m == http.MethodPost:
		return EndpointFolder, s.handleCreateFolder
	case p == "/v1/folder" && m == http.MethodDelete:
		return EndpointFolderDelete, s.handleDeleteFolder
	case (p == EndpointMoveFolder || p == EndpointRenameFolder || p == EndpointCopyFolder) && m == jobsMethod:
		return p, s.handleJob
	case strings.HasPrefix(p, "/v1/bulkJobs/") && m == http.MethodGet:
		return EndpointJob, s.handleJobStatus
	case strings.HasPrefix(p, "/v1/files/"):
		parts := strings.Split(strings.TrimPrefix(p, "/v1/files/"), "/")
		switch {
		case len(parts) == 2 && parts[1] == "details" && m == http.MethodGet:
			return EndpointDetails, s.handleDetails
		case len(parts) == 1 && m == http.MethodDelete:
			return EndpointDelete, s.handleDelete
		case len(parts) == 2 && parts[1] == "versions" && m == http.MethodGet:
			return EndpointVersions, s.handleVersions
		case len(parts) == 3 && parts[1] == "versions" && m == http.MethodGet:
			return EndpointVersion, s.handleVersion
		case len(parts) == 3 && parts[1] == "versions" && m == http.MethodDelete:
			return EndpointDeleteVersion, s.handleDeleteVersion
		case len(parts) == 4 && parts[1] == "versions" && parts[3] == "restore" && m == http.MethodPut:
			return EndpointRestoreVersion, s.handleRestoreVersion
		}
	}
	return "", nil
}

func (s *Server) quirkSet() quirkSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quirks
}

// serveCall serves an API request, or the upload host's (not rate
// limited).
func (s *Server) serveCall(w http.ResponseWriter, r *http.Request, api bool) {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	if f.Down {
		writeJSON(w, http.StatusServiceUnavailable, errBody("Service Unavailable", ""))
		return
	}
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, errBody("Your request does not contain a valid private API key.", ""))
		return
	}
	endpoint, handle := s.route(r)
	if endpoint == "" {
		writeJSON(w, http.StatusNotFound, errBody("Not Found", ""))
		return
	}
	if endpoint == EndpointUpload {
		s.count(UploadsReceived)
	}
	if api && s.limited(w, endpoint) {
		return
	}
	if api && fakenet.Draw(f.Fault429) {
		s.count(endpoint)
		s.count(RateLimited)
		h := w.Header()
		h.Set("X-RateLimit-Limit", "1")
		h.Set("X-RateLimit-Interval", "1000")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(max(f.Reset429.Milliseconds(), 1), 10))
		writeJSON(w, http.StatusTooManyRequests, errBody("Too many requests", ""))
		return
	}
	s.mu.Lock()
	failNow := s.net.Fails.Take(endpoint)
	s.mu.Unlock()
	if failNow || fakenet.Draw(f.Fault500) {
		s.count(endpoint)
		writeJSON(w, http.StatusInternalServerError, errBody("Internal Server Error", ""))
		return
	}
	var rep reply
	if endpoint == EndpointUpload {
		rep = s.handleUpload(r, f.UploadDelay) // takes mu itself, once the body is read
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		s.mu.Lock()
		rep = handle(r)
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.net.Calls[endpoint]++
	cutNow := s.net.Cuts.Take(endpoint) || fakenet.Draw(f.FaultCut)
	s.mu.Unlock()
	if cutNow {
		fakenet.Cut(w)
		return
	}
	writeJSON(w, rep.status, rep.body)
}

func (s *Server) count(endpoint string) {
	s.mu.Lock()
	s.net.Calls[endpoint]++
	s.mu.Unlock()
}

// limited counts a request against its endpoint's window, and answers
// 429 when the window is spent. The rate-limit headers (doc
// rate-limits.md) go with every answer of a limited endpoint:
// X-RateLimit-Limit, X-RateLimit-Interval (ms), X-RateLimit-Reset (ms to
// wait).
func (s *Server) limited(w http.ResponseWriter, endpoint string) bool {
	if s.opts.RateLimit <= 0 {
		return false
	}
	s.mu.Lock()
	now := s.opts.Now()
	win := s.windows[endpoint]
	if win == nil || now.Sub(win.start) >= s.opts.RateInterval {
		win = &window{start: now}
		s.windows[endpoint] = win
	}
	win.count++
	over := win.count > s.opts.RateLimit
	reset := win.start.Add(s.opts.RateInterval).Sub(now)
	if over {
		s.net.Calls[endpoint]++
		s.net.Calls[RateLimited]++
	}
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Interval", strconv.FormatInt(s.opts.RateInterval.Milliseconds(), 10))
	if over {
		h.Set("X-RateLimit-Reset", strconv.FormatInt(max(reset.Milliseconds(), 1), 10))
		writeJSON(w, http.StatusTooManyRequests, errBody("Too many requests", ""))
	}
	return over
}

// readJSON decodes a request's JSON body into v.
func readJSON(r *http.Request, v any) bool {
	b, err := io.ReadAll(r.Body)
	return err == nil && json.Unmarshal(b, v) == nil
}

// fileJSON is a file as the API writes it (doc: list, details, upload),
// at version v: an earlier one than the current is of type
// "file-version", its url names it (ik-obj-version), and every version is
// named "Version N" by its number (doc get-file-versions.md). mu held.
func (s *Server) fileJSON(n *node, v *version) map[string]any {
	fileType := "non-image"
	if strings.HasPrefix(v.mime, "image/") {
		fileType = "image"
	}
	u := s.Endpoint + n.path()
	typ := "file"
	if v != n.current() {
		u += "?ik-obj-version=" + v.id
		typ = "file-version"
	}
	return map[string]any{
		"type": typ, "fileId": n.id, "name": n.name, "filePath": n.path(), "url": u,
		"thumbnail": u, "mime": v.mime, "fileType": fileType, "size": len(v.data),
		"versionInfo":   map[string]any{"id": v.id, "name": "Version " + strconv.Itoa(v.num)},
		"isPrivateFile": false, "isPublished": true, "tags": nil, "AITags": nil, "customCoordinates": nil,
		"customMetadata": map[string]any{}, "hasAlpha": false,
		"createdAt": n.created.Format(timeFormat), "updatedAt": v.at.Format(timeFormat),
	}
}

// folderJSON is a folder as a listing writes it. folderPath: the
// folder's own path (the reference leaves it unknown; [O] has an example
// of the parent's).
func folderJSON(n *node) map[string]any {
	return map[string]any{"type": "folder", "folderId": n.id, "name": n.name, "folderPath": n.path(),
		"createdAt": n.created.Format(timeFormat), "updatedAt": n.updated.Format(timeFormat)}
}

const timeFormat = "2006-01-02T15:04:05.000Z07:00"
