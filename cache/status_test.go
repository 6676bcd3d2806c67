package cache

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// gatedUploads is a transport whose uploads send their first after bytes
// of body, say so on held, and wait for release before sending the rest.
// An upload for which fail gives true is refused with a 403 (after its
// body was read): a failure the queue tries again on a timer (a 400 would
// refuse the file itself, which waits for a change).
type gatedUploads struct {
	after   int64
	held    chan struct{}
	release chan struct{}
	fail    chan bool // one value per upload: whether it fails
}

type gatedBody struct {
	io.ReadCloser
	left    int64
	held    chan struct{}
	release chan struct{}
	done    <-chan struct{}
}

func (g *gatedBody) Read(p []byte) (int, error) {
	if g.left == 0 {
		g.left = -1
		select {
		case g.held <- struct{}{}:
		case <-g.done:
			return 0, io.ErrUnexpectedEOF
		}
		select {
		case <-g.release:
		case <-g.done:
			return 0, io.ErrUnexpectedEOF
		}
	}
	if g.left > 0 && int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.ReadCloser.Read(p)
	if g.left > 0 {
		g.left -= int64(n)
	}
	return n, err
}

func (g *gatedUploads) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/medias/upload-file") {
		return http.DefaultTransport.RoundTrip(r)
	}
	var fail bool
	select {
	case fail = <-g.fail:
	case <-r.Context().Done(): // the Store closes
		return nil, r.Context().Err()
	}
	if fail {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return &http.Response{StatusCode: 403, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"statusCode":403,"message":"File upload rejected: disk on fire"}`)), Request: r}, nil
	}
	r.Body = &gatedBody{ReadCloser: r.Body, left: g.after, held: g.held, release: g.release, done: r.Context().Done()}
	return http.DefaultTransport.RoundTrip(r)
}

// Uploads reports a file of the queue as it goes: waiting out the delay,
// failed with the API's message and its next try, uploading with the
// bytes sent so far, and gone once it landed; its folder's path is named.
// CacheUsage counts it in the spool meanwhile.
func TestUploadsStatus(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	clients := srv.AddFolder("", "Clients")
	acme := srv.AddFolder(clients, "Acme\nCorp")
	clock := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := &gatedUploads{after: 200 << 10, held: make(chan struct{}), release: make(chan struct{}), fail: make(chan bool, 2)}
	store := startStore(t, ghl.Config{BaseURL: srv.URL, RetryTimeout: 5 * time.Second, HTTPClient: &http.Client{Transport: rt}},
		Options{DirTTL: time.Minute, Clock: clock, CacheDir: t.TempDir(), WriteBackDelay: delay, RetryBase: time.Minute,
			OpTimeout: 10 * time.Second, Location: "loc", API: srv.URL, MemoryBytes: 1 << 20})
	ctx := context.Background()
	for _, id := range []string{"", clients} {
		if _, err := store.ListDir(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if u := store.Uploads(); len(u) != 0 {
		t.Fatalf("uploads before any write: %+v", u)
	}

	const size = 1 << 20
	h, _, err := store.Create(ctx, acme, "logo.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write(ctx, make([]byte, size), 0); err != nil {
		t.Fatal(err)
	}
	u := store.Uploads()
	if len(u) != 1 || u[0].State != UploadWriting || u[0].Size != size {
		t.Fatalf("while open for writing: %+v", u)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h.Release()
	u = store.Uploads()
	if len(u) != 1 {
		t.Fatalf("%d uploads, want 1: %+v", len(u), u)
	}
	want := Upload{Folder: []string{"Clients", "Acme\nCorp"}, FolderKnown: true, Name: "logo.png", State: UploadWaiting, Size: size, Next: clock.Now().Add(delay)}
	if got := u[0]; got.Name != want.Name || got.State != want.State || got.Size != want.Size || !got.Next.Equal(want.Next) ||
		!got.FolderKnown || strings.Join(got.Folder, "/") != strings.Join(want.Folder, "/") || got.Sent != 0 {
		t.Fatalf("closed: %+v, want %+v", got, want)
	}
	if c := store.CacheUsage(); c.Spool != size || c.SpoolFiles != 1 || c.MemoryMax != 1<<20 || c.DiskMax != 0 {
		t.Errorf("cache usage %+v", c)
	}

	// The first attempt fails: the API's message, and the next try.
	rt.fail <- true
	clock.Advance(delay)
	eventually(t, "the failed upload", func() bool {
		u = store.Uploads()
		return len(u) == 1 && u[0].State == UploadFailed
	})
	if !strings.Contains(u[0].Error, "disk on fire") || u[0].Tries != 1 || !u[0].Next.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("failed: %+v", u[0])
	}

	// The next is held after part of its body: sent counts what went.
	rt.fail <- false
	clock.Advance(time.Minute)
	<-rt.held
	u = store.Uploads()
	if len(u) != 1 || u[0].State != UploadUploading || u[0].Sent <= 0 || u[0].Sent > rt.after || u[0].Size != size || u[0].Started.IsZero() || u[0].Error != "" {
		t.Fatalf("while sending: %+v", u)
	}
	close(rt.release)
	eventually(t, "the upload to land", func() bool { return len(store.Uploads()) == 0 })
	if got := live(srv, "logo.png"); len(got) != 1 || len(got[0]) != size {
		t.Errorf("the library holds %d copies", len(got))
	}
	// The spool file goes just after the record leaves the list.
	eventually(t, "the spool to empty once landed", func() bool {
		c := store.CacheUsage()
		return c.Spool == 0 && c.SpoolFiles == 0
	})
}
