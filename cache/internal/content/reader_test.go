package content

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// newTestCache returns a fake library and a Cache of its files' bytes,
// closed at the test's end.
func newTestCache(t *testing.T) (*ghltest.Server, *Cache) {
	t.Helper()
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	rc, err := ghl.New(ghl.Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1, RetryTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	closing, stop := context.WithCancel(context.Background())
	c := New(rc.Backend(), Config{Timeout: time.Minute, MemoryBytes: 256 << 20, Logger: slog.New(slog.DiscardHandler), Closing: closing})
	t.Cleanup(func() { stop(); c.Wait() })
	return srv, c
}

// listed returns file id of the root as its listing gives it.
func listed(t *testing.T, c *Cache, id string) Entry {
	t.Helper()
	var found []Entry
	err := c.rc.List(context.Background(), remote.ListQuery{Type: remote.TypeFile}, func() { found = found[:0] }, func(it remote.Item) {
		if it.ID == id {
			found = append(found, entry.Of(it))
		}
	})
	if err != nil || len(found) != 1 {
		t.Fatalf("listing the root for %s: %v, %v", id, found, err)
	}
	return found[0]
}

func TestReaderRangesAndReadAhead(t *testing.T) {
	srv, c := newTestCache(t)
	data := make([]byte, 5<<20+123)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	id := srv.AddFile("", "big.bin", "application/octet-stream", data)
	ctx := context.Background()
	ent := listed(t, c, id)

	// A small read at the start fetches one chunk, not the file.
	r := c.Reader(ent)
	buf := make([]byte, 100)
	if n, err := r.ReadAt(ctx, buf, 0); n != 100 || err != nil || !bytes.Equal(buf, data[:100]) {
		t.Fatalf("first read: %d %v", n, err)
	}
	if got := srv.Stats().StorageBytes; got > ChunkSize {
		t.Errorf("a 100-byte read fetched %d bytes", got)
	}

	// Random reads, then a sequential pass: every byte right.
	for range 50 {
		off := rng.Int64N(int64(len(data)))
		n := rng.IntN(300000)
		got := make([]byte, n)
		k, err := r.ReadAt(ctx, got, off)
		want := data[off:min(off+int64(n), int64(len(data)))]
		if k != len(want) || !bytes.Equal(got[:k], want) || (k < n && err != io.EOF) {
			t.Fatalf("read %d at %d: %d %v", n, off, k, err)
		}
	}
	seq := c.Reader(ent)
	var out bytes.Buffer
	for off := int64(0); ; off += 128 << 10 {
		chunk := make([]byte, 128<<10)
		n, err := seq.ReadAt(ctx, chunk, off)
		out.Write(chunk[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("sequential read differs")
	}
	// Each chunk crossed the wire once (the cache holds the whole file).
	if got := srv.Stats().StorageBytes; got > int64(len(data))+ChunkSize {
		t.Errorf("fetched %d bytes for a %d-byte file", got, len(data))
	}
}

// A size the listing lacked is asked of the storage host once, however
// often it is looked up, and asked again once its keep has run out.
func TestSizeLearntOnceAndKeptForAWhile(t *testing.T) {
	srv, c := newTestCache(t)
	id := srv.AddFile("", "a.txt", "text/plain", []byte("hello world"))
	ent := listed(t, c, id)
	ent.Size = -1 // as a listing with minimal fields gives it
	ctx := context.Background()
	asked := func() int64 { return srv.Stats().StorageRequests }
	for range 3 {
		if got, err := c.Sized(ctx, ent); err != nil || got.Size != 11 {
			t.Fatalf("Sized: %+v %v", got, err)
		}
	}
	if n := asked(); n != 1 {
		t.Fatalf("three look-ups asked the storage host %d times, want 1", n)
	}
	if size, ok := c.knownSize(ent); !ok || size != 11 {
		t.Fatalf("knownSize: %d %v", size, ok)
	}
	// A keep of a nanosecond has run out by the next look-up.
	c.sizes = gocache.New(time.Nanosecond, 0)
	for range 2 {
		if _, err := c.Sized(ctx, ent); err != nil {
			t.Fatal(err)
		}
	}
	if n := asked(); n != 3 {
		t.Fatalf("with the sizes kept a nanosecond, %d requests in all, want 3", n)
	}
	if _, ok := c.knownSize(ent); ok {
		t.Fatal("knownSize gave a size past its keep")
	}
}

// A warmed pool holds the spare buffers, as many as the memory budget
// allows, and hands them out without allocating.
func TestWarmFillsTheSparePool(t *testing.T) {
	b := newBlockCache(256 << 20)
	b.warm(context.Background())
	if len(b.free) != maxFree {
		t.Fatalf("warmed %d spare buffers, want %d", len(b.free), maxFree)
	}
	if n := testing.AllocsPerRun(maxFree-1, func() { b.buffer() }); n != 0 {
		t.Errorf("taking a warmed buffer allocated %v times", n)
	}
	small := newBlockCache(3 * ChunkSize)
	small.warm(context.Background())
	if len(small.free) != 3 {
		t.Errorf("a budget of 3 chunks warmed %d buffers", len(small.free))
	}
	closed, cancel := context.WithCancel(context.Background())
	cancel()
	none := newBlockCache(256 << 20)
	none.warm(closed)
	if len(none.free) != 0 {
		t.Errorf("warmed %d buffers after closing", len(none.free))
	}
}

// A sequential reader as the kernel reads for it: 1 MiB requests, a few
// at a time, answered out of order, some several MiB behind the furthest
// one (the order is one logged under cat of a 20 MiB file). Each byte
// crosses the wire once. (A request more than 1 MiB behind the front was
// taken for a jump: the read-ahead started again from it, and fetched
// again the chunks the reader had already had and given back, 1 to 4 MiB
// of 20.)
func TestReadAheadOutOfOrderFetchesOnce(t *testing.T) {
	srv, c := newTestCache(t)
	data := make([]byte, 20<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	id := srv.AddFile("", "clip.mp4", "video/mp4", data)
	ent := listed(t, c, id)
	ctx := context.Background()
	r := c.Reader(ent)
	for _, mib := range []int64{0, 1, 3, 4, 2, 5, 6, 8, 7, 9, 10, 11, 14, 15, 16, 17, 18, 19, 12, 13} {
		off := mib << 20
		parts, done, err := r.Read(ctx, 1<<20, off)
		if err != nil {
			t.Fatalf("read at %d MiB: %v", mib, err)
		}
		if got := bytes.Join(parts, nil); !bytes.Equal(got, data[off:off+1<<20]) {
			t.Fatalf("read at %d MiB: wrong bytes", mib)
		}
		done()
	}
	c.fetching.Wait()
	if got := srv.Stats().StorageBytes; got != int64(len(data)) {
		t.Errorf("fetched %.2f MiB for a file of 20 MiB", float64(got)/(1<<20))
	}
}
