package ghl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Upload answers whose id is not the listing's, and routes the service
// may not have (remote/API.md, "Field reports").

func uploadBytes(t *testing.T, c *ghl.Client, parent, name, data string, exclude ...string) (remote.Item, error) {
	t.Helper()
	return c.UploadFile(context.Background(), remote.Upload{ParentID: parent, Name: name, Size: int64(len(data)), Exclude: exclude,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(data)), nil }})
}

// An upload's id is marked unconfirmed; Confirm finds the file as listed:
// by id when the answer gave the listing's, by url when it did not, and
// by name, size and time when the answer had no url either.
func TestConfirmUpload(t *testing.T) {
	for _, quirks := range [][]string{nil, {ghltest.QuirkUploadIDDiffers}, {ghltest.QuirkUploadIDDiffers, ghltest.QuirkUploadNoURL}, {ghltest.QuirkUUIDIDs}} {
		t.Run(strings.Join(quirks, "+"), func(t *testing.T) {
			c, srv := quirkClient(t, ghltest.Options{Quirks: quirks})
			f := srv.AddFolder("", "F")
			srv.AddFile(f, "a.png", "", []byte("an older one, not this upload"))
			it, err := uploadBytes(t, c, "", "a.png", "root one")
			if err != nil {
				t.Fatal(err)
			}
			if !it.Unconfirmed {
				t.Fatalf("the answer's id %s is not marked unconfirmed", it.ID)
			}
			srv.ResetStats()
			got, err := c.Confirm(context.Background(), it, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := srv.Stats().ByEndpoint[ghltest.EndpointList]; it.URL != "" && n != 1 {
				t.Errorf("Confirm made %d list calls, want 1 (a search's first page shows it)", n)
			}
			fake, ok := srv.Item(got.ID)
			if !ok || fake.Name != "a.png" || fake.ParentID != "" || got.Unconfirmed {
				t.Fatalf("confirmed as %+v, the fake has %+v", got, fake)
			}
			if b, _ := srv.Content(got.ID); string(b) != "root one" {
				t.Fatalf("confirmed as a file holding %q", b)
			}
			differs := len(quirks) > 0 && quirks[0] == ghltest.QuirkUploadIDDiffers
			if (got.ID != it.ID) != differs {
				t.Fatalf("answer %s, listed %s", it.ID, got.ID)
			}
		})
	}
}

// The first upload into a folder is checked with a listing: that check
// finds the file by its url, and so confirms the listing's id; under
// parent-ignored the copy in the root is found by its url too, and the
// copy trashed is that one.
func TestPlacementFindsTheUploadByURL(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUploadIDDiffers}})
	f := srv.AddFolder("", "F")
	it, err := uploadBytes(t, c, f, "a.txt", "a")
	if err != nil {
		t.Fatal(err)
	}
	if fake, ok := srv.Item(it.ID); !ok || it.Unconfirmed || fake.Name != "a.txt" {
		t.Fatalf("upload %+v: the fake has %+v", it, fake)
	}

	c, srv = quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUploadIDDiffers, ghltest.QuirkParentIgnored}})
	f = srv.AddFolder("", "F")
	_, err = uploadBytes(t, c, f, "a.txt", "a")
	var mis *ghl.MisplacedError
	if !errors.As(err, &mis) || !mis.Trashed {
		t.Fatalf("upload into a folder: %v", err)
	}
	if fake, _ := srv.Item(mis.ID); fake.Name != "a.txt" || fake.Status != ghltest.StatusTrashed {
		t.Fatalf("the misplaced copy %s is %+v", mis.ID, fake)
	}
}

