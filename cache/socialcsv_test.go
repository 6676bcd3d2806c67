package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/testlog"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The social planner's CSV imports as the cache keeps them: the listing
// with its TTL, contents generated and kept, removals and what each
// refusal becomes.

// csvStub is the HighLevel backend over the fake, whose DELETE a test
// may answer itself, and which counts the calls and whether each was a
// background one.
type csvStub struct {
	remote.Backend
	sc        remote.SocialCSV
	deleteErr error // when set, DELETE answers this and removes nothing
	// afterList, when set, runs once a listing has come from the fake,
	// before the cache is handed it (what happens while it is on the way)
	afterList func()
	lists     atomic.Int32
	gets      atomic.Int32
	deletes   atomic.Int32
	fg        atomic.Int32 // reads made with a foreground context
}

func (s *csvStub) CSVImports(ctx context.Context) ([]remote.CSVImport, error) {
	s.lists.Add(1)
	if !remote.IsBackground(ctx) {
		s.fg.Add(1)
	}
	all, err := s.sc.CSVImports(ctx)
	if f := s.afterList; f != nil {
		s.afterList = nil
		f()
	}
	return all, err
}

func (s *csvStub) CSVImport(ctx context.Context, id string) (remote.CSVDetail, error) {
	s.gets.Add(1)
	if !remote.IsBackground(ctx) {
		s.fg.Add(1)
	}
	return s.sc.CSVImport(ctx, id)
}

func (s *csvStub) DeleteCSVImport(ctx context.Context, id string) error {
	s.deletes.Add(1)
	if s.deleteErr != nil {
		return s.deleteErr
	}
	return s.sc.DeleteCSVImport(ctx, id)
}

type csvEnv struct {
	srv   *ghltest.Server
	stub  *csvStub
	store *Store
	v     *SocialCSV
	clock *clockwork.FakeClock
	log   *testlog.Buf
}

