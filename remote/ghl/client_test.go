package ghl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

func newTestClient(t *testing.T, h http.Handler, mod ...func(*Config)) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL, Token: "secret-token", LocationID: "loc1", RateLimit: -1, RetryTimeout: 20 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestHeadersAndQuery(t *testing.T) {
	var got *http.Request
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		fmt.Fprint(w, `{"files":[]}`)
	}))
	if _, err := c.List(context.Background(), ListQuery{Type: TypeFolder, ParentID: "p1"}); err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{"Authorization": "Bearer secret-token", "Version": "2021-07-28", "Accept": "application/json"} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("%s = %q, want %q", h, v, want)
		}
	}
	if got.Header.Get("User-Agent") == "" {
		t.Error("no User-Agent")
	}
	q := got.URL.Query()
	for k, want := range map[string]string{"altType": "location", "altId": "loc1", "type": "folder", "parentId": "p1", "sortBy": "createdAt", "sortOrder": "asc", "offset": "0"} {
		if q.Get(k) != want {
			t.Errorf("query %s = %q, want %q", k, q.Get(k), want)
		}
	}
}

func TestErrorParsing(t *testing.T) {
	cases := []struct {
		status int
		body   string
		kind   error
		msg    string
	}{
		{401, `{"statusCode":401,"message":"Invalid token: access token is invalid","error":"Unauthorized"}`, remote.ErrUnauthorized, "Invalid token: access token is invalid"},
		{422, `{"statusCode":422,"message":["offset must be a string","limit must be a string"],"error":"Unprocessable Entity"}`, remote.ErrInvalid, "offset must be a string; limit must be a string"},
		{404, `{"statusCode":404,"message":"Media not found","traceId":"abc"}`, remote.ErrNotFound, "Media not found"},
		{403, `<html>denied</html>`, remote.ErrForbidden, "<html>denied</html>"},
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			cl, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				fmt.Fprint(w, c.body)
			}))
			err := cl.Rename(context.Background(), "x", "y")
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, c.kind) || e.Message != c.msg {
				t.Fatalf("err = %v (%#v), want kind %v message %q", err, e, c.kind, c.msg)
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Error("the token leaked into an error")
			}
		})
	}
}

func TestRetries429WithAndWithoutRetryAfter(t *testing.T) {
	for _, retryAfter := range []string{"1", ""} {
		t.Run("retry-after="+retryAfter, func(t *testing.T) {
			var n atomic.Int32
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					if retryAfter != "" {
						w.Header().Set("Retry-After", retryAfter)
					}
					w.WriteHeader(429)
					fmt.Fprint(w, `{"statusCode":429,"message":"Too many requests"}`)
					return
				}
				fmt.Fprint(w, `{"fileId":"f1","url":"http://x/f1"}`)
			}))
			// An upload is not idempotent, but a 429 means it was not done.
			it, err := c.UploadFile(context.Background(), Upload{Name: "a.txt", Size: 1, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("a")), nil }})
			if err != nil || it.ID != "f1" || n.Load() != 2 {
				t.Fatalf("got %+v, %v after %d requests", it, err, n.Load())
			}
		})
	}
}

func TestDailyQuotaNotRetried(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("X-RateLimit-Daily-Remaining", "0")
		w.WriteHeader(429)
		fmt.Fprint(w, `{"statusCode":429,"message":"Daily API limit exceeded"}`)
	}))
	_, err := c.List(context.Background(), ListQuery{Type: TypeFile})
	if !errors.Is(err, remote.ErrQuotaExhausted) || n.Load() != 1 {
		t.Fatalf("err %v after %d requests", err, n.Load())
	}
}

func TestIdempotentRetryOn5xx(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.WriteHeader(502)
			return
		}
		fmt.Fprint(w, `{"updated":true}`)
	}))
	if err := c.Rename(context.Background(), "x", "y"); err != nil || n.Load() != 3 {
		t.Fatalf("err %v after %d", err, n.Load())
	}
}

