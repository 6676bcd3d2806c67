package cache

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// An upload the service refuses for its type (the fake's type-allowlist:
// 400 INVALID_FILE_TYPE) is parked: one call, then none while nothing
// changes, however long; it shows as failed with the service's message
// and where its bytes are; an fsync gets the refusal at once, without a
// call; an unmount does not wait for it; renamed to a type the service
// takes, it goes up.
func TestRefusedUploadParkedUntilItChanges(t *testing.T) {
	e := newWB(t)
	if err := e.srv.SetQuirks([]string{ghltest.QuirkTypeAllowlist}); err != nil {
		t.Fatal(err)
	}
	e.write(t, "talk.m4a", "aac in mp4")
	e.clock.Advance(delay)
	var u Upload
	eventually(t, "the refused upload in the status", func() bool {
		ups := e.store.Uploads()
		if len(ups) == 1 {
			u = ups[0]
		}
		return len(ups) == 1 && ups[0].State == UploadFailed
	})
	r := e.store.q.Lookup(e.entry(t, "talk.m4a").Key)
	if r == nil {
		t.Fatal("no record for talk.m4a")
	}
	if n := uploads(e.srv); n != 1 {
		t.Fatalf("%d upload calls, want 1", n)
	}
	spooled := spooledBytes(e.dir)
	if len(spooled) != 1 {
		t.Fatalf("the spool holds %v", spooled)
	}
	if !u.Refused || !u.Next.IsZero() || u.Tries != 1 || !strings.Contains(u.Error, "INVALID_FILE_TYPE") ||
		!strings.Contains(u.Error, "audio/x-m4a") || !strings.Contains(u.Error, spooled[0]) {
		t.Fatalf("status %+v; want failed, refused, no next try, the service's message, the type sent and %s", u, spooled[0])
	}
	if b, err := os.ReadFile(spooled[0]); err != nil || string(b) != "aac in mp4" {
		t.Fatalf("the spool holds %q (%v)", b, err)
	}

	// Parked: no timer, no work; time moves on well past every backoff
	// (10 minutes at most), and no call is made.
	if r.Scheduled() {
		t.Fatal("the refused record has a retry timer")
	}
	for range 12 {
		e.clock.Advance(10 * time.Minute)
	}
	// A file the service takes goes through the same queue meanwhile:
	// once it landed, the workers have been round.
	e.write(t, "ok.png", "png")
	e.clock.Advance(delay)
	eventually(t, "ok.png to land", func() bool { return len(live(e.srv, "ok.png")) == 1 })
	if n := uploads(e.srv); n != 2 {
		t.Fatalf("%d upload calls after two hours, want 2 (talk.m4a once, ok.png)", n)
	}

	// fsync: the refusal at once, no call.
	h, err := e.store.Open(context.Background(), e.entry(t, "talk.m4a"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Fsync(context.Background()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "INVALID_FILE_TYPE") {
		t.Errorf("fsync: %v", err)
	}
	h.Release()
	if n := uploads(e.srv); n != 2 {
		t.Fatalf("%d upload calls after an fsync, want 2", n)
	}

	// An unmount's drain does not wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if left, _ := e.store.Drain(ctx); left != 1 || ctx.Err() != nil || e.store.Refused() != 1 {
		t.Fatalf("drain: %d left (ctx %v), %d refused; want 1 left at once, refused", left, ctx.Err(), e.store.Refused())
	}
	if n := uploads(e.srv); n != 2 {
		t.Fatalf("%d upload calls after the drain, want 2", n)
	}

	// Renamed to a type the service takes: it goes up.
	if err := e.store.Rename(context.Background(), e.entry(t, "talk.m4a"), "talk.mp3", nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(delay)
	e.idle(t)
	if got := live(e.srv, "talk.mp3"); len(got) != 1 || got[0] != "aac in mp4" {
		t.Fatalf("the library holds talk.mp3 %q", got)
	}
	if len(e.store.Uploads()) != 0 || e.store.Refused() != 0 {
		t.Fatalf("still pending: %+v", e.store.Uploads())
	}
}

// A refused file is sent again when it is written, and once at the next
// mount (the refusal is not kept), never more.
func TestRefusedUploadRetriedOnWriteAndRestart(t *testing.T) {
	e := newWB(t)
	if err := e.srv.SetQuirks([]string{ghltest.QuirkTypeAllowlist}); err != nil {
		t.Fatal(err)
	}
	refusedAfter := func(calls int) {
		t.Helper()
		eventually(t, "the refusal", func() bool {
			ups := e.store.Uploads()
			return uploads(e.srv) == calls && len(ups) == 1 && ups[0].Refused
		})
	}
	e.write(t, "data.bin", "one")
	e.clock.Advance(delay)
	refusedAfter(1)
	e.write(t, "data.bin", "two")
	if ups := e.store.Uploads(); len(ups) != 1 || ups[0].Refused {
		t.Fatalf("written again, it still shows as refused: %+v", ups)
	}
	e.clock.Advance(delay)
	refusedAfter(2)

	e.store.Close()
	e.open(t)
	refusedAfter(3)
	for range 6 {
		e.clock.Advance(10 * time.Minute)
	}
	r := e.store.q.Lookup(e.entry(t, "data.bin").Key)
	if timer := r.Scheduled(); timer || uploads(e.srv) != 3 {
		t.Fatalf("after the restart: timer %v, %d upload calls; want none, 3", timer, uploads(e.srv))
	}
	if got := e.read(t, e.entry(t, "data.bin")); got != "two" {
		t.Fatalf("the mount reads %q", got)
	}
	spooled := spooledBytes(e.dir)
	if len(spooled) != 1 {
		t.Fatalf("the spool holds %v", spooled)
	}
}
