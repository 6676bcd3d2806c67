package cache

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/testlog"
	"github.com/ghlfs/ghlfs/cache/internal/writeback"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Renames the API refuses (update-404): a file is uploaded again under
// its new name, and the old copy retires; a folder is EXDEV. Removals
// without the bulk routes (no-bulk-routes): one DELETE an item.

func quirkWB(t *testing.T, quirks []string, mod ...func(*Options)) *wbEnv {
	t.Helper()
	e := newWB(t, mod...)
	if err := e.srv.SetQuirks(quirks); err != nil {
		t.Fatal(err)
	}
	return e
}

func calls(srv *ghltest.Server, endpoint string) int64 { return srv.Stats().ByEndpoint[endpoint] }

// A file of the library renamed: the mount shows it under the new name at
// once, with its bytes and key; the library gets a new copy under that
// name, and the old one goes to the trash once it landed. The route is
// asked once: the second rename makes no rename call.
func TestRenameRefusedUploadsAgain(t *testing.T) {
	e := quirkWB(t, []string{ghltest.QuirkUpdate404})
	ctx := context.Background()
	old := e.srv.AddFile("", "a.txt", "", []byte("the bytes"))
	a := e.entry(t, "a.txt")
	if err := e.store.Rename(ctx, a, "b.txt", nil); err != nil {
		t.Fatal(err)
	}
	b := e.entry(t, "b.txt")
	if b.Key != a.Key {
		t.Errorf("key %q became %q", a.Key, b.Key)
	}
	if got := e.read(t, b); got != "the bytes" {
		t.Errorf("b.txt reads %q while pending", got)
	}
	e.settle(t)
	if it, _ := e.srv.Item(old); it.Status != ghltest.StatusTrashed {
		t.Errorf("the old copy is %s", it.Status)
	}
	if got := live(e.srv, "b.txt"); len(got) != 1 || got[0] != "the bytes" {
		t.Fatalf("b.txt in the library: %q", got)
	}
	if got := live(e.srv, "a.txt"); len(got) != 0 {
		t.Fatalf("a.txt is still in the library: %q", got)
	}
	e.store.Invalidate("")
	if got := e.entry(t, "b.txt"); got.Key != a.Key || got.ID == old {
		t.Errorf("after: %+v", got)
	}
	if err := e.store.Rename(ctx, e.entry(t, "b.txt"), "c.txt", nil); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	if got := live(e.srv, "c.txt"); len(got) != 1 || got[0] != "the bytes" || len(e.srv.Items()) != 3 {
		t.Fatalf("c.txt in the library: %q; items %+v", got, e.srv.Items())
	}
	if n := calls(e.srv, ghltest.EndpointRename); n != 1 {
		t.Errorf("%d rename calls, want 1 (learnt once)", n)
	}
}

// A file renamed over another: the one it replaces retires too.
func TestRenameRefusedOverAnother(t *testing.T) {
	e := quirkWB(t, []string{ghltest.QuirkUpdate404})
	a := e.srv.AddFile("", "a.txt", "", []byte("a"))
	b := e.srv.AddFile("", "b.txt", "", []byte("b"))
	rep := e.entry(t, "b.txt")
	if err := e.store.Rename(context.Background(), e.entry(t, "a.txt"), "b.txt", &rep); err != nil {
		t.Fatal(err)
	}
	if got := e.shownKeys(t); len(got) != 1 || len(got["b.txt"]) != 1 {
		t.Fatalf("the mount shows %v", got)
	}
	if got := e.read(t, e.entry(t, "b.txt")); got != "a" {
		t.Fatalf("b.txt reads %q", got)
	}
	e.settle(t)
	if got := live(e.srv, "b.txt"); len(got) != 1 || got[0] != "a" {
		t.Fatalf("b.txt in the library: %q", got)
	}
	for _, id := range []string{a, b} {
		if it, _ := e.srv.Item(id); it.Status != ghltest.StatusTrashed {
			t.Errorf("%s is %s", it.Name, it.Status)
		}
	}
}

