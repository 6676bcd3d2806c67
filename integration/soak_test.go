package integration

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// TestListingNeverHidesAFile: while uploads land and renames and removals
// go through, listings are fetched again and again (a 100 ms listing TTL,
// under 500s, 429s and cut connections); a file that exists must never be
// answered ENOENT, nor one that is gone be shown. A writer creates,
// rewrites, renames and removes files in one folder; readers stat and read
// the files the writer says exist, as fast as they can.
func TestListingNeverHidesAFile(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{Faults: ghltest.Faults{Fault500: 0.05, Fault429: 0.02, Fault429NoRetryAfter: true, FaultCut: 0.01}})
	m := mountFS(t, srv, mountOpt{args: []string{"--dir-cache-time", "100ms", "--write-back-delay", "50ms", "--upload-retry", "100ms"}})
	sh(t, "mkdir", m.path("soak"))
	dir := m.path("soak")

	var mu sync.Mutex
	exists := map[string][]byte{} // files the writer has finished making, with their bytes
	busy := map[string]bool{}     // files the writer is changing right now
	changes := map[string]int{}   // how many changes each name began
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var stopOnce sync.Once
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		readers.Wait()
	}
	defer halt() // also when the writer fails the test
	var checks, failures atomic.Int64
	for w := range 3 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				names := make([]string, 0, len(exists))
				for n := range exists {
					if !busy[n] {
						names = append(names, n)
					}
				}
				mu.Unlock()
				if len(names) == 0 {
					continue
				}
				slices.Sort(names)
				name := names[rng.IntN(len(names))]
				mu.Lock()
				before := changes[name]
				mu.Unlock()
				data, err := os.ReadFile(dir + "/" + name)
				mu.Lock()
				want, still := exists[name]
				stable := still && !busy[name] && changes[name] == before
				mu.Unlock()
				if !stable {
					continue // changed while it was read: nothing to judge
				}
				checks.Add(1)
				switch {
				case errors.Is(err, syscall.ENOENT):
					failures.Add(1)
					t.Errorf("%s exists, but reading it said ENOENT", name)
				case err != nil:
					failures.Add(1)
					t.Errorf("reading %s: %v", name, err)
				case string(data) != string(want):
					failures.Add(1)
					t.Errorf("%s reads %q, want %q", name, data, want)
				}
			}
		}()
	}

	rng := rand.New(rand.NewPCG(7, 7))
	soak := 15 * time.Second // SOAK_SECONDS=300 soaks longer
	if n, err := strconv.Atoi(os.Getenv("SOAK_SECONDS")); err == nil && n > 0 {
		soak = time.Duration(n) * time.Second
	}
	deadline := time.Now().Add(soak)
	ops := 0
	for i := 0; time.Now().Before(deadline) && failures.Load() == 0; i++ {
		ops++
		mu.Lock()
		var names []string
		for n := range exists {
			names = append(names, n)
		}
		mu.Unlock()
		slices.Sort(names)
		pick := func() string { return names[rng.IntN(len(names))] }
		setBusy := func(n string, b bool) {
			mu.Lock()
			busy[n] = b
			if b {
				changes[n]++
			}
			mu.Unlock()
		}
		switch op := rng.IntN(10); {
		case op < 4 || len(names) < 3: // a new file
			name := fmt.Sprintf("f%04d.txt", i)
			data := []byte(fmt.Sprintf("file %d, version 1\n", i))
			writeFile(t, dir+"/"+name, data)
			mu.Lock()
			exists[name] = data
			mu.Unlock()
		case op < 6: // new bytes for a file
			name := pick()
			data := []byte(fmt.Sprintf("%s rewritten at op %d\n", name, i))
			setBusy(name, true)
			writeFile(t, dir+"/"+name, data)
			mu.Lock()
			exists[name] = data
			busy[name] = false
			mu.Unlock()
		case op < 8: // a rename
			from := pick()
			to := fmt.Sprintf("r%04d.txt", i)
			setBusy(from, true)
			setBusy(to, true)
			if err := os.Rename(dir+"/"+from, dir+"/"+to); err != nil {
				t.Fatalf("rename %s: %v", from, err)
			}
			mu.Lock()
			exists[to] = exists[from]
			delete(exists, from)
			busy[from], busy[to] = false, false
			mu.Unlock()
		default: // a removal
			name := pick()
			setBusy(name, true)
			mu.Lock()
			delete(exists, name)
			mu.Unlock()
			if err := os.Remove(dir + "/" + name); err != nil {
				t.Fatalf("rm %s: %v", name, err)
			}
			setBusy(name, false)
		}
	}
	halt()
	t.Logf("%d operations, %d checked reads", ops, checks.Load())
	if checks.Load() < 100 {
		t.Fatalf("only %d reads were checked", checks.Load())
	}

	// At the end, the folder lists exactly the files that exist, in the
	// mount and, once the queue is done, in the library.
	srv.SetFaults(ghltest.Faults{})
	// Removals wait in a queue of their own (spool/*.removal), batched
	// into bulk calls: the library is judged once both are empty.
	waitFor(t, "the queue to empty", func() bool {
		return len(spoolFiles(t, m.cacheDir)) == 0 && len(removalFiles(t, m.cacheDir)) == 0
	})
	got := lines(sh(t, "ls", dir))
	var want []string
	for n := range exists {
		want = append(want, n)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ls shows %q, want %q", got, want)
	}
	tree := remoteTree(t, srv)
	for _, n := range want {
		rf, ok := tree["soak/"+n]
		if !ok || string(download(t, rf.URL)) != string(exists[n]) {
			t.Errorf("soak/%s in the library: %+v", n, rf)
		}
	}
	if n := len(tree) - 1; n != len(want) {
		var extra []string
		for p, rf := range tree {
			if n, ok := strings.CutPrefix(p, "soak/"); ok && exists[n] == nil {
				extra = append(extra, fmt.Sprintf("%s (%d bytes, %s)", p, rf.Size, rf.ID))
			}
		}
		slices.Sort(extra)
		t.Errorf("the library holds %d files in soak/, want %d; beyond them: %q", n, len(want), extra)
	}
}
