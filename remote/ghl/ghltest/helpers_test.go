package ghltest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	testToken = "pit-test-token"
	testLoc   = "loc123"
)

// start runs a server for one test; opts gets the test token and location
// unless it names others.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.LocationID == "" {
		opts.LocationID = testLoc
	}
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// req describes one test request. Headers default to what a correct client
// sends; set a header to "-" to leave it out.
type req struct {
	method  string
	path    string
	query   url.Values
	json    any    // body, marshalled as JSON
	body    []byte // raw body (with contentType)
	ctype   string
	headers map[string]string
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (s *Server) testDo(t *testing.T, r req) resp {
	t.Helper()
	res, err := http.DefaultClient.Do(s.testRequest(t, r))
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", r.method, r.path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (s *Server) testRequest(t *testing.T, r req) *http.Request {
	t.Helper()
	u := s.URL + r.path
	if r.query != nil {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	ctype := r.ctype
	switch {
	case r.json != nil:
		b, err := json.Marshal(r.json)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
		ctype = "application/json"
	case r.body != nil:
		body = bytes.NewReader(r.body)
	}
	hr, err := http.NewRequest(cmp.Or(r.method, http.MethodGet), u, body)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{
		"User-Agent":    "ghltest/1.0",
		"Authorization": "Bearer " + testToken,
		"Version":       "2021-07-28",
		"Accept":        "application/json",
	}
	if ctype != "" {
		h["Content-Type"] = ctype
	}
	for k, v := range r.headers {
		h[k] = v
	}
	for k, v := range h {
		if v == "-" {
			v = "" // an empty User-Agent makes net/http send none
		}
		hr.Header.Set(k, v)
	}
	return hr
}

// decode unmarshals a response body, failing the test on error.
func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
}

func (r resp) expect(t *testing.T, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// wireItem is an item as a listing shows it.
type wireItem struct {
	ID          string  `json:"_id"`
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	ParentID    *string `json:"parentId"`
	URL         string  `json:"url"`
	Path        string  `json:"path"`
	AltID       string  `json:"altId"`
	AltType     string  `json:"altType"`
	ContentType string  `json:"contentType"`
	Size        *int64  `json:"size"`
	Deleted     bool    `json:"deleted"`
	CreatedAt   string  `json:"createdAt"`
	UpdatedAt   string  `json:"updatedAt"`
}

func listQ(typ, parentID string, extra ...string) url.Values {
	q := url.Values{
		"altType":   {"location"},
		"altId":     {testLoc},
		"type":      {typ},
		"sortBy":    {"createdAt"},
		"sortOrder": {"asc"},
	}
	if parentID != "" {
		q.Set("parentId", parentID)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// list fetches one page.
func (s *Server) list(t *testing.T, q url.Values) []wireItem {
	t.Helper()
	var out struct {
		Files []wireItem `json:"files"`
	}
	s.testDo(t, req{path: "/medias/files", query: q}).expect(t, http.StatusOK).decode(t, &out)
	return out.Files
}

// listAll pages through a listing with the given limit.
func (s *Server) listAll(t *testing.T, q url.Values, limit int) []wireItem {
	t.Helper()
	var all []wireItem
	for offset := 0; ; {
		q.Set("offset", itoa(offset))
		q.Set("limit", itoa(limit))
		page := s.list(t, q)
		all = append(all, page...)
		if len(page) == 0 {
			return all
		}
		offset += len(page)
	}
}

// names are the names of items, in order.
func names(items []wireItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// multipartBody builds an upload form. Each file part is given as
// fileName, contentType ("" = none), data.
type formFile struct {
	field, fileName, contentType string
	data                         []byte
}

func multipartBody(t *testing.T, fields map[string]string, files ...formFile) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range files {
		h := textproto.MIMEHeader{}
		disp := `form-data; name="` + f.field + `"`
		if f.fileName != "" {
			disp += `; filename="` + f.fileName + `"`
		}
		h.Set("Content-Disposition", disp)
		if f.contentType != "" {
			h.Set("Content-Type", f.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f.data)
	}
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

// upload posts a file and returns the response.
func (s *Server) upload(t *testing.T, fields map[string]string, files ...formFile) resp {
	t.Helper()
	body, ctype := multipartBody(t, fields, files...)
	return s.testDo(t, req{method: http.MethodPost, path: "/medias/upload-file", body: body, ctype: ctype})
}

// get fetches a URL with no header at all, as a browser would.
func get(t *testing.T, u string, header map[string]string) resp {
	t.Helper()
	hr, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}
