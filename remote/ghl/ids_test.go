package ghl_test

import (
	"context"
	"errors"
	"io"
	"strings"
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
			since := time.Now()
			it, err := uploadBytes(t, c, "", "a.png", "root one")
			if err != nil {
				t.Fatal(err)
			}
			if !it.Unconfirmed {
				t.Fatalf("the answer's id %s is not marked unconfirmed", it.ID)
			}
			srv.ResetStats()
			got, err := c.Confirm(context.Background(), it, since, nil)
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
		since := time.Now()
		it, err := uploadBytes(t, c, "", "a.txt", "a")
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range srv.Items() {
			if err := c.DeleteMany(context.Background(), []string{x.ID}, ghl.StatusTrashed); err != nil {
				t.Fatal(err)
			}
		}
		_, err = c.Confirm(context.Background(), it, since, nil)
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
	got, ok, err := c.FindCreated(context.Background(), "", remote.TypeFile, "a.txt", 1, since, []string{first.ID})
	if err != nil || !ok || got.URL != first.URL {
		t.Fatalf("without the url: %+v %v %v, want the earlier upload", got, ok, err)
	}
	got, ok, err = c.FindCreated(context.Background(), "", remote.TypeFile, "a.txt", 1, since, []string{first.ID, first.URL})
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

// no-bulk-routes: a removal for good falls back to DELETE /medias/{id},
// one by one, with altId and altType (delete-needs-alt refuses it
// without); the bulk route is asked once. A trash cannot fall back: it
// fails with ErrNoTrash and changes nothing.
func TestDeleteWithoutBulkRoute(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkNoBulkRoutes, ghltest.QuirkDeleteNeedsAlt}})
	a := srv.AddFile("", "a.txt", "", []byte("a"))
	b := srv.AddFile("", "b.txt", "", []byte("b"))
	err := c.DeleteMany(context.Background(), []string{a}, ghl.StatusTrashed)
	if !errors.Is(err, remote.ErrNoTrash) {
		t.Fatalf("trash without the bulk route: %v", err)
	}
	if it, _ := srv.Item(a); it.Status != ghltest.StatusActive {
		t.Fatalf("a trash that could not be done left the file %s", it.Status)
	}
	if err := c.DeleteMany(context.Background(), []string{a, b}, ghl.StatusDeleted); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, b} {
		if it, _ := srv.Item(id); it.Status != ghltest.StatusDeleted {
			t.Fatalf("%s is %s", it.Name, it.Status)
		}
	}
	// Gone already: not done, for the caller to check a listing.
	var nd *remote.NotDoneError
	if err := c.DeleteMany(context.Background(), []string{a}, ghl.StatusDeleted); !errors.As(err, &nd) || nd.IDs[0] != a {
		t.Fatalf("delete of a deleted file: %v", err)
	}
	st := srv.Stats().ByEndpoint
	if st[ghltest.EndpointDeleteMany] != 1 || st[ghltest.EndpointDelete] != 3 {
		t.Fatalf("calls: %v", st)
	}
}
