package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

type env struct {
	srv   *ghltest.Server
	store *Store
	clock *clockwork.FakeClock
	dir   string
	opts  Options
}

func newEnv(t *testing.T, opts ghltest.Options, mod ...func(*Options)) *env {
	t.Helper()
	opts.Token, opts.LocationID, opts.RateLimit = "tok", "loc", -1
	srv, err := ghltest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	e := &env{srv: srv, clock: clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), dir: t.TempDir()}
	e.opts = Options{DirTTL: time.Minute, Clock: e.clock, CacheDir: e.dir}
	for _, m := range mod {
		m(&e.opts)
	}
	e.reopen(t)
	return e
}

// reopen starts a Store on the env's cache dir (another, as a remount
// does, once the one before is closed).
func (e *env) reopen(t *testing.T) {
	t.Helper()
	e.store = startStore(t, ghl.Config{BaseURL: e.srv.URL, RetryTimeout: 10 * time.Second}, e.opts)
}

// startStore starts a Store with opts over a client of the fake made with
// conf (its token, location and pacing set here), closed at the test's end.
func startStore(t *testing.T, conf ghl.Config, opts Options) *Store {
	t.Helper()
	conf.Token, conf.LocationID, conf.RateLimit = "tok", "loc", -1
	rc, err := ghl.New(conf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(rc.Backend(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (e *env) lists() int64 { return e.srv.Stats().ByEndpoint["GET /medias/files"] }

func TestListingCachedAndShared(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	folder := e.srv.AddFolder("", "Photos")
	for i := range 5 {
		e.srv.AddFile(folder, fmt.Sprintf("p%d.png", i), "image/png", []byte{byte(i)})
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := e.store.ListDir(ctx, folder)
			if err != nil || len(l.Entries) != 5 {
				t.Errorf("ListDir: %v, %v", l, err)
			}
		}()
	}
	wg.Wait()
	// One fetch: folders, files, and (the client having seen no page this
	// long yet) one page to confirm the files ended.
	if n := e.lists(); n != 3 {
		t.Fatalf("20 concurrent look-ups made %d list calls, want 3", n)
	}
	e.clock.Advance(59 * time.Second)
	if _, err := e.store.ListDir(ctx, folder); err != nil || e.lists() != 3 {
		t.Fatalf("within the TTL: %d calls, %v", e.lists(), err)
	}
	e.clock.Advance(2 * time.Second)
	e.srv.AddFile(folder, "new.png", "image/png", []byte{9})
	l, err := e.store.ListDir(ctx, folder)
	if err != nil || e.lists() != 6 || len(l.Entries) != 6 {
		t.Fatalf("after the TTL: %d entries, %d calls, %v", len(l.Entries), e.lists(), err)
	}
}

func TestUnknownSizeFromStorage(t *testing.T) {
	e := newEnv(t, ghltest.Options{MinimalFields: true})
	e.srv.AddFile("", "a.txt", "text/plain", []byte("hello world"))
	l, err := e.store.ListDir(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if l.Entries[0].Size != -1 {
		t.Fatalf("the listing had a size: %+v", l.Entries[0])
	}
	got, err := e.store.Stat(context.Background(), l.Entries[0])
	if err != nil || got.Size != 11 || got.ModTime.IsZero() {
		t.Fatalf("Stat: %+v %v", got, err)
	}
}

// Re-reading after a restart costs no download with a disk cache, and a
// restart with a smaller cap evicts down to it.
func TestDiskCacheAcrossRestarts(t *testing.T) {
	e := newEnv(t, ghltest.Options{}, func(o *Options) { o.DiskBytes = 3 << 20 })
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	e.srv.AddFile("", "a.bin", "application/octet-stream", data)
	e.srv.AddFile("", "b.bin", "application/octet-stream", data[:700000])
	ctx := context.Background()
	readAll := func(s *Store) {
		t.Helper()
		l, err := s.ListDir(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range l.Entries {
			buf := make([]byte, ent.Size)
			if n, err := s.content.Reader(ent).ReadAt(ctx, buf, 0); int64(n) != ent.Size || (err != nil && err != io.EOF) {
				t.Fatalf("%s: %d %v", ent.Name, n, err)
			}
		}
	}
	readAll(e.store)
	fetched := e.srv.Stats().StorageBytes
	e.store.Close()

	rc, _ := ghl.New(ghl.Config{BaseURL: e.srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1})
	s2, err := New(rc.Backend(), Options{CacheDir: e.dir, DiskBytes: 3 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	readAll(s2)
	if got := e.srv.Stats().StorageBytes; got != fetched {
		t.Errorf("re-reading after a restart fetched %d more bytes", got-fetched)
	}

	// A smaller cap evicts down to it.
	s2.Close()
	s3, err := New(rc.Backend(), Options{CacheDir: e.dir, DiskBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if got := s3.CacheUsage().Disk; got > 1<<20 {
		t.Errorf("disk cache holds %d bytes over a 1 MiB cap", got)
	}
}

// A rename answered {"updated": false}: when the listing shows the new
// name (a retried rename whose first attempt did it), it succeeded; when
// it does not, it failed, and the name stays.
func TestRenameAnsweredNotUpdated(t *testing.T) {
	e := newEnv(t, ghltest.Options{Quirks: []string{ghltest.QuirkRenameNotUpdated}})
	ctx := context.Background()
	done := e.srv.AddFile("", "done.txt", "", []byte("d"))
	not := e.srv.AddFile("", "not.txt", "", []byte("n"))
	l, err := e.store.ListDir(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Entry{}
	for _, en := range l.Entries {
		byName[en.Name] = en
	}
	// Another client (or the first attempt) renamed it already.
	e.srv.SetQuirks(nil)
	apiRename(t, e.srv, done, "renamed.txt")
	e.srv.SetQuirks([]string{ghltest.QuirkRenameNotUpdated})
	if err := e.store.Rename(ctx, byName["done.txt"], "renamed.txt", nil); err != nil {
		t.Fatalf("a rename the listing shows done: %v", err)
	}
	if err := e.store.Rename(ctx, byName["not.txt"], "other.txt", nil); err == nil {
		t.Fatal("a rename the server did not do succeeded")
	}
	if it, _ := e.srv.Item(not); it.Name != "not.txt" {
		t.Fatalf("renamed to %q", it.Name)
	}
}

// apiClient is another client of the fake's library (the web UI, say).
func apiClient(t *testing.T, srv *ghltest.Server) *ghl.Client {
	t.Helper()
	rc, err := ghl.New(ghl.Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func apiRename(t *testing.T, srv *ghltest.Server, id, name string) {
	t.Helper()
	if err := apiClient(t, srv).Rename(context.Background(), id, name); err != nil {
		t.Fatal(err)
	}
}

// A write into a file whose bytes cannot be copied in fails with the
// copy's error; it does not wait for ever on the change it dropped.
func TestWriteWhoseCopyInFails(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	ctx := context.Background()
	id := e.srv.AddFile("", "a.txt", "", []byte("hello"))
	e.srv.SetFileURL(id, "http://127.0.0.1:1/elsewhere/a.txt") // refused: not a storage host
	l, err := e.store.ListDir(ctx, "")
	if err != nil || len(l.Entries) != 1 {
		t.Fatalf("ListDir: %v, %v", l, err)
	}
	h, err := e.store.Open(ctx, l.Entries[0], false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	done := make(chan error, 1)
	go func() {
		_, err := h.Write(ctx, []byte("!"), 5)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a write whose copy-in failed succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the write hung after its copy-in failed")
	}
}

// An open file asked for its local copy (passthrough) while another open
// file changes the same file is refused it, and counts as no reader of
// the change: once uploaded, the change leaves the queue.
func TestLocalCopyRefusedLeavesNoReader(t *testing.T) {
	e := newWB(t, func(o *Options) { o.DiskBytes = 1 << 20 })
	e.srv.AddFile("", "a.txt", "text/plain", []byte("old bytes"))
	ctx := context.Background()
	ent := e.entry(t, "a.txt")
	h1, err := e.store.Open(ctx, ent, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.read(t, ent); got != "old bytes" {
		t.Fatalf("read %q", got)
	}
	h2, err := e.store.Open(ctx, ent, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := h1.LocalCopy(); ok {
		f.Close()
		t.Fatal("a local copy of a file being changed")
	}
	writeClose(t, h2, "new")
	h1.Release()
	eventually(t, "the change to leave the queue", func() bool {
		e.clock.Advance(time.Minute)
		return e.store.q.Lookup(ent.Key) == nil
	})
	if got := live(e.srv, "a.txt"); len(got) != 1 || got[0] != "new" {
		t.Fatalf("a.txt in the library: %q", got)
	}
}
