package ghltest

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// maxFormField bounds the text fields of an upload form.
const maxFormField = 64 << 10

// uploadForm is a parsed upload-file request.
type uploadForm struct {
	fields   map[string]string // name, parentId, altId, altType, hosted, fileUrl, folderId
	keys     []string          // every form name seen
	haveFile bool
	file     []byte
	filename string // of the file part
	partType string // Content-Type of the file part (partTypeDefault if none)
	tooLarge int64  // when not 0: the file part holds more than this limit
	sawFile  bool   // a file part began (held, or too large)
}

// partTypeDefault is the type of a file part without a Content-Type, as
// the service's multipart parser has it: NestJS takes files through
// multer, whose parser, busboy, types such a part text/plain (its
// lib/types/multipart.js, in 0.3 and 1.6 alike), never from its name.
const partTypeDefault = "text/plain"

// uploadLimit is the largest file upload-file takes of a content type, by
// the request's Version: with v3 a video may be up to MaxVideoUploadSize;
// anything else is limited to MaxUploadSize.
func uploadLimit(version, contentType string) int64 {
	mt, _, _ := mime.ParseMediaType(contentType)
	if version == "v3" && strings.HasPrefix(mt, "video/") {
		return MaxVideoUploadSize
	}
	return MaxUploadSize
}

// readUploadForm reads a multipart/form-data body. A file is a part named
// "file" that has a filename (as multer sees it); only the first counts. A
// body that is not multipart gives an empty form. The whole body is read,
// so that a client that goes away afterwards is noticed.
func readUploadForm(r *http.Request) (*uploadForm, error) {
	defer func() { _, _ = io.Copy(io.Discard, r.Body) }()
	form := &uploadForm{fields: map[string]string{}}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return form, nil
	}
	if params["boundary"] == "" {
		return nil, errors.New("no multipart boundary")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return form, nil
		}
		if err != nil {
			return nil, err
		}
		name := p.FormName()
		form.keys = append(form.keys, name)
		switch {
		case name == "file" && p.FileName() != "":
			if form.haveFile || form.tooLarge != 0 {
				break
			}
			// The limit follows the part's type as the parser has it when
			// the part begins; a part without one is text/plain, whatever
			// its name.
			form.partType = cmp.Or(p.Header.Get("Content-Type"), partTypeDefault)
			limit := uploadLimit(r.Header.Get("Version"), form.partType)
			form.sawFile = true
			form.filename = p.FileName()
			data, err := readPart(p, limit, r.ContentLength)
			if err != nil {
				return nil, err
			}
			if int64(len(data)) > limit {
				form.tooLarge = limit
				break
			}
			form.haveFile = true
			form.file = data
		default:
			v, err := io.ReadAll(io.LimitReader(p, maxFormField))
			if err != nil {
				return nil, err
			}
			if _, seen := form.fields[name]; !seen {
				form.fields[name] = string(v)
			}
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			return nil, err
		}
	}
}

// readMultipart is readUploadForm, answering a form it cannot read itself: ok
// is false once it has.
func readMultipart(w http.ResponseWriter, r *http.Request) (*uploadForm, bool) {
	form, err := readUploadForm(r)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The parser's (busboy's) word for a body that ends before its
		// closing boundary (seen).
		writeError(w, http.StatusBadRequest, "Unexpected end of form", "Bad Request")
		return nil, false
	case err != nil:
		errBadRequest(w)
		return nil, false
	}
	return form, true
}