func newCSVEnv(t *testing.T, fopts ghltest.Options, mod ...func(*Options)) *csvEnv {
	t.Helper()
	fopts.Token, fopts.LocationID, fopts.RateLimit = "tok", "loc", -1
	srv, err := ghltest.NewServer(fopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	rc, err := ghl.New(ghl.Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1, RetryTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := rc.Backend()
	e := &csvEnv{srv: srv, stub: &csvStub{Backend: b, sc: b.(remote.SocialCSV)},
		clock: clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), log: &testlog.Buf{}}
	opts := Options{DirTTL: time.Minute, Clock: e.clock, CacheDir: t.TempDir(), SocialCSV: true,
		Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, m := range mod {
		m(&opts)
	}
	if e.store, err = New(e.stub, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.v = e.store.SocialCSV()
	return e
}

func (e *csvEnv) imports(t *testing.T) []CSVImport {
	t.Helper()
	all, err := e.v.Imports(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func find(all []CSVImport, id string) (CSVImport, bool) {
	i := slices.IndexFunc(all, func(c CSVImport) bool { return c.ID == id })
	if i < 0 {
		return CSVImport{}, false
	}
	return all[i], true
}

// The listing is one fetch, at background priority, trusted for the TTL;
// deleted imports are left out.
func TestCSVListingCached(t *testing.T) {
	e := newCSVEnv(t, ghltest.Options{})
	for i := range 23 {
		e.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: fmt.Sprintf("p%d.csv", i), Rows: 2})
	}
	gone := e.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "gone.csv", Status: "deleted"})
	all := e.imports(t)
	if len(all) != 23 {
		t.Fatalf("%d imports shown, want 23", len(all))
	}
	if _, ok := find(all, gone); ok {
		t.Error("a deleted import is shown")
	}
	e.imports(t)
	if n := e.stub.lists.Load(); n != 1 {
		t.Errorf("%d listings within the TTL", n)
	}
	e.clock.Advance(time.Minute)
	e.imports(t)
	if n := e.stub.lists.Load(); n != 2 {
		t.Errorf("%d listings after the TTL", n)
	}
	if e.stub.fg.Load() != 0 {
		t.Error("a listing was a foreground call")
	}
}

// An import's content is its record and every post, as the fake holds
// them; a done import's is made once, an importing one's again after the
// TTL, and a change of status makes it again.
func TestCSVContent(t *testing.T) {
	e := newCSVEnv(t, ghltest.Options{Quirks: []string{"csv-limit-cap=4"}})
	done := e.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "a <b> & c.csv", Rows: 11})
	busy := e.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "b.csv", Status: "importing", Rows: 3})
	all := e.imports(t)
	imp, _ := find(all, done)
	data, err := e.v.Content(context.Background(), imp)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := e.srv.Location("loc").CSVImport(done)
	var got, want any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	w, _ := json.Marshal(st)
	json.Unmarshal(w, &want)
	if gj, _ := json.Marshal(got); !bytes.Equal(gj, mustJSON(want)) {
		t.Errorf("content %s\nwant %s", data, w)
	}
	if !bytes.HasSuffix(data, []byte("}\n")) || !bytes.Contains(data, []byte("a <b> & c.csv")) {
		t.Errorf("content not indented, or escaped: %s", data)
	}
	e.clock.Advance(10 * time.Minute)
	if _, err := e.v.Content(context.Background(), imp); err != nil || e.stub.gets.Load() != 1 {
		t.Errorf("a done import read again (%d reads, %v)", e.stub.gets.Load(), err)
	}
	b, _ := find(all, busy)
	e.v.Content(context.Background(), b)
	e.v.Content(context.Background(), b)
	if n := e.stub.gets.Load(); n != 2 {
		t.Errorf("%d reads of the importing import within the TTL", n)
	}
	e.clock.Advance(time.Minute)
	e.v.Content(context.Background(), b)
	if n := e.stub.gets.Load(); n != 3 {
		t.Errorf("%d reads of the importing import after the TTL", n)
	}
	imp.Status = remote.CSVFailed
	e.v.Content(context.Background(), imp)
	if n := e.stub.gets.Load(); n != 4 {
		t.Errorf("%d reads after a change of status", n)
	}
	if e.stub.fg.Load() != 0 {
		t.Error("a read was a foreground call")
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// rm of a completed import deletes it on the service and drops it from
// the listing shown, with no listing again; one still importing is
// ErrImportBusy, with no call; a read-only mount removes nothing.
func TestCSVRemove(t *testing.T) {
	e := newCSVEnv(t, ghltest.Options{})
	done := e.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "a.csv"})
	busy := e.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "b.csv", Status: "in_progress"})
	all := e.imports(t)
	imp, _ := find(all, done)
	if err := e.v.Remove(context.Background(), imp); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.srv.Location("loc").CSVImport(done); st.Status != "deleted" {
		t.Errorf("status %s on the fake", st.Status)
	}
	if _, ok := find(e.imports(t), done); ok || e.stub.lists.Load() != 1 {
		t.Errorf("still shown, or listed again (%d listings)", e.stub.lists.Load())
	}
	b, _ := find(all, busy)
	if err := e.v.Remove(context.Background(), b); !errors.Is(err, ErrImportBusy) || e.stub.deletes.Load() != 1 {
		t.Errorf("busy import: %v, %d deletes", err, e.stub.deletes.Load())
	}
	ro := newCSVEnv(t, ghltest.Options{}, func(o *Options) { o.ReadOnly = true })
	id := ro.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "a.csv"})
	c, _ := find(ro.imports(t), id)
	if err := ro.v.Remove(context.Background(), c); !errors.Is(err, ErrReadOnly) || ro.stub.deletes.Load() != 0 {
		t.Errorf("read-only: %v", err)
	}
}

// An import removed while a listing was on its way (read by the service
// before the removal) is not shown again by that listing: ls after rm
// never brings back what rm removed.
func TestCSVRemoveDuringListing(t *testing.T) {
	e := newCSVEnv(t, ghltest.Options{})
	id := e.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "a.csv"})
	other := e.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "b.csv"})
	imp, _ := find(e.imports(t), id)
	e.clock.Advance(2 * time.Minute) // the listing's TTL is over
	e.stub.afterList = func() {
		if err := e.v.Remove(context.Background(), imp); err != nil {
			t.Error(err)
		}
	}
	all := e.imports(t)
	if _, ok := find(all, id); ok {
		t.Error("the listing that was on its way shows the removed import")
	}
	if _, ok := find(e.imports(t), id); ok {
		t.Error("the listing kept shows the removed import")
	}
	if _, ok := find(all, other); !ok || e.stub.lists.Load() != 2 {
		t.Errorf("the other import is not shown, or %d listings", e.stub.lists.Load())
	}
}

