package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/spool"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The write-back queue on its own, with a fake clock: every delay and
// retry happens when the test moves time, never by sleeping.

const delay = 5 * time.Second

// live returns the bytes of every active file named name in the library.
func live(srv *ghltest.Server, name string) []string {
	var out []string
	for _, it := range srv.Items() {
		if it.Name == name && it.Status == ghltest.StatusActive {
			b, _ := srv.Content(it.ID)
			out = append(out, string(b))
		}
	}
	return out
}

// eventually polls cond until it holds or a deadline passes: for outcomes
// of background work the test cannot be told of directly.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wbEnv is a Store with the write-back delay on, over the fake, with a
// transport a test can break.
type wbEnv struct {
	srv   *ghltest.Server
	store *Store
	clock *clockwork.FakeClock
	dir   string
	rt    *breakable
	opts  Options
	// maxUpload is the client's --max-upload-size (0: the default).
	maxUpload int64
	// wrap, if set, is what the store gets for the client's backend.
	wrap func(remote.Backend) remote.Backend
}

// breakable is a transport that can fail requests as a broken proxy
// would: the request never reaches the fake, the client sees a 502.
type breakable struct {
	rt           http.RoundTripper
	failUploads  atomic.Int32 // fail this many uploads
	loseAnswers  atomic.Int32 // deliver this many uploads, then lose the answer
	uploadsBlock chan struct{}
	// trashed, if set, is told of each trash the fake carried out, and
	// the client gets its answer once the test receives it.
	trashed chan struct{}
	// listsHeld, if set, holds each listing until it is closed; listed
	// is told (if it has room) of each listing held.
	listsHeld chan struct{}
	listed    chan struct{}
	// answersHeld, if set, holds each upload's answer (the upload landed)
	// until it is closed; answered is told of each.
	answersHeld chan struct{}
	answered    chan struct{}
	// renamesHeld, if set, holds each rename (POST /medias/{id}) until it
	// is closed; renaming is told of each.
	renamesHeld chan struct{}
	renaming    chan struct{}
	// failLists fails every listing (a 502) while set; failStorage every
	// read of a file's bytes.
	failLists, failStorage atomic.Bool
	// hidden, while it holds a name, leaves the files of that name out
	// of every listing (an index behind the store).
	hidden atomic.Value // string
	// changes records every request that changes the library but an
	// upload ("METHOD path?query body"), when not nil.
	changesMu sync.Mutex
	changes   []string
}

// changed returns the changes requested so far.
func (b *breakable) changed() []string {
	b.changesMu.Lock()
	defer b.changesMu.Unlock()
	return slices.Clone(b.changes)
}

func (b *breakable) RoundTrip(r *http.Request) (*http.Response, error) {
	upload := r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/medias/upload-file")
	if upload && b.uploadsBlock != nil {
		<-b.uploadsBlock
	}
	if upload && b.failUploads.Add(-1) >= 0 {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return &http.Response{StatusCode: 502, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"statusCode":502,"message":"bad gateway"}`)), Request: r}, nil
	}
	if r.Method != "GET" && !upload && strings.Contains(r.URL.Path, "/medias/") {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		b.changesMu.Lock()
		b.changes = append(b.changes, r.Method+" "+r.URL.RequestURI()+" "+string(body))
		b.changesMu.Unlock()
	}
	if (r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/medias/files") && b.failLists.Load()) ||
		(strings.HasPrefix(r.URL.Path, "/storage/") && b.failStorage.Load()) {
		return &http.Response{StatusCode: 502, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"statusCode":502,"message":"bad gateway"}`)), Request: r}, nil
	}
	if b.listsHeld != nil && r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/medias/files") {
		select {
		case b.listed <- struct{}{}:
		default:
		}
		<-b.listsHeld
	}
	if b.renamesHeld != nil && r.Method == "POST" && !upload && !strings.HasSuffix(r.URL.Path, "/medias/folder") {
		b.renaming <- struct{}{}
		<-b.renamesHeld
	}
	resp, err := b.rt.RoundTrip(r)
	if name, _ := b.hidden.Load().(string); name != "" && err == nil && r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/medias/files") {
		resp.Body = hideNamed(resp.Body, name)
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
	}
	if b.trashed != nil && r.Method == "PUT" && strings.HasSuffix(r.URL.Path, "/medias/delete-files") {
		b.trashed <- struct{}{}
	}
	if upload && err == nil && b.answersHeld != nil {
		b.answered <- struct{}{}
		<-b.answersHeld
	}
	if upload && err == nil && b.loseAnswers.Add(-1) >= 0 {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer (test)")
	}
	return resp, err
}

