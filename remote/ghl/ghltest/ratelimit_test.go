package ghltest

import (
	"strconv"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now, RateLimit: 3, RateWindow: 10 * time.Second})
	list := func() resp { return s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}) }
	header := func(r resp, h string) string { return r.header.Get(h) }

	for i := range 3 {
		r := list().expect(t, 200)
		if got, want := header(r, "X-RateLimit-Remaining"), strconv.Itoa(2-i); got != want {
			t.Errorf("request %d: X-RateLimit-Remaining %s, want %s", i, got, want)
		}
		if header(r, "X-RateLimit-Max") != "3" || header(r, "X-RateLimit-Interval-Milliseconds") != "10000" {
			t.Errorf("headers %v", r.header)
		}
		clock.Advance(time.Second)
	}
	// Now at t0+3s, slots were taken at t0, t0+1s, t0+2s: the first frees at t0+10s.
	clock.Advance(500 * time.Millisecond)
	for range 4 { // refusals take no slot
		r := list().expect(t, 429)
		if string(r.body) != `{"statusCode":429,"message":"Too many requests"}` {
			t.Errorf("429 body %s", r.body)
		}
		if got := header(r, "Retry-After"); got != "7" {
			t.Errorf("Retry-After %q, want 7", got)
		}
		if header(r, "X-RateLimit-Remaining") != "0" {
			t.Errorf("remaining %q", header(r, "X-RateLimit-Remaining"))
		}
	}
	clock.Advance(6500 * time.Millisecond) // t0+10s
	list().expect(t, 200)
	list().expect(t, 429) // t0+1s still inside
	clock.Advance(time.Second)
	list().expect(t, 200)

	st := s.Stats()
	if st.RateLimited != 5 || st.MaxInWindow != 3 || st.APIRequests != 10 {
		t.Errorf("stats %+v", st)
	}
	// A refusal carries the headers too; it took nothing from the daily quota.
	if h := header(list().expect(t, 429), "X-RateLimit-Daily-Remaining"); h != strconv.Itoa(DefaultDailyLimit-5) {
		t.Errorf("daily remaining %s", h)
	}
}

func TestRateLimitOff(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now, RateLimit: -1, DailyLimit: -1, RateWindow: time.Second})
	for range 7 {
		r := s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, 200)
		if r.header.Get("X-RateLimit-Max") != "" || r.header.Get("X-RateLimit-Limit-Daily") != "" {
			t.Errorf("headers of a limit that is off: %v", r.header)
		}
	}
	clock.Advance(2 * time.Second)
	for range 2 {
		s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, 200)
	}
	// max_in_window tells how fast the client went even with no limit.
	if st := s.Stats(); st.MaxInWindow != 7 || st.RateLimited != 0 {
		t.Errorf("stats %+v", st)
	}
	s.ResetStats()
	if st := s.Stats(); st.MaxInWindow != 2 {
		t.Errorf("after reset, max_in_window %d, want the 2 in the window", st.MaxInWindow)
	}
}

func TestDailyLimit(t *testing.T) {
	clock := newClock() // 2025-03-01 10:00 UTC
	s := start(t, Options{Now: clock.Now, DailyLimit: 2})
	list := func() resp { return s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}) }
	reset := strconv.FormatInt(time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC).UnixMilli(), 10)

	r := list().expect(t, 200)
	if r.header.Get("X-RateLimit-Daily-Remaining") != "1" || r.header.Get("X-RateLimit-Limit-Daily") != "2" ||
		r.header.Get("X-RateLimit-Daily-Reset") != reset {
		t.Errorf("headers %v", r.header)
	}
	list().expect(t, 200)
	r = list().expect(t, 429)
	if string(r.body) != `{"statusCode":429,"message":"Daily API limit exceeded"}` {
		t.Errorf("body %s", r.body)
	}
	if r.header.Get("X-RateLimit-Daily-Remaining") != "0" || r.header.Get("Retry-After") != "" {
		t.Errorf("headers %v", r.header)
	}
	clock.Advance(14 * time.Hour) // past midnight UTC
	list().expect(t, 200)
	if st := s.Stats(); st.RateLimited != 1 {
		t.Errorf("rate_limited %d", st.RateLimited)
	}
}