// A file not in its folder's listing is not confirmed, whatever its id:
// ErrUnconfirmed, never ErrNotFound (it is not known to be gone).
// (Also where listings show trashed items, marked so.)
func TestConfirmNotListed(t *testing.T) {
	for _, quirks := range [][]string{{ghltest.QuirkUploadIDDiffers}, {ghltest.QuirkUploadIDDiffers, ghltest.QuirkTrashListed}, {ghltest.QuirkTrashListed}} {
		c, srv := quirkClient(t, ghltest.Options{Quirks: quirks})
		it, err := uploadBytes(t, c, "", "a.txt", "a")
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range srv.Items() {
			if err := c.DeleteMany(context.Background(), []string{x.ID}, ghl.StatusTrashed); err != nil {
				t.Fatal(err)
			}
		}
		_, err = c.Confirm(context.Background(), it, nil, nil)
		if !errors.Is(err, remote.ErrUnconfirmed) || errors.Is(err, remote.ErrNotFound) {
			t.Fatalf("%v: Confirm of a file not listed: %v", quirks, err)
		}
	}
}

// A lost answer is looked for; an earlier upload of the same name, known
// only by its url (its answer's id was not the listing's), is never taken
// for it.
func TestFindCreatedExcludesByURL(t *testing.T) {
	c, _ := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUploadIDDiffers}})
	since := time.Now()
	first, err := uploadBytes(t, c, "", "a.txt", "a")
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.FindCreated(context.Background(), "", remote.TypeFile, "a.txt", 1, since, []string{first.ID}, nil)
	if err != nil || !ok || got.URL != first.URL {
		t.Fatalf("without the url: %+v %v %v, want the earlier upload", got, ok, err)
	}
	got, ok, err = c.FindCreated(context.Background(), "", remote.TypeFile, "a.txt", 1, since, []string{first.ID, first.URL}, nil)
	if err != nil || ok {
		t.Fatalf("the earlier upload was taken for a new one: %+v (%v)", got, err)
	}
}

// update-404: a rename is refused as a route the service lacks, told
// apart from an item it lacks, and learnt: the second rename makes no
// call.
func TestRenameRouteMissing(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUpdate404}})
	id := srv.AddFile("", "a.txt", "", []byte("a"))
	for i := range 2 {
		err := c.Rename(context.Background(), id, "b.txt")
		var re *ghl.RouteError
		if !errors.As(err, &re) || !errors.Is(err, remote.ErrRouteMissing) || errors.Is(err, remote.ErrNotFound) || re.Route != ghl.RouteRename {
			t.Fatalf("rename %d: %v", i, err)
		}
		if !strings.Contains(err.Error(), "Cannot POST /medias/"+id) {
			t.Fatalf("rename %d: %v does not give the service's words", i, err)
		}
	}
	if st := srv.Stats().ByEndpoint; st[ghltest.EndpointRename] != 1 {
		t.Fatalf("calls: %v; the route is asked once", st)
	}
	if !c.RouteRefused(ghl.RouteRename) || c.RouteRefused(ghl.RouteDeleteMany) {
		t.Fatal("RouteRefused does not say what was learnt")
	}
	// An unknown item is still a plain 404.
	c2, _ := quirkClient(t, ghltest.Options{})
	if err := c2.Rename(context.Background(), "0123456789abcdef01234567", "x"); !errors.Is(err, remote.ErrNotFound) || errors.Is(err, remote.ErrRouteMissing) {
		t.Fatalf("rename of an unknown item: %v", err)
	}
}

