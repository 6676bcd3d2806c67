package ghl_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// stepClock is the fake's clock: it moves only when told.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Step() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
}

// updatedLibrary is a fake holding n files in the root created a second
// apart (f000 the oldest), and a client that lists pages of 100.
func updatedLibrary(t *testing.T, n int, quirks ...string) (*ghl.Client, *ghltest.Server, *stepClock, []string) {
	t.Helper()
	clk := &stepClock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	c, srv := quirkClient(t, ghltest.Options{Now: clk.Now, Quirks: quirks}, func(cfg *ghl.Config) { cfg.PageSize = 100 })
	srv.AddFolder("", "a folder")
	ids := make([]string, n)
	for i := range n {
		clk.Step()
		ids[i] = srv.AddFile("", fmt.Sprintf("f%03d", i), "", []byte{byte(i)})
	}
	clk.Step()
	srv.ResetStats()
	return c, srv, clk, ids
}

// listUpdated visits up to max items (all when max < 0) and returns their
// names and the calls it made.
func listUpdated(t *testing.T, c *ghl.Client, srv *ghltest.Server, max int) ([]string, int64, error) {
	t.Helper()
	srv.ResetStats()
	var got []string
	err := c.ListUpdated(remote.Background(context.Background()), ghl.TypeFile, func(it ghl.Item) bool {
		got = append(got, it.Name)
		return max < 0 || len(got) < max
	})
	return got, srv.Stats().ByEndpoint[ghltest.EndpointList], err
}

func TestListUpdatedNewestFirstStopsEarly(t *testing.T) {
	c, srv, _, _ := updatedLibrary(t, 250)
	// A poll that stops at the third item asks for one page only.
	got, calls, err := listUpdated(t, c, srv, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"f249", "f248", "f247"}) || calls != 1 {
		t.Fatalf("visited %q in %d calls, want f249 f248 f247 in 1", got, calls)
	}
	// Read to the end: every file once, newest first, in three pages.
	got, calls, err = listUpdated(t, c, srv, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 250 || calls != 3 {
		t.Fatalf("visited %d files in %d calls, want 250 in 3", len(got), calls)
	}
	for i, name := range got {
		if want := fmt.Sprintf("f%03d", 249-i); name != want {
			t.Fatalf("item %d is %s, want %s", i, name, want)
		}
	}
	// Folders are listed apart.
	var folders []string
	if err := c.ListUpdated(context.Background(), ghl.TypeFolder, func(it ghl.Item) bool {
		folders = append(folders, it.Name)
		return true
	}); err != nil || !slices.Equal(folders, []string{"a folder"}) {
		t.Fatalf("folders %q, %v", folders, err)
	}
}

// A rename or an upload puts an item at the front; a trashed item is
// not visited, even where the server lists the trash.
func TestListUpdatedChangesComeFirst(t *testing.T) {
	for _, quirks := range [][]string{nil, {ghltest.QuirkTrashListed}} {
		t.Run(strings.Join(quirks, ","), func(t *testing.T) {
			c, srv, clk, ids := updatedLibrary(t, 150, quirks...)
			ctx := context.Background()
			if err := c.Rename(ctx, ids[10], "renamed"); err != nil {
				t.Fatal(err)
			}
			clk.Step()
			if _, err := c.UploadFile(ctx, ghl.Upload{Name: "new", Size: 1, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("n")), nil }}); err != nil {
				t.Fatal(err)
			}
			clk.Step()
			if err := c.DeleteMany(ctx, []string{ids[149]}, ghl.StatusTrashed); err != nil {
				t.Fatal(err)
			}
			got, calls, err := listUpdated(t, c, srv, 3)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"new", "renamed", "f148"}; !slices.Equal(got, want) || calls != 1 {
				t.Fatalf("visited %q in %d calls, want %q in 1", got, calls, want)
			}
			all, _, err := listUpdated(t, c, srv, -1)
			if err != nil || len(all) != 150 || slices.Contains(all, "f149") || slices.Contains(all, "f010") {
				t.Fatalf("%d items, %v; f149 (trashed) or f010 (renamed) listed: %v %v", len(all), err,
					slices.Contains(all, "f149"), slices.Contains(all, "f010"))
			}
			// The server's state agrees.
			if it, _ := srv.Item(ids[149]); it.Status != ghltest.StatusTrashed {
				t.Errorf("f149 is %s", it.Status)
			}
		})
	}
}