// An upload whose answer is lost (a 500 after the work was done) must not be
// sent again once a listing shows it landed.
func TestAmbiguousUploadNotDuplicated(t *testing.T) {
	var uploads atomic.Int32
	var mu sync.Mutex
	var stored []string
	id := fmt.Sprintf("%08x%016x", time.Now().Unix(), 1)
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/medias/upload-file":
			uploads.Add(1)
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				t.Error(err)
			}
			mu.Lock()
			stored = append(stored, r.FormValue("name"))
			mu.Unlock()
			w.WriteHeader(500)
			fmt.Fprint(w, `{"statusCode":500,"message":"boom"}`)
		case r.Method == "GET" && r.URL.Path == "/medias/files":
			mu.Lock()
			defer mu.Unlock()
			if len(stored) == 0 || r.URL.Query().Get("offset") != "0" {
				fmt.Fprint(w, `{"files":[]}`)
				return
			}
			fmt.Fprintf(w, `{"files":[{"_id":%q,"name":%q,"type":"file","size":5,"url":"http://x/y"}]}`, id, stored[0])
		}
	}))
	it, err := c.UploadFile(context.Background(), Upload{Name: "report.pdf", Size: 5, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("hello")), nil }})
	if err != nil || it.ID != id || uploads.Load() != 1 {
		t.Fatalf("got %+v, %v after %d uploads", it, err, uploads.Load())
	}
}

// The server caps pages below the limit asked for: nothing may go missing,
// and once the cap is known a short page ends the listing at once.
func TestListPagingUnderACap(t *testing.T) {
	const total, pageCap = 23, 5
	var calls atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		q := r.URL.Query()
		off, _ := strconv.Atoi(q.Get("offset"))
		lim, _ := strconv.Atoi(q.Get("limit"))
		lim = min(lim, pageCap)
		var parts []string
		for i := off; i < min(off+lim, total); i++ {
			parts = append(parts, fmt.Sprintf(`{"_id":"id%02d","name":"n%d"}`, i, i))
		}
		fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(parts, ","))
	}), func(cfg *Config) { cfg.PageSize = 10 })
	items, err := c.List(context.Background(), ListQuery{Type: TypeFile})
	if err != nil || len(items) != total {
		t.Fatalf("%d items, %v", len(items), err)
	}
	// Pages of 5 overlap by 2 (List's overlap, at most half a page), so
	// they start at 0, 3, 6, ... 21; the last, of 2, is shorter than pages
	// seen and ends the listing.
	if calls.Load() != 8 {
		t.Errorf("%d calls, want 8", calls.Load())
	}
}

func TestStorageReadsResumeAndCarryNoToken(t *testing.T) {
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var cuts atomic.Int32
	var sawToken atomic.Bool
	c, srv := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			sawToken.Store(true)
		}
		var from, to int
		fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &from, &to)
		to = min(to, len(data)-1)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, len(data)))
		w.Header().Set("Content-Length", strconv.Itoa(to-from+1))
		w.WriteHeader(206)
		body := data[from : to+1]
		if cuts.Add(1) <= 3 {
			w.Write(body[:len(body)/3]) // then the connection breaks
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		w.Write(body)
	}))
	buf := make([]byte, 600000)
	n, err := c.ReadAt(context.Background(), srv.URL+"/storage/f.bin", buf, 1000)
	if err != nil || n != len(buf) || string(buf) != string(data[1000:1000+len(buf)]) {
		t.Fatalf("n=%d err=%v equal=%v", n, err, string(buf) == string(data[1000:1000+len(buf)]))
	}
	if sawToken.Load() {
		t.Error("the API token was sent to the storage host")
	}
	// Past the end: EOF with what there is.
	n, err = c.ReadAt(context.Background(), srv.URL+"/storage/f.bin", make([]byte, 100), int64(len(data)-10))
	if n != 10 || err != io.EOF {
		t.Errorf("tail read: n=%d err=%v", n, err)
	}
}