// no-bulk-routes: a removal falls back to DELETE /medias/{id}, one by
// one, with altId and altType (delete-needs-alt refuses it without); the
// bulk route is asked once. A trash asked for falls back too (the token
// has no other way to remove), with one WARN line for the client's life
// saying that DELETE may delete for good.
func TestDeleteWithoutBulkRoute(t *testing.T) {
	var log bytes.Buffer // written by the calls below, in this goroutine
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkNoBulkRoutes, ghltest.QuirkDeleteNeedsAlt}}, func(cfg *ghl.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	warns := func() []string {
		var out []string
		for _, l := range strings.Split(log.String(), "\n") {
			if strings.Contains(l, "level=WARN") && strings.Contains(l, "DELETE /medias/{id}") {
				out = append(out, l)
			}
		}
		return out
	}
	a := srv.AddFile("", "a.txt", "", []byte("a"))
	b := srv.AddFile("", "b.txt", "", []byte("b"))
	c1 := srv.AddFile("", "c.txt", "", []byte("c"))
	if err := c.DeleteMany(context.Background(), []string{a}, ghl.StatusTrashed); err != nil {
		t.Fatalf("trash without the bulk route: %v", err)
	}
	if it, _ := srv.Item(a); it.Status == ghltest.StatusActive {
		t.Fatalf("a trash without the bulk route left the file %s", it.Status)
	}
	if err := c.DeleteMany(context.Background(), []string{c1}, ghl.StatusTrashed); err != nil {
		t.Fatal(err)
	}
	if w := warns(); len(w) != 1 || !strings.Contains(w[0], "may delete for good") || !strings.Contains(w[0], "--read-only") {
		t.Fatalf("WARN lines about DELETE: %q", w)
	}
	if err := c.DeleteMany(context.Background(), []string{b}, ghl.StatusDeleted); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{b, c1} {
		if it, _ := srv.Item(id); it.Status == ghltest.StatusActive {
			t.Fatalf("%s is %s", it.Name, it.Status)
		}
	}
	// Gone already: not done, for the caller to check a listing.
	var nd *remote.NotDoneError
	if err := c.DeleteMany(context.Background(), []string{a}, ghl.StatusDeleted); !errors.As(err, &nd) || nd.IDs[0] != a {
		t.Fatalf("delete of a deleted file: %v", err)
	}
	st := srv.Stats().ByEndpoint
	if st[ghltest.EndpointDeleteMany] != 1 || st[ghltest.EndpointDelete] != 4 {
		t.Fatalf("calls: %v", st)
	}
	if len(warns()) != 1 {
		t.Fatalf("WARN lines about DELETE: %q", warns())
	}
}

// Two uploads of one name and size, a moment apart, whose answers give
// neither the listed id nor a url (a file rewritten): each is told by its
// rank among the uploads no listing has shown, never by "the newest"
// (which took the new copy for the old, and had it trashed). Where the
// files listed are not as many as the uploads (one not listed yet, or
// gone; or one uploaded elsewhere meanwhile), none is taken.
// tickingNow is a service's clock, a millisecond on at least at each
// reading: two uploads here may come within one (the service then lists
// them with one createdAt, and none would be taken by time).
func tickingNow() func() time.Time {
	var mu sync.Mutex
	var last time.Time
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		last = maxTime(time.Now(), last.Add(time.Millisecond))
		return last
	}
}

// uploadRewrite is a.txt uploaded twice, holding "one" then "two", over
// a fake whose clock is now and whose answers give neither the listed id
// nor a url.
func uploadRewrite(t *testing.T, now func() time.Time) (c *ghl.Client, srv *ghltest.Server, one, two remote.Item) {
	t.Helper()
	c, srv = quirkClient(t, ghltest.Options{Now: now, Quirks: []string{ghltest.QuirkUploadIDDiffers, ghltest.QuirkUploadNoURL}})
	var err error
	if one, err = uploadBytes(t, c, "", "a.txt", "one"); err != nil {
		t.Fatal(err)
	}
	if two, err = uploadBytes(t, c, "", "a.txt", "two"); err != nil {
		t.Fatal(err)
	}
	return c, srv, one, two
}

