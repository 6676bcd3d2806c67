package cache

import (
	"container/list"
	"context"
	"errors"
	"io"
	"sync"
)

// File contents are read in chunks of chunkSize, aligned, and kept in a
// bounded LRU by (file id, chunk index). A file's bytes never change under
// one id, so cached chunks never go stale.
const chunkSize = 256 << 10

// Read-ahead: once reads keep landing near the furthest point read so far
// (the kernel sends a sequential reader's requests a few at a time and not
// always in order), the Reader fetches ahead of that point, in parallel
// requests of segmentChunks chunks, with a window that doubles up to
// maxReadAhead. Reads elsewhere fetch only the chunks they touch.
const (
	seqThreshold     = 2
	nearFront        = 1 << 20
	initialReadAhead = 2 << 20
	maxReadAhead     = 32 << 20
	segmentChunks    = 8 // chunks per read-ahead request (2 MiB)
	maxParallelReads = 8
)

type chunkKey struct {
	id  string
	idx int64
}

type blockCache struct {
	mu    sync.Mutex
	max   int64
	used  int64
	order *list.List // front = most recently used; values are *chunk
	m     map[chunkKey]*list.Element
}

type chunk struct {
	key  chunkKey
	data []byte
}

func newBlockCache(max int64) *blockCache {
	return &blockCache{max: max, order: list.New(), m: make(map[chunkKey]*list.Element)}
}

func (b *blockCache) get(k chunkKey) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	el, ok := b.m[k]
	if !ok {
		return nil, false
	}
	b.order.MoveToFront(el)
	return el.Value.(*chunk).data, true
}

func (b *blockCache) has(k chunkKey) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[k]
	return ok
}

func (b *blockCache) put(k chunkKey, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el, ok := b.m[k]; ok {
		b.order.MoveToFront(el)
		return
	}
	b.m[k] = b.order.PushFront(&chunk{key: k, data: data})
	b.used += int64(len(data))
	for b.used > b.max && b.order.Len() > 1 {
		el := b.order.Back()
		c := el.Value.(*chunk)
		b.order.Remove(el)
		delete(b.m, c.key)
		b.used -= int64(len(c.data))
	}
}

// fetchGroup lets one fetch of a chunk serve every reader waiting for it.
type fetchGroup struct {
	mu       sync.Mutex
	inflight map[chunkKey]*flight
	sem      chan struct{} // bounds concurrent storage requests
}

type flight struct {
	done chan struct{}
	data []byte
	err  error
}

func newFetchGroup() *fetchGroup {
	return &fetchGroup{inflight: make(map[chunkKey]*flight), sem: make(chan struct{}, maxParallelReads)}
}

// Reader reads one file. It is made per open file handle.
type Reader struct {
	s *Store
	e Entry

	mu       sync.Mutex
	front    int64 // the furthest byte read so far
	streak   int   // reads in a row near the front
	window   int64 // current read-ahead window
	aheadEnd int64 // read-ahead has been started up to here
}

// NewReader returns a Reader of e's bytes. e.Size may be unknown (-1).
func (s *Store) NewReader(e Entry) *Reader {
	return &Reader{s: s, e: e}
}

// Read returns the bytes of the file from off on, as many as fit in buf
// or up to the end of the file. When they lie in one cached chunk, the
// result is that chunk's memory, not a copy: the caller must not change
// it. It returns io.EOF at the end of the file.
func (r *Reader) Read(ctx context.Context, buf []byte, off int64) ([]byte, error) {
	e, err := r.s.Stat(ctx, r.e)
	if err != nil {
		return nil, err
	}
	if off >= e.Size {
		return nil, io.EOF
	}
	n := min(int64(len(buf)), e.Size-off)
	if off/chunkSize != (off+n-1)/chunkSize {
		k, err := r.ReadAt(ctx, buf[:n], off)
		return buf[:k], err
	}
	r.planReadAhead(e, off, n)
	idx := off / chunkSize
	data, err := r.s.chunkAt(ctx, e, idx, idx)
	if err != nil {
		return nil, err
	}
	start := off - idx*chunkSize
	return data[start : start+n], nil
}

