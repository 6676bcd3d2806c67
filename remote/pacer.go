package remote

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer keeps the client under the API's burst limit on its own, and slows
// down further when the server's X-RateLimit-* headers or a 429 say so.
//
// The token bucket refills at 90% of the published rate with a burst of 10%
// of the limit, so that no window of the limit's length ever holds more than
// the limit: burst + 0.9 × limit = limit.
//
// A pause the server asks for (Retry-After, or its X-RateLimit-* headers)
// is capped at maxPause: one answer saying "come back tomorrow" must not
// hold every later call back until a restart.
type pacer struct {
	lim      *rate.Limiter // nil = no client-side limit
	maxPause time.Duration

	mu         sync.Mutex
	pauseUntil time.Time // no request starts before this (server pressure)
}

func newPacer(limit int, window, maxPause time.Duration) *pacer {
	if maxPause <= 0 {
		maxPause = time.Minute
	}
	p := &pacer{maxPause: maxPause}
	if limit > 0 && window > 0 {
		burst := max(limit/10, 1)
		every := float64(limit-burst) / window.Seconds()
		if limit == 1 {
			every = 1 / window.Seconds()
		}
		p.lim = rate.NewLimiter(rate.Limit(every), burst)
	}
	return p
}

// wait blocks until a request may be sent.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	until := p.pauseUntil
	p.mu.Unlock()
	if d := time.Until(until); d > 0 {
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
	if p.lim == nil {
		return nil
	}
	return p.lim.Wait(ctx)
}

// pause holds every request back for d from now, or maxPause if less.
func (p *pacer) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	d = min(d, p.maxPause)
	until := time.Now().Add(d)
	p.mu.Lock()
	if until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
	p.mu.Unlock()
}

// observe reads the rate-limit headers of an answer. When the server's own
// count says the window is nearly spent (by other clients of the same
// location, say), spread what is left over the window instead of running
// into 429s.
func (p *pacer) observe(h http.Header) {
	remaining, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	maxReq, err2 := strconv.Atoi(h.Get("X-RateLimit-Max"))
	intervalMS, err3 := strconv.ParseInt(h.Get("X-RateLimit-Interval-Milliseconds"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || maxReq <= 0 || intervalMS <= 0 {
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

// backoff is the wait before retry number attempt (0-based): exponential
// from base, capped, with full jitter.
func backoff(attempt int, base, maxWait time.Duration) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > maxWait {
		d = maxWait
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
