package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
)

// The CSV endpoints' wire format as the client sends and reads it, against
// servers of each shape the reference leaves open.

// csvServer serves GET csv from imports (their ids), paged by skip and
// limit, with wrap shaping each answer's results.
func csvServer(t *testing.T, mu *sync.Mutex, ids *[]string, wrap func(page []string, total int) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/social-media-posting/loc1/csv" || r.Method != "GET" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		skip, err1 := strconv.Atoi(r.URL.Query().Get("skip"))
		limit, err2 := strconv.Atoi(r.URL.Query().Get("limit"))
		if err1 != nil || err2 != nil {
			t.Errorf("skip %q, limit %q", r.URL.Query().Get("skip"), r.URL.Query().Get("limit"))
		}
		mu.Lock()
		all := slices.Clone(*ids)
		mu.Unlock()
		from, to := min(skip, len(all)), min(skip+limit, len(all))
		fmt.Fprintf(w, `{"success":true,"statusCode":200,"message":"Fetched CSV Upload Status","results":%s}`, wrap(all[from:to], len(all)))
	}
}

func csvRecords(ids []string) string {
	var recs []string
	for _, id := range ids {
		recs = append(recs, fmt.Sprintf(`{"_id":%q,"fileName":"f-%s.csv","status":"completed","count":"3","accountIds":["a",7,"b"],"createdAt":"2025-01-02T03:04:05.000Z"}`, id, id))
	}
	return "[" + strings.Join(recs, ",") + "]"
}

func manyIDs(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%024x", i+1))
	}
	return out
}

func importIDs(imps []remote.CSVImport) []string {
	var out []string
	for _, imp := range imps {
		out = append(out, imp.ID)
	}
	return out
}

// skip and limit go as strings (limit 10); every import comes once, its
// fields read loosely (a count as a string, an account id that is no
// string left out), under each reading of count.
func TestCSVImportsPaging(t *testing.T) {
	for name, wrap := range map[string]func([]string, int) string{
		"count-total": func(p []string, n int) string { return fmt.Sprintf(`{"csvs":%s,"count":%d}`, csvRecords(p), n) },
		"count-page":  func(p []string, n int) string { return fmt.Sprintf(`{"csvs":%s,"count":%d}`, csvRecords(p), len(p)) },
		"no-count":    func(p []string, n int) string { return fmt.Sprintf(`{"csvs":%s}`, csvRecords(p)) },
	} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			ids := manyIDs(43)
			var calls atomic.Int32
			h := csvServer(t, &mu, &ids, wrap)
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); h(w, r) }))
			got, err := c.CSVImports(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(importIDs(got), ids) {
				t.Fatalf("got %d imports: %v", len(got), importIDs(got))
			}
			imp := got[0]
			if imp.FileName != "f-"+ids[0]+".csv" || imp.Status != remote.CSVCompleted || imp.Count != 3 || !slices.Equal(imp.AccountIDs, []string{"a", "b"}) || imp.CreatedAt.Format("2006-01-02") != "2025-01-02" {
				t.Errorf("import %+v", imp)
			}
			// Pages of 10 overlapping by one: 9 new a page after the first.
			if n := calls.Load(); n < 5 || n > 7 {
				t.Errorf("%d calls for 43 imports", n)
			}
		})
	}
}

// csvs as an object: one import (it has an _id), or imports keyed by
// index or by id, taken in the order sent.
func TestCSVImportsObjectShapes(t *testing.T) {
	for name, wrap := range map[string]func([]string, int) string{
		"keyed-by-index": func(p []string, n int) string {
			var recs []json.RawMessage
			json.Unmarshal([]byte(csvRecords(p)), &recs)
			var parts []string
			for i, r := range recs {
				parts = append(parts, fmt.Sprintf(`"%d":%s`, i, r))
			}
			return fmt.Sprintf(`{"csvs":{%s},"count":%d}`, strings.Join(parts, ","), n)
		},
		"keyed-by-id": func(p []string, n int) string {
			var recs []json.RawMessage
			json.Unmarshal([]byte(csvRecords(p)), &recs)
			var parts []string
			for i, r := range recs {
				parts = append(parts, fmt.Sprintf(`%q:%s`, p[i], r))
			}
			return fmt.Sprintf(`{"csvs":{%s},"count":%d}`, strings.Join(parts, ","), n)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			ids := manyIDs(25)
			c, _ := newTestClient(t, csvServer(t, &mu, &ids, wrap))
			got, err := c.CSVImports(context.Background())
			if err != nil || !slices.Equal(importIDs(got), ids) {
				t.Fatalf("got %v, %v", importIDs(got), err)
			}
		})
	}
	one := `{"_id":"65f92e55cc884f0d0845e447","fileName":"one.csv"}`
	items, err := csvItems(json.RawMessage(one))
	if err != nil || len(items) != 1 || string(items[0]) != one {
		t.Errorf("one import: %s, %v", items, err)
	}
}