// hideNamed is a listing's answer without the files named name.
func hideNamed(body io.ReadCloser, name string) io.ReadCloser {
	defer body.Close()
	var answer map[string][]map[string]any
	data, _ := io.ReadAll(body)
	if json.Unmarshal(data, &answer) != nil {
		return io.NopCloser(bytes.NewReader(data))
	}
	for k, items := range answer {
		answer[k] = slices.DeleteFunc(items, func(it map[string]any) bool { return it["name"] == name })
	}
	data, _ = json.Marshal(answer)
	return io.NopCloser(bytes.NewReader(data))
}

func newWB(t *testing.T, mod ...func(*Options)) *wbEnv {
	t.Helper()
	return newWBLimit(t, 0, mod...)
}

// newWBLimit is newWB with a client whose upload limit for images and
// other files is maxUpload bytes (0: the default).
func newWBLimit(t *testing.T, maxUpload int64, mod ...func(*Options)) *wbEnv {
	t.Helper()
	return newWBAt(t, tickingNow(), maxUpload, mod...)
}

// newWBAt is newWBLimit over a fake whose clock is now.
func newWBAt(t *testing.T, now func() time.Time, maxUpload int64, mod ...func(*Options)) *wbEnv {
	t.Helper()
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	e := &wbEnv{srv: srv, clock: clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), dir: t.TempDir(), maxUpload: maxUpload}
	e.rt = &breakable{rt: http.DefaultTransport}
	// A few spare files, as a mount has (cmd: spareFiles): restarts and
	// crashes find them in the spool beside the records.
	e.opts = Options{DirTTL: time.Minute, Clock: e.clock, CacheDir: e.dir, WriteBackDelay: delay, RetryBase: time.Minute,
		OpTimeout: 10 * time.Second, Location: "loc", API: srv.URL, SpareFiles: 4}
	for _, m := range mod {
		m(&e.opts)
	}
	e.open(t)
	return e
}

// tickingNow is the fake's clock for these tests: the real time, a
// millisecond on at least at each reading. Two uploads here may come
// within one millisecond, and the service would list them with one
// createdAt, which no look-up by time can tell apart (remote.Confirm).
func tickingNow() func() time.Time {
	var mu sync.Mutex
	var last time.Time
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		last = last.Add(time.Millisecond)
		if now := time.Now(); now.After(last) {
			last = now
		}
		return last
	}
}

