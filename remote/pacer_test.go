package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// The published limit, as the pacer applies it: a burst of 10, then 9 a
// second, one slot every 111.1 ms.
const (
	testLimit  = 100
	testWindow = 10 * time.Second
	// testSlot is a little more than one slot: each step of the clock by it
	// frees one slot, never two.
	testSlot = 112 * time.Millisecond
)

func newFakePacer(t *testing.T) (*pacer, *clockwork.FakeClock) {
	t.Helper()
	clk := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := newPacer(clk, testLimit, testWindow, 0)
	p.reserve = 0 // the order of grants, slot by slot (TestPacerReserve has the reserve)
	return p, clk
}

// drain spends the bucket's burst, so that the next slot is one slot away.
func drain(t *testing.T, p *pacer) {
	t.Helper()
	for tokens(p) >= 1 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// tokens is what the bucket holds now, read as the pacer sees it.
func tokens(p *pacer) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lim.TokensAt(p.clock.Now())
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start awaits w in a goroutine that sends name to done once granted, or
// name+" failed" when the wait ends otherwise.
func start(ctx context.Context, p *pacer, w *waiter, name string, done chan<- string) {
	go func() {
		if err := p.await(ctx, w); err != nil {
			done <- name + " failed: " + err.Error()
			return
		}
		done <- name
	}()
}

// With the bucket empty and five background calls queued, a foreground call
// that comes last is sent first; the background calls follow in their order.
func TestPacerForegroundOvertakesQueuedBackground(t *testing.T) {
	p, clk := newFakePacer(t)
	ctx := testCtx(t)
	drain(t, p)
	done := make(chan string, 6)
	for i := range 5 {
		start(ctx, p, p.enqueue(background), fmt.Sprintf("bg%d", i), done)
	}
	// The first background call leads, waiting for the clock.
	if err := clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	start(ctx, p, p.enqueue(foreground), "fg", done)
	if err := clk.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	var order []string
	for i := range 6 {
		if i > 0 {
			if err := clk.BlockUntilContext(ctx, 1); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(testSlot)
		order = append(order, <-done)
	}
	want := []string{"fg", "bg0", "bg1", "bg2", "bg3", "bg4"}
	if !slices.Equal(order, want) {
		t.Fatalf("granted in order %q, want %q", order, want)
	}
	s := p.snapshot()
	if s.Foreground.Granted != 11 || s.Background.Granted != 5 || s.Foreground.Waiting+s.Background.Waiting != 0 {
		t.Errorf("stats %+v", s)
	}
	// The foreground call waited one step; the last background one six.
	if s.Foreground.MaxWait != testSlot || s.Background.MaxWait != 6*testSlot {
		t.Errorf("waits: foreground max %v, background max %v", s.Foreground.MaxWait, s.Background.MaxWait)
	}
}

// A background call waits while foreground calls keep coming, and is sent
// at the first slot no foreground call wants.
func TestPacerBackgroundRunsWhenForegroundIsIdle(t *testing.T) {
	p, clk := newFakePacer(t)
	ctx := testCtx(t)
	// With a full bucket and nobody else waiting, it goes at once.
	if err := p.wait(Background(ctx)); err != nil {
		t.Fatal(err)
	}
	drain(t, p)
	// The clock moves only once the call that should go next has set its
	// timer: a count of the clock's timers cannot tell, as a call woken
	// by a grant may let go of its timer when it finds another ahead.
	// Each arm is told with the foreground grants so far, so that an arm
	// from before a grant is known for what it is.
	type arm struct {
		prio      int
		fgGranted int64
	}
	arms := make(chan arm, 1000)
	p.mu.Lock()
	p.onArm = func(prio int) { arms <- arm{prio, p.stats[foreground].Granted} } // p.mu is held
	p.mu.Unlock()
	armed := func(prio int) {
		t.Helper()
		want := arm{prio, p.snapshot().Foreground.Granted}
		for {
			select {
			case a := <-arms:
				if a == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no call of priority %d set a timer after %d foreground grants", prio, want.fgGranted)
			}
		}
	}
	done := make(chan string, 10)
	start(ctx, p, p.enqueue(background), "bg", done)
	for i := range 3 {
		start(ctx, p, p.enqueue(foreground), fmt.Sprintf("fg%d", i), done)
		armed(foreground)
		clk.Advance(testSlot)
		if got := <-done; got != fmt.Sprintf("fg%d", i) {
			t.Fatalf("step %d: %s was granted", i, got)
		}
	}
	armed(background)
	clk.Advance(testSlot)
	if got := <-done; got != "bg" {
		t.Fatalf("%s was granted, want bg", got)
	}
	if s := p.snapshot(); s.Foreground.Granted != 9+3 || s.Background.Granted != 2 || s.Background.Waited != 4*testSlot {
		t.Errorf("background stats %+v", s.Background)
	}
}

// Foreground and background callers, many of each, all want slots: no
// window of the limit's length holds more than the limit, the rate is the
// one configured, and no background call is granted while a foreground
// one waits.
func TestPacerMixedStreamKeepsTheBudget(t *testing.T) {
	p, clk := newFakePacer(t)
	type grant struct {
		prio int
		at   time.Time
	}
	var grants []grant
	var bad []string
	p.onGrant = func(prio int, at time.Time) { // p.mu is held
		grants = append(grants, grant{prio, at})
		if prio == background && p.queues[foreground].Len() > 0 {
			bad = append(bad, fmt.Sprintf("background granted at %v with %d foreground waiting", at, p.queues[foreground].Len()))
		}
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	const workers, calls = 4, 40
	var wg sync.WaitGroup
	var live atomic.Int64 // workers not done yet
	live.Store(2 * workers)
	for i := range 2 * workers {
		c := ctx
		if i%2 == 1 {
			c = Background(ctx)
		}
		wg.Go(func() {
			defer live.Add(-1)
			for range calls {
				if err := p.wait(c); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); cancel() }()
	// queued reports whether every worker still running waits in a queue:
	// none is between a grant and its next call, which a loaded machine
	// could leave out of the race for the next slot.
	queued := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return int64(p.queues[foreground].Len()+p.queues[background].Len()) >= live.Load()
	}
	t0 := clk.Now()
	for ctx.Err() == nil {
		if clk.BlockUntilContext(ctx, 1) != nil {
			break
		}
		for !queued() && ctx.Err() == nil {
			runtime.Gosched()
		}
		clk.Advance(37 * time.Millisecond) // not a whole number of slots
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatal(bad[0])
	}
	if len(grants) != 2*workers*calls {
		t.Fatalf("%d grants, want %d", len(grants), 2*workers*calls)
	}
	busiest := 0
	for i, g := range grants {
		n := 0
		for _, h := range grants[i:] {
			if h.at.Sub(g.at) < testWindow {
				n++
			}
		}
		if n > testLimit {
			t.Fatalf("%d grants in the %v from %v", n, testWindow, g.at.Sub(t0))
		}
		busiest = max(busiest, n)
	}
	// And the budget is used: the busiest window holds nearly all of it.
	if busiest < testLimit-2 {
		t.Errorf("at most %d grants in a window, want about %d", busiest, testLimit)
	}
	// 320 calls: 10 at once, then 9 a second.
	last := grants[len(grants)-1].at.Sub(t0)
	if want := time.Duration(2*workers*calls-10) * time.Second / 9; last < want || last > want+time.Second {
		t.Errorf("the last call went at %v, want about %v", last, want)
	}
	s := p.snapshot()
	if s.Foreground.Granted != workers*calls || s.Background.Granted != workers*calls {
		t.Errorf("stats %+v", s)
	}
	// Background calls got only what foreground ones left: they waited longer.
	if s.Background.Waited <= s.Foreground.Waited {
		t.Errorf("background waited %v in all, foreground %v", s.Background.Waited, s.Foreground.Waited)
	}
}

// A caller whose context ends, leading or queued, leaves having taken no
// slot, and the next one takes its place.
func TestPacerCancelledWaiterTakesNoSlot(t *testing.T) {
	for _, leading := range []bool{true, false} {
		t.Run(fmt.Sprintf("leading=%v", leading), func(t *testing.T) {
			p, clk := newFakePacer(t)
			ctx := testCtx(t)
			drain(t, p)
			done := make(chan string, 3)
			cctx, cancelOne := context.WithCancel(ctx)
			first, second := p.enqueue(background), p.enqueue(background)
			if leading {
				start(cctx, p, first, "cancelled", done)
				start(ctx, p, second, "other", done)
			} else {
				start(ctx, p, first, "other", done)
				start(cctx, p, second, "cancelled", done)
			}
			if err := clk.BlockUntilContext(ctx, 1); err != nil {
				t.Fatal(err)
			}
			before := tokens(p)
			cancelOne()
			if got := <-done; got != "cancelled failed: "+context.Canceled.Error() {
				t.Fatalf("got %q", got)
			}
			if after := tokens(p); after != before {
				t.Errorf("tokens %v before the cancel, %v after", before, after)
			}
			// The other waiter leads now (or still), and takes the next slot.
			if err := clk.BlockUntilContext(ctx, 1); err != nil {
				t.Fatal(err)
			}
			clk.Advance(testSlot)
			if got := <-done; got != "other" {
				t.Fatalf("got %q", got)
			}
			s := p.snapshot()
			if s.Background.Granted != 1 || s.Background.Cancelled != 1 || s.Background.Waiting != 0 {
				t.Errorf("stats %+v", s.Background)
			}
			// Exactly one slot was spent since the burst: the next is one
			// slot away, not free.
			if tok := tokens(p); tok >= 1 {
				t.Errorf("%v tokens left after one grant", tok)
			}
		})
	}
}

// A pause the server asked for holds foreground calls too, and ends when
// it says.
func TestPacerPauseHoldsEveryone(t *testing.T) {
	p, clk := newFakePacer(t)
	ctx := testCtx(t)
	p.pause(2 * time.Second)
	done := make(chan string, 1)
	start(ctx, p, p.enqueue(foreground), "fg", done)
	if err := clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	select {
	case got := <-done:
		t.Fatalf("%s granted within the pause", got)
	default:
	}
	if err := clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if got := <-done; got != "fg" {
		t.Fatal(got)
	}
}

// Calls made with Background(ctx) are counted as background calls.
func TestClientCountsCallsByPriority(t *testing.T) {
	c, _ := newTestCore(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"files":[]}`)
	}), func(cfg *CoreConfig) { cfg.RateLimit, cfg.RateWindow = 100, 10*time.Second })
	ctx := context.Background()
	for _, cx := range []context.Context{ctx, Background(ctx), Background(ctx)} {
		if _, err := get(cx, c); err != nil {
			t.Fatal(err)
		}
	}
	s := c.PacerStats()
	if s.Foreground.Granted != 1 || s.Background.Granted != 2 {
		t.Fatalf("stats %+v", s)
	}
	if IsBackground(ctx) || !IsBackground(Background(ctx)) {
		t.Error("IsBackground")
	}
	// A cancelled background call counts as cancelled, and takes nothing.
	cctx, cancel := context.WithCancel(Background(ctx))
	cancel()
	if _, err := get(cctx, c); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if s := c.PacerStats(); s.Background.Cancelled != 1 || s.Background.Granted != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// Background calls leave backgroundReserve slots of the bucket to the
// calls users wait on: with a pass spending everything else, a look-up's
// two calls both go at once.
func TestPacerReserve(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := newPacer(clk, testLimit, testWindow, 0)
	ctx := testCtx(t)
	// With no user about, background calls may take the whole bucket.
	if err := p.wait(Background(ctx)); err != nil {
		t.Fatal(err)
	}
	if tok := tokens(p); tok != testLimit/10-1 {
		t.Fatalf("%.2f slots left after one background call", tok)
	}
	// A user's call: from now on background calls take the bucket down to
	// the reserve, and no further.
	if err := p.wait(ctx); err != nil {
		t.Fatal(err)
	}
	for tokens(p) >= 1+backgroundReserve {
		if err := p.wait(Background(ctx)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan string, 3)
	start(ctx, p, p.enqueue(background), "bg", done)
	if err := clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err) // it waits for the clock, though slots are left
	}
	// Two foreground calls go at once, without the clock moving.
	for i := range backgroundReserve {
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 0 && len(done) > 0 {
			t.Fatalf("%s granted from the reserve", <-done)
		}
	}
	// The background call goes once the bucket holds the reserve again and
	// one more slot: the bucket is empty now (it held exactly the reserve,
	// whole slots, the clock never having moved), so at the third step.
	for step := 1; step <= 2; step++ {
		clk.Advance(testSlot)
		if err := clk.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err) // it waits again
		}
		if len(done) > 0 {
			t.Fatalf("%s granted at step %d, with %.2f slots in the bucket", <-done, step, tokens(p))
		}
	}
	clk.Advance(testSlot)
	if got := <-done; got != "bg" {
		t.Fatal(got)
	}
	if tok := tokens(p); tok < float64(backgroundReserve) {
		t.Errorf("the background call left %.2f slots, want %d", tok, backgroundReserve)
	}
}

func TestPacerKeepsUnderTheLimit(t *testing.T) {
	p := newPacer(nil, 100, 10*time.Second, 0)
	// The bucket starts full with 10 tokens, then refills at 9/s: in any
	// window of 10 s at most 10 + 90 requests start.
	if got := p.lim.Burst(); got != 10 {
		t.Errorf("burst %d", got)
	}
	if got := float64(p.lim.Limit()); got != 9 {
		t.Errorf("rate %v/s", got)
	}
}

// When the server's own count says the window is nearly spent (other
// clients of the location), the pacer holds requests back a while.
func TestPacerSlowsWhenTheServerSaysSo(t *testing.T) {
	p := newPacer(nil, -1, 0, 0)
	w := RateWindow{Max: 100, IntervalMS: 10000, Remaining: 50}
	p.observe(w)
	if !p.pauseUntil.IsZero() {
		t.Fatalf("paused with half the window left")
	}
	w.Remaining = 0
	before := time.Now()
	p.observe(w)
	// 5 below the threshold of 5 (5% of 100), plus one: 6 slots of 100 ms.
	if d := p.pauseUntil.Sub(before); d < 500*time.Millisecond || d > 700*time.Millisecond {
		t.Fatalf("paused %v, want about 600ms", d)
	}
}