// A file renamed while its upload is under way: it lands under the old
// name, the rename is refused, and its bytes, still in the spool, go up
// again under the new one.
func TestRenameRefusedDuringUpload(t *testing.T) {
	e := quirkWB(t, []string{ghltest.QuirkUpdate404})
	e.rt.answered, e.rt.answersHeld = make(chan struct{}, 1), make(chan struct{})
	e.write(t, "a.txt", "fresh")
	e.clock.Advance(delay)
	<-e.rt.answered
	if err := e.store.Rename(context.Background(), e.entry(t, "a.txt"), "b.txt", nil); err != nil {
		t.Fatal(err)
	}
	close(e.rt.answersHeld)
	e.settle(t)
	if got := live(e.srv, "b.txt"); len(got) != 1 || got[0] != "fresh" {
		t.Fatalf("b.txt in the library: %q", got)
	}
	if got := live(e.srv, "a.txt"); len(got) != 0 {
		t.Fatalf("a.txt in the library: %q", got)
	}
}

// A copy in that fails is tried again, and survives a restart: the file
// is copied again from the start, and lands once.
func TestRenameRefusedCopySurvivesARestart(t *testing.T) {
	e := quirkWB(t, []string{ghltest.QuirkUpdate404})
	old := e.srv.AddFile("", "a.txt", "", []byte("the bytes"))
	e.rt.failStorage.Store(true)
	if err := e.store.Rename(context.Background(), e.entry(t, "a.txt"), "b.txt", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a copy to fail", func() bool {
		for _, u := range e.store.Uploads() {
			if u.Name == "b.txt" && u.State == UploadFailed {
				return true
			}
		}
		return false
	})
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e.rt.failStorage.Store(false)
	e.open(t)
	if got := e.read(t, e.entry(t, "b.txt")); got != "the bytes" {
		t.Fatalf("after a restart b.txt reads %q", got)
	}
	e.settle(t)
	if got := live(e.srv, "b.txt"); len(got) != 1 || got[0] != "the bytes" {
		t.Fatalf("b.txt in the library: %q", got)
	}
	if it, _ := e.srv.Item(old); it.Status != ghltest.StatusTrashed {
		t.Errorf("the old copy is %s", it.Status)
	}
	if n := uploads(e.srv); n != 1 {
		t.Errorf("%d uploads", n)
	}
}

