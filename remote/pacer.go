package remote

import (
	"container/list"
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"
)

// Priorities of API calls. A foreground call is one a user waits on (a
// look-up, a read's metadata, a write, a rename); a background call is work
// nobody waits on (a full listing of the library, a poll).
const (
	foreground = iota
	background
	numPriorities
)

type backgroundKey struct{}

// Background returns a context whose API calls are background calls: each
// is sent only when no foreground call is waiting for the pacer, so that
// background work spends only the budget users leave. Calls made with any
// other context are foreground calls.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was made by Background.
func IsBackground(ctx context.Context) bool {
	v, _ := ctx.Value(backgroundKey{}).(bool)
	return v
}

func priorityOf(ctx context.Context) int {
	if IsBackground(ctx) {
		return background
	}
	return foreground
}

// pacer keeps the client under the API's burst limit on its own, slows
// down further when the server's X-RateLimit-* headers or a 429 say so, and
// hands out the slots it allows by priority.
//
// The token bucket refills at 90% of the published rate with a burst of 10%
// of the limit, so that no window of the limit's length ever holds more than
// the limit: burst + 0.9 × limit = limit.
//
// A pause the server asks for (Retry-After, or its X-RateLimit-* headers)
// is capped at maxPause: one answer saying "come back tomorrow" must not
// hold every later call back until a restart.
//
// Order: callers wait in two FIFO queues, one per priority. Only the
// leader (the first foreground waiter, else the first background one) may
// take a slot; it sleeps until the bucket and any pause allow one, takes it,
// and wakes the next leader. A foreground caller that arrives becomes the
// leader at once, ahead of every background waiter, however long those have
// waited. There is no dispatcher goroutine: each caller waits in its own,
// and a caller whose ctx ends leaves its queue having taken nothing.
type pacer struct {
	clock    clockwork.Clock
	lim      *rate.Limiter // nil = no client-side limit
	maxPause time.Duration

	mu         sync.Mutex
	pauseUntil time.Time                    // guarded by mu: no request starts before this (server pressure)
	queues     [numPriorities]list.List     // guarded by mu: of *waiter, first come first
	stats      [numPriorities]PriorityStats // guarded by mu
	// onGrant, when set (by tests), is called with mu held for each slot
	// handed out.
	onGrant func(prio int, at time.Time)
	// onArm, when set (by tests), is called with mu held when the leader,
	// of priority prio, has set a timer for the next slot.
	onArm   func(prio int)
	reserve int // backgroundReserve
	window  time.Duration
	// lastUser is when a foreground call was last sent: the reserve is
	// kept while users are active (within a window of it). Guarded by mu.
	lastUser time.Time
}

// waiter is one caller waiting for a slot.
type waiter struct {
	prio  int
	since time.Time
	elem  *list.Element // in pacer.queues[prio]; nil once it left
	wake  chan struct{} // has 1 buffered signal: "you may be the leader now"
}

func newPacer(clock clockwork.Clock, limit int, window, maxPause time.Duration) *pacer {
	if maxPause <= 0 {
		maxPause = time.Minute
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	p := &pacer{clock: clock, maxPause: maxPause, reserve: backgroundReserve, window: window}
	if limit > 0 && window > 0 {
		burst := max(limit/10, 1)
		every := float64(limit-burst) / window.Seconds()
		if limit == 1 {
			every = 1 / window.Seconds()
		}
		p.lim = rate.NewLimiter(rate.Limit(every), burst) // full at first
	}
	return p
}

// wait blocks until a request with ctx's priority may be sent.
func (p *pacer) wait(ctx context.Context) error {
	return p.await(ctx, p.enqueue(priorityOf(ctx)))
}

// enqueue puts a new waiter at the end of its priority's queue.
func (p *pacer) enqueue(prio int) *waiter {
	w := &waiter{prio: prio, wake: make(chan struct{}, 1)}
	p.mu.Lock()
	w.since = p.clock.Now()
	w.elem = p.queues[prio].PushBack(w)
	p.mu.Unlock()
	return w
}

// await blocks until w is granted a slot or ctx ends.
func (p *pacer) await(ctx context.Context, w *waiter) error {
	p.mu.Lock()
	for {
		// The state is read afresh below: a wake sent before (under mu)
		// is already in it, and would only make another round.
		select {
		case <-w.wake:
		default:
		}
		if err := ctx.Err(); err != nil {
			p.leave(w)
			p.stats[w.prio].Cancelled++
			p.mu.Unlock()
			return err
		}
		var tick <-chan time.Time
		var timer clockwork.Timer
		if p.leader() == w {
			now := p.clock.Now()
			d := p.take(now, w.prio)
			if d <= 0 {
				p.leave(w)
				st := &p.stats[w.prio]
				st.Granted++
				waited := now.Sub(w.since)
				st.Waited += waited
				st.MaxWait = max(st.MaxWait, waited)
				if w.prio == foreground {
					p.lastUser = now
				}
				if p.onGrant != nil {
					p.onGrant(w.prio, now)
				}
				p.mu.Unlock()
				return nil
			}
			timer = p.clock.NewTimer(d)
			tick = timer.Chan()
			if p.onArm != nil {
				p.onArm(w.prio)
			}
		}
		p.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-tick:
		}
		if timer != nil {
			timer.Stop()
		}
		p.mu.Lock()
	}
}

