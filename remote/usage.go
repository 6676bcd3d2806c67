package remote

import (
	"net/http"
	"sync"
	"time"
)

// usage counts the API requests this client sent, over the last window
// of the published burst limit (10 s when none is) and over the day (UTC, as the
// service's daily count is taken to reset; the fake resets at midnight
// UTC), and keeps what the rate-limit headers of the last answer that
// had them said. Its lock is a leaf.
type usage struct {
	limit  int           // the client's own pacing, per window; 0: none
	window time.Duration // the published burst limit's window
	tick   time.Duration // window / usageSlots: one slot's time

	mu      sync.Mutex
	slots   [usageSlots]usageSlot // guarded by mu: a ring of tick-long counts
	day     int64                 // guarded by mu: days since the epoch (UTC) of today
	today   int64                 // guarded by mu
	total   int64                 // guarded by mu
	server  ServerLimits          // guarded by mu
	limited int64                 // guarded by mu: 429 answers
}

// usageSlots slots cover the last window (10 s by 100 ms, for HighLevel).
const (
	usageSlots = 100
	// defaultUsageWindow is the window counted when none is published.
	defaultUsageWindow = 10 * time.Second
)

type usageSlot struct {
	at int64 // the slot's number: time since the epoch in ticks
	n  int
}

// newUsage counts for a client that keeps to limit requests per window
// (limit <= 0: none), over the published limit's window (0: 10 s).
func newUsage(limit int, window, published time.Duration) *usage {
	if published < usageSlots {
		published = defaultUsageWindow
	}
	u := &usage{window: published, tick: published / usageSlots}
	if limit > 0 && window > 0 {
		u.limit = int(int64(limit) * int64(published) / int64(window))
	}
	return u
}

// sent counts one request sent at now.
func (u *usage) sent(now time.Time) {
	at := now.UnixNano() / int64(u.tick)
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

// observe counts an answer of status received at now, and keeps l, what
// its rate-limit headers said, when it had any (seen).
func (u *usage) observe(l ServerLimits, seen bool, status int, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if status == http.StatusTooManyRequests {
		u.limited++
	}
	if seen {
		l.At = now
		u.server = l
	}
}

// snapshot reports the counts at now.
func (u *usage) snapshot(now time.Time) (window int, today, total, limited int64, server ServerLimits) {
	at := now.UnixNano() / int64(u.tick)
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
// carrying them said (Hooks.Limits reads them). A field the answer lacked
// is zero. The counts are the service's, for every client of the account,
// not this one alone.
type ServerLimits struct {
	At             time.Time     // when that answer came; zero: none yet
	Max            int64         // requests per interval
	Remaining      int64         // of them, left
	Interval       time.Duration // the window
	DailyLimit     int64         // requests a day
	DailyRemaining int64         // of them, left
	DailyReset     time.Time     // when the day's count resets, when sent
}

// Usage is what the client sent to the API, against the limits.
type Usage struct {
	// Window is the published burst limit's window; InWindow the
	// requests this client sent within the last one of them; Limit what
	// it keeps to per window on its own (0: no pacing).
	Window   time.Duration
	InWindow int
	Limit    int
	// Published are the service's published limits (zero: none).
	Published PublishedLimits
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
func (c *Core) Usage() Usage {
	now := c.clk.Now()
	var u Usage
	u.InWindow, u.Today, u.Total, u.RateLimited, u.Server = c.usage.snapshot(now)
	u.Window, u.Limit, u.Published = c.usage.window, c.usage.limit, c.published
	p := c.pacer
	p.mu.Lock()
	if p.pauseUntil.After(now) {
		u.PausedUntil = p.pauseUntil
	}
	u.Waiting = p.queues[foreground].Len() + p.queues[background].Len()
	p.mu.Unlock()
	return u
}
