package spool

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// dataFiles are the names of the bytes in the spool.
func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "spool", "*.data"))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	slices.Sort(names)
	return names
}

// awaitSpares waits, bounded, until p keeps n spares made.
func awaitSpares(t *testing.T, p *Spares, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p.mu.Lock()
		have := len(p.free)
		p.mu.Unlock()
		if have >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spares made, want %d", have, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Each Take gives a new id and its empty bytes, whether made ahead or
// not; Close removes the spares no Take took, and leaves the taken ones.
func TestSparesTakeAndClose(t *testing.T) {
	s, dir, _ := newSpool(t)
	if _, err := s.Recover(dir, Library{Location: "l", API: "a"}); err != nil {
		t.Fatal(err)
	}
	p := s.NewSpares(8, 0)
	p.Start()
	awaitSpares(t, p, 8)
	if held := HeldBytes(dir); len(held) != 0 {
		t.Fatalf("spares taken for bytes records hold: %v", held)
	}
	var taken []string
	for range 20 { // more than the pool holds: some are made by Take
		id, f, err := p.Take()
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := f.Stat(); err != nil || fi.Size() != 0 || f.Name() != s.DataPath(id) {
			t.Fatalf("take %s: %v %v %s", id, fi, err, f.Name())
		}
		if slices.Contains(taken, id) {
			t.Fatalf("id %s taken twice", id)
		}
		taken = append(taken, id+".data")
		f.Close()
	}
	p.Close()
	slices.Sort(taken)
	if got := dataFiles(t, dir); !slices.Equal(got, taken) {
		t.Fatalf("after Close the spool holds %v, want the %d taken", got, len(taken))
	}
	// After Close a Take makes its own file.
	id, f, err := p.Take()
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := os.Stat(s.DataPath(id)); err != nil {
		t.Fatal(err)
	}
}

// Spares a crash leaves (no Close) hold no record: the next Recover
// deletes them, and finds nothing to upload.
func TestSparesLeftByACrashAreDeleted(t *testing.T) {
	s, dir, _ := newSpool(t)
	if _, err := s.Recover(dir, Library{Location: "l", API: "a"}); err != nil {
		t.Fatal(err)
	}
	p := s.NewSpares(4, 0)
	p.Start()
	awaitSpares(t, p, 4)
	// As kill -9 would: the goroutine stops, nothing is removed.
	p.mu.Lock()
	p.closed = true
	for _, sp := range p.free {
		sp.f.Close() // the descriptors die with the process
	}
	p.free = nil
	p.mu.Unlock()
	close(p.done)
	p.wg.Wait()
	if n := len(dataFiles(t, dir)); n != 4 {
		t.Fatalf("%d spares on disk, want 4", n)
	}
	found, err := s.Recover(dir, Library{Location: "l", API: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 0 || len(dataFiles(t, dir)) != 0 {
		t.Fatalf("recovered %v, spool holds %v; want nothing", found, dataFiles(t, dir))
	}
}

// Spares taken are made again once the Takes have stopped for a while,
// not while they still come: made beside the creates, they took the disk
// and a core from the creates they were made for.
func TestSparesRefillOnceTakesStop(t *testing.T) {
	s, dir, _ := newSpool(t)
	if _, err := s.Recover(dir, Library{Location: "l", API: "a"}); err != nil {
		t.Fatal(err)
	}
	p := s.NewSpares(4, 0)
	p.Start()
	defer p.Close()
	awaitSpares(t, p, 4)
	for range 3 {
		_, f, err := p.Take()
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	clk := s.clock.(*clockwork.FakeClock)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := clk.BlockUntilContext(ctx, 1); err != nil { // the goroutine waits for a pause
		t.Fatal(err)
	}
	p.mu.Lock()
	have := len(p.free)
	p.mu.Unlock()
	if have != 1 {
		t.Fatalf("%d spares while the creates may still come, want the 1 left", have)
	}
	clk.Advance(sparesQuiet)
	awaitSpares(t, p, 4)
}
