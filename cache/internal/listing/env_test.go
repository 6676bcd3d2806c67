package listing

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// env is Folders over a client of the fake, on a cache dir of their own,
// with the clock a test moves. The changes a test makes "through the
// mount" are those the front and the write-back queue make through the
// Folders: an upload noted as it lands (upload), a rename, a removal.
type env struct {
	srv   *ghltest.Server
	rc    remote.Backend
	f     *Folders
	clock *clockwork.FakeClock
	dir   string
	cfg   Config
}

func newEnv(t *testing.T, opts ghltest.Options, mod ...func(*Config)) *env {
	t.Helper()
	opts.Token, opts.LocationID, opts.RateLimit = "tok", "loc", -1
	srv, err := ghltest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c, err := ghl.New(ghl.Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1, RetryTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{srv: srv, rc: c.Backend(), clock: clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), dir: t.TempDir()}
	e.cfg = Config{TTL: time.Minute, Clock: e.clock, ListWait: time.Second, RetryBase: 30 * time.Second, Dir: e.dir,
		Fetched: func([]Entry) {}, Changed: func(string, *State, *State) {},
		Adopted: func(string, Entry) {}, Known: func(string) bool { return false }}
	for _, m := range mod {
		m(&e.cfg)
	}
	e.reopen(t)
	return e
}

// reopen makes the Folders anew on the env's cache dir (as a remount
// does, once the Folders before are closed).
func (e *env) reopen(t *testing.T) {
	t.Helper()
	e.f = New(e.rc, e.cfg)
	f := e.f
	t.Cleanup(func() { f.Close() })
}

// close closes the Folders as an unmount does.
func (e *env) close(t *testing.T) {
	t.Helper()
	if err := e.f.Close(); err != nil {
		t.Fatal(err)
	}
	e.f.MarkClean()
}

func (e *env) lists() int64 { return e.srv.Stats().ByEndpoint["GET /medias/files"] }

// names lists a folder as the Folders hold it.
func (e *env) names(t *testing.T, folderID string) []string {
	t.Helper()
	var out []string
	for _, x := range e.entries(t, folderID) {
		out = append(out, x.Name)
	}
	slices.Sort(out)
	return out
}

func (e *env) entries(t *testing.T, folderID string) []Entry {
	t.Helper()
	st, err := e.f.Get(context.Background(), folderID)
	if err != nil {
		t.Fatal(err)
	}
	return st.Entries()
}

// upload uploads a file through the API and notes it as the write-back
// queue does when an upload lands (a claim on the answer's id, which no
// listing has shown yet, and the entry it stands for).
func (e *env) upload(t *testing.T, parentID, name, data string) Entry {
	t.Helper()
	it, err := e.rc.Upload(context.Background(), remote.Upload{ParentID: parentID, Name: name, ContentType: remote.IntendedType(name),
		Size: int64(len(data)), Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte(data))), nil }})
	if err != nil {
		t.Fatal(err)
	}
	x := entry.Of(it)
	x.ParentID, x.Name = parentID, name
	if x.Size < 0 {
		x.Size = int64(len(data))
	}
	if it.Unconfirmed {
		x.SetCreated(e.clock.Now())
		e.f.Claim(it.ID, Claim{ParentID: parentID, Name: name, URL: x.URL(), Size: x.Size, At: x.Created(), Sent: it.SentAt, Answered: it.CreatedAt})
	}
	e.f.NotePut(parentID, x)
	return x
}

// listedAll turns the listing of the whole library on (and polls by the
// latest change, with polling) and runs a pass.
func (e *env) listedAll(t *testing.T, polling bool) *Folders {
	t.Helper()
	f := e.f
	f.listAll, f.polling = true, polling
	if err := f.passOverLibrary(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// nextMilli returns once the wall clock is in a later millisecond: the
// fake stamps items with the real time, in milliseconds, and a test that
// needs two stamps to differ waits for the clock to move on (at most a
// millisecond; nothing else is waited for).
func nextMilli() {
	now := time.Now().Truncate(time.Millisecond)
	for !time.Now().Truncate(time.Millisecond).After(now) {
		runtime.Gosched()
	}
}

// renamed renames the item id in the library, elsewhere: not through
// the Folders, which learn it from a listing.
func (e *env) renamed(t *testing.T, id, name string) {
	t.Helper()
	if err := e.rc.Rename(context.Background(), id, name); err != nil {
		t.Fatal(err)
	}
}

// trashed sends the item id to the trash, elsewhere.
func (e *env) trashed(t *testing.T, id string) {
	t.Helper()
	if err := e.rc.Remove(context.Background(), []string{id}, false); err != nil {
		t.Fatal(err)
	}
}

// A folder no listing holds is reported as unknown, not as the root.
func TestPathOfUnknownFolder(t *testing.T) {
	tree := Tree{"b": {Parent: "a", Name: "B"}, "x": {Parent: "y", Name: "X"}, "y": {Parent: "x", Name: "Y"}}
	if names, ok := tree.Path("b"); ok || len(names) != 1 || names[0] != "B" {
		t.Errorf("under an unknown folder: %q, %v", names, ok)
	}
	if names, ok := tree.Path(""); !ok || len(names) != 0 {
		t.Errorf("the root: %q, %v", names, ok)
	}
	if _, ok := tree.Path("x"); ok {
		t.Error("a loop taken as known")
	}
}
