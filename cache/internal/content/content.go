package content

import (
	"container/list"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"
	"golang.org/x/sys/unix"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/remote"
)

// Entry is a file as the cache knows it.
type Entry = entry.Entry

// File contents are read in chunks of ChunkSize, aligned, and kept in a
// bounded LRU by (file id, chunk index). A file's bytes never change under
// one id, so cached chunks never go stale.
const ChunkSize = 256 << 10

// Read-ahead: once reads keep landing near the furthest point read so far
// (the kernel sends a sequential reader's requests a few at a time and not
// always in order), the Reader fetches ahead of that point, in parallel
// requests of segmentChunks chunks, with a window that doubles up to
// maxReadAhead. Reads elsewhere fetch only the chunks they touch. "Near"
// is up to nearFront ahead, and up to behindFront behind: the kernel's
// own read-ahead (fs sets it to 4 MiB) has that many requests under way,
// and one answered late is no jump (taken for one, it restarted the
// read-ahead behind the front, and fetched again chunks already read).
const (
	seqThreshold     = 2
	nearFront        = 1 << 20
	behindFront      = 8 << 20
	initialReadAhead = 2 << 20
	maxReadAhead     = 16 << 20
	segmentChunks    = 8 // chunks per read-ahead request (2 MiB)
	maxParallelReads = 8
)

type chunkKey struct {
	id  string
	idx int64
}

// Chunk memory is recycled, not left to the garbage collector: on a VM,
// touching fresh memory costs far more than the bytes it holds (each new
// page faults), so a buffer whose chunk leaves the cache goes back to a
// pool for the next fetch. A chunk is pinned while a reader uses its bytes
// (until go-fuse has written them to the kernel), and its buffer returns to
// the pool only when it is both out of the cache and unpinned.
type chunk struct {
	key     chunkKey
	data    []byte // len = the chunk's bytes; cap = ChunkSize
	pins    int    // guarded by blockCache.mu
	evicted bool   // guarded by blockCache.mu
}

type blockCache struct {
	mu    sync.Mutex
	max   int64
	used  int64
	order *list.List // front = most recently used; values are *chunk
	m     map[chunkKey]*list.Element
	free  [][]byte // recycled buffers, at most maxFree
}

const maxFree = 64 // 16 MiB of buffers kept for reuse

// warm fills the pool of spare buffers, each page of their memory
// written once (Config.Warm). A fresh process has touched none of the
// memory its first large read will need: on a VM each page's first write
// is a fault costing as much as a few KiB of copying, and a first
// sequential read of 25 MB took some 60 buffers (4,000 faults, twice the
// CPU of the next read). It makes no more than the memory budget holds,
// stops when the pool is full, and at closing.
//
// The buffers are one mapping outside the Go heap, kept for the life of
// the process (a buffer may be anywhere, in a chunk or with the kernel's
// read, when the Cache closes): on the heap they would raise the
// collector's goal by half as much again, and a mount's resident memory
// with them.
func (b *blockCache) warm(closing context.Context) {
	n := int(min(maxFree, b.max/ChunkSize))
	if n <= 0 || closing.Err() != nil {
		return
	}
	region, err := unix.Mmap(-1, 0, n*ChunkSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return // the pool fills from reads, as it would anyway
	}
	page := os.Getpagesize()
	for i := range n {
		if closing.Err() != nil {
			return
		}
		buf := region[i*ChunkSize : (i+1)*ChunkSize : (i+1)*ChunkSize]
		for j := 0; j < len(buf); j += page {
			buf[j] = 0 // a write: a read would map the shared zero page
		}
		b.mu.Lock()
		full := len(b.free) >= maxFree
		if !full {
			b.free = append(b.free, buf[:0])
		}
		b.mu.Unlock()
		if full {
			return
		}
	}
}

func newBlockCache(max int64) *blockCache {
	return &blockCache{max: max, order: list.New(), m: make(map[chunkKey]*list.Element)}
}

// buffer returns a chunk-sized buffer, recycled when one is free.
func (b *blockCache) buffer() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.free); n > 0 {
		buf := b.free[n-1]
		b.free = b.free[:n-1]
		return buf[:ChunkSize]
	}
	return make([]byte, ChunkSize)
}

// recycle takes back a buffer that never made it into a chunk.
func (b *blockCache) recycle(buf []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recycleLocked(&chunk{data: buf})
}

