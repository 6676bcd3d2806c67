package ghl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The client against the fake with one quirk on: what the client does must
// not depend on which plausible behaviour the real service has.

func quirkClient(t *testing.T, opts ghltest.Options, mod ...func(*ghl.Config)) (*ghl.Client, *ghltest.Server) {
	t.Helper()
	opts.RateLimit = -1
	opts.LocationID = "loc-quirks"
	srv, err := ghltest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg := ghl.Config{BaseURL: srv.URL, Token: ghltest.DefaultToken, LocationID: "loc-quirks", RateLimit: -1, RetryTimeout: 20 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := ghl.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func ids(items []remote.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	slices.Sort(out)
	return out
}

// 250 files created in one millisecond, listed in pages of 100 by a server
// that orders them differently on every request: every one comes back
// exactly once; and the second listing reads in the order that worked.
func TestListUnstableTies(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUnstableTies}})
	folder := srv.AddFolder("", "bulk")
	names := make([]string, 250)
	data := make([][]byte, 250)
	for i := range names {
		names[i] = fmt.Sprintf("f%03d.txt", i)
		data[i] = []byte(names[i])
	}
	want := srv.AddFiles(folder, names, data)
	slices.Sort(want)
	for round := range 3 {
		srv.ResetStats()
		got, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile, ParentID: folder})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 250 || !slices.Equal(ids(got), want) {
			t.Fatalf("round %d: %d items, %d distinct of 250", round, len(got), len(slices.Compact(ids(got))))
		}
		if calls := srv.Stats().ByEndpoint[ghltest.EndpointList]; round > 0 && calls > 4 {
			t.Errorf("round %d: %d list calls; the order that worked should be read first", round, calls)
		}
	}
}

func TestListTrashListed(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkTrashListed}})
	keep := srv.AddFile("", "keep.txt", "", []byte("k"))
	gone := srv.AddFile("", "gone.txt", "", []byte("g"))
	if err := c.DeleteMany(context.Background(), []string{gone}, ghl.StatusTrashed); err != nil {
		t.Fatal(err)
	}
	got, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile})
	if err != nil || !slices.Equal(ids(got), []string{keep}) {
		t.Fatalf("listing %v (%v), want only %s", ids(got), err, keep)
	}
}

func TestListRoots(t *testing.T) {
	for _, quirks := range [][]string{{ghltest.QuirkRootParentLocation}, {ghltest.QuirkRootListsAll}, {ghltest.QuirkRootParentLocation, ghltest.QuirkRootListsAll}} {
		t.Run(strings.Join(quirks, "+"), func(t *testing.T) {
			c, srv := quirkClient(t, ghltest.Options{Quirks: quirks})
			f := srv.AddFolder("", "F")
			top := srv.AddFile("", "top.txt", "", []byte("t"))
			inner := srv.AddFile(f, "inner.txt", "", []byte("i"))
			root, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile})
			if err != nil || !slices.Equal(ids(root), []string{top}) || root[0].ParentID != "" {
				t.Fatalf("root: %+v (%v)", root, err)
			}
			sub, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile, ParentID: f})
			if err != nil || !slices.Equal(ids(sub), []string{inner}) {
				t.Fatalf("folder: %v (%v)", ids(sub), err)
			}
			folders, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFolder})
			if err != nil || !slices.Equal(ids(folders), []string{f}) {
				t.Fatalf("root folders: %v (%v)", ids(folders), err)
			}
		})
	}
}

func TestListLimitMax100(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkLimitMax100}, PageCap: 1000},
		func(cfg *ghl.Config) { cfg.PageSize = 500 })
	var want []string
	for i := range 230 {
		want = append(want, srv.AddFile("", fmt.Sprintf("f%d", i), "", nil))
	}
	slices.Sort(want)
	for range 2 {
		got, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile})
		if err != nil || !slices.Equal(ids(got), want) {
			t.Fatalf("%d items (%v)", len(got), err)
		}
	}
	// Round one: a 422, then 3 pages of 100 (overlapping); round two: the
	// 3 pages alone, the page size learnt.
	if n := srv.Stats().ByEndpoint[ghltest.EndpointList]; n != 7 {
		t.Errorf("%d list calls, want 7 (the refused page size is learnt once)", n)
	}
}

func TestRenameNotUpdated(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkRenameNotUpdated}})
	id := srv.AddFile("", "a.txt", "", []byte("a"))
	err := c.Rename(context.Background(), id, "b.txt")
	var nd *remote.NotDoneError
	if !errors.As(err, &nd) {
		t.Fatalf("rename answered updated:false gave %v", err)
	}
	if it, _ := srv.Item(id); it.Name != "a.txt" {
		t.Fatalf("name %q", it.Name)
	}
}

