package ghl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/internal/wire"
)

// The daily quota ends a call at once, whether the header or the message
// says so; no pause is left behind.
func TestDailyQuotaByMessage(t *testing.T) {
	var n atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "86400")
		w.WriteHeader(429)
		fmt.Fprint(w, `{"statusCode":429,"message":"Daily limit reached for this location"}`)
	}), func(cfg *Config) { cfg.RetryTimeout = time.Minute })
	start := time.Now()
	for range 3 {
		if _, err := c.List(context.Background(), ListQuery{Type: remote.TypeFile}); !errors.Is(err, remote.ErrQuotaExhausted) {
			t.Fatalf("err %v", err)
		}
	}
	if n.Load() != 3 || time.Since(start) > time.Second {
		t.Errorf("%d requests in %v", n.Load(), time.Since(start))
	}
}

// The rate-limit headers the core's pacer and usage are told of: the
// burst window's three, read whole or not at all for the pacer; each one
// on its own, if a count, for a status display.
func TestRateHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("X-RateLimit-Max", "100")
	h.Set("X-RateLimit-Remaining", "-3")
	if _, ok := wire.RateWindow(h); ok {
		t.Error("a window without its interval")
	}
	h.Set("X-RateLimit-Interval-Milliseconds", "10000")
	if w, ok := wire.RateWindow(h); !ok || w != (remote.RateWindow{Max: 100, Remaining: -3, IntervalMS: 10000}) {
		t.Errorf("window %+v, %v", w, ok)
	}
	h.Set("X-RateLimit-Daily-Reset", "1767225600000")
	l, ok := wire.ServerLimits(h)
	if !ok || l.Max != 100 || l.Interval != 10*time.Second || !l.DailyReset.Equal(time.UnixMilli(1767225600000)) {
		t.Errorf("limits %+v, %v", l, ok)
	}
	if _, ok := wire.ServerLimits(http.Header{"X-Ratelimit-Remaining": {"x"}}); ok {
		t.Error("limits from a header that is no count")
	}
}
