package cache

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghltest"
)

// failNextUpload answers the next upload with a 500 without sending it,
// as a proxy that failed would: the client cannot tell it did not land.
type failNextUpload struct {
	armed atomic.Bool
	rt    http.RoundTripper
}

func (f *failNextUpload) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/medias/upload-file") && f.armed.CompareAndSwap(true, false) {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"statusCode":500,"message":"boom"}`)), Request: r}, nil
	}
	return f.rt.RoundTrip(r)
}

func live(srv *ghltest.Server, name string) []string {
	var out []string
	for _, it := range srv.Items() {
		if it.Name == name && it.Status == "active" {
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
		time.Sleep(10 * time.Millisecond)
	}
}

func newStoreWith(t *testing.T, srv *ghltest.Server, rt http.RoundTripper, opts Options) *Store {
	t.Helper()
	cfg := remote.Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1, RetryTimeout: 10 * time.Second}
	if rt != nil {
		cfg.HTTPClient = &http.Client{Transport: rt}
	}
	rc, err := remote.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(rc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A second upload of one file whose answer is lost is never taken to be
// the first upload (same name and size): the new bytes land.
func TestLostAnswerNeverTakesAnOlderCopy(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	fu := &failNextUpload{rt: http.DefaultTransport}
	s := newStoreWith(t, e.srv, fu, Options{CacheDir: t.TempDir()})
	ctx := context.Background()
	p, _ := s.Create(ctx, "", "a.txt")
	p.WriteAt([]byte("hello"), 0)
	if err := p.Commit(ctx); err != nil { // as fsync does
		t.Fatal(err)
	}
	p.WriteAt([]byte("HELLO"), 0)
	fu.armed.Store(true)
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	p.Release()
	if got := live(e.srv, "a.txt"); len(got) != 1 || got[0] != "HELLO" {
		t.Fatalf("library holds %q", got)
	}
	if n := s.PendingCount(); n != 0 {
		t.Errorf("%d files still pending", n)
	}
}

// A write past the limit after an earlier upload keeps that upload.
func TestTooBigKeepsTheLastGoodCopy(t *testing.T) {
	e := newEnv(t, ghltest.Options{}, func(o *Options) { o.Delete = true })
	id := e.srv.AddFile("", "orig.bin", "", []byte("original content"))
	ctx := context.Background()
	l, _ := e.store.ListDir(ctx, "")
	ent, _ := l.Find(id)
	p, err := e.store.Modify(ctx, ent, false)
	if err != nil {
		t.Fatal(err)
	}
	p.WriteAt([]byte("EDITED"), 0)
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteAt([]byte("x"), remote.MaxUploadSize); err == nil {
		t.Fatal("a write past the limit succeeded")
	}
	if err := p.Commit(ctx); err == nil {
		t.Fatal("commit of a file past the limit succeeded")
	}
	p.Release()
	if got := live(e.srv, "orig.bin"); len(got) != 1 || got[0] != "EDITEDal content" {
		t.Fatalf("library holds %q", got)
	}
}

// Bytes written while an upload is under way, then not uploaded (the next
// upload fails), survive a restart.
func TestRestartKeepsWritesMadeDuringAnUpload(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	dir := t.TempDir()
	s := newStoreWith(t, e.srv, nil, Options{CacheDir: dir, RetryBase: time.Hour})
	ctx := context.Background()
	p, _ := s.Create(ctx, "", "b.txt")
	p.WriteAt([]byte("version1"), 0)
	e.srv.SetFaults(ghltest.Faults{UploadDelay: ghltest.Duration(300 * time.Millisecond)})
	done := make(chan error)
	go func() { done <- p.Commit(ctx) }()
	eventually(t, "the upload to start", func() bool { return e.srv.Stats().ByEndpoint["POST /medias/upload-file"] > 0 })
	p.WriteAt([]byte("VERSION2"), 0) // same size, during the upload
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.srv.SetFaults(ghltest.Faults{RejectUploads: true})
	if err := p.Commit(ctx); err == nil {
		t.Fatal("commit with uploads rejected succeeded")
	}
	p.Release()
	s.Close()

	e.srv.SetFaults(ghltest.Faults{})
	s2 := newStoreWith(t, e.srv, nil, Options{CacheDir: dir})
	eventually(t, "VERSION2 in the library", func() bool {
		for _, b := range live(e.srv, "b.txt") {
			if b == "VERSION2" {
				return true
			}
		}
		return false
	})
	eventually(t, "the spool to empty", func() bool { return s2.PendingCount() == 0 })
	if got := live(e.srv, "b.txt"); len(got) != 1 {
		t.Errorf("library holds %q", got)
	}
}

// Two changes to one file at once share one copy: one upload, one file.
func TestConcurrentChangesShareOneCopy(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	id := e.srv.AddFile("", "big.bin", "", make([]byte, 4<<20))
	ctx := context.Background()
	l, _ := e.store.ListDir(ctx, "")
	ent, _ := l.Find(id)
	ps := make(chan *Pending, 2)
	for range 2 {
		go func() {
			p, err := e.store.Modify(ctx, ent, false)
			if err != nil {
				t.Error(err)
			}
			ps <- p
		}()
	}
	p1, p2 := <-ps, <-ps
	if p1 != p2 {
		t.Fatal("two copies of one file")
	}
	p1.WriteAt([]byte("one"), 0)
	p2.WriteAt([]byte("two"), 3)
	p1.Commit(ctx)
	p2.Commit(ctx)
	p1.Release()
	p2.Release()
	got := live(e.srv, "big.bin")
	if len(got) != 1 || !strings.HasPrefix(got[0], "onetwo") || len(got[0]) != 4<<20 {
		t.Fatalf("library holds %d copies", len(got))
	}
}

// A file removed while it uploads does not come back.
func TestRemoveDuringUpload(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	ctx := context.Background()
	p, _ := e.store.Create(ctx, "", "gone.txt")
	p.WriteAt([]byte("data"), 0)
	e.srv.SetFaults(ghltest.Faults{UploadDelay: ghltest.Duration(300 * time.Millisecond)})
	done := make(chan error)
	go func() { done <- p.Commit(ctx) }()
	eventually(t, "the upload to start", func() bool { return e.srv.Stats().ByEndpoint["POST /medias/upload-file"] > 0 })
	if err := e.store.Remove(ctx, p.Entry()); err != nil {
		t.Fatal(err)
	}
	<-done
	p.Release()
	e.clock.add(2 * time.Minute)
	l, _ := e.store.ListDir(ctx, "")
	if len(l.Entries) != 0 {
		t.Errorf("listed after rm: %+v", l.Entries)
	}
	if got := live(e.srv, "gone.txt"); len(got) != 0 {
		t.Errorf("the library holds %q", got)
	}
	if left, _ := os.ReadDir(e.dir + "/spool"); len(left) != 0 {
		t.Errorf("spool holds %d files", len(left))
	}
}

// A retry that comes while the file is open is not lost: the last close
// hands the file to the uploader.
func TestRetryNotLostWhileOpen(t *testing.T) {
	e := newEnv(t, ghltest.Options{}, func(o *Options) { o.RetryBase = time.Hour })
	ctx := context.Background()
	p, _ := e.store.Create(ctx, "", "r.txt")
	p.WriteAt([]byte("data"), 0)
	e.srv.SetFaults(ghltest.Faults{RejectUploads: true})
	if err := p.Commit(ctx); err == nil {
		t.Fatal("commit with uploads rejected succeeded")
	}
	if err := p.Open(); err != nil { // a reader, a thumbnailer say
		t.Fatal(err)
	}
	p.Release() // the writer closes; the reader still holds it
	e.srv.SetFaults(ghltest.Faults{})
	// The retry comes now (as its timer would), while the file is open.
	e.store.enqueue(p)
	p.Release()
	eventually(t, "the upload", func() bool { return len(live(e.srv, "r.txt")) == 1 && e.store.PendingCount() == 0 })
}