func TestCreateAnswers(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkCreate200, ghltest.QuirkFolderNoID, ghltest.QuirkUploadNoURL}})
	f, err := c.CreateFolder(context.Background(), "", "New (1) [x]")
	if err != nil {
		t.Fatal(err)
	}
	if it, ok := srv.Item(f.ID); !ok || it.Name != "New (1) [x]" || it.Type != ghltest.TypeFolder {
		t.Fatalf("folder %+v: the fake has %+v", f, it)
	}
	up, err := c.UploadFile(context.Background(), remote.Upload{ParentID: f.ID, Name: "a.txt", Size: 1,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte("a"))), nil }})
	if err != nil {
		t.Fatal(err)
	}
	// The placement check of this first upload into a folder lists it, and
	// so learns its url.
	if it, ok := srv.Item(up.ID); !ok || it.ParentID != f.ID || up.URL != it.URL || up.Unconfirmed {
		t.Fatalf("upload %+v: the fake has %+v", up, it)
	}
	if n := len(srv.Items()); n != 2 {
		t.Fatalf("%d items, want 2 (nothing created twice)", n)
	}
}

// A create whose answer was lost is found by name, whatever query means to
// the server, also for names that are special to a regular expression.
func TestFindCreatedUnderQueryQuirks(t *testing.T) {
	names := []string{"plain.png", "logo (1).png", "a+b [draft].txt", "*.txt", "x.y"}
	for _, quirk := range []string{"", ghltest.QuirkQueryPrefix, ghltest.QuirkQueryExact, ghltest.QuirkQueryRegex} {
		t.Run(quirk, func(t *testing.T) {
			var q []string
			if quirk != "" {
				q = []string{quirk}
			}
			c, srv := quirkClient(t, ghltest.Options{Quirks: q})
			srv.AddFile("", "decoy-x-y", "", []byte("d")) // x.y as a regex matches it
			since := time.Now()
			want := map[string]string{}
			for _, n := range names {
				want[n] = srv.AddFile("", n, "", []byte(n))
			}
			for _, n := range names {
				got, ok, err := c.FindCreated(context.Background(), "", remote.TypeFile, n, int64(len(n)), since, nil, nil)
				if err != nil || !ok || got.ID != want[n] {
					t.Errorf("%q: found %v %q (%v), want %s", n, ok, got.ID, err, want[n])
				}
			}
		})
	}
}

// A server whose clock is minutes off: a create found after a lost answer
// is still found (and an older file of the same name is not taken for it).
func TestFindCreatedUnderClockSkew(t *testing.T) {
	for _, skew := range []string{"-5m", "+5m"} {
		t.Run(skew, func(t *testing.T) {
			clock := time.Now().Add(-time.Hour)
			now := func() time.Time { return clock }
			c, srv := quirkClient(t, ghltest.Options{Quirks: []string{"clock-skew=" + skew}, Now: func() time.Time { return now() }})
			old := srv.AddFile("", "a.txt", "", []byte("a"))
			clock = time.Now()
			// One call teaches the client the server's clock.
			if _, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile}); err != nil {
				t.Fatal(err)
			}
			since := time.Now()
			fresh := srv.AddFile("", "a.txt", "", []byte("a"))
			got, ok, err := c.FindCreated(context.Background(), "", remote.TypeFile, "a.txt", 1, since, nil, nil)
			if err != nil || !ok || got.ID != fresh {
				t.Fatalf("found %v %q (%v), want %s (old %s)", ok, got.ID, err, fresh, old)
			}
		})
	}
}

// A service that ignores parentId: the first create into a folder is
// checked, taken back out of the root, and reported; later creates into
// folders fail at once; the root keeps working.
func TestParentIgnored(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkParentIgnored}})
	f := srv.AddFolder("", "F")
	up := func(parent, name string) (remote.Item, error) {
		return c.UploadFile(context.Background(), remote.Upload{ParentID: parent, Name: name, Size: 1,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte("a"))), nil }})
	}
	_, err := up(f, "a.txt")
	var mis *ghl.MisplacedError
	if !errors.As(err, &mis) || !mis.Trashed || mis.ID == "" {
		t.Fatalf("upload into a folder: %v", err)
	}
	if it, _ := srv.Item(mis.ID); it.Status != ghltest.StatusTrashed {
		t.Fatalf("the misplaced copy is %q", it.Status)
	}
	if c.FolderWrites() == nil {
		t.Fatal("FolderWrites is nil after a misplaced upload")
	}
	srv.ResetStats()
	if _, err := c.CreateFolder(context.Background(), f, "sub"); !errors.Is(err, remote.ErrMisplaced) {
		t.Fatalf("mkdir into a folder afterwards: %v", err)
	}
	if _, err := up(f, "b.txt"); !errors.Is(err, remote.ErrMisplaced) {
		t.Fatalf("upload into a folder afterwards: %v", err)
	}
	if n := srv.Stats().APIRequests; n != 0 {
		t.Fatalf("%d calls for creates that fail at once", n)
	}
	if it, err := up("", "root.txt"); err != nil || it.ID == "" {
		t.Fatalf("upload into the root: %v", err)
	}
}