// A folder cannot be uploaded again: its rename is EXDEV (mv then copies
// it), with one log line saying why, and nothing changes.
func TestFolderRenameRefused(t *testing.T) {
	var log testlog.Buf
	e := quirkWB(t, []string{ghltest.QuirkUpdate404}, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	f := e.srv.AddFolder("", "F")
	err := e.store.Rename(context.Background(), e.entry(t, "F"), "G", nil)
	if !errors.Is(err, ErrCrossFolder) {
		t.Fatalf("rename of a folder: %v", err)
	}
	if it, _ := e.srv.Item(f); it.Name != "F" || it.Status != ghltest.StatusActive {
		t.Fatalf("the folder is %+v", it)
	}
	if lines := log.Lines("WARN"); len(lines) != 1 || !strings.Contains(lines[0], "EXDEV") || !strings.Contains(lines[0], "Cannot POST") {
		t.Fatalf("log: %q", lines)
	}
}

// Without the bulk routes, removals go through DELETE /medias/{id}, in
// the default trash mode too (the token has no other way): rm removes the
// file, and a replace's old copy goes; the bulk route is asked once.
// (In trash mode, rm was refused with EPERM, and a replaced file's old
// copy stayed in the library, its record parked in the spool for good.)
func TestRemoveWithoutBulkRoutes(t *testing.T) {
	for _, del := range []bool{false, true} {
		e := quirkWB(t, []string{ghltest.QuirkNoBulkRoutes, ghltest.QuirkDeleteNeedsAlt}, func(o *Options) { o.Delete = del })
		ctx := context.Background()
		a := e.srv.AddFile("", "a.txt", "", []byte("a"))
		b := e.srv.AddFile("", "b.txt", "", []byte("b"))
		if err := e.store.Remove(ctx, e.entry(t, "a.txt")); err != nil {
			t.Fatalf("delete mode %v: rm: %v", del, err)
		}
		e.write(t, "b.txt", "new")
		e.settle(t)
		for _, id := range []string{a, b} {
			if it, _ := e.srv.Item(id); it.Status == ghltest.StatusActive {
				t.Errorf("delete mode %v: %s is %s", del, it.Name, it.Status)
			}
		}
		if got := live(e.srv, "b.txt"); len(got) != 1 || got[0] != "new" {
			t.Errorf("delete mode %v: b.txt in the library: %q", del, got)
		}
		if got := e.shownKeys(t); len(got) != 1 || len(got["b.txt"]) != 1 {
			t.Errorf("delete mode %v: the mount shows %v", del, got)
		}
		if n := calls(e.srv, ghltest.EndpointDeleteMany); n != 1 {
			t.Errorf("delete mode %v: %d bulk calls, want 1 (learnt)", del, n)
		}
	}
}

// A file whose write failed (its bytes set aside in recovered/) and that
// was renamed meanwhile where the API cannot rename: its copy in the
// library is copied into a spool file of its own, to go up under the new
// name. The bytes set aside stay as they were, in recovered/ and for the
// file still open on them. (The copy went into the set-aside file itself:
// recovered/ then held the library's bytes, and so did the open file.)
func TestRenameRefusedKeepsSetAsideBytes(t *testing.T) {
	e := newWBLimit(t, 100)
	if err := e.srv.SetQuirks([]string{ghltest.QuirkUpdate404}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e.srv.AddFile("", "a.txt", "text/plain", []byte("original"))
	w, err := e.store.Open(ctx, e.entry(t, "a.txt"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	xs := strings.Repeat("x", 60)
	if _, err := w.Write(ctx, []byte(xs), 0); err != nil {
		t.Fatal(err)
	}
	rd, err := e.store.Open(ctx, e.entry(t, "a.txt"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if err := e.store.Rename(ctx, e.entry(t, "a.txt"), "b.txt", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, []byte(xs), 60); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("write past the limit: %v", err)
	}
	w.Flush(ctx)
	w.Release()
	e.settle(t)
	if got := live(e.srv, "b.txt"); len(got) != 1 || got[0] != "original" {
		t.Fatalf("b.txt in the library: %q", got)
	}
	if got := e.read(t, e.entry(t, "b.txt")); got != "original" {
		t.Errorf("b.txt reads %q", got)
	}
	kept, _ := filepath.Glob(filepath.Join(e.dir, "recovered", "*a.txt"))
	kept2, _ := filepath.Glob(filepath.Join(e.dir, "recovered", "*b.txt"))
	kept = append(kept, kept2...)
	if len(kept) != 1 {
		t.Fatalf("recovered/ holds %v", kept)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != xs {
		t.Errorf("recovered/ keeps %q, want the %d bytes written", b, len(xs))
	}
	buf := make([]byte, 100)
	data, done, err := rd.Read(ctx, buf, 0)
	defer done()
	if err != nil && !errors.Is(err, io.EOF) || len(data) != 1 || string(data[0]) != xs {
		t.Errorf("the file open on the bytes set aside reads %q (%v)", data, err)
	}
}

// A file renamed where the API cannot rename, whose copy in the library
// was removed elsewhere before its bytes could be copied: the rename ends
// with the file gone, in one log line, and is not tried again. (The copy
// failed, and was tried again for ever, an ERROR line each time.)
func TestRenameRefusedSourceGone(t *testing.T) {
	var log testlog.Buf
	e := quirkWB(t, []string{ghltest.QuirkUpdate404}, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	ctx := context.Background()
	old := e.srv.AddFile("", "a.txt", "", []byte("the bytes"))
	a := e.entry(t, "a.txt")
	if err := e.store.rc.Remove(ctx, []string{old}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Rename(ctx, a, "b.txt", nil); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	if n := uploads(e.srv); n != 0 {
		t.Errorf("%d uploads", n)
	}
	l, err := e.store.ListDir(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 0 {
		t.Errorf("the mount shows %+v", l.Entries)
	}
	if errs, warns := log.Lines("ERROR"), log.Lines("WARN"); len(errs) != 0 || len(warns) != 1 || !strings.Contains(warns[0], "b.txt") {
		t.Errorf("log: ERROR %q, WARN %q", errs, warns)
	}
}

// A file changed while its rename is on its way to the API is changed
// under its new name: the change waits for the rename, and starts from
// the file it made, not from the copy resolved before it landed (a
// truncate after mv uploaded the file again under its old name).
func TestChangeDuringARenameKeepsTheNewName(t *testing.T) {
	e, ent := renameUnderWay(t)
	done := truncateWaiting(t, e, context.Background(), ent)
	close(e.rt.renamesHeld)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	if got := live(e.srv, "a.bin"); len(got) != 1 || got[0] != "fir" {
		t.Fatalf("a.bin in the library: %q", got)
	}
	if got := live(e.srv, "a.png"); len(got) != 0 {
		t.Fatalf("a.png in the library: %q", got)
	}
}

// A change waiting for a rename on its way, whose call is interrupted (a
// signal to the tool: FUSE cancels the call's context), ends with that
// interruption, which the mount answers EINTR (the kernel restarts the
// call), not with the busy error a wait too long gets (EIO for a
// truncate); the file is unchanged, and changes once the rename landed.
func TestChangeInterruptedDuringARename(t *testing.T) {
	e, ent := renameUnderWay(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := truncateWaiting(t, e, ctx, ent)
	cancel()
	err := <-done
	close(e.rt.renamesHeld)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Fatalf("truncate interrupted while it waits: %v, want context.Canceled", err)
	}
	writeback.TestHookAsideWait = nil
	if err := e.store.Truncate(context.Background(), ent, 3); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	if got := live(e.srv, "a.bin"); len(got) != 1 || got[0] != "fir" {
		t.Fatalf("a.bin in the library: %q", got)
	}
}

// truncateWaiting starts a truncate of ent to 3 bytes with ctx, and
// returns once it waits for the rename under way (renameUnderWay); its
// result comes on the channel.
func truncateWaiting(t *testing.T, e *wbEnv, ctx context.Context, ent Entry) <-chan error {
	t.Helper()
	waiting := make(chan struct{})
	writeback.TestHookAsideWait = func() { close(waiting) }
	t.Cleanup(func() { writeback.TestHookAsideWait = nil })
	done := make(chan error, 1)
	go func() { done <- e.store.Truncate(ctx, ent, 3) }()
	<-waiting
	return done
}

// renameUnderWay uploads a.png and renames it to a.bin, the rename held
// at the API (close e.rt.renamesHeld to let it go); it returns the entry
// as the mount's node holds it, under its new name.
func renameUnderWay(t *testing.T) (*wbEnv, Entry) {
	e := newWB(t)
	ctx := context.Background()
	h, ent, err := e.store.Create(ctx, "", "a.png")
	if err != nil {
		t.Fatal(err)
	}
	writeClose(t, h, "first bytes")
	e.clock.Advance(delay)
	e.idle(t) // uploaded; its id not yet confirmed by a listing
	// Its record, idle, leaves the queue once its worker is done with it:
	// a rename before that would take the record up again, with its bytes.
	eventually(t, "the record to leave the queue", func() bool { return e.store.q.Lookup(ent.Key) == nil })
	e.rt.renaming, e.rt.renamesHeld = make(chan struct{}, 1), make(chan struct{})
	// As the mount does it: by the entry its node holds.
	if err := e.store.Rename(ctx, ent, "a.bin", nil); err != nil {
		t.Fatal(err)
	}
	// The rename goes through the queue (the upload's id is looked up
	// first).
	eventually(t, "the rename to reach the API", func() bool {
		e.clock.Advance(time.Second)
		select {
		case <-e.rt.renaming:
			return true
		default:
			return false
		}
	})
	ent.Name = "a.bin"
	return e, ent
}