// recycleLocked takes back the buffer of a chunk no one holds.
func (b *blockCache) recycleLocked(c *chunk) {
	if cap(c.data) == ChunkSize && len(b.free) < maxFree {
		b.free = append(b.free, c.data[:0])
	}
	c.data = nil
}

// acquire returns the cached chunk k, pinned; release it when done.
func (b *blockCache) acquire(k chunkKey) (*chunk, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	el, ok := b.m[k]
	if !ok {
		return nil, false
	}
	b.order.MoveToFront(el)
	c := el.Value.(*chunk)
	c.pins++
	return c, true
}

func (b *blockCache) release(c *chunk) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c.pins--
	if c.pins == 0 && c.evicted {
		b.recycleLocked(c)
	}
}

func (b *blockCache) has(k chunkKey) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[k]
	return ok
}

// insert adds c, holding pins pins for its callers, and evicts the least
// recently used chunks over the budget. If k is cached already, that chunk
// is returned (pinned as asked) and c's buffer recycled.
func (b *blockCache) insert(c *chunk, pins int) *chunk {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el, ok := b.m[c.key]; ok {
		old := el.Value.(*chunk)
		b.order.MoveToFront(el)
		old.pins += pins
		b.recycleLocked(c)
		return old
	}
	c.pins = pins
	b.m[c.key] = b.order.PushFront(c)
	b.used += int64(cap(c.data))
	for b.used > b.max && b.order.Len() > 1 {
		b.evictLocked(b.order.Back())
	}
	return c
}

// drop takes k out of the cache early: a sequential reader is past it, and
// the kernel keeps those bytes in its own page cache.
func (b *blockCache) drop(k chunkKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el, ok := b.m[k]; ok {
		b.evictLocked(el)
	}
}

func (b *blockCache) evictLocked(el *list.Element) {
	c := el.Value.(*chunk)
	b.order.Remove(el)
	delete(b.m, c.key)
	b.used -= int64(cap(c.data))
	c.evicted = true
	if c.pins == 0 {
		b.recycleLocked(c)
	}
}

// fetchGroup lets one fetch of a chunk serve every reader waiting for it.
type fetchGroup struct {
	mu       sync.Mutex
	inflight map[chunkKey]*flight
	sem      chan struct{} // bounds concurrent storage requests
}

// flight is a chunk being fetched. waiters counts the readers that will
// each take a pin on it; guarded by fetchGroup.mu.
type flight struct {
	done    chan struct{}
	c       *chunk
	err     error
	waiters int
}

func newFetchGroup() *fetchGroup {
	return &fetchGroup{inflight: make(map[chunkKey]*flight), sem: make(chan struct{}, maxParallelReads)}
}

// Reader reads one file of the API. It is made per open file handle.
type Reader struct {
	c *Cache

	mu       sync.Mutex
	e        Entry // the file; its url changes once if it was stale (recheck)
	front    int64 // the furthest byte read so far
	streak   int   // reads in a row near the front
	window   int64 // current read-ahead window
	aheadEnd int64 // read-ahead has been started up to here
}

// Reader returns a Reader of e's bytes. e.Size may be unknown (-1).
func (s *Cache) Reader(e Entry) *Reader {
	return &Reader{c: s, e: e}
}

// entry is the file as the Reader reads it now.
func (r *Reader) entry() Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.e
}

// Read returns the bytes of the file from off on, up to n of them or to
// the end of the file, as slices of the cached chunks (no copy), and a
// function to call once they have been used: the caller must not change
// them, nor use them after done. It returns io.EOF at the end of the file.
func (r *Reader) Read(ctx context.Context, n int, off int64) ([][]byte, func(), error) {
	e := r.entry()
	data, done, err := r.read(ctx, e, n, off)
	if err != nil && r.recheck(ctx, e, err) {
		return r.read(ctx, r.entry(), n, off)
	}
	return data, done, err
}

