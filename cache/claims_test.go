package cache

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/testlog"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Uploads whose answer's id is not the one listings show
// (upload-id-differs): the mount shows each file once, and every change
// acts on the listed id, never on the answer's.

func idDiffersWB(t *testing.T) *wbEnv {
	t.Helper()
	e := newWB(t)
	if err := e.srv.SetQuirks([]string{ghltest.QuirkUploadIDDiffers}); err != nil {
		t.Fatal(err)
	}
	return e
}

// answerIDs are the ids the fake's upload answers gave: the object names
// in its files' urls, where they are not the files' ids.
func answerIDs(srv *ghltest.Server) map[string]bool {
	out := map[string]bool{}
	for _, it := range srv.Items() {
		if it.Type != ghltest.TypeFile {
			continue
		}
		obj := strings.TrimSuffix(path.Base(it.URL), path.Ext(it.URL))
		if obj != it.ID {
			out[obj] = true
		}
	}
	return out
}

// noGuessedIDs fails the test if a change was sent with an id of an
// upload's answer.
func noGuessedIDs(t *testing.T, e *wbEnv) {
	t.Helper()
	ids := answerIDs(e.srv)
	if len(ids) == 0 {
		t.Fatal("no upload was answered with an id of its own: the quirk is not on")
	}
	for _, c := range e.rt.changed() {
		for id := range ids {
			if strings.Contains(c, id) {
				t.Errorf("a change named the upload's answer %s: %s", id, c)
			}
		}
	}
}

// uploaded writes name and waits until its upload is done.
func (e *wbEnv) uploaded(t *testing.T, name, data string) {
	t.Helper()
	e.write(t, name, data)
	e.clock.Advance(delay)
	e.idle(t)
}