func TestConfirmByTimeAmongRivals(t *testing.T) {
	c, srv, one, two := uploadRewrite(t, tickingNow())
	ctx := context.Background()
	if one.URL != "" || one.SentAt.IsZero() || one.CreatedAt.Before(one.SentAt) {
		t.Fatalf("the answer %+v: want no url, and the times it was under way", one)
	}
	content := func(it remote.Item) string {
		b, _ := srv.Content(it.ID)
		return string(b)
	}
	for _, c1 := range []struct {
		it, rival remote.Item
		want      string
	}{{one, two, "one"}, {two, one, "two"}} {
		got, err := c.Confirm(ctx, c1.it, []remote.Item{c1.rival}, nil)
		if err != nil || content(got) != c1.want {
			t.Fatalf("the upload of %q confirmed as %+v holding %q (%v)", c1.want, got, content(got), err)
		}
	}
	// Without its rival, the old copy could be either file.
	if got, err := c.Confirm(ctx, one, nil, nil); !errors.Is(err, remote.ErrUnconfirmed) {
		t.Fatalf("without the second upload known, the first confirmed as %+v holding %q (%v)", got, content(got), err)
	}
	// The second known by its listed id (excluded): the first is the one left.
	second, err := c.Confirm(ctx, two, []remote.Item{one}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Confirm(ctx, one, nil, []string{second.ID}); err != nil || content(got) != "one" {
		t.Fatalf("with the second excluded, the first confirmed as %+v holding %q (%v)", got, content(got), err)
	}
	// A file of the name and size uploaded elsewhere meanwhile: three
	// files for two uploads, none taken.
	srv.AddFile("", "a.txt", "", []byte("zzz"))
	if got, err := c.Confirm(ctx, one, []remote.Item{two}, nil); !errors.Is(err, remote.ErrUnconfirmed) {
		t.Fatalf("with a third file, the first confirmed as %+v holding %q (%v)", got, content(got), err)
	}
}

// Two uploads of one name and size created at one instant cannot be told
// apart one by one; together, they are found when the listing shows
// exactly their files, and nothing else could be one of them.
func TestConfirmGroupAtOneInstant(t *testing.T) {
	at := time.Now()
	c, srv, one, two := uploadRewrite(t, func() time.Time { return at })
	ctx := context.Background()
	if got, err := c.Confirm(ctx, one, []remote.Item{two}, nil); !errors.Is(err, remote.ErrAmbiguousUpload) {
		t.Fatalf("one by one, the first confirmed as %+v (%v): want ErrAmbiguousUpload", got, err)
	}
	held := func(items []remote.Item) string {
		var out []string
		for _, it := range items {
			b, _ := srv.Content(it.ID)
			out = append(out, string(b))
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	got, err := c.ConfirmGroup(ctx, []remote.Item{one, two}, nil, nil)
	if err != nil || held(got) != "one,two" || got[0].ID == got[1].ID {
		t.Fatalf("together, confirmed as %+v holding %q (%v): want both files", got, held(got), err)
	}
	// A rival in the group: one of the files may be its.
	if got, err := c.ConfirmGroup(ctx, []remote.Item{one}, []remote.Item{two}, nil); !errors.Is(err, remote.ErrAmbiguousUpload) {
		t.Fatalf("with the other upload a rival, confirmed as %+v holding %q (%v)", got, held(got), err)
	}
	// A third file of the name and size, made elsewhere at that instant.
	third := srv.AddFile("", "a.txt", "", []byte("zzz"))
	if got, err := c.ConfirmGroup(ctx, []remote.Item{one, two}, nil, nil); !errors.Is(err, remote.ErrAmbiguousUpload) {
		t.Fatalf("with a third file, confirmed as %+v holding %q (%v)", got, held(got), err)
	}
	// Known to be another file: the two are theirs again.
	if got, err := c.ConfirmGroup(ctx, []remote.Item{one, two}, nil, []string{third}); err != nil || held(got) != "one,two" {
		t.Fatalf("with the third excluded, confirmed as %+v holding %q (%v)", got, held(got), err)
	}
}

// A url is compared by its object name: an answer may give the CDN's
// address of a file the listing gives at the bucket. A short name
// ("photo.png") is not taken to name one object.
func TestSameURL(t *testing.T) {
	const uuid = "0d7f2a8e-5c1b-4e55-9d0a-3c1f7b2e9a41"
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"https://assets.cdn.filesafe.space/loc/media/" + uuid + ".png", "https://storage.googleapis.com/msgsndr/loc/media/" + uuid + ".png", true},
		{"https://h/loc/media/" + uuid + ".png?sig=1", "https://h/loc/media/" + uuid + ".png?sig=2", true},
		{"https://h/a/photo.png", "https://h/b/photo.png", false},
		{"https://h/a/photo.png?x=1", "https://h/a/photo.png", true},
		{"https://h/loc/media/" + uuid + ".png", "https://h/loc/media/" + uuid + ".jpg", false},
		{"", "", false},
	} {
		if got := remote.SameURL(c.a, c.b); got != c.want {
			t.Errorf("SameURL(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Removals that come at once, before the service has answered the bulk
// route, ask it once between them: the first one's answer (no such
// route) sends the others one by one. (Each asked it: a mount's first
// rm -r asked the missing route once for each removal under way.)
func TestBulkRouteAskedOnceByConcurrentRemovals(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkNoBulkRoutes}})
	const n = 8
	ids := make([]string, n)
	for i := range ids {
		ids[i] = srv.AddFile("", fmt.Sprintf("f%d.txt", i), "", []byte("x"))
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if err := c.DeleteMany(context.Background(), []string{id}, ghl.StatusDeleted); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := srv.Stats().ByEndpoint
	if st[ghltest.EndpointDeleteMany] != 1 || st[ghltest.EndpointDelete] != n {
		t.Fatalf("calls: %v", st)
	}
}

// A lost answer is looked for while an earlier upload of the same name
// and size, answered without the listed id or a url, is not listed yet
// (a rival): alone in the listing, its file is the rival's, and the lost
// upload did not land; beside a newer one, sent after the rival was
// answered, the newer one is the lost upload's; a rival answered after
// the lost upload was sent cannot be told from it, and none is taken.
func TestFindCreatedToldFromRivals(t *testing.T) {
	c, _ := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUploadIDDiffers, ghltest.QuirkUploadNoURL}, Now: tickingNow()})
	ctx := context.Background()
	first, err := uploadBytes(t, c, "", "a.txt", "one")
	if err != nil {
		t.Fatal(err)
	}
	rivals := []remote.Item{first}
	since := time.Now()
	if got, ok, err := c.FindCreated(ctx, "", remote.TypeFile, "a.txt", 3, since, []string{first.ID}, nil); err != nil || !ok {
		t.Fatalf("without rivals: %+v %v %v, want the earlier upload (the old rule)", got, ok, err)
	}
	if got, ok, err := c.FindCreated(ctx, "", remote.TypeFile, "a.txt", 3, since, []string{first.ID}, rivals); err != nil || ok {
		t.Fatalf("the earlier upload's file was taken for the lost one: %+v %v %v", got, ok, err)
	}
	second, err := uploadBytes(t, c, "", "a.txt", "two")
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.FindCreated(ctx, "", remote.TypeFile, "a.txt", 3, since, []string{first.ID}, rivals)
	if err != nil || !ok || !strings.Contains(got.URL, second.ID) { // its url ends in the answer's id
		t.Fatalf("landed: %+v %v %v, want the second upload (%s)", got, ok, err, second.ID)
	}
	if got, ok, err := c.FindCreated(ctx, "", remote.TypeFile, "a.txt", 3, first.SentAt, nil, rivals); !errors.Is(err, remote.ErrAmbiguousUpload) {
		t.Fatalf("a rival answered after the lost upload was sent: %+v %v %v, want ErrAmbiguousUpload", got, ok, err)
	}
}

// A rival listed under its own id (upload-no-url alone: the answer's id
// is the listed one) is told by that id: a lost upload that landed soon
// after it is found, not judged "not landed" and sent again (which left
// two copies of the file).
func TestFindCreatedRivalListedUnderItsID(t *testing.T) {
	c, _ := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkUploadNoURL}, Now: tickingNow()})
	ctx := context.Background()
	first, err := uploadBytes(t, c, "", "a.txt", "one")
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	second, err := uploadBytes(t, c, "", "a.txt", "two")
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.FindCreated(ctx, "", remote.TypeFile, "a.txt", 3, since, []string{first.ID}, []remote.Item{first})
	if err != nil || !ok || got.ID != second.ID {
		t.Fatalf("landed: %+v %v %v, want the second upload (%s)", got, ok, err, second.ID)
	}
}