func (r *Reader) read(ctx context.Context, e Entry, n int, off int64) (data [][]byte, done func(), err error) {
	e, err = r.c.Sized(ctx, e)
	if err != nil {
		return nil, nop, err
	}
	if off >= e.Size {
		return nil, nop, io.EOF
	}
	size := min(int64(n), e.Size-off)
	seq := r.planReadAhead(e, off, size)
	first, last := off/ChunkSize, (off+size-1)/ChunkSize
	var held []*chunk
	release := func() {
		for _, c := range held {
			// A sequential reader that read a chunk to its end is past it:
			// the kernel keeps those bytes in its page cache, so the buffer
			// may go to the next fetch.
			consumed := off+size >= c.key.idx*ChunkSize+int64(len(c.data))
			r.c.blocks.release(c)
			if seq && consumed {
				r.c.blocks.drop(c.key)
			}
		}
	}
	for idx := first; idx <= last; idx++ {
		c, err := r.c.chunkAt(ctx, e, idx, last)
		if err != nil {
			release()
			return nil, nop, err
		}
		held = append(held, c)
		lo := max(off-idx*ChunkSize, 0)
		hi := min(off+size-idx*ChunkSize, int64(len(c.data)))
		if lo > hi {
			release()
			return nil, nop, io.ErrUnexpectedEOF
		}
		data = append(data, c.data[lo:hi])
	}
	return data, release, nil
}

func nop() {}

// ReadAt reads len(p) bytes at off, or up to the end of the file, in which
// case it returns io.EOF with the bytes read.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	e := r.entry()
	n, err := r.readAt(ctx, e, p, off)
	if err != nil && err != io.EOF && r.recheck(ctx, e, err) {
		return r.readAt(ctx, r.entry(), p, off)
	}
	return n, err
}

// recheck is told that a read of used failed with err. When the url came
// from a listing an earlier mount saved, not yet checked against the
// server, and the storage host or the allow-list refused it, the url may
// be stale (the file's bytes moved since; the saved listing was of
// another server): the file's folder is listed again (once for the open
// file; concurrent reads share it), and recheck reports whether that
// gave the file another url, for the read to be tried once more.
func (r *Reader) recheck(ctx context.Context, used Entry, err error) bool {
	if !used.Unchecked() || r.c.relist == nil || !refusedRead(err) {
		return false
	}
	v, _, _ := r.c.relists.Do(used.ID, func() (any, error) {
		fresh, ok := r.c.relist(ctx, used)
		if !ok {
			return "", nil
		}
		return fresh.URL(), nil
	})
	url, _ := v.(string)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.e.ID != used.ID {
		return false
	}
	r.e.SetUnchecked(false) // checked now, whatever came of it
	if url == "" || url == used.URL() {
		return false
	}
	r.c.log.Info("a url from the listings saved by the last mount was refused; the file's folder, listed again, gives another", "name", used.Name, "id", used.ID)
	r.e.SetURL(url)
	return true
}

