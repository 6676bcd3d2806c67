package listing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// heldPass is a backend whose whole-library listing of files stops after
// its first item until release is closed: a pass over the library that
// has paged part of the files and waits for the rest. It records the
// folders listed on their own.
type heldPass struct {
	remote.Backend
	held    chan struct{} // closed when the pass's listing of files stops
	release chan struct{}
	once    sync.Once

	mu  sync.Mutex
	own []string // guarded by mu: the folders listed on their own
}

func (h *heldPass) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	if !q.All {
		h.mu.Lock()
		h.own = append(h.own, q.ParentID)
		h.mu.Unlock()
		return h.Backend.List(ctx, q, restart, add)
	}
	return h.Backend.List(ctx, q, restart, func(it remote.Item) {
		add(it)
		if q.Type == remote.TypeFile {
			h.once.Do(func() { close(h.held) })
			<-h.release
		}
	})
}

func (h *heldPass) listedOwn() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.own)
}

// said is a log that closes a channel when a line holding a text is
// written.
type said struct {
	text string
	ch   chan struct{}
	once sync.Once
}

func (s *said) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(s.text)) {
		s.once.Do(func() { close(s.ch) })
	}
	return len(p), nil
}

// While a pass over the library runs, a look-up lists its folder on its
// own unless it is part of a walk: the third folder in a row of one
// parent's listing waits for the pass, and is served by it, whole,
// without a call of its own; a folder looked at here and there does not
// wait. Nothing the pass paged so far is shown before it ends.
func TestWalkDuringPassWaitsForIt(t *testing.T) {
	walk := &said{text: "a walk of the tree", ch: make(chan struct{})}
	e := newEnv(t, ghltest.Options{}, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(walk, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	folders := make([]string, 6)
	for i := range folders {
		folders[i] = e.srv.AddFolder("", fmt.Sprintf("d%d", i))
		for j := range 3 {
			e.srv.AddFile(folders[i], fmt.Sprintf("f%d.txt", j), "text/plain", []byte("x"))
		}
	}
	h := &heldPass{Backend: e.rc, held: make(chan struct{}), release: make(chan struct{})}
	e.rc = h
	e.reopen(t)
	f := e.f
	f.listAll = true

	e.srv.ResetStats()
	passed := make(chan error, 1)
	go func() { passed <- f.passOverLibrary(context.Background()) }()
	<-h.held
	e.clock.Advance(2 * time.Second) // past the pass's youth: no look-up waits for that

	// ls of the root, then of d0 and d1, and of d4: each listed on its
	// own, while the pass is held (none of them waits for it).
	want := []string{"f0.txt", "f1.txt", "f2.txt"}
	alone := []string{"", folders[0], folders[1], folders[4]}
	for _, id := range alone {
		if got := e.names(t, id); id != "" && !slices.Equal(got, want) {
			t.Fatalf("a folder listed on its own shows %q, want %q", got, want)
		}
	}

	// A look-up whose caller gave up (an interrupted ls) lists nothing.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Get(gone, folders[5]); !errors.Is(err, context.Canceled) {
		t.Errorf("a look-up given up: %v, want context.Canceled", err)
	}

	// d2 follows d0 and d1: a walk. It waits for the pass, which has
	// paged one file so far: nothing of that is shown before its end.
	got := make(chan []string, 1)
	go func() {
		st, err := f.Get(context.Background(), folders[2])
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		var names []string
		for _, x := range st.Entries() {
			names = append(names, x.Name)
		}
		got <- names
	}()
	select {
	case <-walk.ch:
	case names := <-got:
		t.Fatalf("a look-up in a walk returned before the pass ended: %q", names)
	}
	close(h.release)
	if err := <-passed; err != nil {
		t.Fatal(err)
	}
	if names := <-got; !slices.Equal(names, want) {
		t.Errorf("d2, served by the pass, shows %q, want %q", names, want)
	}
	// The rest of the walk is the pass's too.
	for _, id := range folders[2:] {
		if got := e.names(t, id); !slices.Equal(got, want) {
			t.Errorf("after the pass a folder shows %q, want %q", got, want)
		}
	}
	ownIDs := h.listedOwn()
	if slices.Contains(ownIDs, folders[2]) || slices.Contains(ownIDs, folders[3]) || slices.Contains(ownIDs, folders[5]) {
		t.Errorf("folders listed on their own: %q; the walk's d2, and d3 and d5, were the pass's", ownIDs)
	}
	// The calls: the pass's and those four folders' own, no more. Each
	// is measured again, on its own, to compare.
	total := e.lists()
	e.srv.ResetStats()
	for _, id := range alone {
		if _, _, err := f.Fetch(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	own := e.lists()
	e.srv.ResetStats()
	if err := f.passOverLibrary(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pass := e.lists(); total != own+pass {
		t.Errorf("the pass and the look-ups made %d calls, want %d: the pass's %d and the %d of the 4 folders listed on their own", total, own+pass, pass, own)
	}
	if !slices.Contains(ownIDs, folders[4]) {
		t.Errorf("d4 was not listed on its own: %q", ownIDs)
	}
}
