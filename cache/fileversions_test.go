package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/memtest"
)

// A file's versions through the front (Store.Versions, OpenVersion,
// RemoveVersion), as the .versions view uses them, under each profile
// that keeps versions; the library checked through memtest's own API.

// keepingVersions runs fn under each profile whose service keeps a file's
// versions.
func keepingVersions(t *testing.T, fn func(t *testing.T, e *pEnv), mod ...func(*Options)) {
	for _, p := range profiles {
		if !p.of().Caps.Versions {
			continue
		}
		t.Run(p.name, func(t *testing.T) { fn(t, newPEnv(t, p.of(), 0, mod...)) })
	}
}

// threeVersions makes Docs/doc.txt through the mount, and gives it two
// more versions, each uploaded at its close; it returns the bytes of each.
func threeVersions(t *testing.T, e *pEnv) [][]byte {
	t.Helper()
	e.mt.AddFolder("", "Docs")
	data := [][]byte{randomBytes(1000, 1), randomBytes(300<<10, 2), randomBytes(2000, 3)}
	h, _, err := e.store.Create(context.Background(), e.lookup(t, "Docs").ID, "doc.txt")
	if err != nil {
		t.Fatal(err)
	}
	e.write(t, h, data[0])
	for _, d := range data[1:] {
		e.edit(t, "Docs/doc.txt", d)
	}
	e.drain(t)
	return data
}

// listVersions is Store.Versions of the file at path, or the test fails.
func (e *pEnv) listVersions(t *testing.T, path string) []Version {
	t.Helper()
	vs, err := e.store.Versions(context.Background(), e.lookup(t, path))
	if err != nil {
		t.Fatalf("versions of %s: %v", path, err)
	}
	return vs
}

// shownVersions is vs as "num:size" ("*" after the current one).
func shownVersions(vs []Version) string {
	var out []string
	for _, v := range vs {
		s := fmt.Sprintf("%d:%d", v.Num, v.Size)
		if v.Current {
			s += "*"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// readVersion reads version v whole through the mount.
func (e *pEnv) readVersion(t *testing.T, v Version) []byte {
	t.Helper()
	ctx := context.Background()
	r, err := e.store.OpenVersion(ctx, v)
	if err != nil {
		t.Fatalf("open version %d: %v", v.Num, err)
	}
	var out []byte
	for {
		bufs, done, err := r.Read(ctx, 64<<10, int64(len(out)))
		for _, b := range bufs {
			out = append(out, b...)
		}
		done()
		if errors.Is(err, io.EOF) || (err == nil && len(bufs) == 0) {
			return out
		}
		if err != nil {
			t.Fatalf("read version %d: %v", v.Num, err)
		}
	}
}

// The versions of a file written three times through the mount: listed
// by number with their sizes, the last current; each reads back its own
// bytes (a range too), as the library holds them under its Rev.
func TestVersionsListed(t *testing.T) {
	keepingVersions(t, func(t *testing.T, e *pEnv) {
		data := threeVersions(t, e)
		vs := e.listVersions(t, "Docs/doc.txt")
		if got := shownVersions(vs); got != fmt.Sprintf("1:%d 2:%d 3:%d*", len(data[0]), len(data[1]), len(data[2])) {
			t.Fatalf("versions: %s", got)
		}
		id := e.lookup(t, "Docs/doc.txt").ID
		for i, v := range vs {
			if v.ID != id {
				t.Errorf("version %d of file %s, want %s", v.Num, v.ID, id)
			}
			lib, _ := e.mt.Content(id, v.Rev)
			if got := e.readVersion(t, v); !bytes.Equal(got, data[i]) || !bytes.Equal(lib, data[i]) {
				t.Errorf("version %d reads %d bytes (the library holds %d under its Rev), not the %d written", v.Num, len(got), len(lib), len(data[i]))
			}
		}
		ctx := context.Background()
		r, err := e.store.OpenVersion(ctx, vs[1])
		if err != nil {
			t.Fatal(err)
		}
		bufs, done, err := r.Read(ctx, 100, 200<<10)
		if got := bytes.Join(bufs, nil); err != nil || !bytes.Equal(got, data[1][200<<10:200<<10+100]) {
			t.Errorf("a range of version 2: %d bytes, %v", len(got), err)
		}
		done()
	})
}

// Versions are listed once for a while (no call within versionsTTL),
// again once it passes, and at once when the file changes (an upload
// through the mount, or another client's seen in a listing).
func TestVersionsCachedBriefly(t *testing.T) {
	keepingVersions(t, func(t *testing.T, e *pEnv) {
		threeVersions(t, e)
		calls := func() int { return e.mt.Calls(memtest.OpVersions) }
		e.listVersions(t, "Docs/doc.txt")
		n := calls()
		e.listVersions(t, "Docs/doc.txt")
		if calls() != n {
			t.Errorf("a second look within the TTL asked the service again")
		}
		e.clock.Advance(versionsTTL + time.Second)
		e.listVersions(t, "Docs/doc.txt")
		if calls() != n+1 {
			t.Errorf("a look after the TTL: %d calls, want 1", calls()-n)
		}

		e.edit(t, "Docs/doc.txt", []byte("four"))
		if got := shownVersions(e.listVersions(t, "Docs/doc.txt")); !strings.HasSuffix(got, " 4:4*") {
			t.Errorf("after an upload through the mount: %s, want version 4 current at once", got)
		}
		e.mt.AddFile(e.lookup(t, "Docs").ID, "doc.txt", []byte("five!"))
		e.expire() // the folder is listed again: the file at another version
		if got := shownVersions(e.listVersions(t, "Docs/doc.txt")); !strings.HasSuffix(got, " 5:5*") {
			t.Errorf("after another client's upload, listed: %s, want version 5 current", got)
		}
	})
}

// Removing one version removes it alone, in the library and in what the
// mount shows at once; the current one is refused without a call
// (ErrInUse), and nothing changes; a read-only mount removes nothing.
func TestVersionsRemove(t *testing.T) {
	keepingVersions(t, func(t *testing.T, e *pEnv) {
		data := threeVersions(t, e)
		ctx := context.Background()
		vs := e.listVersions(t, "Docs/doc.txt")
		id := vs[0].ID
		if err := e.store.RemoveVersion(ctx, vs[0]); err != nil {
			t.Fatalf("removing version 1: %v", err)
		}
		if _, ok := e.mt.Content(id, vs[0].Rev); ok {
			t.Errorf("the library still holds version 1")
		}
		if got := shownVersions(e.listVersions(t, "Docs/doc.txt")); got != fmt.Sprintf("2:%d 3:%d*", len(data[1]), len(data[2])) {
			t.Errorf("after version 1 removed, with no time passed: %s", got)
		}
		n := e.mt.Calls(memtest.OpRemoveVersion)
		err := e.store.RemoveVersion(ctx, vs[2])
		if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "the file itself") {
			t.Errorf("removing the current version: %v, want ErrInUse saying why", err)
		}
		if e.mt.Calls(memtest.OpRemoveVersion) != n {
			t.Errorf("the current version's removal made a call")
		}
		if it, _ := e.mt.Item(id); len(it.Versions) != 2 || !bytes.Equal(e.content(t, "Docs/doc.txt"), data[2]) {
			t.Errorf("after a refused removal the library holds %d versions, the file %d bytes", len(it.Versions), len(e.content(t, "Docs/doc.txt")))
		}
		if err := e.store.RemoveVersion(ctx, vs[0]); !errors.Is(err, ErrNotFound) {
			t.Errorf("removing version 1 again: %v, want ErrNotFound", err)
		}
	})
	keepingVersions(t, func(t *testing.T, e *pEnv) {
		id := e.mt.AddFile("", "a.txt", []byte("1"))
		e.mt.AddFile("", "a.txt", []byte("22"))
		vs := e.listVersions(t, "a.txt")
		if err := e.store.RemoveVersion(context.Background(), vs[0]); !errors.Is(err, ErrReadOnly) {
			t.Errorf("read-only: %v, want ErrReadOnly", err)
		}
		if it, _ := e.mt.Item(id); len(it.Versions) != 2 {
			t.Errorf("a read-only mount removed a version")
		}
	}, func(o *Options) { o.ReadOnly = true })
}

// lateVersions is a service whose listing of versions, once made, waits
// for the test before its answer comes back.
type lateVersions struct {
	*memtest.Backend
	listed, answer chan struct{}
}

func (b lateVersions) Versions(ctx context.Context, id string) ([]remote.Version, error) {
	vs, err := b.Backend.Versions(ctx, id)
	select {
	case b.listed <- struct{}{}:
		<-b.answer
	default: // the test is not waiting for this one
	}
	return vs, err
}

// A listing of the versions made before a removal through the mount, and
// answered after it, is not kept: the next look asks again, and never
// shows the removed version.
func TestVersionsRemovedWhileListed(t *testing.T) {
	late := lateVersions{listed: make(chan struct{}), answer: make(chan struct{})}
	e := newPEnvOver(t, memtest.ImageKit(), 0, func(mt *memtest.Backend) remote.Backend { late.Backend = mt; return late })
	threeVersions(t, e)
	x := e.lookup(t, "Docs/doc.txt")
	vs := e.listVersions(t, "Docs/doc.txt")
	e.clock.Advance(versionsTTL + time.Second)
	done := make(chan []Version)
	go func() {
		got, _ := e.store.Versions(context.Background(), x)
		done <- got
	}()
	<-late.listed
	if err := e.store.RemoveVersion(context.Background(), vs[1]); err != nil {
		t.Fatal(err)
	}
	close(late.answer)
	if got := shownVersions(<-done); !strings.Contains(got, "2:") {
		t.Fatalf("the listing made before the removal: %s; the test means it to show version 2", got)
	}
	if got := shownVersions(e.listVersions(t, "Docs/doc.txt")); strings.Contains(got, "2:") {
		t.Errorf("after the removal: %s still shows version 2", got)
	}
}

// A file whose newest bytes still wait in the write-back queue shows the
// versions the service keeps of it (the waiting bytes are none of them),
// and they read; a file never uploaded has none.
func TestVersionsOfQueuedFile(t *testing.T) {
	keepingVersions(t, func(t *testing.T, e *pEnv) {
		e.mt.AddFile("", "a.txt", []byte("one"))
		e.mt.AddFile("", "a.txt", []byte("two!"))
		e.edit(t, "a.txt", []byte("queued bytes"))
		if n := e.store.PendingCount(); n != 1 {
			t.Fatalf("%d files pending, want the one written", n)
		}
		vs := e.listVersions(t, "a.txt")
		if got := shownVersions(vs); got != "1:3 2:4*" {
			t.Errorf("versions of a file with bytes queued: %s, want the service's two", got)
		}
		if got := e.readVersion(t, vs[0]); string(got) != "one" {
			t.Errorf("version 1 of a file with bytes queued reads %q", got)
		}
		h, _, err := e.store.Create(context.Background(), "", "new.txt")
		if err != nil {
			t.Fatal(err)
		}
		e.write(t, h, []byte("never sent yet"))
		if _, err := e.store.Versions(context.Background(), e.lookup(t, "new.txt")); !errors.Is(err, ErrNotFound) {
			t.Errorf("versions of a file never uploaded: %v, want ErrNotFound", err)
		}
	}, withDelay)
}

// Where the service keeps no versions, there are none to list or remove.
func TestVersionsNotKept(t *testing.T) {
	e := newPEnv(t, memtest.HighLevel(), 0)
	e.mt.AddFile("", "a.txt", []byte("a"))
	if _, err := e.store.Versions(context.Background(), e.lookup(t, "a.txt")); !errors.Is(err, ErrNotSupported) {
		t.Errorf("versions on HighLevel: %v, want ErrNotSupported", err)
	}
	if err := e.store.RemoveVersion(context.Background(), Version{ID: "x", Rev: "y", Num: 1}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("removing a version on HighLevel: %v, want ErrNotSupported", err)
	}
	if n := e.mt.Calls(memtest.OpVersions); n != 0 {
		t.Errorf("%d calls", n)
	}
}

// badNumbers is a service that numbers versions badly: two share a
// number.
type badNumbers struct{ *memtest.Backend }

func (b badNumbers) Versions(ctx context.Context, id string) ([]remote.Version, error) {
	vs, err := b.Backend.Versions(ctx, id)
	for i := range vs {
		vs[i].Num = min(vs[i].Num, 2)
	}
	return vs, err
}

// Versions a service numbers badly are left out, with one log line:
// never two shown under one name.
func TestVersionsBadlyNumbered(t *testing.T) {
	e := newPEnvOver(t, memtest.ImageKit(), 0, func(mt *memtest.Backend) remote.Backend { return badNumbers{mt} })
	for _, d := range []string{"1", "22", "333"} {
		e.mt.AddFile("", "a.txt", []byte(d))
	}
	if got := shownVersions(e.listVersions(t, "a.txt")); got != "1:1 2:2" {
		t.Errorf("versions numbered 1, 2, 2: %s, want the first of each number", got)
	}
	if l := e.log.Lines("WARN"); len(l) != 1 || !strings.Contains(l[0], "a.txt") {
		t.Errorf("log: %q, want one line naming the file", l)
	}
}
