package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// pageOf answers a list request with the items of ids from offset.
func pageOf(w http.ResponseWriter, r *http.Request, id func(i int) string, total int) {
	q := r.URL.Query()
	off, _ := strconv.Atoi(q.Get("offset"))
	lim, _ := strconv.Atoi(q.Get("limit"))
	var parts []string
	for i := off; i < min(off+lim, total); i++ {
		parts = append(parts, fmt.Sprintf(`{"_id":%q,"name":"f%d","type":"file","size":1,"parentId":%q}`, id(i), i, q.Get("parentId")))
	}
	fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(parts, ","))
}

// A server whose pages never end is stopped at the bound, with a clear
// error, having handed over no more than the bound: every page full of new
// ids, or of ids it sent before with a few new ones each time.
func TestListStopsAServerThatNeverEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		page func(off, lim int) []string
	}{
		{"new ids for ever", func(off, lim int) []string {
			ids := make([]string, lim)
			for i := range ids {
				ids[i] = fmt.Sprintf("%024x", off+i+1)
			}
			return ids
		}},
		{"one new id a page, the rest repeated", func(off, lim int) []string {
			// Consistent with offset (so the overlap of pages holds), yet
			// each page brings one new id: 50 a page, 46 past the overlap.
			ids := make([]string, lim)
			for i := range ids {
				if p := off + i; p%46 == 0 {
					ids[i] = fmt.Sprintf("%024x", p+1)
				} else {
					ids[i] = fmt.Sprintf("r%023x", p%46)
				}
			}
			return ids
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				q := r.URL.Query()
				off, _ := strconv.Atoi(q.Get("offset"))
				lim, _ := strconv.Atoi(q.Get("limit"))
				var parts []string
				for _, id := range tc.page(off, lim) {
					parts = append(parts, fmt.Sprintf(`{"_id":%q,"name":"n","type":"file"}`, id))
				}
				fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(parts, ","))
			}), func(c *Config) { c.MaxListItems = 2000; c.PageSize = 50 })
			added := 0
			err := c.ListEach(context.Background(), ListQuery{Type: remote.TypeFile}, func() { added = 0 }, func(remote.Item) { added++ })
			if !errors.Is(err, remote.ErrListTooLong) {
				t.Fatalf("err = %v after %d calls, want remote.ErrListTooLong", err, calls.Load())
			}
			if !strings.Contains(err.Error(), "2000") || !strings.Contains(err.Error(), "the root folder") {
				t.Errorf("the error does not say the bound and the folder: %v", err)
			}
			if added > 2000 {
				t.Errorf("%d items handed over past the bound of 2000", added)
			}
			if n := calls.Load(); n > 2000/(50-pageOverlap)+2 {
				t.Errorf("%d calls: the bound counts every item that came", n)
			}
		})
	}
}

// One enormous whole-library answer fails at once, with a clear error
// and no retry, whether its size is announced or not; nothing past the
// bound is read.
func TestListRefusesAnEnormousPage(t *testing.T) {
	for _, announced := range []bool{true, false} {
		t.Run(fmt.Sprintf("announced=%v", announced), func(t *testing.T) {
			var calls atomic.Int64
			item := []byte(`{"_id":"000000000000000000000001","name":"` + strings.Repeat("n", 1000) + `","type":"file"},`)
			const bound = 4 << 20 // the default, remote.MaxListAnswerBytes, as far as a test needs
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				n := (bound/len(item) + 10) * len(item)
				if announced {
					w.Header().Set("Content-Length", strconv.Itoa(n+len(`{"files":[]}`)))
				}
				w.Write([]byte(`{"files":[`))
				for written := 0; written < n; written += len(item) {
					if _, err := w.Write(item); err != nil {
						return
					}
				}
				w.Write([]byte(`]}`))
			}), func(cfg *Config) { cfg.MaxListAnswer = bound })
			_, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile, FetchAll: true})
			if !errors.Is(err, remote.ErrAnswerTooLarge) {
				t.Fatalf("err = %v, want remote.ErrAnswerTooLarge", err)
			}
			if calls.Load() != 1 {
				t.Errorf("%d calls: an answer too large was asked for again", calls.Load())
			}
		})
	}
}

