package ghl_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// HighLevel's capabilities, as the layers above read them: one listing
// per type, a new id per upload, no move, trash and deletion for good,
// the 25 MB and 500 MB upload limits (or the one given).
func TestBackendCaps(t *testing.T) {
	c, _ := quirkClient(t, ghltest.Options{})
	caps := c.Backend().Caps()
	if caps.OneListing || !caps.NewIDPerUpload || caps.Versions || caps.Move || caps.MoveFolders || caps.UniqueNames || caps.CaseInsensitive ||
		!caps.Trash || !caps.Permanent || !caps.ListAll || !caps.ListRecent || !caps.RangeReads || !caps.PublicURL || caps.XattrPrefix != "user.ghl." {
		t.Errorf("caps %+v", caps)
	}
	if err := caps.CheckName("any name: é, *, ?", false); err != nil {
		t.Errorf("a name refused: %v", err)
	}
	if got := caps.UploadLimit("image/png"); got != ghl.MaxUploadSize {
		t.Errorf("image limit %d", got)
	}
	if got := caps.UploadLimit("video/mp4"); got != ghl.MaxVideoUploadSize {
		t.Errorf("video limit %d", got)
	}
	c, _ = quirkClient(t, ghltest.Options{}, func(cfg *ghl.Config) { cfg.MaxUploadSize = 100 })
	if got := c.Backend().Caps().UploadLimit("text/plain"); got != 100 {
		t.Errorf("limit %d with --max-upload-size 100", got)
	}
}

// The backend's calls land on the client's: a listing by type and by
// folder or of the whole library, an upload read back through its url, a
// lost answer found, a removal to the trash or for good, no move; and the
// observer sees the calls.
func TestBackendCalls(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{})
	b := c.Backend()
	ctx := context.Background()
	docs := srv.AddFolder("", "Docs")
	srv.AddFile(docs, "old.txt", "text/plain", []byte("old"))
	var names []string
	list := func(q remote.ListQuery) []string {
		t.Helper()
		names = names[:0]
		if err := b.List(ctx, q, func() { names = names[:0] }, func(it remote.Item) { names = append(names, it.Name) }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		return slices.Clone(names)
	}
	if got := list(remote.ListQuery{Type: remote.TypeFolder}); !slices.Equal(got, []string{"Docs"}) {
		t.Errorf("root folders %v", got)
	}
	if got := list(remote.ListQuery{Type: remote.TypeFile, ParentID: docs}); !slices.Equal(got, []string{"old.txt"}) {
		t.Errorf("Docs' files %v", got)
	}

	sent := time.Now()
	data := []byte("new bytes")
	up, err := b.Upload(ctx, remote.Upload{ParentID: docs, Name: "new.txt", ContentType: "text/plain", Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }})
	if err != nil {
		t.Fatal(err)
	}
	if got := list(remote.ListQuery{Type: remote.TypeFile, All: true}); !slices.Equal(got, []string{"new.txt", "old.txt"}) {
		t.Errorf("the whole library's files %v", got)
	}
	buf := make([]byte, len(data))
	if n, err := b.ReadAt(ctx, remote.FileRef{ID: up.ID, URL: up.URL}, [][]byte{buf[:3], buf[3:]}, 0); n != len(data) || !bytes.Equal(buf, data) {
		t.Errorf("read %q, %v", buf[:n], err)
	}
	if fi, err := b.Stat(ctx, remote.FileRef{ID: up.ID, URL: up.URL}); err != nil || fi.Size != int64(len(data)) {
		t.Errorf("stat %+v, %v", fi, err)
	}
	found, ok, err := b.FindLanded(ctx, remote.Attempt{ParentID: docs, Name: "new.txt", Size: int64(len(data)), At: sent})
	if err != nil || !ok || found.Name != "new.txt" {
		t.Errorf("the upload as a lost answer: %+v, %v, %v", found, ok, err)
	}
	if _, ok, err := b.FindLanded(ctx, remote.Attempt{ParentID: docs, Name: "new.txt", Size: int64(len(data)), At: sent, Exclude: []string{found.ID, up.ID, up.URL}}); ok || err != nil {
		t.Errorf("an excluded copy taken for a lost answer: %v, %v", ok, err)
	}

	if err := b.Move(ctx, up.ID, "", "new.txt"); !errors.Is(err, remote.ErrNotSupported) {
		t.Errorf("move: %v, want ErrNotSupported", err)
	}
	items := srv.Items()
	idOf := func(name string) string {
		for _, it := range items {
			if it.Name == name {
				return it.ID
			}
		}
		t.Fatalf("no %s", name)
		return ""
	}
	oldID, newID := idOf("old.txt"), idOf("new.txt")
	if err := b.Remove(ctx, []string{oldID}, false); err != nil {
		t.Fatal(err)
	}
	if err := b.Remove(ctx, []string{newID}, true); err != nil {
		t.Fatal(err)
	}
	if it, _ := srv.Item(oldID); it.Status != "trashed" {
		t.Errorf("removed to the trash: status %q", it.Status)
	}
	if it, ok := srv.Item(newID); ok && it.Status != "deleted" {
		t.Errorf("removed for good: status %q", it.Status)
	}

	if got, want := b.Stats().APICalls(), srv.Stats().APIRequests; got != want || got == 0 {
		t.Errorf("the observer counts %d API calls, the server served %d", got, want)
	}
	if u := b.Usage(); u.Published.Burst != ghl.PublishedBurstLimit || u.Published.Daily != ghl.PublishedDailyLimit || u.Total == 0 {
		t.Errorf("usage %+v", u)
	}
}
