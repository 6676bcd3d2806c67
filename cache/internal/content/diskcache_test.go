package content

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// Chunks of files whose ids hold path characters, or are too long for a
// file name, are kept as plain files in the cache's own folder.
func TestDiskCacheHostileIDs(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDisk(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"../../etc/passwd", "a/b", ".", "..", "nl\nid", strings.Repeat("/", 256), strings.Repeat("é", 128)}
	for i, id := range ids {
		if err := d.put(chunkKey{id, 0}, []byte{byte(i)}); err != nil {
			t.Fatalf("%q: %v", id, err)
		}
	}
	for i, id := range ids {
		got, ok := d.read(chunkKey{id, 0}, make([]byte, ChunkSize))
		if !ok || !bytes.Equal(got, []byte{byte(i)}) {
			t.Errorf("%q: read %v %v", id, got, ok)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != len(ids) {
		t.Fatalf("%d entries in the cache dir, want %d: %v", len(entries), len(ids), err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || len(e.Name()) > 255 {
			t.Errorf("%q", e.Name())
		}
	}
	// A restart takes up the chunks it can name, and drops the others.
	d2, err := OpenDisk(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d2.read(chunkKey{"a/b", 0}, make([]byte, ChunkSize)); !ok {
		t.Error("a/b was not taken up again")
	}
}

// Once every chunk of a file is on disk they become one file of its whole
// content, in the same budget: its chunks are read from it, it is taken up
// again after a restart, and it is evicted like any chunk. An open copy
// survives its eviction.
func TestDiskCacheJoinsAWholeFile(t *testing.T) {
	dir := t.TempDir()
	size := int64(2*ChunkSize + 100)
	data := bytes.Repeat([]byte("0123456789abcdef"), int(size/16)+1)[:size]
	d, err := OpenDisk(dir, 3*ChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 3; i++ {
		if _, ok := d.whole("f", size); ok {
			t.Fatal("a whole copy before every chunk was on disk")
		}
		d.put(chunkKey{"f", i}, data[i*ChunkSize:min((i+1)*ChunkSize, size)])
		if err := d.join("f", size); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := d.whole("f", size+1); ok {
		t.Error("a whole copy of another size was served")
	}
	f, ok := d.whole("f", size)
	if !ok {
		t.Fatal("no whole copy")
	}
	defer f.Close()
	got, _ := os.ReadFile(f.Name())
	if !bytes.Equal(got, data) || d.size() != size {
		t.Fatalf("whole copy of %d bytes, cache holds %d; want %d", len(got), d.size(), size)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the cache dir, want the whole copy alone", len(entries))
	}
	if c, ok := d.read(chunkKey{"f", 2}, make([]byte, ChunkSize)); !ok || !bytes.Equal(c, data[2*ChunkSize:]) {
		t.Errorf("chunk 2 from the whole copy: %d bytes, %v", len(c), ok)
	}
	d2, err := OpenDisk(dir, 3*ChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := d2.whole("f", size); !ok {
		t.Error("the whole copy was not taken up again")
	} else {
		g.Close()
	}
	// Other bytes push it out; the open copy reads on.
	d.put(chunkKey{"g", 0}, make([]byte, ChunkSize))
	d.put(chunkKey{"g", 1}, make([]byte, ChunkSize))
	if d.has(chunkKey{"f", 0}) {
		t.Error("the whole copy was not evicted")
	}
	buf := make([]byte, 10)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "0123456789" {
		t.Errorf("the open copy after eviction: %q %v", buf, err)
	}
}
