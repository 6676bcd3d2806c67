package ghltest

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The storage host: GET and HEAD of /storage/<object path>, public (no
// header is needed or looked at), answered like Google Cloud Storage does:
// Range requests get 206 (several ranges give multipart/byteranges; an
// unsatisfiable one gives 416), Last-Modified is the creation time, the
// ETag is the quoted id.

// storageObject returns the active file whose storage URL path is p, as
// escaped in the request.
func (s *Server) storageObject(p string) (item, bool) {
	objPath, ok := strings.CutPrefix(p, "/storage/")
	if !ok {
		return item{}, false
	}
	for _, l := range s.locs {
		if name, ok := strings.CutPrefix(objPath, "msgsndr/"+l.id+"/media/"); ok && name != "" {
			if it, ok := l.storageObject(objPath, name); ok {
				return it, true
			}
		}
	}
	return item{}, false
}

// storageObject returns the location's active file whose object path is
// objPath, whose name (after the location's prefix) is name.
func (l *Location) storageObject(objPath, name string) (item, bool) {
	var (
		it item
		ok bool
	)
	if len(name) >= 24 {
		it, ok = l.store.get(name[:24])
	}
	if !ok || it.objectPath != objPath {
		// An object named apart from its id (upload-id-differs).
		it, ok = l.store.byObject(objPath)
	}
	if !ok || it.objectPath != objPath {
		// An id of another form (AddFileWithID), escaped in the path.
		id, found := idOfObject(name)
		if !found {
			return item{}, false
		}
		it, ok = l.store.get(id)
	}
	if !ok || it.typ != TypeFile || it.objectPath != objPath {
		return item{}, false
	}
	return it, true
}

func (s *Server) serveStorage(w *recorder, r *http.Request) {
	s.stats.storage()
	defer func() { s.stats.addStorageBytes(w.bytes) }()

	f := s.Faults()
	if f.Down {
		errDown(w)
		return
	}
	if !sleepCtx(r.Context(), time.Duration(f.StorageLatency)) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		storageError(w, http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The specified method is not allowed against this resource.", "")
		return
	}
	it, ok := s.storageObject(r.URL.EscapedPath())
	if !ok {
		storageError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.",
			"No such object: "+strings.TrimPrefix(r.URL.Path, "/storage/"))
		return
	}

	var out http.ResponseWriter = w
	if f.StorageRate > 0 {
		out = &rateWriter{ResponseWriter: out, ctx: r.Context(), rate: f.StorageRate}
	}
	if s.draw(f.FaultCut) {
		if r.Method == http.MethodHead {
			cutConnection(w, false)
			return
		}
		out = &cutWriter{ResponseWriter: out}
		defer cutConnection(w, true)
	}
	h := out.Header()
	h.Set("Content-Type", it.contentType)
	h.Set("ETag", `"`+it.id+`"`)
	http.ServeContent(out, r, "", it.createdAt, bytes.NewReader(it.data))
}

// storageError writes an error body the way Cloud Storage's XML API does.
func storageError(w http.ResponseWriter, status int, code, message, details string) {
	var b strings.Builder
	b.WriteString("<?xml version='1.0' encoding='UTF-8'?><Error><Code>")
	_ = xml.EscapeText(&b, []byte(code))
	b.WriteString("</Code><Message>")
	_ = xml.EscapeText(&b, []byte(message))
	b.WriteString("</Message>")
	if details != "" {
		b.WriteString("<Details>")
		_ = xml.EscapeText(&b, []byte(details))
		b.WriteString("</Details>")
	}
	b.WriteString("</Error>")
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

var errCut = errors.New("ghltest: connection cut (injected fault)")

// cutWriter lets through about half of the body that the response's
// Content-Length announces, and fails every write after that.
type cutWriter struct {
	http.ResponseWriter
	started bool
	left    int64
}

func (c *cutWriter) WriteHeader(code int) {
	if !c.started {
		c.started = true
		if code == http.StatusOK || code == http.StatusPartialContent {
			n, _ := strconv.ParseInt(c.Header().Get("Content-Length"), 10, 64)
			c.left = n / 2
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if !c.started {
		c.WriteHeader(http.StatusOK)
	}
	if int64(len(p)) <= c.left {
		n, err := c.ResponseWriter.Write(p)
		c.left -= int64(n)
		return n, err
	}
	n, err := c.ResponseWriter.Write(p[:c.left])
	c.left -= int64(n)
	if err == nil {
		err = errCut
	}
	return n, err
}

func (c *cutWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// rateWriter paces a body at rate bytes per second, writing and flushing it
// in slices of about 50ms.
type rateWriter struct {
	http.ResponseWriter
	ctx   context.Context
	rate  int64
	start time.Time
	sent  int64
}

func (rw *rateWriter) Write(p []byte) (int, error) {
	if rw.start.IsZero() {
		rw.start = time.Now()
	}
	slice := int(max(rw.rate/20, 512))
	written := 0
	for len(p) > 0 {
		due := rw.start.Add(time.Duration(float64(rw.sent) / float64(rw.rate) * float64(time.Second)))
		if !sleepCtx(rw.ctx, time.Until(due)) {
			return written, rw.ctx.Err()
		}
		n, err := rw.ResponseWriter.Write(p[:min(len(p), slice)])
		written += n
		rw.sent += int64(n)
		if err != nil {
			return written, err
		}
		_ = http.NewResponseController(rw.ResponseWriter).Flush()
		p = p[n:]
	}
	return written, nil
}

func (rw *rateWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }
