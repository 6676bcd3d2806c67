package cache

import (
	"context"
	"errors"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Limits follow the name's type: with the general limit at 100 bytes, a
// video (or a temporary name standing for one) may grow past it, an image
// may not.
func TestLimitsFollowTheType(t *testing.T) {
	e := newWBLimit(t, 100)
	ctx := context.Background()
	big := strings.Repeat("v", 300)
	e.write(t, "clip.mp4", big)
	e.write(t, ".clip2.mp4.Ab12Cd", big) // rsync's temporary name
	if err := e.store.Rename(ctx, e.entry(t, ".clip2.mp4.Ab12Cd"), "clip2.mp4", nil); err != nil {
		t.Fatalf("renaming the temporary name: %v", err)
	}
	h, _, err := e.store.Create(ctx, "", "photo.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write(ctx, []byte(big), 0); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "upload limit of 100 bytes") {
		t.Errorf("300 bytes into photo.png: %v", err)
	}
	h.Release()
	e.settle(t)
	for _, name := range []string{"clip.mp4", "clip2.mp4"} {
		if got := live(e.srv, name); len(got) != 1 || got[0] != big {
			t.Errorf("%s in the library: %d copies", name, len(got))
		}
	}
	if got := live(e.srv, "photo.png"); len(got) != 0 {
		t.Errorf("photo.png uploaded")
	}
}

// A file already over its limit cannot be changed, only replaced: opening
// it to write, a write or a truncate past the limit fail before a byte of
// it is downloaded.
func TestOverTheLimitFailsBeforeAnyDownload(t *testing.T) {
	e := newWBLimit(t, 100)
	ctx := context.Background()
	e.srv.AddFile("", "big.png", "image/png", []byte(strings.Repeat("p", 200)))
	e.srv.ResetStats()
	ent := e.entry(t, "big.png")
	if err := e.store.CheckWritable(ctx, ent); !errors.Is(err, ErrTooLarge) {
		t.Errorf("CheckWritable: %v", err)
	}
	h, err := e.store.Open(ctx, ent, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write(ctx, []byte("x"), 200); !errors.Is(err, ErrTooLarge) {
		t.Errorf("append: %v", err)
	}
	if err := h.Truncate(ctx, 150); !errors.Is(err, ErrTooLarge) {
		t.Errorf("truncate: %v", err)
	}
	h.Release()
	if err := e.store.Truncate(ctx, ent, 101); !errors.Is(err, ErrTooLarge) {
		t.Errorf("truncate(2): %v", err)
	}
	if n := e.srv.Stats().StorageBytes; n != 0 {
		t.Errorf("%d bytes downloaded", n)
	}
	if n := uploads(e.srv); n != 0 {
		t.Errorf("%d uploads", n)
	}
	// Replacing it is fine.
	e.write(t, "big.png", "small")
	e.settle(t)
	if got := live(e.srv, "big.png"); len(got) != 1 || got[0] != "small" {
		t.Errorf("big.png: %q", got)
	}
}

// A pending file cannot be renamed to a name whose type could not take
// it. A temporary name (a download left as .part) keeps the type of the
// name it stands for, at the upload too: what a write let grow, and a
// close reported done, is uploaded, never set aside afterwards.
func TestRenameAndUploadJudgedByTheNewName(t *testing.T) {
	e := newWBLimit(t, 100)
	ctx := context.Background()
	big := strings.Repeat("v", 300)
	e.write(t, "clip.mp4", big)
	if err := e.store.Rename(ctx, e.entry(t, "clip.mp4"), "clip.png", nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("rename to .png: %v", err)
	}
	if err := e.store.Rename(ctx, e.entry(t, "clip.mp4"), "clip.mp4.part", nil); err != nil {
		t.Fatalf("rename to .part: %v", err)
	}
	e.clock.Advance(time.Hour)
	e.settle(t)
	if n := uploads(e.srv); n != 1 {
		t.Fatalf("%d uploads, want 1", n)
	}
	var found bool
	for _, it := range e.srv.Items() {
		if it.Name == "clip.mp4.part" && it.Status == ghltest.StatusActive {
			found = true
			if it.ContentType != "video/mp4" || it.Size != 300 {
				t.Errorf("uploaded as %s, %d bytes", it.ContentType, it.Size)
			}
		}
	}
	if !found {
		t.Fatal("clip.mp4.part is not in the library")
	}
	if kept, _ := filepath.Glob(filepath.Join(e.dir, "recovered", "*")); len(kept) != 0 {
		t.Errorf("set aside: %q", kept)
	}
}
