package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/content"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// readAll reads ent through a Handle of s, the way the filesystem does.
func readAll(t *testing.T, s *Store, ent Entry) []byte {
	t.Helper()
	ctx := context.Background()
	h, err := s.Open(ctx, ent, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	var out []byte
	for {
		data, done, err := h.Read(ctx, make([]byte, 1<<20), int64(len(out)))
		n := 0
		for _, d := range data {
			out = append(out, d...)
			n += len(d)
		}
		done()
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Chunks a reader asks for are counted as a miss when it waits for the
// storage host, as memory hits when they are in memory (read again, or
// fetched with an earlier miss), and as disk hits after a restart with a
// disk cache.
func TestStatsContentHitsAndMisses(t *testing.T) {
	e := newEnv(t, ghltest.Options{}, func(o *Options) { o.DiskBytes = 64 << 20 })
	data := bytes.Repeat([]byte("abcdefgh"), 4*content.ChunkSize/8) // 4 chunks
	e.srv.AddFile("", "f.bin", "application/octet-stream", data)
	entry := func() Entry {
		l, err := e.store.ListDir(context.Background(), "")
		if err != nil || len(l.Entries) != 1 {
			t.Fatal(l, err)
		}
		return l.Entries[0]
	}
	ent := entry()
	if got := readAll(t, e.store, ent); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want %d", len(got), len(data))
	}
	// One miss fetches the chunk and those after it in one request: the
	// reader finds them in memory.
	if s := e.store.Stats(); s.Misses != 1 || s.MemoryHits != 3 || s.DiskHits != 0 {
		t.Errorf("first read: %+v, want 1 miss and 3 memory hits", s)
	}
	if n := e.srv.Stats().StorageRequests; n != 1 {
		t.Errorf("first read: %d storage requests, want 1", n)
	}
	readAll(t, e.store, ent)
	if s := e.store.Stats(); s.Misses != 1 || s.MemoryHits != 7 || s.DiskHits != 0 {
		t.Errorf("second read: %+v, want 1 miss and 7 memory hits", s)
	}
	storage := e.srv.Stats().StorageRequests

	e.store.Close() // waits for the disk copies
	e.reopen(t)
	if s := e.store.Stats(); s != (Stats{}) {
		t.Errorf("a new Store starts from zero: %+v", s)
	}
	if got := readAll(t, e.store, entry()); !bytes.Equal(got, data) {
		t.Fatal("read after the restart differs")
	}
	if s := e.store.Stats(); s.Misses != 0 || s.DiskHits != 4 {
		t.Errorf("read after a restart: %+v, want 4 disk hits", s)
	}
	if n := e.srv.Stats().StorageRequests; n != storage {
		t.Errorf("hits went to the storage host: %d requests, %d before", n, storage)
	}
}

// A closed file's bytes count as a pending upload until they landed; a
// failed attempt counts as an upload error; a file still open for
// writing is not pending yet.
func TestStatsPendingUploadsAndErrors(t *testing.T) {
	e := newWB(t)
	ctx := context.Background()
	open, _, err := e.store.Create(ctx, "", "open.txt")
	if err != nil {
		t.Fatal(err)
	}
	open.Write(ctx, []byte("still writing"), 0)
	e.write(t, "a.txt", "0123456789")
	e.write(t, "b.txt", "01234")
	s := e.store.Stats()
	if s.PendingUploads != 2 || s.PendingBytes != 15 || s.PendingFiles != 2 || s.Uploads != 0 {
		t.Fatalf("two files closed: %+v", s)
	}

	e.rt.failUploads.Store(1 << 30)
	e.clock.Advance(delay)
	eventually(t, "uploads to fail", func() bool {
		e.clock.Advance(time.Second) // through the client's own retries
		return e.store.Stats().UploadErrors > 0
	})
	s = e.store.Stats()
	if s.PendingUploads != 2 || s.PendingBytes != 15 || s.Uploads != 0 {
		t.Fatalf("uploads failing: %+v", s)
	}

	e.rt.failUploads.Store(0)
	e.settle(t)
	got := e.store.Stats()
	if want := (Stats{Uploads: 2, UploadedBytes: 15, UploadErrors: got.UploadErrors}); got != want || got.UploadErrors < s.UploadErrors {
		t.Fatalf("after the retries: %+v, want %+v, and %d errors or more", got, want, s.UploadErrors)
	}
	if n := uploads(e.srv); n != 2 {
		t.Errorf("the fake stored %d uploads, want 2", n)
	}

	if err := open.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	open.Release()
	if s := e.store.Stats(); s.PendingUploads != 1 || s.PendingBytes != int64(len("still writing")) {
		t.Errorf("once closed: %+v", s)
	}
}