// A server that ignores offset sends the same page again: the listing ends
// instead of asking for ever.
func TestListEndsOnARepeatedPage(t *testing.T) {
	var calls atomic.Int64
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var items []string
		for i := range 150 {
			items = append(items, fmt.Sprintf(`{"_id":"%024x","name":"f%d","type":"file"}`, i+1, i))
		}
		fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(items, ","))
	}))
	items, err := c.List(context.Background(), ListQuery{Type: TypeFile, FetchAll: true})
	if err != nil || len(items) != 150 || calls.Load() > 3 {
		t.Fatalf("%d items, %v, %d calls", len(items), err, calls.Load())
	}
}

// Items removed from an earlier page while a listing runs move the later
// ones back: the overlap of pages keeps the item at the boundary, and a
// shift larger than the overlap makes the listing start again.
func TestListSurvivesRemovalsWhileItRuns(t *testing.T) {
	for _, removed := range []int{1, 3, 10} {
		t.Run(fmt.Sprint(removed), func(t *testing.T) {
			var mu sync.Mutex
			items := make([]string, 250)
			for i := range items {
				items[i] = fmt.Sprintf("%024x", i+1)
			}
			var calls atomic.Int32
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if calls.Add(1) == 2 {
					// Between the first and second page, the first items go.
					items = items[removed:]
				}
				q := r.URL.Query()
				off, _ := strconv.Atoi(q.Get("offset"))
				lim, _ := strconv.Atoi(q.Get("limit"))
				var parts []string
				for i := off; i < min(off+lim, len(items)); i++ {
					parts = append(parts, fmt.Sprintf(`{"_id":"%s","name":"n"}`, items[i]))
				}
				fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(parts, ","))
			}))
			got, err := c.List(context.Background(), ListQuery{Type: TypeFile})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			want := slices.Clone(items)
			mu.Unlock()
			ids := map[string]bool{}
			for _, it := range got {
				ids[it.ID] = true
			}
			for _, id := range want {
				if !ids[id] {
					t.Errorf("%s is missing from the listing (%d items, %d calls)", id, len(got), calls.Load())
				}
			}
		})
	}
}

// Folder pages capped lower than file pages: what was learnt of one kind of
// listing does not cut the other short.
func TestPageFloorPerKindOfListing(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		off, _ := strconv.Atoi(q.Get("offset"))
		capN, total := 100, 250
		if q.Get("type") == "folder" {
			capN, total = 20, 50
		}
		var items []string
		for i := off; i < min(off+capN, total); i++ {
			items = append(items, fmt.Sprintf(`{"_id":"%s%021x","name":"x%d"}`, q.Get("type")[:3], i+1, i))
		}
		fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(items, ","))
	}), func(cfg *Config) { cfg.PageSize = 100 })
	files, _ := c.List(context.Background(), ListQuery{Type: TypeFile})
	folders, _ := c.List(context.Background(), ListQuery{Type: TypeFolder})
	if len(files) != 250 || len(folders) != 50 {
		t.Fatalf("files %d/250, folders %d/50", len(files), len(folders))
	}
}

// A page of items all seen before, but not the page before again, is a
// pass whose order shifted (tied items reordered), not a server that
// ignores offset: the listing is read again in another order, and every
// item comes back.
func TestListPageOfSeenItemsIsNotTheEnd(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e", "f"}
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		off, _ := strconv.Atoi(q.Get("offset"))
		lim, _ := strconv.Atoi(q.Get("limit"))
		var page []string
		if q.Get("sortBy") == "createdAt" {
			page = map[int][]string{0: {"a", "b", "c", "d"}, 2: {"c", "d", "a", "b"}}[off]
		} else {
			page = all[min(off, len(all)):min(off+lim, len(all))]
		}
		var parts []string
		for _, id := range page {
			parts = append(parts, fmt.Sprintf(`{"_id":"%s","name":"%s"}`, id, id))
		}
		fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(parts, ","))
	}), func(cfg *Config) { cfg.PageSize = 4 })
	got, err := c.List(context.Background(), ListQuery{Type: TypeFile})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range got {
		names = append(names, it.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, all) {
		t.Fatalf("listed %q, want %q", names, all)
	}
}
