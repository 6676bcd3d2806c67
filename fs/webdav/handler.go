package webdav

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"golang.org/x/net/webdav"
)

// Handler serves f over WebDAV, with an in-memory lock system (class 2:
// Finder mounts read-write only where it can lock), behind auth when not
// nil.
func (f *FS) Handler(auth *Auth) http.Handler {
	return handler(f, f.opts.ReadOnly, f.log, auth, nil)
}

// handler serves fsys (an FS, or an Agency's tree of them) with one
// lock system; refuse, when not nil, answers a request it refuses.
func handler(fsys webdav.FileSystem, readOnly bool, log *slog.Logger, auth *Auth, refuse func(http.ResponseWriter, *http.Request) bool) http.Handler {
	h := &webdav.Handler{FileSystem: fsys, LockSystem: webdav.NewMemLS(), Logger: func(r *http.Request, err error) { logRequest(log, r, err) }}
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if readOnly && changes[r.Method] {
			http.Error(w, "read-only", http.StatusForbidden)
			return
		}
		if refuse != nil && refuse(w, r) {
			return
		}
		switch r.Method {
		case "PUT":
			b := &putBody{ReadCloser: r.Body, want: r.ContentLength}
			r.Body = b
			r = r.WithContext(context.WithValue(r.Context(), putKey{}, b))
		case "COPY", "MOVE":
			// RFC 4918 10.6: no Overwrite header is Overwrite: T.
			// x/net/webdav takes it so for a COPY, and as F for a
			// MOVE, which breaks clients that leave it out.
			if r.Header.Get("Overwrite") == "" {
				r.Header.Set("Overwrite", "T")
			}
		case "PROPFIND":
			if d := strings.TrimSpace(r.Header.Get("Depth")); d == "" || strings.EqualFold(d, "infinity") {
				refuseInfinity(w)
				log.Debug("PROPFIND of depth infinity refused", "path", r.URL.Path)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
	if auth != nil {
		next = auth.wrap(next, log)
	}
	return next
}

// changes are the methods that change the library (LOCK and UNLOCK
// change nothing in it).
var changes = map[string]bool{"PUT": true, "DELETE": true, "MKCOL": true, "COPY": true, "MOVE": true, "PROPPATCH": true}

// refuseInfinity answers a PROPFIND of depth infinity (RFC 4918 9.1):
// a walk of the whole library in one request is not served.
func refuseInfinity(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprint(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>`+"\n")
}

// logRequest logs a request's failure at debug level: a failure of
// the library was logged where it came back (FS.pathErr); the rest are
// the protocol's own refusals (a lock held, a bad header).
func logRequest(log *slog.Logger, r *http.Request, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	log.Debug(fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err), "method", r.Method, "path", r.URL.Path)
}