// An import removed elsewhere while the listing runs moves the later
// pages back: the pass is read again, and no import is missed.
func TestCSVImportsRemovalWhileListing(t *testing.T) {
	var mu sync.Mutex
	ids := manyIDs(30)
	want := slices.Clone(ids)
	want = slices.Delete(want, 2, 3)
	var removed atomic.Bool
	h := csvServer(t, &mu, &ids, func(p []string, n int) string { return fmt.Sprintf(`{"csvs":%s,"count":%d}`, csvRecords(p), n) })
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r)
		if r.URL.Query().Get("skip") == "0" && !removed.Swap(true) {
			mu.Lock()
			ids = slices.Delete(ids, 2, 3)
			mu.Unlock()
		}
	}))
	got, err := c.CSVImports(context.Background())
	if err != nil || !slices.Equal(importIDs(got), want) {
		t.Fatalf("got %v, %v", importIDs(got), err)
	}
}

// A server whose pages never line up fails the listing with
// ErrListUnstable, rather than show it short.
func TestCSVImportsUnstable(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"success":true,"results":{"csvs":%s,"count":100}}`, csvRecords(manyIDs(int(n.Add(1)) * 10)[:10]))
	}))
	if _, err := c.CSVImports(context.Background()); !errors.Is(err, remote.ErrListUnstable) {
		t.Fatalf("err %v", err)
	}
}

// "success": false is a failure, whatever the HTTP status.
func TestCSVSuccessFalse(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"success":false,"statusCode":422,"message":["csv is busy"]}`)
	}))
	err := c.DeleteCSVImport(context.Background(), "x")
	var e *remote.Error
	if !errors.As(err, &e) || e.Status != 422 || !errors.Is(err, remote.ErrInvalid) || !slices.Equal(e.Messages, []string{"csv is busy"}) {
		t.Fatalf("err %#v", err)
	}
}

// DELETE goes to csv/{id}, the id one escaped path segment; its refusals
// keep their kinds and the service's words, and a 5xx is sent again.
func TestCSVDeleteAnswers(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		kind   error
	}{
		{404, `{"statusCode":404,"message":"CSV not found","error":"Not Found"}`, remote.ErrNotFound},
		{400, `{"statusCode":400,"message":"Bad Request"}`, remote.ErrInvalid},
		{422, `{"statusCode":422,"message":["Unprocessable Entity","and more"],"error":"Unprocessable Entity"}`, remote.ErrInvalid},
		{403, `{"statusCode":403,"message":"Forbidden resource"}`, remote.ErrForbidden},
		{401, `{"statusCode":401,"message":"The token is not authorized for this scope.","error":"Unauthorized"}`, remote.ErrScope},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			var logs bytes.Buffer
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != "DELETE" || r.URL.EscapedPath() != "/social-media-posting/loc1/csv/a%2Fb" {
					t.Errorf("%s %s", r.Method, r.URL.EscapedPath())
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}), func(cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
			err := c.DeleteCSVImport(context.Background(), "a/b")
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err %v, want %v", err, tc.kind)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("the client logged (the mount says what a refusal means):\n%s", logs.String())
			}
		})
	}
	// A 429 and a 5xx are sent again, by the request core.
	for _, status := range []int{429, 503} {
		var calls atomic.Int32
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(status)
				return
			}
			fmt.Fprint(w, `{"success":true,"statusCode":200,"message":"Deleted Post","results":{"csv":{"status":"completed"}}}`)
		}))
		if err := c.DeleteCSVImport(context.Background(), "x"); err != nil || calls.Load() != 2 {
			t.Fatalf("%d: err %v after %d calls", status, err, calls.Load())
		}
	}
}

// A scope refusal of a CSV endpoint is not logged by the client: the
// mount says what it means (no folder; rm refused). Elsewhere it still
// is, once.
func TestCSVScopeRefusalNotLogged(t *testing.T) {
	var logs bytes.Buffer
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"statusCode":401,"message":"The token is not authorized for this scope.","error":"Unauthorized"}`)
	}), func(cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	if _, err := c.CSVImports(context.Background()); !errors.Is(err, remote.ErrScope) {
		t.Fatalf("err %v", err)
	}
	if logs.Len() != 0 {
		t.Errorf("logged:\n%s", logs.String())
	}
	if _, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile}); !errors.Is(err, remote.ErrScope) {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the media listing's refusal was not logged:\n%s", logs.String())
	}
}
