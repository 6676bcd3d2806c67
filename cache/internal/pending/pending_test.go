package pending

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/cache/internal/spool"
	"github.com/ghlfs/ghlfs/remote"
)

func newFacts(t *testing.T) (*Facts, *spool.Spool) {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sp := spool.New(dir, clockwork.NewFakeClock(), log)
	if err := os.MkdirAll(filepath.Join(dir, "spool"), 0o700); err != nil {
		t.Fatal(err)
	}
	return New(sp, "r1", "k1", log), sp
}

// Writes through Bytes keep the size and the time of the last write, and
// the open files and a send are counted.
func TestBytes(t *testing.T) {
	f, sp := newFacts(t)
	file, err := sp.CreateData("r1")
	if err != nil {
		t.Fatal(err)
	}
	b := &f.Bytes
	t0 := time.Unix(1000, 0)
	b.Set(file, 0, t0)
	if n, err := b.WriteAt([]byte("hello"), 3, t0.Add(time.Second)); n != 5 || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if b.Size() != 8 || !b.Touched().Equal(t0.Add(time.Second)) {
		t.Fatalf("size %d, touched %v; want 8 and a second later", b.Size(), b.Touched())
	}
	if err := b.Truncate(2, t0); err != nil || b.Size() != 2 {
		t.Fatalf("Truncate: %v, size %d", err, b.Size())
	}
	if b.InUse() {
		t.Fatal("in use with no open file")
	}
	if b.Join(true) != file {
		t.Fatal("Join returned another file")
	}
	b.Join(false)
	if b.Writers() != 1 || b.Leave(false) != 1 || b.Leave(true) != 0 || b.InUse() {
		t.Fatal("open files miscounted")
	}
	b.Send()
	if !b.Sending() || !b.InUse() {
		t.Fatal("a send does not count")
	}
	b.Sent()
	if !b.Is(f.DataPath()) {
		t.Fatal("the spool file is not the data path")
	}
	b.Keep()
	if b.Has() || b.Size() != 0 {
		t.Fatal("bytes left after Keep")
	}
	if _, err := file.Stat(); err != nil {
		t.Fatalf("a kept file was closed: %v", err)
	}
	b.CloseKept()
	if _, err := file.Stat(); err == nil {
		t.Fatal("a kept file stayed open after CloseKept")
	}
}

// A waiter hears of the upload of its version, or of the step that
// failed before it.
func TestWaiters(t *testing.T) {
	var ws Waiters
	w1, w2, w3 := ws.Add(1), ws.Add(2), ws.Add(3)
	ws.Remove(w3)
	ws.Settle(1, nil)
	if err := <-w1.Done(); err != nil || ws.Len() != 1 {
		t.Fatalf("w1: %v, %d left", err, ws.Len())
	}
	boom := errors.New("boom")
	ws.Settle(1, boom)
	if err := <-w2.Done(); err != boom || ws.Len() != 0 {
		t.Fatalf("w2: %v, %d left", err, ws.Len())
	}
}

