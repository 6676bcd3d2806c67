package cache

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/locate"
	"github.com/ghlfs/ghlfs/cache/internal/testlog"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A file with two uploads of one name and size that no listing has shown
// by their answers' ids (answers that give neither the listed id nor a
// url: upload-id-differs with upload-no-url), removed through the mount
// before any listing adopted either: the mount no longer shows it, and
// once the queue settles the library holds no active copy of it. (fsrand
// under those quirks, with random 5xx and cut connections, saw `unlink
// c/e/c` leave the file shown at its old size, and two active copies of
// it in the library.) The uploads are created at distinct times, and at
// one instant, which no look-up one by one can tell apart: the removal
// finds them together (locate.ConfirmAll with all), and the mount hides
// them meanwhile (pending.Facts.hideClaims).

// frozenNow is a clock for the fake that stands still: every upload is
// created at one instant, as two uploads within the service's clock
// precision would be.
func frozenNow() func() time.Time {
	at := time.Now()
	return func() time.Time { return at }
}

// newClaimsWB is quirkWB over a fake whose clock is now.
func newClaimsWB(t *testing.T, now func() time.Time, mod ...func(*Options)) *wbEnv {
	e, _ := newClaimsLogged(t, now, mod...)
	return e
}

// newClaimsLogged is newClaimsWB, and what it logs.
func newClaimsLogged(t *testing.T, now func() time.Time, mod ...func(*Options)) (*wbEnv, *testlog.Buf) {
	t.Helper()
	log := &testlog.Buf{}
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range append(log.Lines("WARN"), log.Lines("ERROR")...) {
				t.Log(l)
			}
		}
	})
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := newWBAt(t, now, 0, append(mod, func(o *Options) { o.Logger = logger })...)
	if err := e.srv.SetQuirks([]string{ghltest.QuirkUploadIDDiffers, ghltest.QuirkUploadNoURL}); err != nil {
		t.Fatal(err)
	}
	return e, log
}

