package removal

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/testlog"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/memtest"
)

// newQueue is a started queue over mt, its log in log.
func newQueue(t *testing.T, mt *memtest.Backend, log *testlog.Buf) *Queue {
	t.Helper()
	q, err := New(mt, Config{Dir: t.TempDir(), Location: "loc", API: "api", Clock: clockwork.NewFakeClock(),
		Logger: slog.New(slog.NewTextHandler(log, nil)), Permanent: true, OpTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	q.Start()
	t.Cleanup(q.Close)
	return q
}

// An unlink that waits for its removal's answer reports a refusal
// itself (the fs layer logs the error it returns): the queue logs no
// line of its own, so that the user reads one.
func TestWaitingUnlinkReportsRefusal(t *testing.T) {
	mt := memtest.New(memtest.Options{Profile: memtest.ImageKit()})
	mt.FailNext(memtest.OpRemove, 1, &remote.Error{Method: "POST", Endpoint: "remove", Status: 400, Message: "not this one"})
	log := &testlog.Buf{}
	q := newQueue(t, mt, log)
	err := q.Remove(context.Background(), entry.Entry{ID: "id1", ParentID: "dir", Name: "a.txt"}, true, true)
	if err == nil || !strings.Contains(err.Error(), "a.txt") || !strings.Contains(err.Error(), "not this one") {
		t.Fatalf("the refused unlink: %v, want the file and the service's message", err)
	}
	if l := log.Lines("ERROR"); len(l) != 0 {
		t.Errorf("error lines %q, want none: the unlink reports it", l)
	}
}

// An unlink that stopped waiting before the answer cannot report a
// refusal: the queue logs it, one ERROR line naming the file and the
// service's message.
func TestGivenUpUnlinkRefusalLogged(t *testing.T) {
	mt := memtest.New(memtest.Options{Profile: memtest.ImageKit()})
	gate := mt.Hold(memtest.OpRemove)
	t.Cleanup(gate.Open)
	mt.FailNext(memtest.OpRemove, 1, &remote.Error{Method: "POST", Endpoint: "remove", Status: 400, Message: "not this one"})
	log := &testlog.Buf{}
	q := newQueue(t, mt, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- q.Remove(ctx, entry.Entry{ID: "id1", ParentID: "dir", Name: "a.txt"}, true, true)
	}()
	<-gate.Reached()
	cancel()
	if err := <-done; !errors.Is(err, entry.ErrTimeout) {
		t.Fatalf("the unlink given up: %v, want ErrTimeout", err)
	}
	gate.Open()
	q.Drain(context.Background())
	if l := log.Lines("ERROR"); len(l) != 1 || !strings.Contains(l[0], "a.txt") || !strings.Contains(l[0], "not this one") {
		t.Errorf("error lines %q, want one naming a.txt and the service's message", l)
	}
}
