package pending

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/spool"
)

// The checksum kept up as writes append (Bytes.summed) is always the one
// read back from the file, whatever the order of writes and truncates.
func TestRunningChecksumMatchesTheFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		f, err := os.Create(filepath.Join(t.TempDir(), "data"))
		if err != nil {
			t.Fatal(err)
		}
		var b Bytes
		b.Set(f, 0, time.Time{})
		var size int64
		for range 1 + rng.IntN(12) {
			p := make([]byte, rng.IntN(3000))
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			switch rng.IntN(6) {
			case 0: // somewhere inside, or past the end
				off := rng.Int64N(size + 100)
				b.WriteAt(p, off, time.Time{})
				size = max(size, off+int64(len(p)))
			case 1:
				size = rng.Int64N(size + 100)
				if err := b.Truncate(size, time.Time{}); err != nil {
					t.Fatal(err)
				}
			case 2: // a checksum in the middle, then more appended
				b.Checksum()
				fallthrough
			default: // appended
				b.WriteAt(p, size, time.Time{})
				size += int64(len(p))
			}
		}
		gotSize, got, err := b.Checksum()
		if err != nil {
			t.Fatal(err)
		}
		want, err := spool.Checksum(f, size)
		if err != nil {
			t.Fatal(err)
		}
		if gotSize != size || got != want {
			t.Fatalf("round %d: checksum %08x of %d bytes, the file's is %08x of %d", round, got, gotSize, want, size)
		}
		f.Close()
	}
}
