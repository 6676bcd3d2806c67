package remote

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The API's published limits, per app and location: a burst limit over a
// window, and a daily one.
const (
	PublishedBurstLimit  = 100
	PublishedBurstWindow = 10 * time.Second
	PublishedDailyLimit  = 200_000
)

// usage counts the API requests this client sent, over the last window
// and over the day (UTC, as the service's daily count is taken to reset;
// the fake resets at midnight UTC), and keeps what the rate-limit headers
// of the last answer that had them said. Its lock is a leaf.
type usage struct {
	limit int // the client's own pacing, per PublishedBurstWindow; 0: none

	mu      sync.Mutex
	slots   [usageSlots]usageSlot // guarded by mu: a ring of usageTick-long counts
	day     int64                 // guarded by mu: days since the epoch (UTC) of today
	today   int64                 // guarded by mu
	total   int64                 // guarded by mu
	server  ServerLimits          // guarded by mu
	limited int64                 // guarded by mu: 429 answers
}

// usageSlots slots of usageTick cover the last window (10 s by 100 ms).
const (
	usageSlots = 100
	usageTick  = 100 * time.Millisecond
)

type usageSlot struct {
	at int64 // the slot's number: time since the epoch in usageTick units
	n  int
}

// newUsage counts for a client that keeps to limit requests per window
// (limit <= 0: none).
func newUsage(limit int, window time.Duration) *usage {
	u := &usage{}
	if limit > 0 && window > 0 {
		u.limit = int(int64(limit) * int64(PublishedBurstWindow) / int64(window))
	}
	return u
}

// sent counts one request sent at now.
func (u *usage) sent(now time.Time) {
	at := now.UnixNano() / int64(usageTick)
	day := now.Unix() / 86400
	u.mu.Lock()
	s := &u.slots[at%usageSlots]
	if s.at != at {
		*s = usageSlot{at: at}
	}
	s.n++
	if day != u.day {
		u.day, u.today = day, 0
	}
	u.today++
	u.total++
	u.mu.Unlock()
}

// observe keeps the rate-limit headers of an answer received at now.
func (u *usage) observe(h http.Header, status int, now time.Time) {
	num := func(name string) (int64, bool) {
		v, err := strconv.ParseInt(h.Get(name), 10, 64)
		return v, err == nil && v >= 0
	}
	var l ServerLimits
	var ok bool
	var any bool
	if l.Max, ok = num("X-RateLimit-Max"); ok {
		any = true
	}
	if l.Remaining, ok = num("X-RateLimit-Remaining"); ok {
		any = true
	}
	if ms, ok := num("X-RateLimit-Interval-Milliseconds"); ok && ms < int64(24*time.Hour/time.Millisecond) {
		l.Interval = time.Duration(ms) * time.Millisecond
		any = true
	}
	if l.DailyLimit, ok = num("X-RateLimit-Limit-Daily"); ok {
		any = true
	}
	if l.DailyRemaining, ok = num("X-RateLimit-Daily-Remaining"); ok {
		any = true
	}
	if ms, ok := num("X-RateLimit-Daily-Reset"); ok && ms < 1<<50 {
		l.DailyReset = time.UnixMilli(ms)
		any = true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if status == http.StatusTooManyRequests {
		u.limited++
	}
	if any {
		l.At = now
		u.server = l
	}
}

// snapshot reports the counts at now.
func (u *usage) snapshot(now time.Time) (window int, today, total, limited int64, server ServerLimits) {
	at := now.UnixNano() / int64(usageTick)
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range u.slots {
		if s.at > at-usageSlots && s.at <= at {
			window += s.n
		}
	}
	if now.Unix()/86400 == u.day {
		today = u.today
	}
	return window, today, u.total, u.limited, u.server
}

// ServerLimits is what the rate-limit headers of the API's last answer
// carrying them said. A field the answer lacked is zero. The counts are
// the service's, for every client of the location, not this one alone.
type ServerLimits struct {
	At             time.Time     // when that answer came; zero: none yet
	Max            int64         // X-RateLimit-Max: requests per interval
	Remaining      int64         // X-RateLimit-Remaining
	Interval       time.Duration // X-RateLimit-Interval-Milliseconds
	DailyLimit     int64         // X-RateLimit-Limit-Daily
	DailyRemaining int64         // X-RateLimit-Daily-Remaining
	DailyReset     time.Time     // X-RateLimit-Daily-Reset, when sent
}

// Usage is what the client sent to the API, against the limits.
type Usage struct {
	// Window is the published burst limit's window; InWindow the
	// requests this client sent within the last one of them; Limit what
	// it keeps to per window on its own (0: no pacing).
	Window   time.Duration
	InWindow int
	Limit    int
	// Today counts the requests sent since midnight UTC; Total since the
	// client was made. Retries count: each is a request.
	Today, Total int64
	// RateLimited counts the answers 429.
	RateLimited int64
	// PausedUntil is set while the pacer holds every request back, as
	// the server's headers or a 429 asked.
	PausedUntil time.Time
	// Waiting is how many calls wait for the pacer now.
	Waiting int
	Server  ServerLimits
}

// Usage reports the requests sent and the limits, for a status display.
func (c *Client) Usage() Usage {
	now := c.clk.Now()
	var u Usage
	u.InWindow, u.Today, u.Total, u.RateLimited, u.Server = c.usage.snapshot(now)
	u.Window, u.Limit = PublishedBurstWindow, c.usage.limit
	p := c.pacer
	p.mu.Lock()
	if p.pauseUntil.After(now) {
		u.PausedUntil = p.pauseUntil
	}
	u.Waiting = p.queues[foreground].Len() + p.queues[background].Len()
	p.mu.Unlock()
	return u
}