// A server that ignores sortBy=updatedAt is found out once an item was
// changed after its creation: the listing fails with ErrOrderIgnored.
func TestListUpdatedOrderIgnored(t *testing.T) {
	c, srv, _, ids := updatedLibrary(t, 150, ghltest.QuirkUpdatedOrderIgnored)
	// Before any change, createdAt order is updatedAt order: nothing to see.
	if got, _, err := listUpdated(t, c, srv, -1); err != nil || len(got) != 150 {
		t.Fatalf("%d items, %v", len(got), err)
	}
	if err := c.Rename(context.Background(), ids[140], "renamed"); err != nil {
		t.Fatal(err)
	}
	// f140 comes after f141 though renamed after it: the first page shows it.
	got, calls, err := listUpdated(t, c, srv, -1)
	if !errors.Is(err, remote.ErrOrderIgnored) {
		t.Fatalf("err %v, want ErrOrderIgnored", err)
	}
	if len(got) != 0 || calls != 1 {
		t.Errorf("visited %d items in %d calls before the error, want 0 in 1", len(got), calls)
	}
}

// Items without updatedAt cannot be listed by it.
func TestListUpdatedWithoutUpdatedAt(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{RateLimit: -1, MinimalFields: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddFile("", "a", "", []byte("a"))
	c, err := ghl.New(ghl.Config{BaseURL: srv.URL, Token: ghltest.DefaultToken, LocationID: ghltest.DefaultLocationID, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	err = c.ListUpdated(context.Background(), ghl.TypeFile, func(ghl.Item) bool { return true })
	if !errors.Is(err, remote.ErrOrderIgnored) {
		t.Fatalf("err %v, want ErrOrderIgnored", err)
	}
}

// A server that refuses the order, and one whose second page brings a
// newer item than the end of the first, are found out too.
func TestListUpdatedServerOrders(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		c := fixedServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"statusCode":422,"message":["sortBy must be one of the following values: createdAt, name"],"error":"Unprocessable Entity"}`)
		})
		err := c.ListUpdated(context.Background(), ghl.TypeFile, func(ghl.Item) bool { return true })
		if !errors.Is(err, remote.ErrOrderIgnored) || !errors.Is(err, remote.ErrInvalid) {
			t.Fatalf("err %v, want ErrOrderIgnored and ErrInvalid", err)
		}
	})
	t.Run("across pages", func(t *testing.T) {
		// The page from offset 2 (the overlap) brings none of the items
		// of the first, as if more than the overlap had been removed, and
		// starts with one newer than the first page's end.
		pages := map[string][][2]string{
			"0": {{"a", "09"}, {"b", "08"}, {"c", "07"}, {"d", "06"}},
			"2": {{"e", "10"}, {"f", "05"}, {"g", "04"}},
		}
		c := fixedServer(t, func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("sortBy") != "updatedAt" || q.Get("sortOrder") != "desc" || q.Get("fetchAll") != "true" {
				t.Errorf("query %s", r.URL.RawQuery)
			}
			var parts []string
			for _, it := range pages[q.Get("offset")] {
				parts = append(parts, fmt.Sprintf(`{"_id":"%s","name":"%s","type":"file","updatedAt":"2025-06-01T10:%s:00.000Z"}`, it[0], it[0], it[1]))
			}
			fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(parts, ","))
		}, func(cfg *ghl.Config) { cfg.PageSize = 4 })
		var got []string
		err := c.ListUpdated(context.Background(), ghl.TypeFile, func(it ghl.Item) bool {
			got = append(got, it.Name)
			return true
		})
		if !errors.Is(err, remote.ErrOrderIgnored) {
			t.Fatalf("err %v, want ErrOrderIgnored", err)
		}
		if !slices.Equal(got, []string{"a", "b", "c", "d"}) {
			t.Errorf("visited %q before the error, want the first page", got)
		}
	})
}

// fixedServer is a client of a server that answers with h.
func fixedServer(t *testing.T, h http.HandlerFunc, mod ...func(*ghl.Config)) *ghl.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := ghl.Config{BaseURL: srv.URL, Token: "secret-token", LocationID: "loc1", RateLimit: -1, RetryTimeout: 20 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := ghl.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
