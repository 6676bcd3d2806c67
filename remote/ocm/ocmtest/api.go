package ocmtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote/internal/fakenet"
)

// The errorCode strings the fake answers. "0" is success. -1, -16, -17,
// -20 and -26 are the doc's (Error-Messages.html: general failure, no
// such item (typically 404), the name taken, insufficient privileges
// (typically 403), the link invalid or expired (typically 400)); -18 is
// seed 004's. Where the doc gives no HTTP status, and where it names no
// code at all (a reservation by another user, a range past the end),
// the fake's choice is a guess: doc.go says which.
const (
	CodeOK          = "0"
	CodeBadRequest  = "-1"  // 400: a parameter missing or malformed (doc's -1, "general failure")
	CodeNotFound    = "-16" // 404: no such item, or it is in the trash (doc)
	CodeClash       = "-17" // 409: the name is taken, ignoring case (doc's code; 409 a guess)
	CodeAccessCode  = "-18" // 403: the link needs its access code (seed 004)
	CodePrivilege   = "-20" // 403: insufficient privilege (doc, seed 004)
	CodeLinkInvalid = "-26" // 400: the link is unknown, removed, or its folder trashed (doc)
	// CodeReserved is -1 with the errorKey ReservedKey (403): another
	// user reserved the file. The doc names no code for it: a guess, -1
	// being its "when a more specific code is not available".
	CodeReserved = "-1"
	CodeRange    = "-1" // 416: the range cannot be satisfied (guess)
)

// ReservedKey is in the errorKey of a refusal for a reservation by
// another user (!csFldUnableToProcess!csItemReservedByOtherUser,...): a
// guess in the form of seed 004's keys.
const ReservedKey = "csItemReservedByOtherUser"

// reply is a handler's answer, written (or cut) once the handler is
// done, the lock let go.
type reply struct {
	status int
	body   any    // JSON
	data   []byte // bytes (a download) instead of JSON
	header http.Header
}

// errBody is the error body of seed 004.
func errBody(code, key, msg, id string) map[string]any {
	return map[string]any{"errorCode": code, "errorKey": key, "errorMessage": msg, "errorType": "file",
		"title": msg, "idList": id, "type": ""}
}

func fail(status int, code, key, msg, id string) reply {
	return reply{status: status, body: errBody(code, key, msg, id)}
}

func badRequest(msg string) reply {
	return fail(http.StatusBadRequest, CodeBadRequest, "!csInvalidParameters", msg, "")
}

func notFound(id string) reply {
	return fail(http.StatusNotFound, CodeNotFound, "!csFldItemNotFound,"+id, "The item "+id+" does not exist or is in the trash.", id)
}

func clash(name, id string) reply {
	return fail(http.StatusConflict, CodeClash, "!csFldItemNameExists,"+name,
		"An item with the name '"+name+"' already exists in the folder.", id)
}

func denied(u *user, id, service string) reply {
	who := "anonymous"
	if u != nil {
		who = u.display
	}
	return fail(http.StatusForbidden, CodePrivilege, "!csFldUnableToProcess!csCloudItemInsufficientPrivileges,"+who+","+id+","+service,
		"User '"+who+"' has insufficient privilege to access "+id+" with service "+service+".", id)
}

func ok(body map[string]any) reply {
	body["errorCode"] = CodeOK
	return reply{status: http.StatusOK, body: body}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// call is one API request as a handler reads it.
type call struct {
	r    *http.Request
	id   string // the path's item id
	body []byte // JSON requests: the body, read before the lock
	acc  *access
	form *uploadForm // uploads
}

// json decodes the request's JSON body into v (an empty body is {}).
func (c *call) json(v any) bool {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return true
	}
	return json.Unmarshal(c.body, v) == nil
}

// route names a request's endpoint, its handler and the item id in its
// path; "" when the API has no such route.
func (s *Server) route(r *http.Request) (string, func(*call) reply, string) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, BasePath), "/")
	m := r.Method
	key := m + " " + parts[0]
	if len(parts) > 1 && parts[1] != "" {
		switch {
		case len(parts) == 2 && parts[0] == "folders" && parts[1] == "items":
			key += "/items"
		case len(parts) == 2 && parts[0] == "files" && parts[1] == "data":
			key += "/data"
		default:
			key += "/{id}"
			if len(parts) == 3 {
				key += "/" + parts[2]
			} else if len(parts) > 3 {
				return "", nil, ""
			}
		}
	}
	id := ""
	if strings.HasSuffix(key, "{id}") || strings.Contains(key, "{id}/") {
		id = parts[1]
	}
	h, found := map[string]func(*call) reply{
		EndpointHomeItems: s.handleHomeItems, EndpointList: s.handleList, EndpointFolder: s.handleFolder,
		EndpointCreateFolder: s.handleCreateFolder, EndpointRenameFolder: s.handleRename, EndpointDeleteFolder: s.handleDeleteFolder,
		EndpointMoveFolder: s.handleMove, EndpointCopyFolder: s.handleCopy, EndpointFile: s.handleFile,
		EndpointRenameFile: s.handleRename, EndpointDeleteFile: s.handleDeleteFile, EndpointDownload: s.handleDownload,
		EndpointUpload: s.handleUpload, EndpointUploadVersion: s.handleUpload, EndpointVersions: s.handleVersions,
		EndpointMoveFile: s.handleMove, EndpointCopyFile: s.handleCopy, EndpointReserve: s.handleReserve,
		EndpointUnreserve: s.handleUnreserve,
	}[key]
	if !found {
		return "", nil, ""
	}
	return key, h, id
}

