package cache

import (
	"context"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Known gives what the API listed for a file or folder, with no call;
// nothing while the file's bytes wait in the write-back queue; and the
// upload's id and url once they landed.
func TestKnown(t *testing.T) {
	e := newWB(t)
	dirID := e.srv.AddFolder("", "Photos")
	fileID := e.srv.AddFile("", "a.jpg", "image/jpeg", []byte("jpeg"))
	ctx := context.Background()
	if _, err := e.store.ListDir(ctx, ""); err != nil {
		t.Fatal(err)
	}
	calls := func() int64 { st := e.srv.Stats(); return st.APIRequests + st.StorageRequests }
	before := calls()

	want, _ := e.srv.Item(fileID)
	got, ok := e.store.Known(e.entry(t, "a.jpg"))
	if !ok || got.ID != fileID || got.URL() != want.URL || got.ContentType() != "image/jpeg" || !got.Created().Equal(want.CreatedAt) {
		t.Errorf("Known(a.jpg) = %v, %q, %q, %q, %v; want %q, %q, image/jpeg, %v", ok, got.ID, got.URL(), got.ContentType(), got.Created(), fileID, want.URL, want.CreatedAt)
	}
	if got.Created().Location() != time.UTC {
		t.Errorf("created %v, not in UTC", got.Created())
	}
	if got, ok := e.store.Known(e.entry(t, "Photos")); !ok || got.ID != dirID || got.URL() != "" || got.ContentType() != "" {
		t.Errorf("Known(Photos) = %v, %+v; want its id %s alone", ok, got, dirID)
	}
	if n := calls() - before; n != 0 {
		t.Errorf("Known made %d calls", n)
	}

	// A new file: nothing until its upload lands, then the upload's.
	e.write(t, "new.png", "png")
	pending := e.entry(t, "new.png")
	if got, ok := e.store.Known(pending); ok {
		t.Errorf("Known of a pending file: %+v", got)
	}
	e.clock.Advance(delay)
	e.idle(t)
	var up ghltest.Item
	for _, it := range e.srv.Items() {
		if it.Name == "new.png" {
			up = it
		}
	}
	// The entry the node held while pending still finds the upload.
	if got, ok := e.store.Known(pending); !ok || got.ID != up.ID || got.URL() != up.URL || got.ContentType() != "image/png" {
		t.Errorf("Known(new.png) after its upload = %v, %q, %q, %q; want %q, %q, image/png", ok, got.ID, got.URL(), got.ContentType(), up.ID, up.URL)
	}

	// Changed bytes of a listed file: the API's copy is older, not shown.
	e.write(t, "a.jpg", "other jpeg")
	if got, ok := e.store.Known(e.entry(t, "a.jpg")); ok {
		t.Errorf("Known of a file with pending changes: %+v", got)
	}
}