// shownKeys are the names the root lists, with their keys.
func (e *wbEnv) shownKeys(t *testing.T) map[string][]string {
	t.Helper()
	l, err := e.store.ListDir(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, ent := range l.Entries {
		out[ent.Name] = append(out[ent.Name], ent.Key)
	}
	return out
}

// rewritten checks that name, rewritten from old to data, is data in the
// library (one file) and in the mount, also after a restart, with old's
// copy in the trash and no change sent by an answer's id.
func (e *wbEnv) rewritten(t *testing.T, name, old, data string) {
	t.Helper()
	var trashed []string
	for _, it := range e.srv.Items() {
		if it.Status == ghltest.StatusTrashed {
			b, _ := e.srv.Content(it.ID)
			trashed = append(trashed, string(b))
		}
	}
	if got := live(e.srv, name); len(got) != 1 || got[0] != data || len(trashed) != 1 || trashed[0] != old {
		t.Fatalf("the library holds %q, its trash %q; want %q, and %q trashed", got, trashed, data, old)
	}
	if got := e.read(t, e.entry(t, name)); got != data {
		t.Fatalf("%s reads %q", name, got)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
	if got := e.read(t, e.entry(t, name)); got != data {
		t.Fatalf("after a restart %s reads %q", name, got)
	}
	noGuessedIDs(t, e)
}

// A new file, then a listing that shows it under another id: shown once,
// under the key it had; then replaced, renamed and removed through the
// mount: each change acts on the listed id, and the library ends empty
// with every copy trashed, nothing else touched.
func TestUploadIDDiffersChangesActOnTheListedID(t *testing.T) {
	e := idDiffersWB(t)
	ctx := context.Background()
	other := e.srv.AddFile("", "other.txt", "", []byte("not touched"))
	e.uploaded(t, "a.txt", "one")
	before := e.entry(t, "a.txt")
	if !before.Unconfirmed() {
		t.Fatalf("the upload's entry %+v is not marked unconfirmed", before)
	}
	e.store.Invalidate("")
	if got := e.shownKeys(t)["a.txt"]; len(got) != 1 || got[0] != before.Key {
		t.Fatalf("after a listing, a.txt shows as %q, want once as %q", got, before.Key)
	}
	listed := e.entry(t, "a.txt")
	if listed.Unconfirmed() || listed.ID == before.ID {
		t.Fatalf("after a listing: %+v (before %+v)", listed, before)
	}

	// Replace: the old copy trashed is the listed one.
	e.write(t, "a.txt", "two")
	e.clock.Advance(delay)
	e.settle(t)
	if it, _ := e.srv.Item(listed.ID); it.Status != ghltest.StatusTrashed {
		t.Fatalf("the replaced copy is %s", it.Status)
	}
	// Rename of the new copy, whose id no listing has shown yet.
	if err := e.store.Rename(ctx, e.entry(t, "a.txt"), "b.txt", nil); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	if got := live(e.srv, "b.txt"); len(got) != 1 || got[0] != "two" {
		t.Fatalf("b.txt in the library: %q", got)
	}
	// Removal.
	if err := e.store.Remove(ctx, e.entry(t, "b.txt")); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	for _, it := range e.srv.Items() {
		switch {
		case it.ID == other && it.Status != ghltest.StatusActive:
			t.Errorf("other.txt is %s", it.Status)
		case it.ID != other && it.Status != ghltest.StatusTrashed:
			t.Errorf("%s (%s) is %s", it.Name, it.ID, it.Status)
		}
	}
	noGuessedIDs(t, e)
}

// A file renamed right after its upload, before any listing: the mount
// shows the new name at once; the queue looks the file up first, and
// renames it by its listed id.
func TestUploadIDDiffersRenameBeforeAnyListing(t *testing.T) {
	e := idDiffersWB(t)
	e.uploaded(t, "a.txt", "one")
	if err := e.store.Rename(context.Background(), e.entry(t, "a.txt"), "b.txt", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.shownKeys(t); len(got) != 1 || len(got["b.txt"]) != 1 {
		t.Fatalf("right after the rename the mount shows %v", got)
	}
	if got := e.read(t, e.entry(t, "b.txt")); got != "one" {
		t.Fatalf("b.txt reads %q", got)
	}
	e.settle(t)
	if n := calls(e.srv, ghltest.EndpointRename); n != 1 {
		t.Errorf("%d rename calls, want 1 (by the listed id)", n)
	}
	if got := live(e.srv, "b.txt"); len(got) != 1 {
		t.Fatalf("b.txt in the library: %q", got)
	}
	if got := e.shownKeys(t); len(got) != 1 || len(got["b.txt"]) != 1 {
		t.Fatalf("the mount shows %v", got)
	}
	noGuessedIDs(t, e)
}

// The mark survives a restart: a replace whose old copy (known by its
// answer only) cannot be looked up while listings fail keeps it in its
// record; remounted, the record looks it up and trashes the listed copy.
func TestUploadIDDiffersClaimSurvivesARestart(t *testing.T) {
	e := idDiffersWB(t)
	e.uploaded(t, "a.txt", "one")
	e.rt.failLists.Store(true)
	e.write(t, "a.txt", "two")
	e.clock.Advance(delay)
	eventually(t, "the second upload", func() bool { return uploads(e.srv) == 2 })
	e.clock.Advance(delay)
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	if got := live(e.srv, "a.txt"); len(got) != 2 {
		t.Fatalf("before the restart the library holds %q, want both copies", got)
	}
	e.rt.failLists.Store(false)
	e.open(t)
	e.settle(t)
	if got := live(e.srv, "a.txt"); len(got) != 1 || got[0] != "two" {
		t.Fatalf("after the restart the library holds %q", got)
	}
	noGuessedIDs(t, e)
}

// A saved listing keeps the mark: a file whose id no listing showed, seen
// from the listings an earlier mount saved, is looked up before it is
// removed; the removal shows at once whether the folder's listing comes
// in before or after it. (The listing that came in first, showing the
// file by its listed id, was never searched for the removal's claim: the
// removed file showed again until the queue's look-up found it, about
// one run in thirty.)
func TestUploadIDDiffersSavedListing(t *testing.T) {
	for _, listedFirst := range []bool{false, true} {
		e := idDiffersWB(t)
		e.uploaded(t, "a.txt", "one")
		if err := e.store.Close(); err != nil { // saves the listings, and marks them clean
			t.Fatal(err)
		}
		e.rt.listsHeld, e.rt.listed = make(chan struct{}), make(chan struct{}, 16)
		e.open(t)
		saved := e.entry(t, "a.txt") // from the saved listing: the revalidation is held
		if !saved.Unconfirmed() {
			t.Fatalf("the saved entry %+v lost its mark", saved)
		}
		if listedFirst {
			close(e.rt.listsHeld)
			// The revalidation stored the folder's listing, which shows
			// the file by its listed id; the kernel still holds the
			// saved entry.
			eventually(t, "the revalidated listing", func() bool { return e.entry(t, "a.txt").ID != saved.ID })
		}
		if err := e.store.Remove(context.Background(), saved); err != nil {
			t.Fatal(err)
		}
		if !listedFirst {
			close(e.rt.listsHeld)
		}
		if got := e.shownKeys(t); len(got) != 0 {
			t.Fatalf("listed first %v: right after the removal the mount shows %v", listedFirst, got)
		}
		e.settle(t)
		if got := live(e.srv, "a.txt"); len(got) != 0 {
			t.Fatalf("listed first %v: the library still holds %q", listedFirst, got)
		}
		if got := e.shownKeys(t); len(got) != 0 {
			t.Fatalf("listed first %v: once settled the mount shows %v", listedFirst, got)
		}
		noGuessedIDs(t, e)
	}
}

// Where the answer's id is the listing's (the fake by default), a
// listing that shows the upload confirms it, also one that began before
// the upload landed, over which the mount's own note of the upload
// stands: a rename then costs the rename alone, no look-up.
func TestUploadIDConfirmedByAListing(t *testing.T) {
	e := newWB(t)
	e.write(t, "a.txt", "one")
	e.store.Invalidate("")
	e.rt.listsHeld, e.rt.listed = make(chan struct{}), make(chan struct{}, 4)
	listing := make(chan error, 1)
	go func() {
		_, err := e.store.ListDir(context.Background(), "")
		listing <- err
	}()
	<-e.rt.listed // the listing began; it reaches the fake once released
	e.clock.Advance(delay)
	e.idle(t) // landed, and noted
	close(e.rt.listsHeld)
	if err := <-listing; err != nil {
		t.Fatal(err)
	}
	listed := e.entry(t, "a.txt")
	if listed.Unconfirmed() {
		t.Fatalf("a listing showed it, and it is still unconfirmed: %+v", listed)
	}
	before := e.srv.Stats().ByEndpoint
	if err := e.store.Rename(context.Background(), listed, "b.txt", nil); err != nil {
		t.Fatal(err)
	}
	after := e.srv.Stats().ByEndpoint
	if after[ghltest.EndpointList] != before[ghltest.EndpointList] || after[ghltest.EndpointRename] != before[ghltest.EndpointRename]+1 {
		t.Fatalf("calls before %v, after %v", before, after)
	}
}

// A file whose upload answer gave no url, renamed through the queue over
// another before any listing showed it, is looked up under the name the
// library still has (fsrand under upload-no-url opened such a file and
// got ENOENT: the look-up that learns its url asked for its new name,
// found the file it replaces there, and gave up).
func TestUploadNoURLLookedUpUnderItsLibraryName(t *testing.T) {
	e := newWB(t)
	if err := e.srv.SetQuirks([]string{ghltest.QuirkUploadNoURL}); err != nil {
		t.Fatal(err)
	}
	e.shownKeys(t) // the root's listing, before the uploads
	e.rt.failLists.Store(true)
	e.uploaded(t, "a.txt", "one")
	e.uploaded(t, "b.txt", "two")
	// The queue cannot look the file up: the rename waits in it, its
	// next try a minute away on the test's clock.
	b := e.entry(t, "b.txt")
	if err := e.store.Rename(context.Background(), e.entry(t, "a.txt"), "b.txt", &b); err != nil {
		t.Fatal(err)
	}
	c := e.entry(t, "b.txt")
	if !c.Unconfirmed() || c.URL() != "" {
		t.Fatalf("b.txt is shown as %+v: not an upload no listing has shown", c)
	}
	e.rt.failLists.Store(false)
	x, err := e.store.q.ConfirmEntry(context.Background(), c)
	if err != nil {
		t.Fatalf("looking b.txt up: %v", err)
	}
	if x.URL() == "" || x.Key != c.Key {
		t.Fatalf("b.txt looked up as %+v", x)
	}
	if got := e.read(t, e.entry(t, "b.txt")); got != "one" {
		t.Fatalf("b.txt reads %q", got)
	}
	e.settle(t)
	if got := live(e.srv, "b.txt"); len(got) != 1 || got[0] != "one" {
		t.Fatalf("b.txt in the library: %q", got)
	}
}

// A copy to trash whose upload its folder's listing does not show yet (an
// index behind the store) is looked for again while the upload is recent,
// and trashed once listed; past the grace it is given up, with one WARN
// line. (It was dropped at the first look-up as "nothing to trash": the
// old copy stayed in the library, and came back in the mount once the
// record left.)
func TestCopyToTrashNotListedYet(t *testing.T) {
	for _, late := range []bool{false, true} {
		log := &testlog.Buf{}
		e := quirkWB(t, []string{ghltest.QuirkUploadIDDiffers}, func(o *Options) {
			o.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
		})
		e.uploaded(t, "a.txt", "one")
		e.rt.hidden.Store("a.txt")
		e.write(t, "a.txt", "two")
		e.clock.Advance(delay)
		eventually(t, "the look-up of the old copy", func() bool {
			return slices.ContainsFunc(log.Lines("INFO"), func(l string) bool { return strings.Contains(l, "not in its folder's listing") })
		})
		if got := live(e.srv, "a.txt"); len(got) != 2 {
			t.Fatalf("while not listed, the library holds %q; want both copies", got)
		}
		if late {
			e.settle(t) // an hour of retries, the listing still without it
			if got := live(e.srv, "a.txt"); len(got) != 2 {
				t.Fatalf("late: the library holds %q", got)
			}
			if w := log.Lines("WARN"); len(w) != 1 || !strings.Contains(w[0], "a.txt") || !strings.Contains(w[0], "still not in its folder's listing") {
				t.Fatalf("late: WARN lines %q", w)
			}
			continue
		}
		if n := e.store.PendingCount(); n != 1 {
			t.Fatalf("the record left the queue (%d pending) while its old copy is not listed yet", n)
		}
		e.rt.hidden.Store("")
		e.settle(t)
		if got := live(e.srv, "a.txt"); len(got) != 1 || got[0] != "two" {
			t.Fatalf("once listed, the library holds %q", got)
		}
		if w := log.Lines("WARN"); len(w) != 0 {
			t.Fatalf("WARN lines %q", w)
		}
		noGuessedIDs(t, e)
	}
}

// A replace whose upload answers give neither the listed id nor a url
// (upload-id-differs with upload-no-url), the two copies of one name and
// size: the copy trashed is the old one, never the new. (The look-up of
// the old copy by name, size and time once took the newest match, which
// is the new copy: the library kept "one", the trash got "two", and the
// mount read "one", also after a remount.)
func TestReplaceUnlistedTrashesTheOldCopy(t *testing.T) {
	e := quirkWB(t, []string{ghltest.QuirkUploadIDDiffers, ghltest.QuirkUploadNoURL})
	e.uploaded(t, "a.txt", "one")
	e.write(t, "a.txt", "two")
	e.clock.Advance(delay)
	e.settle(t)
	e.rewritten(t, "a.txt", "one", "two")
}

// A rewrite of the same size whose upload failed with a 5xx (the service
// did nothing, but the client cannot know that) is looked for before it
// is sent again; the copy the first upload made, of the file's name and
// size and created a moment before, is that earlier upload's file (its
// answer gave neither the listed id nor a url), never the rewrite's.
// (The look-up took the newest file of the name and size that no known
// id excluded: the old copy, with the old bytes, became the file's, the
// rewrite was never sent, and the first answer's copy was looked for in
// vain and dropped. fsrand under upload-id-differs with upload-no-url
// ended with "the library differs: d.bin".)
func TestLostRewriteIsNotTheEarlierUnlistedUpload(t *testing.T) {
	e := quirkWB(t, []string{ghltest.QuirkUploadIDDiffers, ghltest.QuirkUploadNoURL})
	e.uploaded(t, "a.txt", "one")
	e.rt.failUploads.Store(1)
	e.write(t, "a.txt", "two")
	e.clock.Advance(delay)
	e.settle(t)
	if e.rt.failUploads.Load() > 0 {
		t.Fatal("no upload failed: the case was not exercised")
	}
	e.rewritten(t, "a.txt", "one", "two")
}

// An fsync of a file whose record still looks for a copy to trash that
// its folder's listing does not show yet waits, and succeeds once its
// bytes are in the library: "not listed yet" is no failure of its, and
// never ENOENT for a file the user has. (The look-up's "not yet" used to
// reach the fsync as ErrNotFound: fsrand under upload-id-differs with
// upload-no-url saw fsync fail with ENOENT on a file it had just
// written.)
func TestFsyncWhileACopyToTrashIsUnlisted(t *testing.T) {
	log := &testlog.Buf{}
	e := quirkWB(t, []string{ghltest.QuirkUploadIDDiffers}, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	ctx := context.Background()
	e.uploaded(t, "a.txt", "one")
	e.rt.hidden.Store("a.txt")
	e.write(t, "a.txt", "two")
	e.clock.Advance(delay)
	eventually(t, "the look-up of the old copy", func() bool {
		return slices.ContainsFunc(log.Lines("INFO"), func(l string) bool { return strings.Contains(l, "not in its folder's listing") })
	})
	l, err := e.store.ListDir(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(l.Entries, func(x Entry) bool { return x.Name == "a.txt" })
	if i < 0 {
		t.Fatalf("a.txt not shown: %v", l.Entries)
	}
	h, err := e.store.Open(ctx, l.Entries[i], true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	if _, err := h.Write(ctx, []byte("three"), 0); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Fsync(ctx) }()
	// The record looks for the old copy again, still unlisted, while the
	// fsync waits.
	before := len(log.Lines("INFO"))
	eventually(t, "another look-up of the old copy", func() bool {
		select {
		case err := <-done:
			t.Fatalf("fsync returned %v while the old copy is not listed yet", err)
		default:
		}
		e.clock.Advance(time.Second)
		return len(log.Lines("INFO")) > before
	})
	select {
	case err := <-done:
		t.Fatalf("fsync returned %v while the old copy is not listed yet", err)
	default:
	}
	e.rt.hidden.Store("")
	eventually(t, "the fsync", func() bool {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("fsync: %v", err)
			}
			return true
		default:
			e.clock.Advance(time.Second)
			return false
		}
	})
	e.settle(t)
	if got := live(e.srv, "a.txt"); len(got) != 1 || got[0] != "three" {
		t.Fatalf("the library holds %q", got)
	}
}

// Two uploads of one file (a rewrite of the same size) whose answers give
// neither the listed id nor a url, and a listing that shows both copies
// before any look-up: the mount shows each file once. (The listing's
// match took the claims in the order of their ids, random here: the
// first taken, told by rank among the two, left the other with one
// candidate beside a rival that was already accounted for, and "two
// uploads, one file" was ambiguous; the old copy showed as a second
// file, "a (1a2b3c4d).txt", until the queue's own look-up. fsrand under
// upload-id-differs with upload-no-url saw it between two operations.)
func TestRewriteListedBeforeAnyLookUpShowsOnce(t *testing.T) {
	e := quirkWB(t, []string{ghltest.QuirkUploadIDDiffers, ghltest.QuirkUploadNoURL})
	e.shownKeys(t) // the root's listing, before the uploads
	e.rt.failLists.Store(true)
	// Each name's two claims sort one way or the other at random: eight
	// names meet the bad order but once in 256 runs.
	names := make([]string, 8)
	for i := range names {
		names[i] = fmt.Sprintf("a%d.txt", i)
		e.uploaded(t, names[i], "one")
	}
	for _, name := range names {
		e.write(t, name, "two")
	}
	e.clock.Advance(delay)
	eventually(t, "the rewrites to land", func() bool {
		for _, name := range names {
			if len(live(e.srv, name)) != 2 {
				return false
			}
		}
		return true
	})
	e.rt.failLists.Store(false)
	e.store.Invalidate("")
	shown := e.shownKeys(t)
	for _, name := range names {
		if len(shown[name]) != 1 {
			t.Errorf("%s is shown %d times", name, len(shown[name]))
		}
	}
	if len(shown) != len(names) {
		t.Errorf("the root shows %d names, want %d: %v", len(shown), len(names), shown)
	}
	e.settle(t)
	for _, name := range names {
		if got := live(e.srv, name); len(got) != 1 || got[0] != "two" {
			t.Errorf("%s: the library holds %q", name, got)
		}
	}
}