// serveAPI serves a Documents API request.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	if f.Down {
		writeJSON(w, http.StatusServiceUnavailable, errBody(CodeBadRequest, "!csServiceUnavailable", "Service Unavailable", ""))
		return
	}
	endpoint, handle, id := s.route(r)
	if endpoint == "" {
		writeJSON(w, http.StatusNotFound, errBody(CodeNotFound, "!csResourceNotFound", "No such resource: "+r.Method+" "+r.URL.Path, ""))
		return
	}
	s.mu.Lock()
	acc, authFail := s.authorize(r)
	if authFail != nil && authFail.status != http.StatusUnauthorized && s.quirks.has(QuirkErrorIn200) {
		authFail.status = http.StatusOK
	}
	s.mu.Unlock()
	if authFail != nil {
		s.count(endpoint)
		s.write(w, *authFail)
		return
	}
	upload := endpoint == EndpointUpload || endpoint == EndpointUploadVersion
	if upload {
		s.count(UploadsReceived)
	}
	if fakenet.Draw(f.Fault429) {
		s.count(endpoint)
		s.count(RateLimited)
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
		writeJSON(w, http.StatusTooManyRequests, errBody(CodeBadRequest, "!csTooManyRequests", "Too Many Requests", ""))
		return
	}
	s.mu.Lock()
	failNow := s.net.Fails.Take(endpoint)
	s.mu.Unlock()
	if failNow || fakenet.Draw(f.Fault500) {
		s.count(endpoint)
		writeJSON(w, http.StatusInternalServerError, errBody(CodeBadRequest, "!csInternalError", "Internal Server Error", ""))
		return
	}
	c := &call{r: r, id: id, acc: acc}
	var early *reply
	if upload {
		form, rep := s.readUpload(r)
		c.form = form
		if rep != nil {
			early = rep
		} else if f.UploadDelay > 0 {
			time.Sleep(f.UploadDelay) // Faults.UploadDelay: a slow store, as a test asks
		}
	} else {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			rep := badRequest("The request body could not be read.")
			early = &rep
		}
		c.body = b
	}
	var rep reply
	s.mu.Lock()
	if early != nil {
		rep = *early
	} else {
		rep = handle(c)
	}
	s.net.Calls[endpoint]++
	cutNow := s.net.Cuts.Take(endpoint) || fakenet.Draw(f.FaultCut)
	in200 := s.quirks.has(QuirkErrorIn200)
	s.mu.Unlock()
	if cutNow {
		fakenet.Cut(w)
		return
	}
	if in200 && rep.status >= 400 {
		rep.status = http.StatusOK
	}
	s.write(w, rep)
}

// write writes a reply: its headers, then bytes or JSON.
func (s *Server) write(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.data != nil || rep.body == nil {
		w.WriteHeader(rep.status)
		w.Write(rep.data)
		return
	}
	writeJSON(w, rep.status, rep.body)
}

const timeFormat = "2006-01-02T15:04:05Z"

func userJSON(u *user) map[string]any {
	if u == nil {
		return nil
	}
	return map[string]any{"displayName": u.display, "id": u.id, "loginName": u.login, "type": "user"}
}

// itemJSON is an item as the API writes it (doc: listings, Get File,
// Get Folder; numbers as strings). mu held.
func (s *Server) itemJSON(n *node) map[string]any {
	m := map[string]any{"id": s.publicID(n), "name": n.name, "createdTime": n.created.Format(timeFormat),
		"modifiedTime": n.modified.Format(timeFormat), "createdBy": userJSON(n.createdBy),
		"modifiedBy": userJSON(n.modifiedBy), "ownedBy": userJSON(s.owner)}
	if n.parent != nil {
		m["parentID"] = s.publicID(n.parent)
	}
	if n.folder {
		m["type"] = "folder"
		kids := s.children(n)
		var size int64
		for _, k := range kids {
			if !k.folder {
				size += int64(len(k.current().data))
			}
		}
		m["size"] = strconv.FormatInt(size, 10)
		m["childItemsCount"] = strconv.Itoa(len(kids))
		m["description"] = n.description
		return m
	}
	v := n.current()
	m["type"] = "file"
	m["size"] = strconv.Itoa(len(v.data))
	m["version"] = strconv.Itoa(v.num)
	m["mimeType"] = v.mime
	return m
}

// versionJSON is one version of file n (doc files-fileid-versions-get).
func versionJSON(n *node, v *version) map[string]any {
	return map[string]any{"id": n.id, "name": v.name, "size": strconv.Itoa(len(v.data)), "version": strconv.Itoa(v.num),
		"mimeType": v.mime, "createdTime": v.created.Format(timeFormat), "modifiedTime": v.modified.Format(timeFormat),
		"createdBy": userJSON(v.by), "modifiedBy": userJSON(v.by)}
}
