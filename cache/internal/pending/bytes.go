package pending

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/spool"
)

// Bytes is a pending file's bytes in the spool and the open files that
// use them: the spool file, its size and last write, the open files that
// write or read it, an upload or a copy reading or filling it (sending),
// and the spool files it no longer uses that open files still read
// (kept). Its lock is a leaf: no call here takes another, and none does
// I/O but on its own spool files.
type Bytes struct {
	mu      sync.Mutex
	data    *os.File // nil when there are none
	size    int64
	touched time.Time // the last write
	writers int       // open files that changed it
	readers int       // open files that read it
	sending bool      // an upload reads the bytes (or a copy fills them): writes wait
	// kept holds spool files the record no longer uses that open files
	// still read: the bytes set aside when a write failed, once the
	// record copies its copy in the API into a spool file of its own.
	// Each open file reads the file it had (the front's Handle.data);
	// these close with the last of them (CloseKept).
	kept []*os.File
	// summed is how many bytes from the start sum is the checksum of
	// (spool.Checksum), kept up as writes append: a file written from
	// start to end is not read back at its close (Checksum). -1 when
	// unknown: a write elsewhere, a copy into the file.
	summed int64
	sum    uint32
	// unstarted counts the bytes written since the disk was last asked
	// to write them (spool.StartWriteback), and lo, hi bound where.
	unstarted, lo, hi int64
}

// writebackStep is how many bytes written since the disk was last asked
// to write them ask it again: a large file's bytes go to the disk while it
// is written, and the fsync before its upload (or a user's) waits for the
// last few MiB alone, not the whole file (20 MB: some 12 ms on this
// project's test machine). A small file is left to the fsync, or to the
// kernel: a file removed soon after costs the disk nothing.
const writebackStep = 4 << 20

// Set makes f the bytes, size long and last written at touched.
func (b *Bytes) Set(f *os.File, size int64, touched time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data, b.size, b.touched = f, size, touched
	b.summed, b.sum = -1, 0
	b.unstarted, b.lo, b.hi = 0, 0, 0
	if size == 0 {
		b.summed = 0
	}
}

// File is the spool file an open file of the record reads from now on
// (nil when there are no bytes).
func (b *Bytes) File() *os.File {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data
}

// Has reports whether there are bytes.
func (b *Bytes) Has() bool { return b.File() != nil }

// Size is the size of the bytes.
func (b *Bytes) Size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size
}

// SetSize records the size of bytes written to the file by a copy.
func (b *Bytes) SetSize(size int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.size = size
	b.summed = -1 // written past WriteAt
}

// Touched is the time of the last write.
func (b *Bytes) Touched() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.touched
}

// WriteAt writes p at off, at time now; an error is the spool's.
func (b *Bytes) WriteAt(p []byte, off int64, now time.Time) (int, error) {
	b.mu.Lock()
	n, err := b.writeAtLocked(p, off, now)
	f, lo, hi := b.data, b.lo, b.hi
	start := err == nil && b.unstarted >= writebackStep
	if start {
		b.unstarted, b.lo, b.hi = 0, 0, 0
	}
	b.mu.Unlock()
	if start {
		// Outside mu: it may wait for room in the disk's queue.
		spool.StartWriteback(f, lo, hi-lo)
	}
	return n, err
}

func (b *Bytes) writeAtLocked(p []byte, off int64, now time.Time) (int, error) {
	n, err := b.data.WriteAt(p, off)
	switch {
	case b.summed == off && off == b.size:
		b.sum = spool.Extend(b.sum, p[:n])
		b.summed += int64(n)
	case b.summed >= 0 && off < b.summed:
		b.summed = -1 // changed bytes already summed
	}
	b.size = max(b.size, off+int64(n))
	b.touched = now
	if err != nil {
		return n, fmt.Errorf("spool: %w", err)
	}
	if b.unstarted == 0 || off < b.lo {
		b.lo = off
	}
	b.hi = max(b.hi, off+int64(n))
	b.unstarted += int64(n)
	return n, nil
}

// Truncate sets the size of the bytes, at time now; an error is the
// spool's, and changes nothing.
func (b *Bytes) Truncate(size int64, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.data.Truncate(size); err != nil {
		b.summed = -1
		return fmt.Errorf("spool: %w", err)
	}
	if size < b.summed || (size > b.size && b.summed >= 0) {
		b.summed = -1 // cut into the summed bytes, or zeros added past them
	}
	if size == 0 {
		b.summed, b.sum = 0, 0
	}
	b.size, b.touched = size, now
	return nil
}

// Join counts one more open file, a writer or a reader, and returns the
// spool file it reads.
func (b *Bytes) Join(writer bool) *os.File {
	b.mu.Lock()
	defer b.mu.Unlock()
	if writer {
		b.writers++
	} else {
		b.readers++
	}
	return b.data
}

// Leave counts one open file fewer, and returns how many writers are
// left.
func (b *Bytes) Leave(writer bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if writer {
		b.writers--
	} else {
		b.readers--
	}
	return b.writers
}

// Writers counts the open files that changed the bytes.
func (b *Bytes) Writers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writers
}

// InUse reports whether an open file or a send uses the bytes.
func (b *Bytes) InUse() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writers+b.readers > 0 || b.sending
}

// Send marks the bytes as being sent (or filled by a copy): writes wait
// (the record's holder waits for Sending to end). It returns the file.
func (b *Bytes) Send() *os.File {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sending = true
	return b.data
}

// Sent ends a send.
func (b *Bytes) Sent() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sending = false
}

// Sending reports whether the bytes are being sent.
func (b *Bytes) Sending() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sending
}

// Close closes the spool file (open files keep their own descriptors):
// there are no bytes from then on.
func (b *Bytes) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.data != nil {
		b.data.Close()
		b.data = nil
	}
}

// Keep leaves the spool file to the open files that read it, and to
// CloseKept: there are no bytes from then on, until Set.
func (b *Bytes) Keep() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.kept = append(b.kept, b.data)
	b.data, b.size = nil, 0
}

// CloseKept closes the spool files Keep left to open files.
func (b *Bytes) CloseKept() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.kept {
		f.Close()
	}
	b.kept = nil
}

// Is reports whether the spool file is the file at path.
func (b *Bytes) Is(path string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	fi, err := os.Stat(path)
	if err != nil || b.data == nil {
		return false
	}
	cur, err := b.data.Stat()
	return err == nil && os.SameFile(fi, cur)
}

// Checksum returns the size of the bytes and their checksum
// (spool.Checksum).
func (b *Bytes) Checksum() (int64, uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.data == nil {
		return 0, 0, fmt.Errorf("spool: %w", os.ErrClosed) // closed: nothing to vouch for
	}
	if b.summed == b.size {
		return b.size, b.sum, nil
	}
	sum, err := spool.Checksum(b.data, b.size)
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	b.summed, b.sum = b.size, sum
	return b.size, sum, nil
}

// Damaged says how the bytes differ from what rf says they were when
// complete; "" if they do not (spool.Damaged).
func (b *Bytes) Damaged(rf *spool.RecordFile) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return spool.Damaged(b.data, b.size, rf)
}

// Sync forces the bytes to the disk.
func (b *Bytes) Sync() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.data == nil {
		return nil
	}
	return b.data.Sync()
}