// Each refusal of DELETE becomes what the tool should hear: a 400 or 404
// is judged by a new listing; a 401 or 403 names the scope; a 422 keeps
// every message.
func TestCSVRemoveRefusals(t *testing.T) {
	apiErr := func(status int, msg string, msgs ...string) error {
		return &remote.Error{Method: "DELETE", Endpoint: "/social-media-posting/{locationId}/csv/{id}", Status: status, Message: msg, Messages: msgs}
	}
	for _, tc := range []struct {
		name    string
		err     error
		goneNow bool // the import is gone from the service meanwhile
		kind    error
		words   string
	}{
		{"400-still-there", apiErr(400, "Bad Request"), false, ErrInvalid, "Bad Request"},
		{"400-gone", apiErr(400, "Bad Request"), true, nil, ""},
		{"404-still-there", apiErr(404, "CSV not found"), false, ErrNotFound, "CSV not found"},
		{"404-gone", apiErr(404, "CSV not found"), true, nil, ""},
		{"401", apiErr(401, "The token is not authorized for this scope."), false, ErrPermission, remote.CSVWriteScope},
		{"403", apiErr(403, "Forbidden"), false, ErrPermission, remote.CSVWriteScope},
		{"422", apiErr(422, "first; second", "first", "second"), false, ErrInvalid, "first; second"},
		{"500", apiErr(500, "Internal server error"), false, ErrUnavailable, "Internal server error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCSVEnv(t, ghltest.Options{})
			id := e.srv.AddCSVImport(ghltest.CSVImportSeed{FileName: "a.csv"})
			imp, _ := find(e.imports(t), id)
			e.stub.deleteErr = tc.err
			if tc.goneNow {
				e.srv.Location("loc").SetCSVStatus(id, "deleted")
			}
			err := e.v.Remove(context.Background(), imp)
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("err %v, want none: the import is gone", err)
				}
				if _, ok := find(e.imports(t), id); ok {
					t.Error("still shown")
				}
				return
			}
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("err %v, want %v naming %q", err, tc.kind, tc.words)
			}
			wantLists := int32(1)
			if s := tc.err.(*remote.Error).Status; s == http.StatusBadRequest || s == http.StatusNotFound {
				wantLists = 2
			}
			if n := e.stub.lists.Load(); n != wantLists {
				t.Errorf("%d listings, want %d", n, wantLists)
			}
		})
	}
}

// A token without the scope to read the imports: they are not shown, with
// one INFO line, and nothing else fails.
func TestCSVWithoutScope(t *testing.T) {
	e := newCSVEnv(t, ghltest.Options{TokenScopes: []string{ghltest.ScopeMediasReadonly, ghltest.ScopeMediasWrite}})
	e.v.Probe(context.Background())
	if e.v.Shown() {
		t.Fatal("shown without the scope")
	}
	if _, err := e.v.Imports(context.Background()); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrImportsAbsent) {
		t.Errorf("err %v", err)
	}
	e.v.Probe(context.Background())
	if info := e.log.Lines("INFO"); len(info) != 1 || !strings.Contains(info[0], remote.CSVReadScope) {
		t.Errorf("INFO lines %q", info)
	}
	if lines := append(e.log.Lines("ERROR"), e.log.Lines("WARN")...); len(lines) != 0 {
		t.Errorf("logged %q", lines)
	}
	if _, err := e.store.ListDir(context.Background(), ""); err != nil {
		t.Errorf("the library's root: %v", err)
	}
	if n := e.stub.lists.Load(); n != 1 {
		t.Errorf("%d listings: the refusal is asked once", n)
	}
}

// Without the option, or on a service without imports, there are none.
func TestCSVOff(t *testing.T) {
	e := newCSVEnv(t, ghltest.Options{}, func(o *Options) { o.SocialCSV = false })
	if e.v != nil {
		t.Error("imports shown without Options.SocialCSV")
	}
}
