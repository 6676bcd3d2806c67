package spool

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// NewID returns a new record id: 24 hex digits, unguessable, never
// reused.
func NewID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// Spares are empty record bytes (ID.data) made ahead of need, each under
// a new record id, so that a create in the mount takes one instead of
// waiting for the disk to make a file. Making a file (an inode) can cost
// half a millisecond of kernel time on an ext4 disk, the largest part of
// what a small file's copy into the mount costs (issue 22's row 19); a
// goroutine makes the spares at the start, and again in the pauses
// between the bursts of creates that take them (sparesQuiet).
//
// A spare holds no record: one that a crash leaves behind is bytes no
// record holds, deleted by the next Recover; Close removes those left.
type Spares struct {
	s      *Spool
	want   int           // how many to keep made
	settle time.Duration // how long after Start the first are made
	kick   chan struct{} // a Take emptied a place; cap 1
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup

	mu       sync.Mutex // a leaf: held for no file system call
	free     []spare
	closed   bool
	lastTake time.Time // on the spool's clock
}

type spare struct {
	id string
	f  *os.File
}

// NewSpares returns the spares of s, n of them kept made; none are made
// before Start, nor until settle has passed since. A burst of creates
// that outruns them makes its own files.
func (s *Spool) NewSpares(n int, settle time.Duration) *Spares {
	return &Spares{s: s, want: n, settle: settle, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// Start begins making spares, in a goroutine that Close stops, once
// settle has passed (as if a Take came then).
func (p *Spares) Start() {
	if p.want <= 0 {
		return
	}
	p.mu.Lock()
	p.lastTake = p.s.clock.Now().Add(p.settle - sparesQuiet)
	p.mu.Unlock()
	p.wg.Add(1)
	go p.fill()
	p.wake()
}

func (p *Spares) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Take returns a new record id and its empty bytes, open: a spare made
// ahead when there is one, else made now (an error is then the disk's).
func (p *Spares) Take() (string, *os.File, error) {
	p.mu.Lock()
	p.lastTake = p.s.clock.Now()
	if n := len(p.free); n > 0 {
		sp := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		p.wake()
		return sp.id, sp.f, nil
	}
	p.mu.Unlock()
	p.wake()
	id := NewID()
	f, err := p.s.CreateData(id)
	return id, f, err
}

// sparesQuiet is how long the Takes must have stopped before the spares
// taken are made again. Made while the creates still came, they took the
// kernel's time (and, on two cores, a core) from the very creates they
// were made for: a quarter of ghlfs's CPU during a tar -x of 2,000
// files. A burst that outruns the spares makes its own files, as it
// would without them.
const sparesQuiet = 50 * time.Millisecond

// fill makes spares until there are want of them: at Start, and once the
// Takes that woke it have stopped for sparesQuiet (each file waits for
// that: a Take meanwhile puts the rest off). A file it cannot make (a
// full disk) ends the round: Take makes its own then, and reports the
// error to its caller.
func (p *Spares) fill() {
	defer p.wg.Done()
	lowerPriority()
	for {
		select {
		case <-p.done:
			return
		case <-p.kick:
		}
		for {
			p.mu.Lock()
			need := !p.closed && len(p.free) < p.want
			p.mu.Unlock()
			if !need {
				break
			}
			if !p.quiet() { // creates are coming again: leave them the disk
				return
			}
			id := NewID()
			f, err := p.s.CreateData(id)
			if err != nil {
				p.s.log.Debug("spool: no spare file made", "err", err)
				break
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				p.s.drop(id, f)
				return
			}
			p.free = append(p.free, spare{id, f})
			p.mu.Unlock()
		}
	}
}

// quiet waits until sparesQuiet has passed since the last Take (at once
// when it has); false when Close came first.
func (p *Spares) quiet() bool {
	for {
		p.mu.Lock()
		due := p.lastTake.Add(sparesQuiet)
		p.mu.Unlock()
		wait := due.Sub(p.s.clock.Now())
		if wait <= 0 {
			return true
		}
		select {
		case <-p.done:
			return false
		case <-p.s.clock.After(wait):
		}
	}
}

// Close stops the making of spares and removes those not taken. A Take
// after Close makes its file itself.
func (p *Spares) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	free := p.free
	p.free = nil
	p.mu.Unlock()
	close(p.done)
	p.wg.Wait()
	for _, sp := range free {
		p.s.drop(sp.id, sp.f)
	}
}

// drop closes and removes the unused bytes f of the record id.
func (s *Spool) drop(id string, f *os.File) {
	f.Close()
	s.RemoveData(id)
}

// HeldBytes are the paths of the bytes (ID.data) in the spool of the cache
// directory dir that are not spares: a spare is empty, and no record
// holds it (by its file, ID.json, or a note on it).
func HeldBytes(dir string) []string {
	s := New(dir, nil, nil)
	paths, _ := filepath.Glob(filepath.Join(s.dir, "*.data"))
	return slices.DeleteFunc(paths, func(p string) bool {
		id := strings.TrimSuffix(filepath.Base(p), ".data")
		if _, err := os.Stat(s.jsonPath(id)); err == nil {
			return false
		}
		if fi, err := os.Stat(p); err != nil || fi.Size() != 0 {
			return err != nil // bytes no record holds are no spare
		}
		note, _ := readNote(p)
		return note == nil
	})
}