// refusedRead reports whether a read failed for its url: refused by the
// storage allow-list (nothing was sent), or by the storage host (a 4xx
// other than 408 and 429: no such object, or not for us), as opposed to a
// failure that may pass on its own.
func refusedRead(err error) bool {
	if errors.Is(err, remote.ErrRefused) {
		return true
	}
	var e *remote.Error
	return errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

func (r *Reader) readAt(ctx context.Context, e Entry, p []byte, off int64) (int, error) {
	e, err := r.c.Sized(ctx, e)
	if err != nil {
		return 0, err
	}
	if off >= e.Size {
		return 0, io.EOF
	}
	want := p
	if rest := e.Size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	r.planReadAhead(e, off, int64(len(want)))

	first, last := off/ChunkSize, (off+int64(len(want))-1)/ChunkSize
	n := 0
	for idx := first; idx <= last; idx++ {
		c, err := r.c.chunkAt(ctx, e, idx, last)
		if err != nil {
			return n, err
		}
		start := off + int64(n) - idx*ChunkSize
		if start < int64(len(c.data)) {
			n += copy(want[n:], c.data[start:])
		}
		r.c.blocks.release(c)
	}
	if n < len(want) {
		return n, io.ErrUnexpectedEOF
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// planReadAhead notes the read pattern and starts background fetches of
// the chunks ahead of a sequential reader. It reports whether the reader
// reads sequentially.
func (r *Reader) planReadAhead(e Entry, off, n int64) bool {
	r.mu.Lock()
	if off <= r.front+nearFront && off+n >= r.front-behindFront {
		r.streak++
		r.front = max(r.front, off+n)
	} else {
		r.streak, r.window, r.aheadEnd, r.front = 1, 0, 0, off+n
	}
	if r.streak < seqThreshold {
		r.mu.Unlock()
		return false
	}
	switch {
	case r.window == 0:
		r.window = initialReadAhead
	case r.window < maxReadAhead && r.front+r.window/2 >= r.aheadEnd:
		r.window *= 2
	}
	// Ask in whole segments: wait until a full one is due (or the end of
	// the file is near), rather than trickle out a chunk per read.
	from := max(r.aheadEnd, r.front)
	to := min(r.front+r.window, e.Size)
	const segment = segmentChunks * ChunkSize
	if (to-from < segment && to < e.Size) || to <= from {
		r.mu.Unlock()
		return true
	}
	to = min(from+(to-from+segment-1)/segment*segment, e.Size)
	r.aheadEnd = to
	r.mu.Unlock()

	r.c.prefetch(e, from/ChunkSize, (to-1)/ChunkSize)
	return true
}

// prefetch starts fetching, without waiting, the chunks first..last of e
// that are neither cached nor being fetched, in runs of up to
// segmentChunks per request.
func (s *Cache) prefetch(e Entry, first, last int64) {
	fg := s.fetches
	fg.mu.Lock()
	defer fg.mu.Unlock()
	var run []*flight
	start := int64(-1)
	flush := func() {
		if len(run) > 0 {
			s.fetching.Add(1)
			go s.fetchRun(e, start, start+int64(len(run))-1, run)
		}
		run, start = nil, -1
	}
	for idx := first; idx <= last; idx++ {
		k := chunkKey{e.ContentKey(), idx}
		if _, busy := fg.inflight[k]; busy || s.blocks.has(k) || (s.disk != nil && s.disk.has(k)) {
			flush()
			continue
		}
		f := &flight{done: make(chan struct{})}
		fg.inflight[k] = f
		if start < 0 {
			start = idx
		}
		run = append(run, f)
		if len(run) == segmentChunks {
			flush()
		}
	}
	flush()
}

// chunkAt returns chunk idx of e, pinned: release it when done. On a miss
// it fetches, in one request, that chunk and the following ones up to upTo
// that are neither cached nor being fetched.
func (s *Cache) chunkAt(ctx context.Context, e Entry, idx, upTo int64) (*chunk, error) {
	k := chunkKey{e.ContentKey(), idx}
	if c, ok := s.blocks.acquire(k); ok {
		s.stats.memoryHits.Add(1)
		return c, nil
	}
	if s.disk != nil {
		buf := s.blocks.buffer()
		if data, ok := s.disk.read(k, buf); ok {
			s.stats.diskHits.Add(1)
			return s.blocks.insert(&chunk{key: k, data: data}, 1), nil
		}
		s.blocks.recycle(buf)
	}
	fg := s.fetches
	fg.mu.Lock()
	if f, ok := fg.inflight[k]; ok {
		f.waiters++
		fg.mu.Unlock()
		s.stats.misses.Add(1)
		return s.waitFlight(ctx, f)
	}
	if c, ok := s.blocks.acquire(k); ok { // landed while we took the lock
		fg.mu.Unlock()
		s.stats.memoryHits.Add(1)
		return c, nil
	}
	s.stats.misses.Add(1)
	// Claim chunk idx and the run of missing chunks after it.
	lastChunk := (e.Size - 1) / ChunkSize
	upTo = min(max(upTo, idx), lastChunk, idx+segmentChunks-1)
	var flights []*flight
	end := idx
	for j := idx; j <= upTo; j++ {
		kj := chunkKey{e.ContentKey(), j}
		if j > idx {
			if _, busy := fg.inflight[kj]; busy || s.blocks.has(kj) || (s.disk != nil && s.disk.has(kj)) {
				break
			}
		}
		f := &flight{done: make(chan struct{})}
		fg.inflight[kj] = f
		flights = append(flights, f)
		end = j
	}
	flights[0].waiters++
	fg.mu.Unlock()

	s.fetching.Add(1)
	go s.fetchRun(e, idx, end, flights)
	return s.waitFlight(ctx, flights[0])
}

// fetchRun reads chunks first..last with one ranged request and hands each
// to its waiters, pinned once for each. It runs detached from any one
// reader, so that a reader that gives up does not fail the others.
func (s *Cache) fetchRun(e Entry, first, last int64, flights []*flight) {
	defer s.fetching.Done()
	fg := s.fetches
	fg.sem <- struct{}{}
	ctx, cancel := context.WithTimeout(s.closing, s.timeout)
	off := first * ChunkSize
	size := min((last+1)*ChunkSize, e.Size) - off
	bufs := make([][]byte, len(flights))
	for i := range bufs {
		bufs[i] = s.blocks.buffer()
	}
	bufs[len(bufs)-1] = bufs[len(bufs)-1][:size-int64(len(bufs)-1)*ChunkSize]
	n, err := s.rc.ReadAt(ctx, e.FileRef(), bufs, off)
	cancel()
	<-fg.sem
	if errors.Is(err, io.EOF) && int64(n) < size {
		err = io.ErrUnexpectedEOF // shorter than the size we were told
	} else if errors.Is(err, io.EOF) {
		err = nil
	}
	if err != nil {
		err = entry.Translate(err)
	}
	var got []*chunk
	fg.mu.Lock()
	for i, f := range flights {
		k := chunkKey{e.ContentKey(), first + int64(i)}
		if err == nil {
			// One pin per waiter, and one for the disk copy below.
			f.c = s.blocks.insert(&chunk{key: k, data: bufs[i]}, f.waiters+1)
			got = append(got, f.c)
		} else {
			f.err = err
			s.blocks.recycle(bufs[i])
		}
		delete(fg.inflight, k)
		close(f.done)
	}
	fg.mu.Unlock()
	for _, c := range got {
		if s.disk != nil {
			if werr := s.disk.put(c.key, c.data); werr != nil {
				s.log.Warn("could not keep content on disk", "err", werr)
			}
		}
		s.blocks.release(c)
	}
	// A file now wholly on disk becomes one local file, which later opens
	// can hand the kernel to read directly.
	if s.disk != nil && err == nil {
		if jerr := s.disk.join(e.ContentKey(), e.Size); jerr != nil {
			s.log.Warn("could not keep content on disk", "err", jerr)
		}
	}
}

// waitFlight waits for a flight the caller counted itself a waiter of, and
// returns its chunk, pinned for the caller. A caller that gives up leaves
// its pin to be dropped when the flight lands.
func (s *Cache) waitFlight(ctx context.Context, f *flight) (*chunk, error) {
	select {
	case <-f.done:
		return f.c, f.err
	case <-ctx.Done():
		go func() {
			<-f.done
			if f.c != nil {
				s.blocks.release(f.c)
			}
		}()
		return nil, ctx.Err()
	}
}

// Cache reads file bytes from the storage host, in chunks kept in memory
// (and on disk, when asked), and learns the sizes listings leave out.
// Everything it is made with comes in Config; nothing is set on it after.
type Cache struct {
	rc      remote.Backend
	timeout time.Duration
	log     *slog.Logger
	closing context.Context // Config.Closing

	blocks   *blockCache
	disk     *Disk // nil when off
	fetches  *fetchGroup
	fetching sync.WaitGroup // fetches under way, and their disk copies
	learning sync.WaitGroup // size look-ups under way in the background
	flights  singleflight.Group
	stats    counters
	// relist is Config.Relist; relists shares one among the reads that
	// ask at once.
	relist  func(ctx context.Context, e Entry) (Entry, bool)
	relists singleflight.Group

	// sizes holds the sizes learnt from the storage host (a
	// remote.FileInfo by file id), each for sizeKeep after it was learnt.
	sizes *gocache.Cache
}

// sizeKeep is how long a size learnt from the storage host is kept. A
// file's bytes never change under one id, so a size never goes stale:
// the keep only bounds the memory, which would otherwise hold a size for
// every file the mount ever looked at. It covers the look-ups and opens
// that follow a directory read many times over; a size asked for after
// it costs one request again. It is on the wall clock (go-cache's, the
// only one it has): what it decides is when a size is asked again, never
// what a file shows.
const sizeKeep = time.Hour

// Config is what a Cache is made with.
type Config struct {
	// Timeout bounds each request to the storage host.
	Timeout time.Duration
	// MemoryBytes caps the chunks held in memory.
	MemoryBytes int64
	Logger      *slog.Logger
	// Closing is done when the Store closes: fetches and size look-ups
	// under way end (Wait waits for them).
	Closing context.Context
	// Disk, when not nil, keeps chunks and whole files on disk (OpenDisk).
	Disk *Disk
	// Warm, when set, fills the pool of spare chunk buffers in the
	// background as the Cache starts (blockCache.warm), so that the first
	// large read does not pay for fresh memory: a mount, which reads, sets
	// it; it costs the pool's 16 MiB (outside the Go heap) from the start
	// instead of from the first read of that size.
	Warm bool
	// Relist, when set, gives e as its folder's listing shows it once
	// checked against the server; false if it cannot. A Reader asks it
	// when a url from a listing an earlier mount saved is refused
	// (Reader.recheck). It is called with no lock of this package held,
	// and may list a folder.
	Relist func(ctx context.Context, e Entry) (Entry, bool)
}

// New returns a Cache of the bytes of rc's files.
func New(rc remote.Backend, cfg Config) *Cache {
	s := &Cache{
		rc:      rc,
		timeout: cfg.Timeout,
		log:     cfg.Logger,
		closing: cfg.Closing,
		blocks:  newBlockCache(cfg.MemoryBytes),
		disk:    cfg.Disk,
		fetches: newFetchGroup(),
		relist:  cfg.Relist,
		// No janitor: its goroutine would outlive Close. Expired sizes go
		// when LearnSizes starts a batch (DeleteExpired).
		sizes: gocache.New(sizeKeep, 0),
	}
	if cfg.Warm {
		s.fetching.Add(1)
		go func() {
			defer s.fetching.Done()
			s.blocks.warm(s.closing)
		}()
	}
	return s
}

// Wait waits for the fetches and look-ups under way; the caller has
// cancelled Config.Closing.
func (s *Cache) Wait() {
	s.fetching.Wait()
	s.learning.Wait()
}

// counters count how readers' chunks were found (chunkAt).
type counters struct {
	memoryHits, diskHits, misses atomic.Int64
}

// Stats counts the chunks readers asked for, in turn, that were in
// memory, on disk, or had to be waited for from the storage host.
type Stats struct {
	MemoryHits, DiskHits, Misses int64
}

// Stats reads the counters.
func (s *Cache) Stats() Stats {
	return Stats{
		MemoryHits: s.stats.memoryHits.Load(),
		DiskHits:   s.stats.diskHits.Load(),
		Misses:     s.stats.misses.Load(),
	}
}

// Usage is how much the cache holds, in bytes: in memory, of at most
// MemoryMax, and on disk, of at most DiskMax (0: no disk cache).
type Usage struct {
	Memory, MemoryMax int64
	Disk, DiskMax     int64
}

// Usage reports how much the cache holds.
func (s *Cache) Usage() Usage {
	b := s.blocks
	b.mu.Lock()
	u := Usage{Memory: b.used, MemoryMax: b.max}
	b.mu.Unlock()
	if d := s.disk; d != nil {
		u.Disk, u.DiskMax = d.size(), d.max
	}
	return u
}

// Sized completes e with a size the listing did not give, asked of the
// storage host once per file.
func (s *Cache) Sized(ctx context.Context, e Entry) (Entry, error) {
	if e.IsDir || e.Size >= 0 {
		return e, nil
	}
	fi, err := s.fileInfo(ctx, e)
	if err != nil {
		return e, err
	}
	e.Size = fi.Size
	if e.ModTime.IsZero() {
		e.ModTime = fi.ModTime
	}
	return e, nil
}

func (s *Cache) fileInfo(ctx context.Context, e Entry) (remote.FileInfo, error) {
	if v, ok := s.sizes.Get(e.ContentKey()); ok {
		return v.(remote.FileInfo), nil
	}
	if e.URL() == "" {
		return remote.FileInfo{}, entry.ErrNotFound
	}
	v, err, _ := s.flights.Do(e.ContentKey(), func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		fi, err := s.rc.Stat(ctx, e.FileRef())
		if err != nil {
			return nil, entry.Translate(err)
		}
		s.sizes.SetDefault(e.ContentKey(), fi)
		return fi, nil
	})
	if err != nil {
		return remote.FileInfo{}, err
	}
	return v.(remote.FileInfo), nil
}

// LearnSizes asks the storage host, a few at a time in the background, for
// the sizes a fresh listing did not carry, so that the look-ups that follow
// a directory read find them ready.
func (s *Cache) LearnSizes(entries []Entry) {
	var todo []Entry
	for _, e := range entries {
		if !e.IsDir && e.Size < 0 && e.URL() != "" {
			todo = append(todo, e)
		}
	}
	if len(todo) == 0 || s.closing.Err() != nil {
		return
	}
	s.sizes.DeleteExpired()
	s.learning.Add(1)
	go func() {
		defer s.learning.Done()
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for _, e := range todo {
			select {
			case sem <- struct{}{}:
			case <-s.closing.Done():
				wg.Wait()
				return
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if _, err := s.fileInfo(s.closing, e); err != nil {
					s.log.Debug("could not learn a size", "name", e.Name, "err", err)
				}
			}()
		}
		wg.Wait()
	}()
}
