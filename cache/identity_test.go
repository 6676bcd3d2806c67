package cache

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/testlog"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The library's identity: its location and its API, the port included
// (issue 16, item 9a).

// A record an earlier ghlfs queued for a service on loopback, named then
// without its port, may be another server's: it is set aside (its bytes
// kept in recovered/, one log line), never uploaded, and the mount
// goes on. A record of the same host on another port, named as now, is
// another library's: the mount is refused, as for another location.
func TestLegacyRecordSetAsideNotUploaded(t *testing.T) {
	legacy := "http://127.0.0.1" // what ghlfs named the fake before
	e := newWB(t, func(o *Options) { o.API = legacy })
	e.write(t, "queued.txt", "waiting for upload")
	if n := e.store.PendingCount(); n != 1 {
		t.Fatalf("%d pending", n)
	}
	e.store.Close()

	logs := &testlog.Buf{}
	e.opts.API, e.opts.LegacyAPI, e.opts.Logger = e.srv.URL, legacy, slog.New(slog.NewTextHandler(logs, nil))
	e.open(t)
	e.clock.Advance(time.Hour)
	if n := e.store.PendingCount(); n != 0 {
		t.Errorf("%d pending after the mount under the new name", n)
	}
	if n := uploads(e.srv); n != 0 {
		t.Errorf("%d uploads of a record that may be another server's", n)
	}
	kept, _ := filepath.Glob(filepath.Join(e.dir, "recovered", "*queued.txt"))
	if len(kept) != 1 {
		t.Fatalf("recovered/ holds %v", kept)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != "waiting for upload" {
		t.Errorf("kept %q", b)
	}
	if l := logs.Lines("WARN"); len(l) != 1 || !strings.Contains(l[0], "queued.txt was not uploaded") {
		t.Errorf("WARN lines %q, want one about queued.txt", l)
	}
	if left := spoolHolds(e.dir); len(left) != 0 {
		t.Errorf("the spool still holds %v", left)
	}
	e.store.Close()

	// Another port of the same host: another library, refused.
	e.opts.API, e.opts.LegacyAPI = e.srv.URL, legacy
	e.open(t)
	e.srv.SetFaults(ghltest.Faults{RejectUploads: true})
	e.write(t, "mine.txt", "for this server")
	e.store.Close()
	other := strings.Replace(e.srv.URL, "127.0.0.1:", "127.0.0.1:1", 1) // same host, another port
	e.opts.API = other
	rc, _ := ghl.New(ghl.Config{BaseURL: e.srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1})
	if _, err := New(rc.Backend(), e.opts); err == nil || !strings.Contains(err.Error(), "another library") {
		t.Fatalf("a cache dir of %s opened for %s: %v", e.srv.URL, other, err)
	}
}

// A cache dir taken over from another library (another server, or another
// location) drops that library's cached contents and file times: they are
// keyed by file ids, and the same id on the new server is another file.
func TestCacheDirTakenOverDropsContentsAndTimes(t *testing.T) {
	ctx := context.Background()
	const id = "0123456789abcdef01234567"
	dir := t.TempDir()
	var ids [2]string
	var urls [2]string
	read := func(i int, want string) {
		t.Helper()
		srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		ids[i] = srv.AddFileWithID(id, "", "same.txt", "text/plain", []byte(want))
		urls[i] = srv.URL
		rc, _ := ghl.New(ghl.Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1})
		s, err := New(rc.Backend(), Options{CacheDir: dir, DiskBytes: 1 << 20, Location: "loc", API: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		l, err := s.ListDir(ctx, "")
		if err != nil || len(l.Entries) != 1 {
			t.Fatalf("list: %v %+v", err, l)
		}
		ent := l.Entries[0]
		if i == 1 {
			if _, ok := s.times.Get(id); ok {
				t.Errorf("the first server's file time is still kept")
			}
		}
		h, err := s.Open(ctx, ent, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, err := h.reader.ReadAt(ctx, buf, 0)
		h.Release()
		if got := string(buf[:n]); got != want {
			t.Errorf("server %d: %s reads %q (%v), want %q", i+1, ent.Name, got, err, want)
		}
		if err := s.SetModTime(ent, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	read(0, "the first server's bytes")
	read(1, "the second server's bytes")
	if ids[0] != ids[1] || urls[0] == urls[1] {
		t.Fatalf("ids %q, urls %q", ids, urls)
	}
}

// The name the previous ghlfs gave this very API URL, before identities
// were normalised (https://HOST:443 where it is https://host now), is this
// library: what the cache dir holds under it is taken over as it is, its
// queued files uploaded and its file times kept. (The mount was refused:
// its own queued files were "another library's".)
func TestEarlierNameOfTheAPIIsThisLibrary(t *testing.T) {
	const earlier, now = "https://API.example.com:443", "https://api.example.com"
	e := newWB(t, func(o *Options) { o.API = earlier })
	kept := e.srv.AddFile("", "kept.txt", "text/plain", []byte("k"))
	mtime := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := e.store.SetModTime(e.entry(t, "kept.txt"), mtime); err != nil {
		t.Fatal(err)
	}
	e.write(t, "queued.txt", "waiting for upload")
	e.store.Close()

	e.opts.API, e.opts.EarlierAPI = now, earlier
	e.open(t)
	e.settle(t)
	if got := live(e.srv, "queued.txt"); len(got) != 1 || got[0] != "waiting for upload" {
		t.Errorf("queued.txt in the library: %q", got)
	}
	if got, ok := e.store.times.Get(kept); !ok || !got.Equal(mtime) {
		t.Errorf("kept.txt's time is %v (%v), want %v (kept)", got, ok, mtime)
	}
	e.store.Close()
	// Claimed under the new name: a mount under it alone opens the dir.
	e.opts.EarlierAPI = ""
	e.open(t)
}
