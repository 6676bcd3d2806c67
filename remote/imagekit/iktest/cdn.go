package iktest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// cdnEntry is the CDN's copy of one url, under cdn-stale.
type cdnEntry struct {
	data  []byte
	found bool
	stale int // reads left that get this copy though the file changed
}

// changed says the bytes at file path p changed: under cdn-stale, the
// CDN's copies of its urls are served a while longer. mu held.
func (s *Server) changed(p string) {
	for k, e := range s.cdn {
		if k == p || strings.HasPrefix(k, p+"?") {
			e.stale = s.opts.StaleReads
		}
	}
}

// serveCDN serves a file's bytes at the url endpoint: the current version,
// or the one ik-obj-version names; an "optimised" copy (other bytes)
// unless tr holds orig-true (doc automatic-image-format-conversion.md: the
// fake does it to every file, so a read that forgets it shows on any);
// ranges answered 206, or ignored (range-ignored). No credentials.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request, p string) {
	s.mu.Lock()
	s.net.Calls[EndpointCDN]++
	if r.Header.Get("Authorization") != "" {
		s.net.Calls[CDNWithCredentials]++
	}
	down := s.faults.Down
	data, mt, found := s.cdnBytes(p, r.URL.Query(), r.URL.RawQuery)
	ignoreRange := s.quirks.has(QuirkRangeIgnored)
	s.mu.Unlock()
	if down {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if !found {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	total := int64(len(data))
	start, end, ranged := int64(0), total-1, false
	if rg := r.Header.Get("Range"); rg != "" && !ignoreRange {
		h.Set("Accept-Ranges", "bytes")
		a, b, ok := parseRange(rg, total)
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", total))
			http.Error(w, "Range Not Satisfiable", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start, end, ranged = a, b, true
	}
	h.Set("Content-Length", strconv.FormatInt(end-start+1, 10))
	status := http.StatusOK
	if ranged {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, total))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		w.Write(data[start : end+1])
	}
}

// cdnBytes is what the CDN answers for file path p with query q. mu held.
func (s *Server) cdnBytes(p string, q url.Values, raw string) ([]byte, string, bool) {
	key := p
	if raw != "" {
		key += "?" + raw
	}
	fresh, mt, found := s.originBytes(p, q)
	if !s.quirks.has(QuirkCDNStale) {
		return fresh, mt, found
	}
	if e := s.cdn[key]; e != nil && e.stale > 0 {
		e.stale--
		return e.data, mt, e.found
	}
	s.cdn[key] = &cdnEntry{data: fresh, found: found}
	return fresh, mt, found
}

// originBytes is the file's bytes as stored. mu held.
func (s *Server) originBytes(p string, q url.Values) ([]byte, string, bool) {
	p, err := url.PathUnescape(p)
	if err != nil {
		return nil, "", false
	}
	n := s.fileAt(p)
	if n == nil {
		return nil, "", false
	}
	v := n.current()
	if want := q.Get("ik-obj-version"); want != "" {
		v = nil
		for i := range n.versions {
			if n.versions[i].id == want {
				v = &n.versions[i]
			}
		}
		if v == nil {
			return nil, "", false
		}
	}
	if !strings.Contains(q.Get("tr"), "orig-true") {
		return append([]byte("ikopt:"), v.data...), v.mime, true
	}
	return v.data, v.mime, true
}

// parseRange reads "bytes=a-b" (or "a-", or "-n") against total.
func parseRange(v string, total int64) (int64, int64, bool) {
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || total == 0 {
			return 0, 0, false
		}
		return max(total-n, 0), total - 1, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= total {
		return 0, 0, false
	}
	end := total - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e, total-1)
	}
	return start, end, true
}