// removedGone removes name through the store and checks the mount and,
// once settled, the library. lists is called once the removal is noted,
// before the first check of the mount: it lets listings through again.
func (e *wbEnv) removedGone(t *testing.T, name string, lists func()) {
	t.Helper()
	if got := live(e.srv, name); len(got) < 2 {
		t.Fatalf("before the removal the library holds %q: want two copies", got)
	}
	if err := e.store.Remove(context.Background(), e.entry(t, name)); err != nil {
		t.Fatal(err)
	}
	if got := e.shownKeys(t)[name]; len(got) != 0 {
		t.Errorf("right after the removal %s is shown as %q", name, got)
	}
	lists()
	e.store.Invalidate("")
	if got := e.shownKeys(t)[name]; len(got) != 0 {
		t.Errorf("after a listing %s is shown as %q", name, got)
	}
	e.clock.Advance(locate.UnlistedGrace)
	e.settle(t)
	e.store.Invalidate("")
	if got := e.shownKeys(t)[name]; len(got) != 0 {
		t.Errorf("once settled %s is shown as %q", name, got)
	}
	if got := live(e.srv, name); len(got) != 0 {
		t.Errorf("once settled the library holds %q", got)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
	if got := e.shownKeys(t)[name]; len(got) != 0 {
		t.Errorf("after a restart %s is shown as %q", name, got)
	}
}

// eachClock runs f with the fake's clock ticking, and standing still.
func eachClock(t *testing.T, f func(t *testing.T, now func() time.Time)) {
	t.Run("ticking", func(t *testing.T) { f(t, tickingNow()) })
	t.Run("one-instant", func(t *testing.T) { f(t, frozenNow()) })
}

// A rewrite of the same size sent right after the first answer, while
// listings fail: the record holds the new copy and the old one to trash,
// both known by their answers only.
func TestRemovedRewriteUnlistedLeavesNoCopy(t *testing.T) {
	eachClock(t, func(t *testing.T, now func() time.Time) {
		e := newClaimsWB(t, now)
		e.shownKeys(t) // the root's listing, before the uploads
		e.rt.failLists.Store(true)
		e.uploaded(t, "c", "one")
		e.write(t, "c", "two")
		e.clock.Advance(delay)
		eventually(t, "the rewrite to land", func() bool { return len(live(e.srv, "c")) == 2 })
		e.removedGone(t, "c", func() { e.rt.failLists.Store(false) })
	})
}

// The same, with the rewrite held until the removal: the removal comes
// while the second upload is under way (its answer not in yet).
func TestRemovedWhileRewriteAnswerHeldLeavesNoCopy(t *testing.T) {
	eachClock(t, func(t *testing.T, now func() time.Time) {
		e := newClaimsWB(t, now)
		e.shownKeys(t)
		e.rt.failLists.Store(true)
		e.uploaded(t, "c", "one")
		e.rt.answered, e.rt.answersHeld = make(chan struct{}, 1), make(chan struct{})
		var release sync.Once
		t.Cleanup(func() { release.Do(func() { close(e.rt.answersHeld) }) })
		e.write(t, "c", "two")
		e.clock.Advance(delay)
		<-e.rt.answered
		if got := live(e.srv, "c"); len(got) != 2 {
			t.Fatalf("the library holds %q", got)
		}
		if err := e.store.Remove(context.Background(), e.entry(t, "c")); err != nil {
			t.Fatal(err)
		}
		release.Do(func() { close(e.rt.answersHeld) })
		eventually(t, "the held answer", func() bool {
			e.clock.Advance(time.Second)
			return e.store.PendingCount() <= 1
		})
		if got := e.shownKeys(t)["c"]; len(got) != 0 {
			t.Errorf("right after the removal c is shown as %q", got)
		}
		e.rt.failLists.Store(false)
		e.store.Invalidate("")
		if got := e.shownKeys(t)["c"]; len(got) != 0 {
			t.Errorf("after a listing c is shown as %q", got)
		}
		e.clock.Advance(locate.UnlistedGrace)
		e.settle(t)
		e.store.Invalidate("")
		if got := e.shownKeys(t)["c"]; len(got) != 0 {
			t.Errorf("once settled c is shown as %q", got)
		}
		if got := live(e.srv, "c"); len(got) != 0 {
			t.Errorf("once settled the library holds %q", got)
		}
	})
}

// groupFails is a backend whose look-up of copies together gets no
// answer (a 503, a cut connection) while fail is set.
type groupFails struct {
	remote.Backend
	fail  atomic.Bool
	asked atomic.Int32
}

func (b *groupFails) ConfirmGroup(ctx context.Context, its []remote.Item, rivals []remote.Item, exclude []string) ([]remote.Item, error) {
	b.asked.Add(1)
	if b.fail.Load() {
		return nil, fmt.Errorf("%w: 503 Service Unavailable (test)", remote.ErrUnavailable)
	}
	return b.Backend.(remote.GroupConfirmer).ConfirmGroup(ctx, its, rivals, exclude)
}

// The look-up together fails past the time a copy is looked for: the
// copies are not dropped as unlisted, and stay hidden, while a file of
// their name and size made an hour later shows; once the look-up gets an
// answer, both go, and the later file stays.
func TestRemovedCopiesKeptThroughAFailedLookUp(t *testing.T) {
	var mu sync.Mutex
	at := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	gf := &groupFails{}
	gf.fail.Store(true)
	e, log := newClaimsLogged(t, now)
	e.wrap = func(b remote.Backend) remote.Backend { gf.Backend = b; return gf }
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
	e.shownKeys(t)
	e.rt.failLists.Store(true)
	e.uploaded(t, "c", "one")
	e.write(t, "c", "two")
	e.clock.Advance(delay)
	eventually(t, "the rewrite to land", func() bool { return len(live(e.srv, "c")) == 2 })
	if err := e.store.Remove(context.Background(), e.entry(t, "c")); err != nil {
		t.Fatal(err)
	}
	e.rt.failLists.Store(false)
	e.clock.Advance(locate.UnlistedGrace)
	eventually(t, "the look-up together, past the grace", func() bool {
		e.clock.Advance(time.Minute)
		return gf.asked.Load() >= 2
	})
	if got := log.Lines("WARN"); len(got) != 0 {
		t.Errorf("a failed look-up dropped copies: %q", got)
	}
	mu.Lock()
	at = at.Add(time.Hour)
	mu.Unlock()
	later := e.srv.AddFile("", "c", "", []byte("new"))
	e.store.Invalidate("")
	if got := e.shownKeys(t)["c"]; !slices.Equal(got, []string{later}) {
		t.Errorf("while the removal waits, c is shown as %q: want the file made since (%s) alone", got, later)
	}
	if got := live(e.srv, "c"); len(got) != 3 {
		t.Errorf("while the removal waits, the library holds %q", got)
	}
	gf.fail.Store(false)
	e.settle(t)
	if got := live(e.srv, "c"); !slices.Equal(got, []string{"new"}) {
		t.Errorf("once settled the library holds %q: want the later file alone", got)
	}
	e.store.Invalidate("")
	if got := e.shownKeys(t)["c"]; !slices.Equal(got, []string{later}) {
		t.Errorf("once settled c is shown as %q", got)
	}
}
