package integration

import (
	"bytes"
	"os"
	"syscall"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A new file written through a shared mapping, its descriptor closed
// before the stores and the unmap, as some editors and databases do: the
// stores made after close(2) are what the mount reads back and what the
// library ends up holding. The mapping keeps the file open: its
// release, and so its completion, comes after the kernel wrote the
// stored pages back (sync asks for that here).
func TestMmapStoresAfterClose(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	want := randomBytes(3*4096+100, 11)
	f, err := os.Create(m.path("mapped.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(want))); err != nil {
		t.Fatal(err)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, len(want), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	copy(data, want)
	if err := syscall.Munmap(data); err != nil {
		t.Fatal(err)
	}
	sh(t, "sync", m.path("mapped.bin"))
	if got := readFile(t, m.path("mapped.bin")); !bytes.Equal(got, want) {
		t.Errorf("the mount reads back %d bytes, not the %d stored", len(got), len(want))
	}
	waitFor(t, "the stored bytes in the library", func() bool {
		rf, ok := remoteTree(t, srv)["mapped.bin"]
		if !ok {
			return false
		}
		b, _ := srv.Content(rf.ID)
		return bytes.Equal(b, want)
	})
}