// A service that honours parentId costs, for the first create into a
// folder, a look for its name in the root before it is sent (should its
// answer be lost: a search, then the whole root, as the search holds no
// item of that name; each a short page and the empty one that proves it
// the last, the server's page cap not known yet) and one listing after
// (one page now), and none afterwards.
func TestPlacementCheckedOnce(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{})
	f := srv.AddFolder("", "F")
	for i := range 3 {
		srv.ResetStats()
		if _, err := c.CreateFolder(context.Background(), f, fmt.Sprint("sub", i)); err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		if i == 0 {
			want = 5
		}
		if n := srv.Stats().ByEndpoint[ghltest.EndpointList]; n != want {
			t.Errorf("create %d: %d list calls, want %d", i, n, want)
		}
	}
}

// A server that takes only the documented order, and orders tied items
// differently on every request: no pass lines up, and the listing fails
// rather than come back short (or empty) as if it were whole.
func TestListUnstableAndOneOrderOnly(t *testing.T) {
	_, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUnstableTies}})
	folder := srv.AddFolder("", "bulk")
	names := make([]string, 250)
	data := make([][]byte, 250)
	for i := range names {
		names[i] = fmt.Sprintf("f%03d.txt", i)
	}
	srv.AddFiles(folder, names, data)
	onlyCreatedAt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sortBy") != "" && r.URL.Query().Get("sortBy") != "createdAt" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"statusCode":422,"message":["sortBy must be one of the following values: createdAt"],"error":"Unprocessable Entity"}`)
			return
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(onlyCreatedAt.Close)
	c, err := ghl.New(ghl.Config{BaseURL: onlyCreatedAt.URL, Token: ghltest.DefaultToken, LocationID: "loc-quirks", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile, ParentID: folder})
	if !errors.Is(err, remote.ErrListUnstable) {
		t.Fatalf("%d items, err %v; want ErrListUnstable", len(got), err)
	}
}

// One page boundary inside a run of 150 tied items: every listing has all
// 150, however the ties fall (a page that matched one anchor by chance
// once passed for a whole one).
func TestListTiesAcrossOneBoundary(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUnstableTies}})
	folder := srv.AddFolder("", "bulk")
	names := make([]string, 150)
	data := make([][]byte, 150)
	for i := range names {
		names[i] = fmt.Sprintf("f%03d.txt", i)
	}
	srv.AddFiles(folder, names, data)
	for i := range 300 {
		c2, _ := ghl.New(ghl.Config{BaseURL: srv.URL, Token: ghltest.DefaultToken, LocationID: "loc-quirks", RateLimit: -1})
		if i%2 == 0 {
			c2 = c // also with the order learnt
		}
		got, err := c2.List(context.Background(), ghl.ListQuery{Type: remote.TypeFile, ParentID: folder})
		if err != nil || len(got) != 150 {
			t.Fatalf("listing %d: %d items (%v)", i, len(got), err)
		}
	}
}

// A server that places an upload only when the form has altId and
// altType: uploads into folders land there, with no misplacement found
// (nothing trashed), and every later one too.
func TestUploadNeedsAlt(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUploadNeedsAlt}})
	f := srv.AddFolder("", "F")
	for i := range 3 {
		name := fmt.Sprintf("f%d.txt", i)
		it, err := c.UploadFile(context.Background(), remote.Upload{ParentID: f, Name: name, ContentType: "text/plain", Size: 1,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte("a"))), nil }})
		if err != nil {
			t.Fatalf("upload %s into a folder: %v", name, err)
		}
		if got, _ := srv.Item(it.ID); got.ParentID != f || got.Status != ghltest.StatusActive {
			t.Fatalf("%s is %s in %q, want active in %q", name, got.Status, got.ParentID, f)
		}
	}
	if err := c.FolderWrites(); err != nil {
		t.Fatalf("FolderWrites: %v", err)
	}
	if n := srv.Stats().ByEndpoint[ghltest.EndpointDeleteMany] + srv.Stats().ByEndpoint[ghltest.EndpointDelete]; n != 0 {
		t.Fatalf("%d delete calls: something was trashed", n)
	}
}
