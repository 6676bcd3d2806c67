package remotetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// env is one case of the contract: a fresh fake, its backend, and the
// helpers the cases share.
type env struct {
	Instance
	t    *testing.T
	ctx  context.Context
	caps remote.Caps
}

func newEnv(t *testing.T, fixture Fixture) *env {
	t.Helper()
	inst := fixture(t)
	if inst.Now == nil {
		inst.Now = time.Now
	}
	if inst.PageSize <= 0 {
		t.Fatal("remotetest: the fixture gave no PageSize")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &env{Instance: inst, t: t, ctx: ctx, caps: inst.Backend.Caps()}
}

// settle lets what the service shows late catch up.
func (e *env) settle() {
	if e.Settle != nil {
		e.Settle()
	}
}

// active is the library's active items, by id.
func (e *env) active() map[string]Item {
	out := map[string]Item{}
	for _, it := range e.Fake.Items() {
		if it.Status == Active {
			out[it.ID] = it
		}
	}
	return out
}

// item is one item of the fake, whatever its status; the case fails
// when the fake does not hold it.
func (e *env) item(id string) Item {
	e.t.Helper()
	for _, it := range e.Fake.Items() {
		if it.ID == id {
			return it
		}
	}
	e.t.Fatalf("the fake holds no item %s", id)
	return Item{}
}

// named is the active items of folder parent named name, as the service
// compares names.
func (e *env) named(parent, name string) []Item {
	var out []Item
	for _, it := range e.active() {
		if it.ParentID == parent && e.sameName(it.Name, name) {
			out = append(out, it)
		}
	}
	return out
}

func (e *env) sameName(a, b string) bool {
	if e.caps.CaseInsensitive {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// folder makes a folder through the fake (a name every service keeps).
func (e *env) folder(parent, name string) string {
	e.t.Helper()
	id := e.Fake.AddFolder(parent, name)
	if it := e.item(id); !it.Folder || it.Name != name || it.ParentID != parent {
		e.t.Fatalf("the fake's AddFolder(%q, %q) made %+v", parent, name, it)
	}
	return id
}

// file makes a file through the fake.
func (e *env) file(parent, name string, data []byte) string {
	e.t.Helper()
	id := e.Fake.AddFile(parent, name, data)
	if it := e.item(id); it.Folder || it.Name != name || it.ParentID != parent {
		e.t.Fatalf("the fake's AddFile(%q, %q) made %+v", parent, name, it)
	}
	return id
}

// content is the bytes of a file's version as the fake holds them.
func (e *env) content(id, rev string) []byte {
	e.t.Helper()
	b, ok := e.Fake.Content(id, rev)
	if !ok {
		e.t.Fatalf("the fake holds no bytes of %s (version %q)", id, rev)
	}
	return b
}

// list reads a listing whole, as a caller does: a restart drops what was
// handed on before it. An item handed on as removed (Item.Deleted) is
// left out, and must be one the fake does not hold active.
func (e *env) list(q remote.ListQuery) ([]remote.Item, error) {
	var got []remote.Item
	err := e.Backend.List(e.ctx, q, func() { got = got[:0] }, func(it remote.Item) { got = append(got, it) })
	out := got[:0]
	active := e.active()
	for _, it := range got {
		if it.Deleted {
			if _, ok := active[it.ID]; ok {
				e.t.Errorf("listing %+v: active item %s (%s) handed on as removed", q, it.ID, it.Name)
			}
			continue
		}
		out = append(out, it)
	}
	return out, err
}

// listed is a folder's listing of one type, or the case fails.
func (e *env) listed(parent, typ string) []remote.Item {
	e.t.Helper()
	items, err := e.list(remote.ListQuery{ParentID: parent, Type: typ})
	if err != nil {
		e.t.Fatalf("listing %s of folder %q: %v", typ, parent, err)
	}
	return items
}

// listedFile is the file id as its folder's listing gives it.
func (e *env) listedFile(parent, id string) remote.Item {
	e.t.Helper()
	for _, it := range e.listed(parent, remote.TypeFile) {
		if it.ID == id {
			return it
		}
	}
	e.t.Fatalf("the listing of folder %q does not show file %s", parent, id)
	return remote.Item{}
}

// sameAsFake checks items against the fake's active items of folder
// parent (of type typ, "" both): each once, with its fields.
func (e *env) sameAsFake(what string, items []remote.Item, want map[string]Item) {
	e.t.Helper()
	seen := map[string]int{}
	for _, it := range items {
		seen[it.ID]++
		f, ok := want[it.ID]
		if !ok {
			e.t.Errorf("%s: %s (%s) is not an active item the listing should show", what, it.ID, it.Name)
			continue
		}
		e.sameItem(what, it, f)
	}
	for id, n := range seen {
		if n > 1 {
			e.t.Errorf("%s: %s handed on %d times", what, id, n)
		}
	}
	for id, f := range want {
		if seen[id] == 0 {
			e.t.Errorf("%s: %s (%s) missing", what, id, f.Name)
		}
	}
}

// sameItem checks the fields of an item a call gave against the fake's.
func (e *env) sameItem(what string, it remote.Item, f Item) {
	e.t.Helper()
	typ := remote.TypeFile
	if f.Folder {
		typ = remote.TypeFolder
	}
	switch {
	case it.Name != f.Name:
		e.t.Errorf("%s: %s named %q, the service holds %q", what, it.ID, it.Name, f.Name)
	case it.Type != typ:
		e.t.Errorf("%s: %s (%s) of type %q, want %q", what, it.ID, it.Name, it.Type, typ)
	case it.ParentID != f.ParentID:
		e.t.Errorf("%s: %s (%s) in folder %q, the service holds it in %q", what, it.ID, it.Name, it.ParentID, f.ParentID)
	case !f.Folder && it.Size >= 0 && it.Size != f.Size:
		e.t.Errorf("%s: %s (%s) of %d bytes, the service holds %d", what, it.ID, it.Name, it.Size, f.Size)
	case !f.Folder && it.Rev != f.Rev:
		e.t.Errorf("%s: %s (%s) at version %q, the service holds %q", what, it.ID, it.Name, it.Rev, f.Rev)
	}
}

// pick is the items of m that keep says to.
func pick(m map[string]Item, keep func(Item) bool) map[string]Item {
	out := map[string]Item{}
	for id, it := range m {
		if keep(it) {
			out[id] = it
		}
	}
	return out
}

// children is a folder's active items of a type ("" both).
func (e *env) children(parent, typ string) map[string]Item {
	return pick(e.active(), func(it Item) bool {
		return it.ParentID == parent && (typ == "" || it.Folder == (typ == remote.TypeFolder))
	})
}

// reader opens data, as Upload.Open does.
func reader(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

// upload sends a file as the cache does, and returns it as listed: an
// answer the backend marked Unconfirmed is confirmed.
func (e *env) upload(parent, name string, data []byte, exclude ...string) (remote.Item, error) {
	it, err := e.Backend.Upload(e.ctx, remote.Upload{ParentID: parent, Name: name, ContentType: remote.TypeByName(name),
		Size: int64(len(data)), Open: reader(data), Exclude: exclude})
	if err != nil || !it.Unconfirmed {
		return it, err
	}
	return e.Backend.Confirm(e.ctx, it, nil, exclude)
}

// refused reports whether err is a refusal the fixture says this fake
// may answer op with (Instance.MayFail): the library must then be as it
// was (before), and the case logs it and goes no further with op. Any
// other error fails the case.
func (e *env) refused(op Op, err error, before map[string]Item) bool {
	e.t.Helper()
	if err == nil {
		return false
	}
	for _, want := range e.MayFail[op] {
		if matches(err, want) {
			e.t.Logf("%s refused, as this fake may: %v", op, err)
			e.unchanged(string(op)+" refused", before)
			return true
		}
	}
	e.t.Fatalf("%s: %v", op, err)
	return false
}

// unchanged checks that the library's active items are those of before.
func (e *env) unchanged(what string, before map[string]Item) {
	e.t.Helper()
	now := e.active()
	if maps.Equal(now, before) {
		return
	}
	for id, it := range now {
		if b, ok := before[id]; !ok {
			e.t.Errorf("%s: %s (%s) appeared", what, id, it.Name)
		} else if b != it {
			e.t.Errorf("%s: %s changed from %+v to %+v", what, id, b, it)
		}
	}
	for id, it := range before {
		if _, ok := now[id]; !ok {
			e.t.Errorf("%s: %s (%s) is gone", what, id, it.Name)
		}
	}
}

// read reads length bytes of f from off, in bufs of the sizes given
// (one of length when none).
func (e *env) read(f remote.FileRef, off int64, sizes ...int) ([]byte, error) {
	var bufs [][]byte
	for _, n := range sizes {
		bufs = append(bufs, make([]byte, n))
	}
	n, err := e.Backend.ReadAt(e.ctx, f, bufs, off)
	out := make([]byte, 0, n)
	for _, b := range bufs {
		out = append(out, b[:min(len(b), n-len(out))]...)
	}
	return out, err
}

// readAll reads a whole file of size bytes.
func (e *env) readAll(f remote.FileRef, size int) []byte {
	e.t.Helper()
	got, err := e.read(f, 0, size+1)
	if err != nil && err != io.EOF {
		e.t.Fatalf("reading %s (version %q): %v", f.ID, f.Rev, err)
	}
	return got
}

// ref is how the cache names a listed file's bytes.
func ref(it remote.Item) remote.FileRef { return remote.FileRef{ID: it.ID, Rev: it.Rev, URL: it.URL} }

// pattern is n bytes that differ from those of any other seed.
func pattern(seed string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s:%d;", seed, i)
	}
	return b.Bytes()[:n]
}
