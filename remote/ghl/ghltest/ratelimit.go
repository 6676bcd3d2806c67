package ghltest

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter is the per-location rate limiter: a sliding window of RateWindow
// holding at most RateLimit admitted requests, and a daily quota that resets
// at midnight UTC. Each location has one (the limit is per app per
// location), and the agency's calls have one.
//
// Requests refused with 429 do not take a slot. The window of admitted
// request times is kept even when the burst limit is off, so that
// max_in_window can tell tests how fast a client really went.
type limiter struct {
	now    func() time.Time
	limit  int // < 0: burst limit off
	window time.Duration
	daily  int // < 0: daily limit off

	mu          sync.Mutex
	times       []time.Time // admitted requests inside the window, oldest first
	day         time.Time   // midnight UTC starting the current daily period
	dayCount    int
	maxInWindow int
	refusedN    int64 // requests refused with 429 since the last reset
}

// decision is the limiter's answer to one request, and what the
// X-RateLimit-* headers report.
type decision struct {
	ok         bool
	daily      bool // refused because the daily quota is used up
	retryAfter int  // whole seconds until a slot frees (burst refusals)

	remaining      int
	dailyRemaining int
	dailyReset     time.Time
}

func newLimiter(now func() time.Time, limit int, window time.Duration, daily int) *limiter {
	return &limiter{now: now, limit: limit, window: window, daily: daily}
}

// expire drops the requests that left the window and starts a new day when
// one began. l.mu is held.
func (l *limiter) expire(now time.Time) {
	cutoff := now.Add(-l.window)
	i := 0
	for i < len(l.times) && !l.times[i].After(cutoff) {
		i++
	}
	if i > 0 {
		l.times = append(l.times[:0], l.times[i:]...)
	}
	if day := now.UTC().Truncate(24 * time.Hour); !day.Equal(l.day) {
		l.day = day
		l.dayCount = 0
	}
}

// admit decides on one authenticated request and, when it is let through,
// takes a slot for it.
func (l *limiter) admit() decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.expire(now)
	switch {
	case l.daily >= 0 && l.dayCount >= l.daily:
		l.refusedN++
		d := l.state()
		d.daily = true
		return d
	case l.limit >= 0 && len(l.times) >= l.limit:
		l.refusedN++
		d := l.state()
		d.retryAfter = 1
		if len(l.times) > 0 {
			wait := l.times[0].Add(l.window).Sub(now)
			d.retryAfter = max(1, int((wait+time.Second-1)/time.Second))
		}
		return d
	}
	l.times = append(l.times, now)
	l.dayCount++
	l.maxInWindow = max(l.maxInWindow, len(l.times))
	d := l.state()
	d.ok = true
	return d
}

// peek reports the limiter's state without taking a slot.
func (l *limiter) peek() decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(l.now())
	return l.state()
}

// state fills the header values. l.mu is held.
func (l *limiter) state() decision {
	return decision{
		remaining:      max(0, l.limit-len(l.times)),
		dailyRemaining: max(0, l.daily-l.dayCount),
		dailyReset:     l.day.Add(24 * time.Hour),
	}
}

func (l *limiter) maxSeen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maxInWindow
}

// refused is how many requests the limiter refused since the last reset.
func (l *limiter) refused() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusedN
}

// resetMax starts max_in_window again from the requests inside the window,
// and the refusal count from zero.
func (l *limiter) resetMax() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxInWindow = len(l.times)
	l.refusedN = 0
}

// setHeaders writes the X-RateLimit-* headers for d. A limit that is off has
// no headers. X-RateLimit-Daily-Reset is the next reset in Unix milliseconds.
func (l *limiter) setHeaders(h http.Header, d decision) {
	if l.limit >= 0 {
		h.Set("X-RateLimit-Max", strconv.Itoa(l.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(d.remaining))
		h.Set("X-RateLimit-Interval-Milliseconds", strconv.FormatInt(l.window.Milliseconds(), 10))
	}
	if l.daily >= 0 {
		h.Set("X-RateLimit-Limit-Daily", strconv.Itoa(l.daily))
		h.Set("X-RateLimit-Daily-Remaining", strconv.Itoa(d.dailyRemaining))
		h.Set("X-RateLimit-Daily-Reset", strconv.FormatInt(d.dailyReset.UnixMilli(), 10))
	}
}
