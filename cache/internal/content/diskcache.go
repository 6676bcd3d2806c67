package content

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"
)

// Disk keeps chunks of file contents on local disk, within a size cap,
// evicting the least recently used. One file per chunk, named after the
// file's content key (its id, and its version where the service keeps
// versions under one id: Entry.ContentKey) and the chunk index; a file's
// bytes never change under one key, so a chunk on disk is never stale. Once every chunk of a file is on
// disk, they are joined into one file of its whole content (index
// wholeIdx), which the kernel can read directly (FUSE passthrough); it
// stands in for the chunks, in the same budget and the same LRU.
type Disk struct {
	dir string
	max int64

	mu      sync.Mutex
	used    int64                      // guarded by mu
	order   *list.List                 // guarded by mu; front = most recent; *diskChunk
	m       map[chunkKey]*list.Element // guarded by mu
	joining map[string]bool            // guarded by mu: file ids being joined
}

// wholeIdx is the index of a file's whole content, kept as one file named
// "ID.all".
const wholeIdx = -1

type diskChunk struct {
	key     chunkKey
	size    int64
	stamped time.Time // guarded by Disk.mu: when its file's time was last set
}

// OpenDisk takes up the chunks a previous run left in dir, most
// recently used first by modification time, and trims them to max.
func OpenDisk(dir string, max int64) (*Disk, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d := &Disk{dir: dir, max: max, order: list.New(), m: make(map[chunkKey]*list.Element), joining: make(map[string]bool)}
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
		if !ok || strings.HasPrefix(de.Name(), ".") {
			// A temp file of a crash (replaceFile's are "." and a chunk's
			// name; a chunk of an id that starts with "." only costs a
			// fetch).
			os.Remove(filepath.Join(dir, de.Name()))
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
	if k.idx == wholeIdx {
		return id + ".all"
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
	if name[i+1:] == "all" {
		id, err := url.PathUnescape(name[:i])
		return chunkKey{id, wholeIdx}, err == nil
	}
	idx, err := strconv.ParseInt(name[i+1:], 10, 64)
	id, uerr := url.PathUnescape(name[:i])
	if err != nil || uerr != nil || idx < 0 {
		return chunkKey{}, false
	}
	return chunkKey{id, idx}, true
}

// has reports whether chunk k is on disk, alone or in its file's whole
// copy.
func (d *Disk) has(k chunkKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hasLocked(k)
}

func (d *Disk) hasLocked(k chunkKey) bool {
	_, ok := d.m[k]
	if !ok {
		_, ok = d.m[chunkKey{k.id, wholeIdx}]
	}
	return ok
}

// read reads chunk k into buf (of ChunkSize) and returns its bytes, from
// its own file or from its file's whole copy.
func (d *Disk) read(k chunkKey, buf []byte) ([]byte, bool) {
	if d.touch(k) {
		data, err := readInto(filepath.Join(d.dir, chunkName(k)), buf)
		if err == nil {
			return data, true
		}
		d.forget(k) // removed meanwhile: joined, or evicted
	}
	w := chunkKey{k.id, wholeIdx}
	if !d.touch(w) {
		return nil, false
	}
	f, err := os.Open(filepath.Join(d.dir, chunkName(w)))
	if err != nil {
		d.forget(w)
		return nil, false
	}
	defer f.Close()
	n, err := f.ReadAt(buf, k.idx*ChunkSize)
	if err != nil && err != io.EOF {
		d.forget(w)
		return nil, false
	}
	return buf[:n], true
}

// touch marks k as just used, if it is on disk. The order is remembered
// across restarts in the files' times, set at most once a minute (a file
// re-read often is not written to each time).
func (d *Disk) touch(k chunkKey) bool {
	now := time.Now()
	d.mu.Lock()
	el, ok := d.m[k]
	stamp := false
	if ok {
		d.order.MoveToFront(el)
		c := el.Value.(*diskChunk)
		if stamp = now.Sub(c.stamped) > time.Minute; stamp {
			c.stamped = now
		}
	}
	d.mu.Unlock()
	if stamp {
		os.Chtimes(filepath.Join(d.dir, chunkName(k)), now, now)
	}
	return ok
}

// forget drops k, whose file could not be read.
func (d *Disk) forget(k chunkKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.m[k]; ok {
		d.order.Remove(el)
		delete(d.m, k)
		d.used -= el.Value.(*diskChunk).size
	}
}

// whole opens the copy of file id's whole content, if the disk holds one
// of size bytes. The caller closes it. Evicting the copy later removes
// its name only: on Linux an open file lives on, unlinked, until its last
// descriptor (the caller's, or the kernel's passthrough reference) closes.
func (d *Disk) whole(id string, size int64) (*os.File, bool) {
	w := chunkKey{id, wholeIdx}
	d.mu.Lock()
	el, ok := d.m[w]
	ok = ok && el.Value.(*diskChunk).size == size
	d.mu.Unlock()
	if !ok || !d.touch(w) {
		return nil, false
	}
	f, err := os.Open(filepath.Join(d.dir, chunkName(w)))
	if err != nil {
		d.forget(w)
		return nil, false
	}
	return f, true
}

// join copies the chunks of file id (size bytes), once all of them are on
// disk, into one file of its whole content, and drops the chunks.
func (d *Disk) join(id string, size int64) error {
	if size <= 0 || size > d.max {
		return nil
	}
	last := (size - 1) / ChunkSize
	w := chunkKey{id, wholeIdx}
	d.mu.Lock()
	_, have := d.m[w]
	ready := !have && !d.joining[id]
	for i := int64(0); ready && i <= last; i++ {
		_, ready = d.m[chunkKey{id, i}]
	}
	if ready {
		d.joining[id] = true
	}
	d.mu.Unlock()
	if !ready {
		return nil
	}
	defer func() {
		d.mu.Lock()
		delete(d.joining, id)
		d.mu.Unlock()
	}()
	p := filepath.Join(d.dir, chunkName(w))
	err := replaceFile(p, func(out *os.File) error { return d.copyChunks(out, id, last, size) })
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a chunk was evicted meanwhile
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := int64(0); i <= last; i++ {
		k := chunkKey{id, i}
		if el, ok := d.m[k]; ok {
			d.order.Remove(el)
			delete(d.m, k)
			d.used -= el.Value.(*diskChunk).size
			os.Remove(filepath.Join(d.dir, chunkName(k)))
		}
	}
	d.m[w] = d.order.PushFront(&diskChunk{key: w, size: size})
	d.used += size
	d.evictLocked()
	return nil
}

// copyChunks writes chunks 0..last of file id, in order, to out, a new
// file, which must come to size bytes.
func (d *Disk) copyChunks(out *os.File, id string, last, size int64) error {
	var n int64
	var err error
	for i := int64(0); i <= last && err == nil; i++ {
		var in *os.File
		if in, err = os.Open(filepath.Join(d.dir, chunkName(chunkKey{id, i}))); err == nil {
			var c int64
			c, err = io.Copy(out, in) // copy_file_range: no bytes through ghlfs
			n += c
			in.Close()
		}
	}
	if err == nil && n != size {
		err = fmt.Errorf("joined %d bytes of %s, want %d", n, id, size)
	}
	return err
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

func (d *Disk) put(k chunkKey, data []byte) error {
	d.mu.Lock()
	have := d.hasLocked(k)
	d.mu.Unlock()
	if have || int64(len(data)) > d.max {
		return nil
	}
	p := filepath.Join(d.dir, chunkName(k))
	if err := replaceFile(p, func(out *os.File) error { _, err := out.Write(data); return err }); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hasLocked(k) {
		return nil
	}
	d.m[k] = d.order.PushFront(&diskChunk{key: k, size: int64(len(data))})
	d.used += int64(len(data))
	d.evictLocked()
	return nil
}

// evictLocked removes the least recently used chunks until the cache fits.
func (d *Disk) evictLocked() {
	for d.used > d.max && d.order.Len() > 0 {
		el := d.order.Back()
		c := el.Value.(*diskChunk)
		d.order.Remove(el)
		delete(d.m, c.key)
		d.used -= c.size
		os.Remove(filepath.Join(d.dir, chunkName(c.key)))
	}
}

func (d *Disk) size() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.used
}

// replaceFile writes p whole through write, into a file beside it then
// synced and renamed over it (renameio): a reader sees the old file or
// the new, never a part, also after a power cut. A temporary file a crash
// left is not a chunk's name, and goes at the next OpenDisk.
func replaceFile(p string, write func(*os.File) error) error {
	pf, err := renameio.NewPendingFile(p, renameio.WithTempDir(filepath.Dir(p)), renameio.WithPermissions(0o600))
	if err != nil {
		return fmt.Errorf("content cache: %w", err)
	}
	defer pf.Cleanup()
	if err := write(pf.File); err != nil {
		return fmt.Errorf("content cache: %w", err)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("content cache: %w", err)
	}
	return nil
}

// Clear drops every chunk: the cache dir was another library's, whose
// file ids these are.
func (d *Disk) Clear() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for el := d.order.Front(); el != nil; el = el.Next() {
		os.Remove(filepath.Join(d.dir, chunkName(el.Value.(*diskChunk).key)))
	}
	d.order.Init()
	clear(d.m)
	d.used = 0
}