// open starts a Store on the env's cache dir (again, after a close).
func (e *wbEnv) open(t *testing.T) {
	t.Helper()
	conf := ghl.Config{BaseURL: e.srv.URL, RetryTimeout: 5 * time.Second, HTTPClient: &http.Client{Transport: e.rt}, MaxUploadSize: e.maxUpload}
	if e.wrap == nil {
		e.store = startStore(t, conf, e.opts)
		return
	}
	conf.Token, conf.LocationID, conf.RateLimit = "tok", "loc", -1
	rc, err := ghl.New(conf)
	if err != nil {
		t.Fatal(err)
	}
	if e.store, err = New(e.wrap(rc.Backend()), e.opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
}

// idle waits until the queue has nothing left to do in the API.
func (e *wbEnv) idle(t *testing.T) {
	t.Helper()
	eventually(t, "the queue to finish", func() bool { return e.store.PendingCount() == 0 })
}

// settle moves time on, a minute at a time, until the queue has nothing
// left to do: retries happen whenever their timers were set.
func (e *wbEnv) settle(t *testing.T) {
	t.Helper()
	eventually(t, "the queue to finish", func() bool {
		e.clock.Advance(time.Minute)
		return e.store.PendingCount() == 0
	})
}

// write creates (or replaces the bytes of) name in the root with data,
// and closes it.
func (e *wbEnv) write(t *testing.T, name string, data string) {
	t.Helper()
	ctx := context.Background()
	l, err := e.store.ListDir(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var h *Handle
	for _, ent := range l.Entries {
		if ent.Name == name {
			if h, err = e.store.Open(ctx, ent, true, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if h == nil {
		if h, _, err = e.store.Create(ctx, "", name); err != nil {
			t.Fatal(err)
		}
	}
	writeClose(t, h, data)
}

// writeClose writes data at the start of the open file h, and closes it.
func writeClose(t *testing.T, h *Handle, data string) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.Write(ctx, []byte(data), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h.Release()
}

func (e *wbEnv) entry(t *testing.T, name string) Entry {
	t.Helper()
	l, err := e.store.ListDir(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var found []Entry
	for _, ent := range l.Entries {
		if ent.Name == name {
			found = append(found, ent)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d entries named %s: %+v", len(found), name, l.Entries)
	}
	return found[0]
}

func (e *wbEnv) read(t *testing.T, ent Entry) string {
	t.Helper()
	ctx := context.Background()
	h, err := e.store.Open(ctx, ent, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	var out []byte
	for off := int64(0); ; {
		data, done, err := h.Read(ctx, make([]byte, 64<<10), off)
		n := 0
		for _, d := range data {
			out = append(out, d...)
			n += len(d)
		}
		done()
		off += int64(n)
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func uploads(srv *ghltest.Server) int {
	return int(srv.Stats().ByEndpoint[ghltest.EndpointUpload])
}

// A closed file waits out the delay; renamed meanwhile (an editor's save
// through a temporary name), it is uploaded once, under the final name,
// with that name's content type.
func TestWriteBackDelayAndSaveThroughATemporaryName(t *testing.T) {
	e := newWB(t)
	e.write(t, ".notes.md.tmp", "# notes\n")
	if n := uploads(e.srv); n != 0 {
		t.Fatalf("%d uploads before the delay", n)
	}
	e.clock.Advance(delay / 2)
	tmp := e.entry(t, ".notes.md.tmp")
	if err := e.store.Rename(context.Background(), tmp, "notes.md", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.read(t, e.entry(t, "notes.md")); got != "# notes\n" {
		t.Fatalf("reads %q while pending", got)
	}
	e.clock.Advance(delay)
	e.idle(t)
	if n := uploads(e.srv); n != 1 {
		t.Fatalf("%d uploads, want 1", n)
	}
	var it ghltest.Item
	for _, x := range e.srv.Items() {
		it = x
	}
	if it.Name != "notes.md" || !strings.HasSuffix(it.URL, ".md") || !strings.HasPrefix(it.ContentType, "text/markdown") {
		t.Errorf("uploaded as %q, %s, %s", it.Name, it.URL, it.ContentType)
	}
	if got := live(e.srv, "notes.md"); len(got) != 1 || got[0] != "# notes\n" {
		t.Errorf("library holds %q", got)
	}
}

// New bytes for a file: uploaded as a new file under the same name and
// key, the old copy trashed only after; if the trash fails, the mount
// never shows the old copy, and the trash is retried.
func TestReplaceKeepsKeyAndRetiresOldCopyOnlyAfter(t *testing.T) {
	e := newWB(t)
	old := e.srv.AddFile("", "logo.png", "image/png", []byte("old bytes"))
	before := e.entry(t, "logo.png")
	e.srv.SetFaults(ghltest.Faults{FailDeletes: true})
	e.write(t, "logo.png", "new bytes")
	e.clock.Advance(delay)
	eventually(t, "the upload", func() bool { return uploads(e.srv) == 1 })
	eventually(t, "a trash attempt", func() bool { return e.srv.Stats().ByEndpoint[ghltest.EndpointDeleteMany] > 0 })
	if it, _ := e.srv.Item(old); it.Status != ghltest.StatusActive {
		t.Fatalf("old copy %s while deletes fail", it.Status)
	}
	e.store.Invalidate("")
	after := e.entry(t, "logo.png") // one entry: the old copy is hidden
	if after.Key != before.Key {
		t.Errorf("key %q became %q", before.Key, after.Key)
	}
	if got := e.read(t, after); got != "new bytes" {
		t.Errorf("reads %q", got)
	}
	if e.store.PendingCount() != 1 {
		t.Errorf("pending %d, want the retire", e.store.PendingCount())
	}
	e.srv.SetFaults(ghltest.Faults{})
	e.settle(t) // the retry
	if it, _ := e.srv.Item(old); it.Status != ghltest.StatusTrashed {
		t.Errorf("old copy %s after the retry", it.Status)
	}
	if got := live(e.srv, "logo.png"); len(got) != 1 || got[0] != "new bytes" {
		t.Errorf("library holds %q", got)
	}
	e.store.Invalidate("")
	if got := e.entry(t, "logo.png"); got.Key != before.Key || got.ID == old {
		t.Errorf("after: %+v", got)
	}
}

// A write through a descriptor opened before the file's bytes were
// replaced changes the new bytes, however the replace and the write
// interleave. It never looks for the old copy's bytes: under
// upload-no-url they have no known url, and the listing that would tell
// it may be answered after the old copy went to the trash (seen in CI as
// an EIO from pwrite).
func TestWriteWhileTheOldCopyRetires(t *testing.T) {
	e := newWB(t)
	if err := e.srv.SetQuirks([]string{ghltest.QuirkUploadNoURL}); err != nil {
		t.Fatal(err)
	}
	e.write(t, "d.bin", "first")
	e.clock.Advance(delay)
	e.idle(t)
	opened := e.entry(t, "d.bin")
	if opened.URL() != "" {
		t.Fatalf("the upload's url is known (%s): the quirk is not on", opened.URL())
	}
	e.write(t, "d.bin", "second")
	e.rt.uploadsBlock = make(chan struct{})
	e.rt.trashed = make(chan struct{})
	e.rt.listsHeld, e.rt.listed = make(chan struct{}), make(chan struct{}, 1)
	e.clock.Advance(delay) // the upload starts, and waits
	wrote := make(chan error, 1)
	go func() {
		ctx := context.Background()
		h, err := e.store.Open(ctx, opened, false, nil)
		if err == nil {
			if _, err = h.Write(ctx, []byte("TH"), 0); err == nil {
				err = h.Flush(ctx)
			}
			h.Release()
		}
		wrote <- err
	}()
	// The write either joined the file's record (and may be done), or
	// went to list the folder to find the old copy's bytes.
	eventually(t, "the write to reach the record or a listing", func() bool {
		select {
		case <-e.rt.listed:
			return true
		default:
		}
		if len(wrote) > 0 {
			return true
		}
		r := e.store.q.Lookup(opened.Key)
		if r == nil {
			return false
		}
		return r.Writers() > 0
	})
	close(e.rt.uploadsBlock)
	var err error
	written := false
	select {
	case <-e.rt.trashed: // the old copy is in the trash; the write waits
	case err = <-wrote:
		written = true
	}
	go func() {
		for range e.rt.trashed {
		}
	}()
	close(e.rt.listsHeld)
	if !written {
		err = <-wrote
	}
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	e.settle(t)
	close(e.rt.trashed)
	if got := live(e.srv, "d.bin"); len(got) != 1 || got[0] != "THcond" {
		t.Errorf("library holds %q, want [THcond]", got)
	}
}

// A write that fails (past the upload limit) keeps the bytes aside in
// recovered/, uploads nothing, and leaves the original as it was.
func TestFailedWriteIsSetAsideNotUploaded(t *testing.T) {
	e := newWBLimit(t, 100)
	orig := e.srv.AddFile("", "a.txt", "text/plain", []byte("original"))
	ctx := context.Background()
	h, err := e.store.Open(ctx, e.entry(t, "a.txt"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(ctx, bytes.Repeat([]byte("x"), 60), 0)
	if _, err := h.Write(ctx, bytes.Repeat([]byte("y"), 60), 60); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("write past the limit: %v", err)
	}
	if err := h.Flush(ctx); !errors.Is(err, ErrTooLarge) {
		t.Errorf("close: %v", err)
	}
	h.Release()
	e.clock.Advance(time.Hour)
	if n := uploads(e.srv); n != 0 {
		t.Errorf("%d uploads", n)
	}
	if got := e.entry(t, "a.txt"); got.ID != orig || e.read(t, got) != "original" {
		t.Errorf("the name shows %+v", got)
	}
	kept, _ := filepath.Glob(filepath.Join(e.dir, "recovered", "*a.txt"))
	if len(kept) != 1 {
		t.Fatalf("recovered/ holds %v", kept)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != strings.Repeat("x", 60) {
		t.Errorf("kept %q", b)
	}
}

// Records of one library in a cache dir refuse a mount of another.
func TestCacheDirOfAnotherLibraryRefused(t *testing.T) {
	e := newWB(t)
	e.srv.SetFaults(ghltest.Faults{RejectUploads: true})
	e.write(t, "mine.txt", "for loc")
	e.store.Close()
	e.opts.Location = "other"
	rc, _ := ghl.New(ghl.Config{BaseURL: e.srv.URL, Token: "tok", LocationID: "other", RateLimit: -1})
	if _, err := New(rc.Backend(), e.opts); err == nil || !strings.Contains(err.Error(), "another library") {
		t.Fatalf("opened: %v", err)
	}
	if n := uploads(e.srv); n != 0 {
		t.Errorf("%d uploads", n)
	}
}

// A restart finds a record still being written: its bytes go aside, the
// original stays. One that was complete is uploaded.
func TestRestartSetsAsideWritingUploadsComplete(t *testing.T) {
	e := newWB(t)
	e.srv.AddFile("", "draft.txt", "text/plain", []byte("good"))
	ctx := context.Background()
	h, err := e.store.Open(ctx, e.entry(t, "draft.txt"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(ctx, []byte("half"), 0)
	e.write(t, "done.txt", "complete")
	e.store.Close() // the writer never closed draft.txt
	h.Release()

	e.open(t)
	e.clock.Advance(delay) // what was complete waits out its delay
	e.idle(t)
	if got := live(e.srv, "draft.txt"); len(got) != 1 || got[0] != "good" {
		t.Errorf("draft.txt: %q", got)
	}
	if got := live(e.srv, "done.txt"); len(got) != 1 || got[0] != "complete" {
		t.Errorf("done.txt: %q", got)
	}
	if kept, _ := filepath.Glob(filepath.Join(e.dir, "recovered", "*draft.txt")); len(kept) != 1 {
		t.Errorf("recovered/ holds %v", kept)
	}
}

// An upload whose answer is lost is looked for before it is sent again;
// found with the same bytes, it is the upload.
func TestLostAnswerLookedForFirst(t *testing.T) {
	e := newWB(t)
	e.rt.loseAnswers.Store(1)
	e.write(t, "report.pdf", "pdf bytes")
	e.clock.Advance(delay)
	eventually(t, "the first attempt", func() bool { return uploads(e.srv) >= 1 })
	e.settle(t)
	if got := live(e.srv, "report.pdf"); len(got) != 1 {
		t.Fatalf("%d copies after a lost answer", len(got))
	}
}

// A file removed while open keeps its bytes for its descriptor, which
// reads what it wrote; nothing is uploaded, and the spool empties at the
// last close.
func TestRemovedWhileOpen(t *testing.T) {
	e := newWB(t)
	e.srv.AddFile("", "keep.txt", "text/plain", []byte("remote"))
	ctx := context.Background()
	ent := e.entry(t, "keep.txt")
	h, err := e.store.Open(ctx, ent, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write(ctx, []byte("Hello"), 0); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Remove(ctx, ent); err != nil {
		t.Fatal(err)
	}
	data, done, err := h.Read(ctx, make([]byte, 100), 0)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if string(data[0]) != "Helloe" { // "Hello" over "remote"
		t.Errorf("the descriptor reads %q", data[0])
	}
	done()
	if st, _ := h.Stat(ctx); st.Size != 6 {
		t.Errorf("size %d", st.Size)
	}
	h.Release()
	e.clock.Advance(time.Hour)
	e.idle(t)
	if n := uploads(e.srv); n != 0 {
		t.Errorf("%d uploads", n)
	}
	if got := live(e.srv, "keep.txt"); len(got) != 0 {
		t.Errorf("still in the library: %q", got)
	}
	left := spoolHolds(e.dir)
	if len(left) != 0 {
		t.Errorf("spool holds %v", left)
	}
}

// fsync uploads at once, whatever the delay, and returns the result.
func TestFsyncUploadsNow(t *testing.T) {
	e := newWB(t)
	ctx := context.Background()
	h, _, err := e.store.Create(ctx, "", "db.bin")
	if err != nil {
		t.Fatal(err)
	}
	h.Write(ctx, []byte("v1"), 0)
	if err := h.Fsync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := live(e.srv, "db.bin"); len(got) != 1 || got[0] != "v1" {
		t.Fatalf("after fsync: %q", got)
	}
	e.rt.failUploads.Store(100)
	h.Write(ctx, []byte("v2"), 0)
	if err := h.Fsync(ctx); err == nil {
		t.Fatal("fsync succeeded with uploads failing")
	}
	e.rt.failUploads.Store(0)
	h.Release()
	e.settle(t)
	if got := live(e.srv, "db.bin"); len(got) != 1 || got[0] != "v2" {
		t.Fatalf("at the end: %q", got)
	}
}

// Many goroutines creating, writing, renaming, removing and listing at
// once: run with -race.
func TestConcurrentUse(t *testing.T) {
	e := newWB(t, func(o *Options) { o.WriteBackDelay = 0 })
	ctx := context.Background()
	folder, err := e.store.Mkdir(ctx, "", "work")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				name := fmt.Sprintf("w%d-%d.txt", w, i)
				h, _, err := e.store.Create(ctx, folder.ID, name)
				if err != nil {
					t.Error(err)
					return
				}
				h.Write(ctx, []byte(name), 0)
				if err := h.Flush(ctx); err != nil {
					t.Error(err)
				}
				h.Release()
				l, err := e.store.ListDir(ctx, folder.ID)
				if err != nil {
					t.Error(err)
					return
				}
				for _, ent := range l.Entries {
					if ent.Name == name && i%2 == 0 {
						if err := e.store.Remove(ctx, ent); err != nil {
							t.Error(err)
						}
					}
					if ent.Name == name && i%2 == 1 {
						if err := e.store.Rename(ctx, ent, "r-"+name, nil); err != nil {
							t.Error(err)
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	e.clock.Advance(time.Hour)
	e.idle(t)
	e.store.Invalidate(folder.ID)
	l, err := e.store.ListDir(ctx, folder.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 6*2 {
		t.Fatalf("%d entries: %+v", len(l.Entries), l.Entries)
	}
	for _, ent := range l.Entries {
		if !strings.HasPrefix(ent.Name, "r-") || e.read(t, ent) != strings.TrimPrefix(ent.Name, "r-") {
			t.Errorf("%+v", ent)
		}
	}
}

// Listings read, again and again, while a queue of uploads lands show
// each file once, by its key: never the record and the upload it just
// landed side by side (a listing of the fake taken after the upload, set
// against the records as they stood a moment before).
func TestListingWhileUploadsLand(t *testing.T) {
	const n = 300
	e := newWB(t)
	ctx := context.Background()
	for i := range n {
		e.write(t, fmt.Sprintf("f%03d.txt", i), fmt.Sprintf("bytes of %d", i))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if w == 0 {
					e.store.Invalidate("") // each read a fresh listing; the other's, the one stored
				}
				l, err := e.store.ListDir(ctx, "")
				if err != nil {
					t.Error(err)
					return
				}
				names, keys := map[string]bool{}, map[string]bool{}
				for _, ent := range l.Entries {
					if names[ent.Name] || keys[ent.Key] {
						t.Errorf("listed twice: %+v", ent)
					}
					names[ent.Name], keys[ent.Key] = true, true
				}
				if len(l.Entries) != n {
					var missing []string
					for i := range n {
						if name := fmt.Sprintf("f%03d.txt", i); !names[name] {
							missing = append(missing, name)
						}
					}
					t.Errorf("%d entries listed, want %d; missing %v", len(l.Entries), n, missing)
				}
			}
		}()
	}
	e.clock.Advance(delay)
	e.idle(t)
	close(done)
	wg.Wait()
	if got := len(e.srv.Items()); got != n {
		t.Errorf("the library holds %d items, want %d", got, n)
	}
}

// A file removed while its upload has landed but its answer is not in
// stays gone: a listing that holds the landed copy does not show it, and
// its folder can be removed at once. The copy goes to the trash once it
// is found.
func TestRemovedWhileItsUploadMayHaveLanded(t *testing.T) {
	e := newWB(t)
	ctx := context.Background()
	dir, err := e.store.Mkdir(ctx, "", "old")
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := e.store.Create(ctx, dir.ID, "gone.txt")
	if err != nil {
		t.Fatal(err)
	}
	h.Write(ctx, []byte("bytes"), 0)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h.Release()
	e.rt.answered, e.rt.answersHeld = make(chan struct{}, 1), make(chan struct{})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(e.rt.answersHeld) }) }) // before the Store closes
	e.clock.Advance(delay)
	<-e.rt.answered // it landed; its answer is held
	if got := live(e.srv, "gone.txt"); len(got) != 1 {
		t.Fatalf("the fake holds %d copies of gone.txt, want the landed one", len(got))
	}
	l, err := e.store.ListDir(ctx, dir.ID)
	if err != nil || len(l.Entries) != 1 {
		t.Fatalf("before the removal: %v %+v", err, l)
	}
	if err := e.store.Remove(ctx, l.Entries[0]); err != nil {
		t.Fatal(err)
	}
	e.store.Invalidate(dir.ID)
	if l, err := e.store.ListDir(ctx, dir.ID); err != nil || len(l.Entries) != 0 {
		t.Fatalf("after the removal the folder lists %+v (%v)", l, err)
	}
	if err := e.store.Rmdir(ctx, dir); err != nil {
		t.Fatalf("rmdir of the folder emptied: %v", err)
	}
	release.Do(func() { close(e.rt.answersHeld) })
	e.settle(t)
	if got := live(e.srv, "gone.txt"); len(got) != 0 {
		t.Errorf("the landed copy is still in the library: %q", got)
	}
}

// spoolHolds is what the spool of the cache directory dir holds, less its
// spares (empty bytes made ahead for new files): the records' files and
// the bytes they hold.
func spoolHolds(dir string) []string {
	all, _ := filepath.Glob(filepath.Join(dir, "spool", "*"))
	held := spool.HeldBytes(dir)
	return slices.DeleteFunc(all, func(p string) bool {
		return strings.HasSuffix(p, ".data") && !slices.Contains(held, p)
	})
}

// spooledBytes are the bytes in the spool of dir that records hold.
func spooledBytes(dir string) []string { return spool.HeldBytes(dir) }