// leader is the waiter that may take the next slot. p.mu is held.
func (p *pacer) leader() *waiter {
	for i := range p.queues {
		if e := p.queues[i].Front(); e != nil {
			return e.Value.(*waiter)
		}
	}
	return nil
}

// leave takes w out of its queue and, when it was the leader, wakes the
// next one. p.mu is held.
func (p *pacer) leave(w *waiter) {
	if w.elem == nil {
		return
	}
	wasLeader := p.leader() == w
	p.queues[w.prio].Remove(w.elem)
	w.elem = nil
	if next := p.leader(); wasLeader && next != nil {
		select {
		case next.wake <- struct{}{}:
		default: // already signalled
		}
	}
}

// backgroundReserve is how many slots of the bucket background calls
// leave for the calls users wait on, while users are active (a call of
// theirs within the last window): a look-up that needs two calls (a
// folder's folders and files) sends both at once, even while a pass over
// the library spends all the rest. With no user about (a pass at mount),
// background work has the whole bucket.
const backgroundReserve = 2

// take takes a slot at now for a call of priority prio and returns 0, or
// returns how long until one may be free, having taken nothing. p.mu is
// held.
func (p *pacer) take(now time.Time, prio int) time.Duration {
	if d := p.pauseUntil.Sub(now); d > 0 {
		return d
	}
	if p.lim == nil {
		return 0
	}
	active := !p.lastUser.IsZero() && now.Sub(p.lastUser) < p.window
	if keep := float64(min(p.reserve, p.lim.Burst()-1)); prio == background && keep > 0 && active {
		if short := 1 + keep - p.lim.TokensAt(now); short > 0 {
			return max(time.Duration(short/float64(p.lim.Limit())*float64(time.Second)), time.Millisecond)
		}
	}
	r := p.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d < time.Microsecond {
		// Rounding in the limiter can leave a deficit of a fraction of a
		// nanosecond's worth of token; it is counted, and kept.
		return 0
	}
	r.CancelAt(now) // only the leader reserves, under p.mu: restored in full
	return d
}

// pause holds every request back for d from now, or maxPause if less.
func (p *pacer) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	d = min(d, p.maxPause)
	p.mu.Lock()
	until := p.clock.Now().Add(d)
	if until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
	p.mu.Unlock()
}

// observe takes what the rate-limit headers of an answer said of the
// server's window (Hooks.Window). When the server's own count says the
// window is nearly spent (by other clients of the same account, say),
// spread what is left over the window instead of running into 429s.
func (p *pacer) observe(w RateWindow) {
	remaining, maxReq, intervalMS := w.Remaining, w.Max, w.IntervalMS
	if maxReq <= 0 || intervalMS <= 0 {
		return
	}
	low := max(maxReq/20, 1)
	if remaining > low {
		return
	}
	// One slot's worth of the window per missing request below the
	// threshold; the interval is capped first, so that no product of
	// hostile values overflows.
	window := time.Duration(min(intervalMS, p.maxPause.Milliseconds())) * time.Millisecond
	slot := window / time.Duration(maxReq)
	p.pause(slot * time.Duration(low-max(remaining, 0)+1))
}

// PriorityStats counts what the pacer did for calls of one priority.
type PriorityStats struct {
	// Granted counts the slots handed out (one per request sent,
	// retries included).
	Granted int64
	// Cancelled counts waits that ended with their context instead.
	Cancelled int64
	// Waited is the total time granted calls spent waiting for their
	// slot; MaxWait the longest of those waits.
	Waited, MaxWait time.Duration
	// Waiting is how many calls wait for a slot now.
	Waiting int
}

// PacerStats is what the pacer did since the client was made, by priority.
type PacerStats struct {
	Foreground, Background PriorityStats
}

// PacerStats reports the pacer's counters (for benchmarks and status).
func (c *Core) PacerStats() PacerStats {
	return c.pacer.snapshot()
}

func (p *pacer) snapshot() PacerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := PacerStats{Foreground: p.stats[foreground], Background: p.stats[background]}
	out.Foreground.Waiting = p.queues[foreground].Len()
	out.Background.Waiting = p.queues[background].Len()
	return out
}

// Backoff is the wait before retry number attempt (0-based): exponential
// from base, capped, with full jitter.
func Backoff(attempt int, base, maxWait time.Duration) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > maxWait {
		d = maxWait
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d on clock, or until ctx ends.
func Sleep(ctx context.Context, clock clockwork.Clock, d time.Duration) error {
	t := clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}
