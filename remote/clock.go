package remote

import (
	"net/http"
	"sync"
	"time"
)

// serverClock estimates how far the service's clock is from this
// machine's, from the Date header of its answers, so that times the
// service wrote (createdAt) can be compared with times taken here.
type serverClock struct {
	mu     sync.Mutex
	offset time.Duration // server time minus local time
}

// observe notes the Date header of an answer received at local time at.
// Date has one-second precision and is truncated: the server's clock read
// somewhere within the second it names.
func (sc *serverClock) observe(date string, at time.Time) {
	if date == "" {
		return
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return
	}
	sc.mu.Lock()
	sc.offset = t.Add(500 * time.Millisecond).Sub(at)
	sc.mu.Unlock()
}

// toServer converts a local time to the server's clock.
func (sc *serverClock) toServer(t time.Time) time.Time {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return t.Add(sc.offset)
}
