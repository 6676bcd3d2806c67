package ocmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// handleDownload: GET files/{id}/data?version=N (doc
// files-fileid-data-get): the bytes, 200; a Range (bytes=a-b, a-, -n)
// answers 206 with Content-Range, one it cannot satisfy 416; ETag names
// the file and version. A viewer link may not download (403, -20).
func (s *Server) handleDownload(c *call) reply {
	n, rep := s.target(c, "FLD_DOWNLOAD", false)
	if rep == nil && c.acc.role == RoleViewer {
		r := denied(c.acc.who, c.id, "FLD_DOWNLOAD")
		rep = &r
	}
	if rep != nil {
		return *rep
	}
	v, rep := versionParam(c, n, c.r.URL.Query().Get("version"))
	if rep != nil {
		return *rep
	}
	size := int64(len(v.data))
	h := http.Header{}
	h.Set("Content-Type", v.mime)
	h.Set("ETag", fmt.Sprintf(`"%s-%d"`, n.id, v.num))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Last-Modified", v.modified.Format(http.TimeFormat))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": v.name}))
	start, end, ranged, satisfiable := parseRange(c.r.Header.Get("Range"), size)
	switch {
	case !ranged:
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		return reply{status: http.StatusOK, data: v.data, header: h}
	case !satisfiable:
		h = http.Header{"Content-Range": {fmt.Sprintf("bytes */%d", size)}}
		return reply{status: http.StatusRequestedRangeNotSatisfiable, header: h,
			body: errBody(CodeRange, "!csRangeNotSatisfiable", "The range cannot be satisfied.", n.id)}
	}
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
	h.Set("Content-Length", strconv.FormatInt(end-start+1, 10))
	return reply{status: http.StatusPartialContent, data: v.data[start : end+1], header: h}
}

// parseRange reads a Range header of one range (bytes=a-b, a-, -n) over
// size bytes: ranged is false when there is none or it is malformed or
// of several ranges (the whole file is then served, as RFC 9110 lets).
func parseRange(h string, size int64) (start, end int64, ranged, satisfiable bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		return max(size-n, 0), size - 1, true, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false, false
	}
	end = size - 1
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
			return 0, 0, false, false
		}
		end = min(end, size-1)
	}
	if start >= size {
		return 0, 0, true, false
	}
	return start, end, true, true
}

// uploadForm is a multipart upload as read, before the lock.
type uploadForm struct {
	parentID string
	name     string
	data     []byte
	mime     string
}

// readUpload reads an upload's multipart body (doc files-data-post,
// files-fileid-data-post): jsonInputParameters (JSON: parentID),
// primaryFile (its filename the file's name), metadataValues (ignored).
func (s *Server) readUpload(r *http.Request) (*uploadForm, *reply) {
	bad := func(msg string) (*uploadForm, *reply) {
		rep := badRequest(msg)
		return nil, &rep
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return bad("The request is not multipart/form-data.")
	}
	f := &uploadForm{}
	sawFile := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad("The request could not be read.")
		}
		switch p.FormName() {
		case "primaryFile":
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, p); err != nil {
				return bad("The request could not be read.")
			}
			// The filename as sent (p.FileName drops all but its last
			// path element, hiding a name the service would refuse).
			_, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			f.data, f.name, sawFile = buf.Bytes(), params["filename"], true
			f.mime, _, _ = mime.ParseMediaType(p.Header.Get("Content-Type"))
		case "jsonInputParameters":
			var in struct {
				ParentID string `json:"parentID"`
			}
			b, _ := io.ReadAll(io.LimitReader(p, 64<<10))
			if json.Unmarshal(b, &in) != nil {
				return bad("jsonInputParameters is not valid JSON.")
			}
			f.parentID = in.ParentID
		default:
			io.Copy(io.Discard, p)
		}
	}
	if !sawFile {
		return bad("primaryFile is required.")
	}
	if f.mime == "" || f.mime == "application/octet-stream" {
		f.mime, _, _ = mime.ParseMediaType(mime.TypeByExtension(path.Ext(f.name)))
		if f.mime == "" {
			f.mime = "application/octet-stream"
		}
	}
	return f, nil
}

// handleUpload: POST files/data (a new file in jsonInputParameters'
// parentID, named by primaryFile's filename) and POST files/{id}/data (a
// new version of the file, its name kept). A new file onto a name the
// folder holds, ignoring case, is a new version of that file (doc), or a
// new file name(2) under upload-dup-suffix; onto a folder's name, 409
// -17. A file another user reserved refuses new versions (403, -26).
func (s *Server) handleUpload(c *call) reply {
	f := c.form
	var n *node
	if c.id == "" {
		if f.parentID == "" {
			return badRequest("jsonInputParameters must name a parentID.")
		}
		p, rep := s.change(c.acc, f.parentID, "FLD_UPLOAD", true)
		switch {
		case rep != nil:
			return *rep
		case !p.folder:
			return notFound(f.parentID)
		case s.quirks.badName(f.name):
			return badRequest("The file name is not valid: " + f.name)
		}
		name := f.name
		n = s.taken(p, name, nil)
		switch {
		case n != nil && n.folder:
			return clash(name, n.id)
		case n != nil && s.quirks.has(QuirkUploadDupSuffix):
			name = s.freeName(p, name, false, nil)
			n = nil
		}
		if n == nil {
			n = s.add(p, name, false, c.acc.who)
		}
	} else {
		var rep *reply
		if n, rep = s.target(c, "FLD_UPLOAD", true); rep != nil {
			return *rep
		}
	}
	if rep := reserved(c.acc, n); rep != nil {
		return *rep
	}
	s.addVersion(n, f.data, f.mime, c.acc.who)
	return ok(s.itemJSON(n))
}