// The worker's next step follows the state, the record file and the
// service's capabilities.
func TestNext(t *testing.T) {
	now := time.Unix(1000, 0)
	ghl := remote.Caps{NewIDPerUpload: true}
	versions := remote.Caps{UniqueNames: true}
	parent := "p0"
	for _, c := range []struct {
		name  string
		state string
		rf    spool.RecordFile
		caps  remote.Caps
		want  Step
	}{
		{"idle", Idle, spool.RecordFile{}, ghl, None},
		{"closed, not complete", Writing, spool.RecordFile{}, ghl, Recheck},
		{"lost answer", Uploading, spool.RecordFile{Attempt: &spool.Attempt{}}, ghl, Find},
		{"not quiet yet", Complete, spool.RecordFile{Due: now.Add(time.Second)}, ghl, Wait},
		{"due", Complete, spool.RecordFile{Due: now}, ghl, Send},
		{"renamed", Uploaded, spool.RecordFile{RemoteID: "a", Name: "y", RemoteName: "x"}, ghl, Rename},
		{"moved", Complete, spool.RecordFile{RemoteID: "a", Name: "x", RemoteName: "x", RemoteParentID: &parent}, ghl, Move},
		{"renamed before a version", Complete, spool.RecordFile{RemoteID: "a", Name: "y", RemoteName: "x"}, versions, Rename},
		{"replaced names first", Complete, spool.RecordFile{RemoteID: "a", Replaces: []string{"b"}}, versions, Retire},
		{"replaced", Uploaded, spool.RecordFile{RemoteID: "a", Replaces: []string{"b"}}, ghl, Retire},
		{"unconfirmed replaced", Uploaded, spool.RecordFile{RemoteID: "a", Replaces: []string{"b"}, Claims: map[string]listing.Claim{"b": {}}}, ghl, Confirm},
		{"removed", Removed, spool.RecordFile{RemoteID: "a"}, ghl, Remove},
		{"done", Uploaded, spool.RecordFile{RemoteID: "a"}, ghl, Done},
	} {
		f, _ := newFacts(t)
		f.State, f.File = c.state, c.rf
		if got := f.Next(now, false, c.caps); got != c.want {
			t.Errorf("%s: Next = %d, want %d", c.name, got, c.want)
		}
	}
}

// A failed step waits longer each time; a refused one and a parked one
// are not on a timer.
func TestFailing(t *testing.T) {
	f, _ := newFacts(t)
	now := time.Unix(1000, 0)
	boom := errors.New("boom")
	if at, stop := f.Failing(boom, now, time.Second); stop || !at.Equal(now.Add(time.Second)) {
		t.Fatalf("first retry at %v (stop %v)", at, stop)
	}
	if at, _ := f.Failing(boom, now, time.Second); !at.Equal(now.Add(2 * time.Second)) {
		t.Fatalf("second retry at %v", at)
	}
	f.Parked = true
	if at, stop := f.Failing(boom, now, time.Second); !at.IsZero() || stop {
		t.Fatalf("parked: at %v, stop %v", at, stop)
	}
	f.Refusal = boom
	if at, stop := f.Failing(boom, now, time.Second); !at.IsZero() || !stop || f.Failure != "boom" {
		t.Fatalf("refused: at %v, stop %v, failure %q", at, stop, f.Failure)
	}
	if !f.Unpark() || f.Tries != 0 || f.Failure != "" {
		t.Fatal("Unpark did not take it up")
	}
}

// A restart uploads complete bytes that are intact, and sets aside bytes
// still being written.
func TestResume(t *testing.T) {
	f, sp := newFacts(t)
	file, err := sp.CreateData("r1")
	if err != nil {
		t.Fatal(err)
	}
	file.WriteString("abc")
	f.Bytes.Set(file, 3, time.Time{})
	size, sum, err := f.Bytes.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	f.State, f.File = Complete, spool.RecordFile{Size: size, Sum: sum}
	if do, err := f.Resume(now); err != nil || do != (Resumed{}) || !f.File.Due.Equal(now) || f.State != Complete {
		t.Fatalf("complete: %+v, %v, due %v, %s", do, err, f.File.Due, f.State)
	}
	f.State, f.File = Writing, spool.RecordFile{RemoteID: "a", Name: "x", RemoteName: "x"}
	if do, err := f.Resume(now); err != nil || do.Aside == "" || !do.Forget || !f.Aside {
		t.Fatalf("writing: %+v, %v", do, err)
	}
	f.State = "bogus"
	if _, err := f.Resume(now); err == nil {
		t.Fatal("an unknown state resumed")
	}
}

// A listed id replaces an answer's everywhere the record holds it.
func TestConfirmed(t *testing.T) {
	f, _ := newFacts(t)
	f.File = spool.RecordFile{RemoteID: "a", Replaces: []string{"b", "c"}, Claims: map[string]listing.Claim{"a": {}, "b": {}}}
	f.Confirmed("a", "A")
	f.Confirmed("b", "c")
	if f.File.RemoteID != "A" || len(f.File.Replaces) != 1 || f.File.Replaces[0] != "c" || f.File.Claims != nil {
		t.Fatalf("after Confirmed: %+v", f.File)
	}
}