// readPart reads a file part of up to limit+1 bytes. A body whose length
// is announced is read into one buffer of about that size, rather than
// one grown by doubling (a video may be hundreds of MB).
func readPart(p io.Reader, limit, bodyLength int64) ([]byte, error) {
	var buf bytes.Buffer
	if bodyLength > 0 {
		buf.Grow(int(min(bodyLength, limit+1)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(p, limit+1))
	return buf.Bytes(), err
}

// handleUpload serves POST /medias/upload-file.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, cl call) {
	s.stats.upload(r.Header.Get("Version"))
	if rate := s.Faults().UploadRate; rate > 0 {
		r.Body = &rateReader{ReadCloser: r.Body, ctx: r.Context(), rate: rate}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		// Seen: a JSON body (hosted=true with fileUrl, say) is refused so.
		_, _ = io.Copy(io.Discard, r.Body)
		writeError(w, http.StatusBadRequest, "Unsupported content type", "Bad Request")
		return
	}
	form, ok := readMultipart(w, r)
	if !ok {
		return
	}
	quirks := s.quirkSet()
	if quirks.has(QuirkTypeAllowlist) && form.sawFile {
		// A file filter, as multer runs one when the part begins: before its
		// size counts.
		if !UploadTypeAllowed(form.partType) {
			writeError(w, http.StatusBadRequest, "INVALID_FILE_TYPE", "Bad Request")
			return
		}
	}
	if form.tooLarge != 0 {
		errTooLarge(w, form.tooLarge)
		return
	}
	if f := s.Faults(); f.RejectUploads {
		status := cmp.Or(f.RejectUploadsStatus, http.StatusBadRequest)
		writeError(w, status, "File upload rejected (injected fault)", http.StatusText(status))
		return
	}

	var c checker
	// folderId is taken and ignored, as a public client saw (the file lands
	// in the root); parentId places it.
	c.onlyKeys("", form.keys, "file", "name", "parentId", "altId", "altType", "hosted", "fileUrl", "folderId")
	hosted, fileURL := form.fields["hosted"], form.fields["fileUrl"]
	if hosted != "" && hosted != "true" && hosted != "false" {
		c.add("hosted must be a boolean value")
	}
	altID, hasAltID := form.fields["altId"]
	altType, hasAltType := form.fields["altType"]
	if hasAltID {
		c.required("altId", altID)
	}
	if hasAltType {
		c.oneOf("altType", altType, "location")
	}
	switch {
	case form.haveFile:
	case hosted == "true":
		c.required("fileUrl", fileURL)
	default:
		c.add("file should not be empty")
	}
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	if hasAltID && !cl.loc.checkLocation(w, altID) {
		return
	}

	name, contentType, data := form.fields["name"], form.partType, form.file
	if !form.haveFile {
		src, ok := s.hostedSource(r, fileURL)
		if !ok {
			writeError(w, http.StatusBadRequest, "Unable to fetch the file from fileUrl", "Bad Request")
			return
		}
		if limit := uploadLimit(r.Header.Get("Version"), src.contentType); int64(len(src.data)) > limit {
			errTooLarge(w, limit)
			return
		}
		data, contentType = src.data, src.contentType
		if name == "" {
			name = path.Base(src.objectPath)
		}
	}
	if name == "" {
		name = cmp.Or(form.filename, "file")
	}
	// A folder is named by the form's parentId, else by a query parameter
	// folderId (a public client places uploads so).
	parentID := s.rootParent(cl.loc, quirks, cmp.Or(form.fields["parentId"], r.URL.Query().Get("folderId")))
	if parentID != "" {
		if it, ok := cl.loc.store.get(parentID); !ok || it.typ != TypeFolder {
			errNotFound(w)
			return
		}
	}

	if d := time.Duration(s.Faults().UploadDelay); d > 0 {
		if s.hooks.uploadWaiting != nil {
			s.hooks.uploadWaiting()
		}
		if !sleepCtx(r.Context(), d) {
			s.log.Debug("ghlfake: upload abandoned by the client, nothing stored")
			s.uploadDone(false)
			return
		}
	}
	if quirks.has(QuirkParentIgnored) || quirks.has(QuirkUploadNeedsAlt) && !(hasAltID && hasAltType) {
		parentID = "" // checked, then not used
	}
	// Under upload-id-differs the storage object is named by a UUID of its
	// own, and the answer gives that name as fileId (as public clients see
	// API uploads named in their URL), while listings show the item's id.
	objectName := ""
	if quirks.has(QuirkUploadIDDiffers) {
		objectName = s.traceID()
	}
	it, err := cl.loc.store.addFileAs(parentID, name, contentType, data, cl.loc.blobWriter(), objectName)
	switch {
	case errors.Is(err, errNotFolder):
		errNotFound(w)
		s.uploadDone(false)
		return
	case err != nil:
		s.log.Error("ghlfake: storing upload", "err", err)
		writeError(w, http.StatusInternalServerError, "Internal server error", "")
		s.uploadDone(false)
		return
	}
	s.uploadDone(true)
	fileID := it.id
	if objectName != "" {
		fileID = objectName
	}
	if quirks.has(QuirkUploadNoURL) {
		writeJSON(w, createStatus(quirks), object{{"fileId", fileID}})
		return
	}
	writeJSON(w, createStatus(quirks), object{
		{"fileId", fileID},
		{"url", s.baseURL(r) + "/storage/" + it.objectPath},
		{"traceId", s.traceID()},
	})
}

func (s *Server) uploadDone(stored bool) {
	if s.hooks.uploadDone != nil {
		s.hooks.uploadDone(stored)
	}
}

// hostedSource resolves a fileUrl. The fake can only fetch its own storage
// URLs: the host must be this server's and the path an active file's.
func (s *Server) hostedSource(r *http.Request, fileURL string) (item, bool) {
	u, err := url.Parse(fileURL)
	if err != nil {
		return item{}, false
	}
	base, err := url.Parse(s.baseURL(r))
	if err != nil || !strings.EqualFold(u.Host, base.Host) {
		return item{}, false
	}
	return s.storageObject(u.Path)
}
