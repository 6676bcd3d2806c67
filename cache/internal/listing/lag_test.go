package listing

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/snapshot"
	"github.com/ghlfs/ghlfs/cache/internal/testlog"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// lagEnv is a Store over a fake whose whole-library answers lag a minute
// behind (fetchall-lag), listing the whole library, with a folder Docs
// holding old.txt, gone.txt and ren.txt made before the lag began.
type lagEnv struct {
	*env
	srvClock *clockwork.FakeClock // the fake service's
	docs     string
}

const testLag = time.Minute

func newLagEnv(t *testing.T) *lagEnv {
	t.Helper()
	sc := clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e := &lagEnv{env: newEnv(t, ghltest.Options{Now: sc.Now}), srvClock: sc}
	e.docs = e.srv.AddFolder("", "Docs")
	for _, name := range []string{"old.txt", "gone.txt", "ren.txt"} {
		sc.Advance(time.Millisecond)
		e.srv.AddFile(e.docs, name, "text/plain", []byte(name))
	}
	sc.Advance(time.Second)
	if err := e.srv.SetQuirks([]string{"fetchall-lag=" + testLag.String()}); err != nil {
		t.Fatal(err)
	}
	e.listedAll(t, true)
	return e
}

// change makes, through the mount, a file new.txt in Docs, removes
// gone.txt and renames ren.txt to renamed.txt.
func (e *lagEnv) change(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	e.upload(t, e.docs, "new.txt", "new")
	for _, ent := range e.entries(t, e.docs) {
		var err error
		switch ent.Name {
		case "gone.txt":
			err = e.f.Remove(ctx, ent.ParentID, ent.ID)
		case "ren.txt":
			err = e.f.Rename(ctx, ent.ParentID, ent.ID, "renamed.txt")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// passAndPoll runs a pass over the library and a poll, as the background
// does, and fails unless Docs shows want after each.
func (e *lagEnv) passAndPoll(t *testing.T, when string, want []string) {
	t.Helper()
	f := e.f
	if err := f.passOverLibrary(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, e.docs); !slices.Equal(got, want) {
		t.Fatalf("%s, after a pass: Docs shows %q, want %q", when, got, want)
	}
	if _, err := f.pollRecent(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, e.docs); !slices.Equal(got, want) {
		t.Fatalf("%s, after a poll: Docs shows %q, want %q", when, got, want)
	}
}

var afterChanges = []string{"new.txt", "old.txt", "renamed.txt"}

// Whole-library answers that lag a minute behind never undo a change made
// through the mount, however long after it they come (past the journal's
// grace): a file made does not disappear, one removed does not come back,
// one renamed keeps its new name. Once they show the changes, they are
// taken as they come again: a file made elsewhere shows.
func TestLaggingAnswersNeverUndoTheMountsChanges(t *testing.T) {
	e := newLagEnv(t)
	e.change(t)
	if got := e.names(t, e.docs); !slices.Equal(got, afterChanges) {
		t.Fatalf("right after the changes Docs shows %q", got)
	}
	lagged := e.srv.Stats().LaggedLists
	for i := range 3 {
		e.clock.Advance(journalGrace + time.Second) // this machine's time
		e.srvClock.Advance(15 * time.Second)        // the service's: still within the lag
		e.passAndPoll(t, "while answers lag", afterChanges)
		_ = i
	}
	if e.srv.Stats().LaggedLists == lagged {
		t.Fatal("no lagging answer was served: the test tests nothing")
	}

	// The lag caught up: the answers show the changes, which are
	// settled; a file made elsewhere shows too.
	e.srv.AddFile(e.docs, "elsewhere.txt", "text/plain", []byte("e"))
	e.srvClock.Advance(testLag + time.Second)
	e.clock.Advance(journalGrace + time.Second)
	want := []string{"elsewhere.txt", "new.txt", "old.txt", "renamed.txt"}
	e.passAndPoll(t, "once answers caught up", want)
	f := e.f
	f.mu.Lock()
	for _, c := range f.journal[e.docs] {
		if !c.settled {
			t.Errorf("change %+v is not settled by an answer that shows it", c)
		}
	}
	f.mu.Unlock()
}

// The same across a remount: the changes no whole-library answer showed
// when the mount ended are held over the next mount's first answers.
func TestLaggingAnswersAfterARemount(t *testing.T) {
	e := newLagEnv(t)
	e.change(t)
	e.close(t)
	e.reopen(t)
	f := e.f
	f.listAll, f.polling = true, true
	e.srvClock.Advance(10 * time.Second)
	e.clock.Advance(journalGrace + time.Second)
	e.passAndPoll(t, "after the remount", afterChanges)

	// Changes older than the allowance are not held any more.
	e.close(t)
	e.clock.Advance(lagAllowance)
	e.reopen(t)
	f = e.f
	f.mu.Lock()
	n := len(f.journal[e.docs])
	f.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d changes older than %v taken up", n, lagAllowance)
	}
}

// applyAll makes the changes as c.apply does one by one, in one pass.
func TestApplyAllIsApplyInTurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	id := func() string { return fmt.Sprintf("id%02d", rng.IntN(30)) }
	for round := range 200 {
		var entries []Entry
		seen := map[string]bool{}
		for range rng.IntN(20) {
			if i := id(); !seen[i] {
				seen[i] = true
				entries = append(entries, Entry{ID: i, Key: i, Name: "n" + i})
			}
		}
		var cs []change
		for range rng.IntN(40) {
			switch rng.IntN(4) {
			case 0:
				i := id()
				cs = append(cs, change{kind: putEntry, e: Entry{ID: i, Key: i, Name: fmt.Sprint("p", rng.IntN(5))}})
			case 1:
				cs = append(cs, change{kind: dropID, id: id()})
			case 2:
				cs = append(cs, change{kind: renameID, id: id(), name: fmt.Sprint("r", rng.IntN(5))})
			case 3:
				e := Entry{ID: id()}
				e.SetURL("https://x/" + e.ID)
				cs = append(cs, change{kind: locateID, e: e})
			}
		}
		want := slices.Clone(entries)
		for _, c := range cs {
			want = c.apply(want)
		}
		got := applyAll(slices.Clone(entries), cs)
		entry.Sort(want)
		entry.Sort(got)
		if !slices.EqualFunc(got, want, func(a, b Entry) bool { return a.ID == b.ID && a.Name == b.Name && a.URL() == b.URL() }) {
			t.Fatalf("round %d: applyAll gives %v, apply in turn %v", round, got, want)
		}
	}
}

// tooLargeRC answers whole-library listings as a server whose one answer
// is the whole library, over the bound (remote.ErrAnswerTooLarge).
type tooLargeRC struct {
	remote.Backend
	calls atomic.Int32
}

func (r *tooLargeRC) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	if q.All {
		r.calls.Add(1)
		return fmt.Errorf("GET /medias/files: %w: more than %d bytes", remote.ErrAnswerTooLarge, remote.MaxListAnswerBytes)
	}
	return r.Backend.List(ctx, q, restart, add)
}

