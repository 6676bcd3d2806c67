package cache

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// diskCache keeps chunks of file contents on local disk, within a size
// cap, evicting the least recently used. One file per chunk, named after
// the file id and the chunk index; a file's bytes never change under one
// id, so a chunk on disk is never stale.
type diskCache struct {
	dir string
	max int64

	mu    sync.Mutex
	used  int64                      // guarded by mu
	order *list.List                 // guarded by mu; front = most recent; *diskChunk
	m     map[chunkKey]*list.Element // guarded by mu
}

type diskChunk struct {
	key  chunkKey
	size int64
}

// openDiskCache takes up the chunks a previous run left in dir, most
// recently used first by modification time, and trims them to max.
func openDiskCache(dir string, max int64) (*diskCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d := &diskCache{dir: dir, max: max, order: list.New(), m: make(map[chunkKey]*list.Element)}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type found struct {
		k     chunkKey
		size  int64
		mtime time.Time
	}
	var all []found
	for _, de := range entries {
		k, ok := parseChunkName(de.Name())
		if !ok {
			os.Remove(filepath.Join(dir, de.Name())) // a temp file of a crash
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		all = append(all, found{k, fi.Size(), fi.ModTime()})
	}
	slices.SortFunc(all, func(a, b found) int { return b.mtime.Compare(a.mtime) })
	for _, f := range all {
		d.m[f.k] = d.order.PushBack(&diskChunk{key: f.k, size: f.size})
		d.used += f.size
	}
	d.mu.Lock()
	d.evictLocked()
	d.mu.Unlock()
	return d, nil
}

// chunkName is a chunk's file name: its file's id escaped (an id may hold
// a '/'), or, for an id too long to make a file name of, "%%" and the id's
// SHA-256 (such chunks are not taken up again after a restart).
func chunkName(k chunkKey) string {
	id := url.PathEscape(k.id)
	if len(id) > maxEscapedID {
		sum := sha256.Sum256([]byte(k.id))
		id = "%%" + hex.EncodeToString(sum[:])
	}
	return id + "." + strconv.FormatInt(k.idx, 10)
}

// maxEscapedID leaves room in a file name (255 bytes) for a chunk's index
// and a temporary suffix.
const maxEscapedID = 200

func parseChunkName(name string) (chunkKey, bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return chunkKey{}, false
	}
	idx, err := strconv.ParseInt(name[i+1:], 10, 64)
	id, uerr := url.PathUnescape(name[:i])
	if err != nil || uerr != nil || idx < 0 {
		return chunkKey{}, false
	}
	return chunkKey{id, idx}, true
}

func (d *diskCache) has(k chunkKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.m[k]
	return ok
}

// read reads chunk k into buf (of chunkSize) and returns its bytes.
func (d *diskCache) read(k chunkKey, buf []byte) ([]byte, bool) {
	d.mu.Lock()
	el, ok := d.m[k]
	if ok {
		d.order.MoveToFront(el)
	}
	d.mu.Unlock()
	if !ok {
		return nil, false
	}
	p := filepath.Join(d.dir, chunkName(k))
	data, err := readInto(p, buf)
	if err != nil {
		d.mu.Lock()
		if el, ok := d.m[k]; ok {
			d.order.Remove(el)
			delete(d.m, k)
			d.used -= el.Value.(*diskChunk).size
		}
		d.mu.Unlock()
		return nil, false
	}
	now := time.Now()
	os.Chtimes(p, now, now) // remembered across restarts
	return data, true
}

func readInto(name string, buf []byte) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return buf[:n], err
}

func (d *diskCache) put(k chunkKey, data []byte) error {
	d.mu.Lock()
	_, have := d.m[k]
	d.mu.Unlock()
	if have || int64(len(data)) > d.max {
		return nil
	}
	p := filepath.Join(d.dir, chunkName(k))
	tmp := p + ".tmp" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("content cache: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("content cache: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, have := d.m[k]; have {
		return nil
	}
	d.m[k] = d.order.PushFront(&diskChunk{key: k, size: int64(len(data))})
	d.used += int64(len(data))
	d.evictLocked()
	return nil
}

// evictLocked removes the least recently used chunks until the cache fits.
func (d *diskCache) evictLocked() {
	for d.used > d.max && d.order.Len() > 0 {
		el := d.order.Back()
		c := el.Value.(*diskChunk)
		d.order.Remove(el)
		delete(d.m, c.key)
		d.used -= c.size
		os.Remove(filepath.Join(d.dir, chunkName(c.key)))
	}
}

func (d *diskCache) size() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.used
}
