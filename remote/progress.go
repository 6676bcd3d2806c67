package remote

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// Progress counts the bytes of an upload's file that were handed to the
// connection, for a status display: what the caller gives in
// Upload.Progress is updated as the body is read, and read by anyone at
// any time. Each attempt starts again from zero (a retry sends the bytes
// again).
//
// "Sent" is what net/http took from the body: bytes still in this
// machine's socket buffers count as sent, so the count runs ahead of what
// the server received by at most those buffers.
//
// Cost: one atomic add per read of the body (reads are 32 KiB or more),
// and a clock read; a mark for the rate is taken at most once a second.
type Progress struct {
	clock clockwork.Clock
	sent  atomic.Int64

	mu      sync.Mutex
	started time.Time           // guarded by mu: the attempt's first byte; zero before
	marks   [progressMarks]mark // guarded by mu: a ring, at least a second apart
	next    int                 // guarded by mu: where the next mark goes
}

// mark is the count at one moment.
type mark struct {
	at   time.Time
	sent int64
}

const (
	// progressMarks bounds the marks kept: enough for rateWindow.
	progressMarks = 8
	// rateWindow is how far back Rate looks: a rate over the last few
	// seconds follows a link that slows down or stalls.
	rateWindow = 5 * time.Second
)

// NewProgress returns a counter read on clock (nil: the real clock).
func NewProgress(clock clockwork.Clock) *Progress {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Progress{clock: clock}
}

// Sent is how many bytes of the file the current attempt has sent.
func (p *Progress) Sent() int64 { return p.sent.Load() }

// Started is when the current attempt sent its first byte (zero before).
func (p *Progress) Started() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// Rate is the bytes per second sent over the last few seconds (since the
// attempt began, when that is more recent); 0 before the first byte, and
// once no byte went for that long.
func (p *Progress) Rate() float64 {
	now := p.clock.Now()
	sent := p.sent.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started.IsZero() {
		return 0
	}
	// The oldest mark within the window; the marks are in time order
	// from p.next on.
	for i := range progressMarks {
		m := p.marks[(p.next+i)%progressMarks]
		if m.at.IsZero() || now.Sub(m.at) > rateWindow {
			continue
		}
		d := now.Sub(m.at).Seconds()
		if d < 0.05 {
			return 0 // too soon to tell
		}
		return float64(sent-m.sent) / d
	}
	return 0
}

// restart begins a new attempt: nothing sent yet.
func (p *Progress) restart() {
	p.mu.Lock()
	p.sent.Store(0)
	p.started = time.Time{}
	p.marks = [progressMarks]mark{}
	p.next = 0
	p.mu.Unlock()
}

// add counts n more bytes sent.
func (p *Progress) add(n int) {
	if n <= 0 {
		return
	}
	before := p.sent.Add(int64(n)) - int64(n)
	now := p.clock.Now()
	p.mu.Lock()
	if p.started.IsZero() {
		p.started = now
		p.putLocked(mark{at: now, sent: before})
	} else if last := p.marks[(p.next+progressMarks-1)%progressMarks]; now.Sub(last.at) >= time.Second {
		p.putLocked(mark{at: now, sent: before})
	}
	p.mu.Unlock()
}

func (p *Progress) putLocked(m mark) {
	p.marks[p.next] = m
	p.next = (p.next + 1) % progressMarks
}

// progressReader counts what is read through it.
type progressReader struct {
	r io.Reader
	p *Progress
}

func (c progressReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}

// Attempt returns r counted by p from zero: a new attempt of an upload
// whose body r is. A nil p counts nothing, and returns r itself.
func (p *Progress) Attempt(r io.Reader) io.Reader { return counted(r, p) }

// counted returns r counted by p (from zero: a new attempt), or r itself
// when p is nil.
func counted(r io.Reader, p *Progress) io.Reader {
	if p == nil {
		return r
	}
	p.restart()
	return progressReader{r: r, p: p}
}