func (r *tooLargeRC) ListUpdated(ctx context.Context, typ string, visit func(remote.Item) bool) error {
	r.calls.Add(1)
	return fmt.Errorf("GET /medias/files: %w", remote.ErrAnswerTooLarge)
}

// A whole library in one answer too large to take: the mount lists folder
// by folder instead, saying so in one line, and polls the folders in use.
func TestWholeLibraryTooLargeListsFolderByFolder(t *testing.T) {
	log := &testlog.Buf{}
	e := newEnv(t, ghltest.Options{}, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	docs := e.srv.AddFolder("", "Docs")
	e.srv.AddFile(docs, "a.txt", "text/plain", []byte("a"))
	f := e.f
	rc := &tooLargeRC{Backend: f.rc}
	f.rc = rc
	f.listAll, f.polling = true, true
	for range 2 {
		if err := f.passOverLibrary(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := rc.calls.Load(); n != 3 {
		t.Fatalf("%d whole-library listings asked for, want 3 (the first pass's mark, and its listings of folders and files)", n)
	}
	if got := e.names(t, docs); !slices.Equal(got, []string{"a.txt"}) {
		t.Fatalf("Docs shows %q", got)
	}
	warns := log.Lines("WARN")
	if len(warns) != 1 || !strings.Contains(warns[0], "folder by folder") {
		t.Fatalf("warnings: %q", warns)
	}
	if !f.recentOff {
		t.Fatal("polls still ask for the whole library by last change")
	}
}

// A file removed through the mount and restored elsewhere before any
// whole-library answer showed the removal shows by the next pass (the
// removal held over the pass's answer is checked by the folder's own
// listing, which shows it undone); under restore-keeps-updated a poll
// cannot see it, the pass does.
func TestRestoredAfterARemovalShowsByTheNextPass(t *testing.T) {
	e := newEnv(t, ghltest.Options{Quirks: []string{ghltest.QuirkRestoreKeepsUpdated}})
	docs := e.srv.AddFolder("", "Docs")
	x := e.srv.AddFile(docs, "x.txt", "text/plain", []byte("x"))
	f := e.listedAll(t, true)
	ctx := context.Background()
	l := e.entries(t, docs)
	if len(l) != 1 {
		t.Fatal(l)
	}
	if err := e.f.Remove(ctx, l[0].ParentID, l[0].ID); err != nil {
		t.Fatal(err)
	}
	// A poll after a later change elsewhere: its mark is past the trash's
	// updatedAt, which the restore keeps.
	defer func(m time.Duration) { markMargin = m }(markMargin)
	markMargin = 0
	nextMilli()
	e.srv.AddFile("", "later.txt", "text/plain", []byte("l"))
	if _, err := f.pollRecent(ctx); err != nil {
		t.Fatal(err)
	}
	nextMilli()
	if _, err := e.srv.Restore(x); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pollRecent(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, docs); len(got) != 0 {
		t.Fatalf("a poll saw the restore it cannot see: Docs shows %q", got)
	}
	if err := f.passOverLibrary(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, docs); !slices.Equal(got, []string{"x.txt"}) {
		t.Fatalf("after the pass Docs shows %q, want the restored x.txt", got)
	}
	if err := f.passOverLibrary(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.names(t, docs); !slices.Equal(got, []string{"x.txt"}) {
		t.Fatalf("after a second pass Docs shows %q", got)
	}
}

// The changes handed to the next mount are those a whole-library answer
// could undo: a url learnt is left out.
func TestHeldChangesLeaveOutLocations(t *testing.T) {
	e := newEnv(t, ghltest.Options{})
	f := e.f
	f.listAll = true
	loc := Entry{ID: "a00000000000000000000002", Key: "a00000000000000000000002", Name: "x"}
	loc.SetURL("https://u")
	f.NoteLocated("f1", loc)
	f.NoteDrop("f1", "a00000000000000000000003")
	held := f.held()
	if len(held) != 1 || held[0].Kind != snapshot.Drop || held[0].ID != "a00000000000000000000003" || held[0].Folder != "f1" {
		t.Fatalf("held: %+v, want the drop alone", held)
	}
}