// The larger bound of a listing's answer (MaxListAnswerBytes, for a
// server that answers fetchAll whole) is for whole-library listings only:
// a page of one folder's listing is held to MaxAnswerBytes, as every
// other answer is. (Every listing page was allowed the larger bound.)
func TestListAnswerBoundByKind(t *testing.T) {
	item := `{"_id":"%024x","name":"` + strings.Repeat("n", 1000) + `","type":"file"}`
	n := remote.MaxAnswerBytes/len(fmt.Sprintf(item, 0)) + 100 // just over MaxAnswerBytes
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"files":[`))
		if r.URL.Query().Get("offset") == "0" {
			for i := range n {
				if i > 0 {
					w.Write([]byte(","))
				}
				fmt.Fprintf(w, item, i+1)
			}
		}
		w.Write([]byte(`]}`))
	}))
	if _, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile, ParentID: "folder1"}); !errors.Is(err, remote.ErrAnswerTooLarge) {
		t.Errorf("a folder's page over %d bytes: err = %v, want ErrAnswerTooLarge", remote.MaxAnswerBytes, err)
	}
	items, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile, FetchAll: true})
	if err != nil || len(items) != n {
		t.Errorf("a whole-library answer of %d items (under MaxListAnswerBytes): %d items, %v", n, len(items), err)
	}
}

// The call timeout bounds each page, not the listing: 40 pages that take
// 20 ms each list completely under a 300 ms timeout; a page that takes
// longer than the timeout fails.
func TestListTimeoutIsPerPage(t *testing.T) {
	const total = 40 * 46
	var stall atomic.Bool
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait := 20 * time.Millisecond
		if stall.Load() {
			wait = time.Second
		}
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
		pageOf(w, r, func(i int) string { return fmt.Sprintf("%024x", i+1) }, total)
	}), func(c *Config) {
		c.RetryTimeout = 300 * time.Millisecond
		c.PageSize = 50
	})
	start := time.Now()
	items, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile, ParentID: "big", Label: "/Clients/big"})
	if err != nil {
		t.Fatalf("a listing making progress failed after %s: %v", time.Since(start), err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("the listing took %s: it does not show that the timeout is per page", took)
	}
	if len(items) != total {
		t.Fatalf("%d items, want %d", len(items), total)
	}
	stall.Store(true)
	if _, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a page that never came: err = %v, want a deadline", err)
	}
}

// Progress lines name the listing and the count so far, every
// progressEvery items, and a last one gives the total.
func TestListLogsProgress(t *testing.T) {
	const total = 2*progressEvery + 10
	var logs syncBuf
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageOf(w, r, func(i int) string { return fmt.Sprintf("%024x", i+1) }, total)
	}), func(c *Config) {
		c.PageSize = 1000
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if _, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile, ParentID: "big", Label: "/Clients/big"}); err != nil {
		t.Fatal(err)
	}
	var progress []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "/Clients/big") {
			progress = append(progress, line)
		}
	}
	if len(progress) != 3 || !strings.Contains(progress[0], "files so far") || !strings.Contains(progress[2], fmt.Sprintf("listed /Clients/big: %d files", total)) {
		t.Fatalf("progress lines:\n%s", strings.Join(progress, "\n"))
	}
}

// Ids holding path characters stay one path segment of the request.
func TestHostileIDsStayOnePathSegment(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		fmt.Fprint(w, `{"updated":true}`)
	}))
	ctx := context.Background()
	for _, id := range []string{"a/b", "..", ".", "x?y#z", "%2F", "sp ace"} {
		if err := c.Rename(ctx, id, "n"); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/medias/a%2Fb", "/medias/%2E%2E", "/medias/%2E", "/medias/x%3Fy%23z", "/medias/%252F", "/medias/sp%20ace"}
	for i, w := range want {
		for j, method := range []string{"POST", "DELETE"} {
			if got := paths[2*i+j]; got != method+" "+w {
				t.Errorf("request %d: %s, want %s %s", 2*i+j, got, method, w)
			}
		}
	}
}

// Server data past the bounds: a name longer than remote.MaxNameBytes is cut at a
// character boundary, a size past remote.MaxFileSize is unknown, an id longer
// than remote.MaxIDBytes is skipped (and counted in one line).
func TestItemBounds(t *testing.T) {
	long := strings.Repeat("é", remote.MaxNameBytes) // 2 bytes each
	var it remote.Item
	body, _ := json.Marshal(map[string]any{"_id": "a", "name": long, "size": float64(1 << 50)})
	if err := json.Unmarshal(body, (*apiItem)(&it)); err != nil {
		t.Fatal(err)
	}
	if len(it.Name) > remote.MaxNameBytes || len(it.Name) < remote.MaxNameBytes-1 || !strings.HasPrefix(long, it.Name) {
		t.Errorf("name of %d bytes, want about %d, a prefix", len(it.Name), remote.MaxNameBytes)
	}
	if it.Size != -1 {
		t.Errorf("size %d, want -1 (unknown)", it.Size)
	}
	var logs syncBuf
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("offset") != "0" {
			fmt.Fprint(w, `{"files":[]}`)
			return
		}
		fmt.Fprintf(w, `{"files":[{"_id":"ok","name":"a"},{"_id":%q,"name":"b"},{"_id":%q,"name":"c"}]}`, strings.Repeat("x", remote.MaxIDBytes+1), strings.Repeat("y", 100000))
	}), func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	items, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile})
	if err != nil || len(items) != 1 || items[0].ID != "ok" {
		t.Fatalf("%v, %v", items, err)
	}
	if n := strings.Count(logs.String(), "skipped 2 items whose id is longer"); n != 1 {
		t.Errorf("%d lines about the skipped ids:\n%s", n, logs.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
