package cache

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/locate"
	"github.com/ghlfs/ghlfs/cache/internal/testlog"
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
func newClaimsWB(t *testing.T, now func() time.Time) *wbEnv {
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
	e := newWBAt(t, now, 0, func(o *Options) { o.Logger = logger })
	if err := e.srv.SetQuirks([]string{ghltest.QuirkUploadIDDiffers, ghltest.QuirkUploadNoURL}); err != nil {
		t.Fatal(err)
	}
	return e
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
