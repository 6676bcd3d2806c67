package cache

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
	d, err := openDiskCache(dir, 1<<20)
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
		got, ok := d.read(chunkKey{id, 0}, make([]byte, chunkSize))
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
	d2, err := openDiskCache(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d2.read(chunkKey{"a/b", 0}, make([]byte, chunkSize)); !ok {
		t.Error("a/b was not taken up again")
	}
}
