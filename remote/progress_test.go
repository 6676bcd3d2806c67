package remote

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// Rate follows the last few seconds: bytes going steadily, then a stall.
func TestProgressRate(t *testing.T) {
	clock := clockwork.NewFakeClock()
	p := NewProgress(clock)
	if p.Rate() != 0 || !p.Started().IsZero() {
		t.Fatal("a rate before any byte")
	}
	r := counted(zeros{}, p)
	buf := make([]byte, 100_000)
	for range 20 { // 10 reads a second: 1 MB/s for 2 s
		r.Read(buf)
		clock.Advance(100 * time.Millisecond)
	}
	if got := p.Rate(); got < 0.9e6 || got > 1.1e6 {
		t.Errorf("rate %.0f B/s, want about 1 MB/s", got)
	}
	for range 60 { // 4 reads a second: 400 kB/s for 15 s
		r.Read(buf)
		clock.Advance(250 * time.Millisecond)
	}
	if got := p.Rate(); got < 0.35e6 || got > 0.45e6 {
		t.Errorf("rate %.0f B/s, want about 400 kB/s after it slowed", got)
	}
	clock.Advance(rateWindow + time.Second)
	if got := p.Rate(); got != 0 {
		t.Errorf("rate %.0f B/s after a stall of %v", got, rateWindow+time.Second)
	}
	if got, want := p.Sent(), int64(80*len(buf)); got != want {
		t.Errorf("sent %d, want %d", got, want)
	}
}

// zeros gives zero bytes for ever.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