// ReadAt reads len(p) bytes at off, or up to the end of the file, in which
// case it returns io.EOF with the bytes read.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	e, err := r.s.Stat(ctx, r.e)
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

	first, last := off/chunkSize, (off+int64(len(want))-1)/chunkSize
	n := 0
	for idx := first; idx <= last; {
		data, err := r.s.chunkAt(ctx, e, idx, last)
		if err != nil {
			return n, err
		}
		start := off + int64(n) - idx*chunkSize
		n += copy(want[n:], data[start:])
		idx++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// planReadAhead notes the read pattern and starts background fetches of
// the chunks ahead of a sequential reader.
func (r *Reader) planReadAhead(e Entry, off, n int64) {
	r.mu.Lock()
	if off <= r.front+nearFront && off+n >= r.front-nearFront {
		r.streak++
		r.front = max(r.front, off+n)
	} else {
		r.streak, r.window, r.aheadEnd, r.front = 1, 0, 0, off+n
	}
	if r.streak < seqThreshold {
		r.mu.Unlock()
		return
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
	const segment = segmentChunks * chunkSize
	if to-from < segment && to < e.Size {
		r.mu.Unlock()
		return
	}
	to = min(from+(to-from+segment-1)/segment*segment, e.Size)
	r.aheadEnd = to
	r.mu.Unlock()

	r.s.prefetch(e, from/chunkSize, (to-1)/chunkSize)
}

// prefetch starts fetching, without waiting, the chunks first..last of e
// that are neither cached nor being fetched, in runs of up to
// segmentChunks per request.
func (s *Store) prefetch(e Entry, first, last int64) {
	fg := s.fetches
	fg.mu.Lock()
	defer fg.mu.Unlock()
	var run []*flight
	start := int64(-1)
	flush := func() {
		if len(run) > 0 {
			go s.fetchRun(e, start, start+int64(len(run))-1, run)
		}
		run, start = nil, -1
	}
	for idx := first; idx <= last; idx++ {
		k := chunkKey{e.ID, idx}
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

// chunkAt returns chunk idx of e. On a miss it fetches, in one request,
// that chunk and the following ones up to upTo that are neither cached
// nor being fetched.
func (s *Store) chunkAt(ctx context.Context, e Entry, idx, upTo int64) ([]byte, error) {
	k := chunkKey{e.ID, idx}
	if data, ok := s.blocks.get(k); ok {
		return data, nil
	}
	if s.disk != nil {
		if data, ok := s.disk.get(k); ok {
			s.blocks.put(k, data)
			return data, nil
		}
	}
	fg := s.fetches
	fg.mu.Lock()
	if f, ok := fg.inflight[k]; ok {
		fg.mu.Unlock()
		return waitFlight(ctx, f)
	}
	if data, ok := s.blocks.get(k); ok { // landed while we took the lock
		fg.mu.Unlock()
		return data, nil
	}
	// Claim chunk idx and the run of missing chunks after it.
	lastChunk := (e.Size - 1) / chunkSize
	upTo = min(max(upTo, idx), lastChunk, idx+segmentChunks-1)
	var flights []*flight
	end := idx
	for j := idx; j <= upTo; j++ {
		kj := chunkKey{e.ID, j}
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
	fg.mu.Unlock()

	go s.fetchRun(e, idx, end, flights)
	return waitFlight(ctx, flights[0])
}

// fetchRun reads chunks first..last with one ranged request and hands each
// to its waiters. It runs detached from any one reader, so that a reader
// that gives up does not fail the others.
func (s *Store) fetchRun(e Entry, first, last int64, flights []*flight) {
	fg := s.fetches
	fg.sem <- struct{}{}
	ctx, cancel := s.withTimeout(context.Background())
	off := first * chunkSize
	size := min((last+1)*chunkSize, e.Size) - off
	buf := make([]byte, size)
	n, err := s.rc.ReadAt(ctx, e.URL(), buf, off)
	cancel()
	<-fg.sem
	if errors.Is(err, io.EOF) && int64(n) < size {
		err = io.ErrUnexpectedEOF // shorter than the size we were told
	} else if errors.Is(err, io.EOF) {
		err = nil
	}
	if err != nil {
		err = translate(err)
	}
	fg.mu.Lock()
	for i, f := range flights {
		idx := first + int64(i)
		if err == nil {
			lo := int64(i) * chunkSize
			f.data = buf[lo:min(lo+chunkSize, int64(n))]
			s.blocks.put(chunkKey{e.ID, idx}, f.data)
		} else {
			f.err = err
		}
		delete(fg.inflight, chunkKey{e.ID, idx})
		close(f.done)
	}
	fg.mu.Unlock()
	if s.disk != nil && err == nil {
		for i, f := range flights {
			if werr := s.disk.put(chunkKey{e.ID, first + int64(i)}, f.data); werr != nil {
				s.log.Warn("could not keep content on disk", "err", werr)
				break
			}
		}
	}
}

func waitFlight(ctx context.Context, f *flight) ([]byte, error) {
	select {
	case <-f.done:
		return f.data, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
