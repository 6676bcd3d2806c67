package remotetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
)

// Run runs the contract against the backend fixture starts: each case as
// a subtest, against a fresh fake. A case checks what its Caps claim, and
// that a call they rule out fails with remote.ErrNotSupported; it skips,
// saying so, only what the backend does not claim to do.
func Run(t *testing.T, fixture Fixture) {
	for _, c := range []struct {
		name string
		run  func(*env)
	}{
		{"List", testList},
		{"ListAll", testListAll},
		{"ListRecent", testListRecent},
		{"StatRead", testStatRead},
		{"CreateFolder", testCreateFolder},
		{"UploadNew", testUploadNew},
		{"UploadReplace", testUploadReplace},
		{"UploadTooLarge", testUploadTooLarge},
		{"NameRules", testNameRules},
		{"Rename", testRename},
		{"Move", testMove},
		{"Remove", testRemove},
		{"RemovePartial", testRemovePartial},
		{"LostUpload", func(e *env) { testLostUpload(e, "") }},
		{"LostUploadFolder", func(e *env) { testLostUpload(e, e.folder("", "Lost")) }},
		{"LostReplace", testLostReplace},
		{"LostFolder", testLostFolder},
		{"LostRename", testLostRename},
		{"LostRemove", testLostRemove},
		{"ErrorKinds", testErrorKinds},
		{"Versions", testVersions},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, fixture)
			if bug, ok := e.Known[c.name]; ok {
				t.Skipf("KNOWN BUG, not checked: %s", bug)
			}
			c.run(e)
		})
	}
}

// testList: a folder of more items than a page lists each once, with the
// fields the service holds, and no item of another folder; files and
// folders come apart or together as Caps.OneListing says.
func testList(e *env) {
	home := e.folder("", "Paging")
	n := 2*e.PageSize + 3
	for i := range n {
		e.file(home, fmt.Sprintf("f%03d.txt", i), pattern(fmt.Sprint(i), 10+i))
	}
	sub := e.folder(home, "Sub1")
	e.folder(home, "Sub2")
	e.file(sub, "inner.txt", []byte("not in the folder listed"))

	files, folders := e.children(home, remote.TypeFile), e.children(home, remote.TypeFolder)
	if len(files) != n || len(folders) != 2 {
		e.t.Fatalf("the fake holds %d files and %d folders in the folder, want %d and 2", len(files), len(folders), n)
	}
	e.sameAsFake("files", e.listed(home, remote.TypeFile), files)
	e.sameAsFake("folders", e.listed(home, remote.TypeFolder), folders)
	both := e.children(home, "")
	if !e.caps.OneListing {
		both = files // one listing per type: "" lists files
	}
	e.sameAsFake("listing of no type", e.listed(home, ""), both)
	e.sameAsFake("root folders", e.listed("", remote.TypeFolder), e.children("", remote.TypeFolder))
}

// testListAll: the whole library at once, whatever folder an item is in.
func testListAll(e *env) {
	q := remote.ListQuery{All: true, Type: remote.TypeFile}
	if !e.caps.ListAll {
		_, err := e.list(q)
		if !errors.Is(err, remote.ErrNotSupported) {
			e.t.Errorf("listing the whole library without Caps.ListAll: %v, want ErrNotSupported", err)
		}
		return
	}
	home := e.folder("", "Everything")
	sub := e.folder(home, "Deeper")
	e.file("", "top.txt", []byte("top"))
	e.file(home, "mid.txt", []byte("mid"))
	e.file(sub, "low.txt", []byte("low"))
	gone := e.file(sub, "gone.txt", []byte("gone"))
	e.Fake.Remove(gone)
	e.settle()
	for _, typ := range []string{remote.TypeFile, remote.TypeFolder} {
		items, err := e.list(remote.ListQuery{All: true, Type: typ})
		if err != nil {
			e.t.Fatalf("listing every %s: %v", typ, err)
		}
		e.sameAsFake("every "+typ, items, pick(e.active(), func(it Item) bool { return it.Folder == (typ == remote.TypeFolder) }))
	}
}

// testListRecent: the whole library by last change, the most recent
// first, until visit says stop.
func testListRecent(e *env) {
	if !e.caps.ListRecent {
		err := e.Backend.ListUpdated(e.ctx, remote.TypeFile, func(remote.Item) bool { return true })
		if !errors.Is(err, remote.ErrNotSupported) {
			e.t.Errorf("ListUpdated without Caps.ListRecent: %v, want ErrNotSupported", err)
		}
		return
	}
	home := e.folder("", "Recent")
	for i := range e.PageSize + 2 {
		e.file(home, fmt.Sprintf("r%02d.txt", i), pattern("r", i+1))
	}
	e.settle()
	var got []remote.Item
	err := e.Backend.ListUpdated(e.ctx, remote.TypeFile, func(it remote.Item) bool {
		got = append(got, it)
		return true
	})
	if e.refused(OpListRecent, err, e.active()) {
		return
	}
	got = slices.DeleteFunc(got, func(it remote.Item) bool { return it.Deleted })
	e.sameAsFake("by last change", got, pick(e.active(), func(it Item) bool { return !it.Folder }))
	for i := 1; i < len(got); i++ {
		if a, b := got[i-1].ModTime(), got[i].ModTime(); !a.IsZero() && !b.IsZero() && b.After(a) {
			e.t.Errorf("by last change: %s (%v) before %s (%v)", got[i-1].Name, a, got[i].Name, b)
		}
	}
	n := 0
	if err := e.Backend.ListUpdated(e.ctx, remote.TypeFile, func(remote.Item) bool { n++; return false }); err != nil || n != 1 {
		e.t.Errorf("ListUpdated whose visit stops at once: %d visits, %v", n, err)
	}
}

// testStatRead: a file's size, and its bytes by ranges: whole, in the
// middle, across several buffers, past its end.
func testStatRead(e *env) {
	home := e.folder("", "Reading")
	data := pattern("read", 3017)
	it := e.listedFile(home, e.file(home, "read.txt", data))
	f := ref(it)
	fi, err := e.Backend.Stat(e.ctx, f)
	if err != nil || fi.Size != int64(len(data)) {
		e.t.Errorf("Stat: size %d, %v; want %d", fi.Size, err, len(data))
	}
	for _, c := range []struct {
		name  string
		off   int64
		sizes []int
		want  []byte
		eof   bool // io.EOF required
	}{
		{"whole", 0, []int{len(data)}, data, false},
		{"middle", 1000, []int{500}, data[1000:1500], false},
		{"buffers", 50, []int{10, 1, 300}, data[50:361], false},
		{"past the end", int64(len(data) - 10), []int{100}, data[len(data)-10:], true},
		{"buffers past the end", int64(len(data) - 15), []int{10, 100}, data[len(data)-15:], true},
		{"at the end", int64(len(data)), []int{10}, nil, true},
	} {
		got, err := e.read(f, c.off, c.sizes...)
		switch {
		case c.eof && err != io.EOF:
			e.t.Errorf("read %s: %v, want io.EOF", c.name, err)
		case !c.eof && err != nil && err != io.EOF:
			e.t.Errorf("read %s: %v", c.name, err)
		case !c.eof && err == io.EOF && len(got) < len(c.want):
			e.t.Errorf("read %s: io.EOF before the file's end", c.name)
		}
		if !bytes.Equal(got, c.want) {
			e.t.Errorf("read %s: %d bytes, want %d: %.40q", c.name, len(got), len(c.want), got)
		}
	}
}

// testCreateFolder: a folder made in the root and in a folder is what the
// service holds; one made onto a taken name is refused or is a folder
// the service holds under the name it answers.
func testCreateFolder(e *env) {
	home := e.folder("", "Folders")
	for _, parent := range []string{"", home} {
		before := e.active()
		f, err := e.Backend.CreateFolder(e.ctx, parent, "Made")
		if e.refused(OpCreateFolder, err, before) {
			continue
		}
		e.sameItem("made", f, e.item(f.ID))
		if got := e.item(f.ID); got.Status != Active || got.Name != "Made" || got.ParentID != parent || !got.Folder {
			e.t.Errorf("made in %q: the service holds %+v", parent, got)
		}
	}
	again, err := e.Backend.CreateFolder(e.ctx, "", "Made")
	switch {
	case err != nil && e.caps.UniqueNames && errors.Is(err, remote.ErrExists):
	case err != nil:
		e.t.Errorf("a folder made again: %v", err)
	default:
		got := e.item(again.ID)
		e.sameItem("made again", again, got)
		if got.Status != Active || !got.Folder || got.ParentID != "" {
			e.t.Errorf("made again: the service holds %+v", got)
		}
		if e.caps.UniqueNames && len(e.named("", got.Name)) != 1 {
			e.t.Errorf("made again: %d items named %q on a service of unique names", len(e.named("", got.Name)), got.Name)
		}
	}
}

// testUploadNew: a new file, in the root and in a folder, is one new item
// of its name, size and bytes.
func testUploadNew(e *env) {
	home := e.folder("", "Uploads")
	for i, parent := range []string{"", home} {
		data := pattern(fmt.Sprint("new", i), 1000+i)
		before := e.active()
		it, err := e.upload(parent, "new.txt", data)
		if e.refused(OpUpload, err, before) {
			continue
		}
		got := e.item(it.ID)
		e.sameItem("uploaded", it, got)
		if got.Status != Active || got.ParentID != parent || got.Name != "new.txt" {
			e.t.Errorf("uploaded into %q: the service holds %+v", parent, got)
		}
		if n := len(e.active()) - len(before); n != 1 {
			e.t.Errorf("uploaded into %q: %d new items", parent, n)
		}
		if !bytes.Equal(e.content(it.ID, ""), data) {
			e.t.Errorf("uploaded into %q: the service holds other bytes", parent)
		}
		if got := e.readAll(ref(it), len(data)); !bytes.Equal(got, data) {
			e.t.Errorf("uploaded into %q: read back %d other bytes", parent, len(got))
		}
	}
}

// testUploadReplace: an upload onto a name a file holds is a new item
// (Caps.NewIDPerUpload: the old one keeps its bytes) or a new version of
// that file, its id kept, the old version readable (Caps.Versions).
func testUploadReplace(e *env) {
	home := e.folder("", "Replace")
	v1, v2 := pattern("one", 700), pattern("two", 900)
	before := e.active()
	base, err := e.upload(home, "doc.txt", v1)
	if e.refused(OpUpload, err, before) {
		return
	}
	second, err := e.upload(home, "doc.txt", v2, base.ID, base.URL)
	if err != nil {
		e.t.Fatalf("upload onto a taken name: %v", err)
	}
	e.sameItem("replacing upload", second, e.item(second.ID))
	if !bytes.Equal(e.content(second.ID, ""), v2) || !bytes.Equal(e.readAll(ref(second), len(v2)), v2) {
		e.t.Errorf("the replacing upload's bytes are not those sent")
	}
	if e.caps.NewIDPerUpload {
		if second.ID == base.ID {
			e.t.Fatalf("a new id per upload, and the replacing upload has the old one")
		}
		if old := e.item(base.ID); old.Status != Active || !bytes.Equal(e.content(base.ID, ""), v1) {
			e.t.Errorf("the replaced file %+v lost its bytes: an id's bytes never change here", old)
		}
		if n := len(e.named(home, "doc.txt")); !e.caps.UniqueNames && n != 2 {
			e.t.Errorf("%d files named doc.txt; want both until the caller retires the old one", n)
		}
		return
	}
	if second.ID != base.ID || second.Rev == "" || second.Rev == base.Rev {
		e.t.Fatalf("a replace under one id: %s at %q after %s at %q; want the same id, a new version", second.ID, second.Rev, base.ID, base.Rev)
	}
	if n := len(e.named(home, "doc.txt")); n != 1 {
		e.t.Errorf("%d files named doc.txt after a replace", n)
	}
	if !e.caps.Versions {
		return
	}
	if got := e.item(base.ID).Versions; got != 2 {
		e.t.Errorf("the service keeps %d versions, want 2", got)
	}
	if got := e.readAll(ref(base), len(v1)); !bytes.Equal(got, v1) {
		e.t.Errorf("the first version read back as %d other bytes", len(got))
	}
	if e.caps.UniqueNames && e.caps.CaseInsensitive {
		third, err := e.upload(home, "DOC.TXT", v1, base.ID)
		if err != nil || third.ID != base.ID || e.item(base.ID).Name != "doc.txt" {
			e.t.Errorf("upload onto the name in another case: %+v, %v; want a version of %s, its name kept", third, err, base.ID)
		}
	}
}

// testUploadTooLarge: a file over the service's limit is refused before
// its bytes are read, and nothing is made.
func testUploadTooLarge(e *env) {
	if e.caps.MaxUpload == nil {
		e.t.Skip("no upload limit known (Caps.MaxUpload)")
	}
	limit := e.caps.UploadLimit("text/plain")
	before := e.active()
	_, err := e.Backend.Upload(e.ctx, remote.Upload{Name: "huge.txt", ContentType: "text/plain", Size: limit + 1,
		Open: func() (io.ReadCloser, error) { return nil, errors.New("the bytes of a file over the limit were read") }})
	if !errors.Is(err, remote.ErrTooLarge) {
		e.t.Errorf("upload over the limit: %v, want ErrTooLarge", err)
	}
	e.unchanged("upload over the limit", before)
}

// Names a service may keep or rewrite: ValidName says which it keeps,
// and those are kept as sent.
var (
	fileNames   = []string{"plain_name-1.txt", "UPPER.TXT", "two words.txt", "accent-é.txt", "hash#and&amp.txt", "emoji-😀.txt", "dots.in.name.txt"}
	folderNames = []string{"PlainFolder", "Folder_2", "two words", "dash-folder", "Dossier_é", "Wörter"}
)

// testNameRules: a name Caps.ValidName passes is kept as sent, by an
// upload and by a folder's creation; one it refuses is refused as
// remote.ErrInvalid.
func testNameRules(e *env) {
	for _, c := range []struct {
		dir   bool
		names []string
	}{{false, fileNames}, {true, folderNames}} {
		for _, name := range c.names {
			if err := e.caps.CheckName(name, c.dir); err != nil {
				if !errors.Is(err, remote.ErrInvalid) {
					e.t.Errorf("ValidName(%q, dir %v) = %v, want an error matching ErrInvalid", name, c.dir, err)
				}
				continue
			}
			var it remote.Item
			var err error
			if c.dir {
				it, err = e.Backend.CreateFolder(e.ctx, "", name)
			} else {
				it, err = e.upload("", name, []byte(name))
			}
			if err != nil {
				e.t.Errorf("%q, a name ValidName passes: %v", name, err)
				continue
			}
			if got := e.item(it.ID).Name; got != name || it.Name != name {
				e.t.Errorf("%q, a name ValidName passes, answered as %q and stored as %q", name, it.Name, got)
			}
		}
	}
}

// testRename: a file and a folder renamed keep their ids; a name taken is
// refused (Caps.UniqueNames, remote.ErrExists) or shared.
func testRename(e *env) {
	home := e.folder("", "Renames")
	a := e.file(home, "a.txt", []byte("a"))
	before := e.active()
	err := e.Backend.Rename(e.ctx, a, "renamed.txt")
	if e.refused(OpRename, err, before) {
		return
	}
	if got := e.item(a); got.Name != "renamed.txt" || got.ParentID != home || got.Status != Active {
		e.t.Errorf("renamed file: the service holds %+v", got)
	}

	sub := e.folder(home, "Sub")
	inner := e.file(sub, "inner.txt", []byte("inner"))
	err = e.Backend.Rename(e.ctx, sub, "SubRenamed")
	switch {
	case !e.caps.RenameFolders:
		if !errors.Is(err, remote.ErrNotSupported) {
			e.t.Errorf("renaming a folder without Caps.RenameFolders: %v, want ErrNotSupported", err)
		}
	case err != nil:
		e.t.Errorf("renaming a folder: %v", err)
	default:
		if got := e.item(sub); got.Name != "SubRenamed" || got.Status != Active {
			e.t.Errorf("renamed folder: the service holds %+v", got)
		}
		if got := e.item(inner); got.ParentID != sub || got.Status != Active {
			e.t.Errorf("a renamed folder's file: %+v", got)
		}
	}

	e.file(home, "taken.txt", []byte("taken"))
	c := e.file(home, "other.txt", []byte("other"))
	taken := []string{"taken.txt"}
	if e.caps.CaseInsensitive {
		taken = append(taken, "TAKEN.txt")
	}
	for _, name := range taken {
		before := e.active()
		err = e.Backend.Rename(e.ctx, c, name)
		switch {
		case e.caps.UniqueNames:
			if !errors.Is(err, remote.ErrExists) {
				e.t.Errorf("rename onto the taken %q: %v, want ErrExists", name, err)
			}
			e.unchanged("rename onto a taken name", before)
		case err != nil:
			e.t.Errorf("rename onto the taken %q, on a service of duplicate names: %v", name, err)
		default:
			if n := len(e.named(home, name)); n != 2 {
				e.t.Errorf("rename onto the taken %q: %d items of the name, want 2", name, n)
			}
		}
	}
}

// testMove: a file (Caps.Move) and a folder with what it holds
// (Caps.MoveFolders) go to another folder, under their name or a new
// one, ids kept; a service that cannot says remote.ErrNotSupported.
func testMove(e *env) {
	home, dest := e.folder("", "MoveFrom"), e.folder("", "MoveTo")
	a := e.file(home, "a.txt", []byte("a"))
	sub := e.folder(home, "Sub")
	inner := e.file(sub, "inner.txt", []byte("inner"))
	before := e.active()
	err := e.Backend.Move(e.ctx, a, dest, "")
	if !e.caps.Move {
		if !errors.Is(err, remote.ErrNotSupported) {
			e.t.Errorf("a move without Caps.Move: %v, want ErrNotSupported", err)
		}
		e.unchanged("a move refused", before)
	} else {
		if e.refused(OpMove, err, before) {
			return
		}
		if got := e.item(a); got.ParentID != dest || got.Name != "a.txt" || got.Status != Active {
			e.t.Errorf("moved file: the service holds %+v", got)
		}
		if err := e.Backend.Move(e.ctx, a, home, "moved.txt"); err != nil {
			e.t.Errorf("a move back under a new name: %v", err)
		} else if got := e.item(a); got.ParentID != home || got.Name != "moved.txt" {
			e.t.Errorf("moved back under a new name: the service holds %+v", got)
		}
		if e.caps.UniqueNames {
			e.file(dest, "moved.txt", []byte("in the way"))
			before := e.active()
			if err := e.Backend.Move(e.ctx, a, dest, ""); !errors.Is(err, remote.ErrExists) {
				e.t.Errorf("a move onto a taken name: %v, want ErrExists", err)
			}
			e.unchanged("a move onto a taken name", before)
		}
	}

	before = e.active()
	err = e.Backend.Move(e.ctx, sub, dest, "")
	if !e.caps.MoveFolders {
		if !errors.Is(err, remote.ErrNotSupported) {
			e.t.Errorf("a folder's move without Caps.MoveFolders: %v, want ErrNotSupported", err)
		}
		e.unchanged("a folder's move refused", before)
		return
	}
	if err != nil {
		e.t.Fatalf("a folder's move: %v", err)
	}
	if got := e.item(sub); got.ParentID != dest || got.Name != "Sub" || got.Status != Active {
		e.t.Errorf("moved folder: the service holds %+v", got)
	}
	if got := e.item(inner); got.ParentID != sub || got.Status != Active {
		e.t.Errorf("a moved folder's file: %+v", got)
	}
	before = e.active()
	if err := e.Backend.Move(e.ctx, dest, sub, ""); err == nil {
		e.t.Errorf("a folder moved into its own subfolder: no error")
	}
	e.unchanged("a folder moved into itself", before)
}

// testRemove: items removed to the trash or for good, as Caps say (else
// remote.ErrNotSupported), a folder with what it holds; Caps.BulkRemove
// ids in one call.
func testRemove(e *env) {
	home := e.folder("", "Removals")
	a, b := e.file(home, "a.txt", []byte("a")), e.file(home, "b.txt", []byte("b"))
	sub := e.folder(home, "Sub")
	inner := e.file(sub, "inner.txt", []byte("inner"))
	for _, c := range []struct {
		permanent bool
		can       bool
		ids       []string
		status    string
	}{
		{false, e.caps.Trash, []string{a, sub}, Trashed},
		{true, e.caps.Permanent, []string{b}, Deleted},
	} {
		before := e.active()
		err := e.Backend.Remove(e.ctx, c.ids, c.permanent)
		if !c.can {
			if !errors.Is(err, remote.ErrNotSupported) {
				e.t.Errorf("a removal (for good: %v) the Caps rule out: %v, want ErrNotSupported", c.permanent, err)
			}
			e.unchanged("a removal refused", before)
			continue
		}
		if e.refused(OpRemove, err, before) {
			continue
		}
		for _, id := range c.ids {
			if got := e.item(id); got.Status != c.status && !(e.TrashMayDelete && !c.permanent && got.Status == Deleted) {
				e.t.Errorf("removed (for good: %v): %s is %s, want %s", c.permanent, got.Name, got.Status, c.status)
			}
		}
		if slices.Contains(c.ids, sub) {
			if got := e.item(inner); got.Status == Active {
				e.t.Errorf("a removed folder's file is still active")
			}
		}
		for _, it := range e.listed(home, "") {
			if slices.Contains(c.ids, it.ID) {
				e.t.Errorf("the listing still shows removed %s", it.Name)
			}
		}
	}

	if e.caps.BulkRemove <= 0 {
		return
	}
	bulk := e.folder("", "Bulk")
	var all []string
	for i := range e.caps.BulkRemove {
		all = append(all, e.file(bulk, fmt.Sprintf("b%03d.txt", i), []byte{byte(i)}))
	}
	if err := e.Backend.Remove(e.ctx, all, !e.caps.Trash); err != nil {
		e.t.Fatalf("removing Caps.BulkRemove (%d) ids in one call: %v", len(all), err)
	}
	if left := e.children(bulk, ""); len(left) != 0 {
		e.t.Errorf("%d of %d items left after one bulk removal", len(left), len(all))
	}
}

// testRemovePartial: a removal naming an item the service does not hold
// removes the others and names it in a *remote.NotDoneError; one the
// service refuses (a Refuser fake) is named and left.
func testRemovePartial(e *env) {
	home := e.folder("", "Partial")
	gone := e.file(home, "gone.txt", []byte("gone"))
	e.Fake.Remove(gone)
	for _, permanent := range []bool{false, true} {
		if (permanent && !e.caps.Permanent) || (!permanent && !e.caps.Trash) {
			continue
		}
		a := e.file(home, fmt.Sprint("a-", permanent, ".txt"), []byte("a"))
		b := e.file(home, fmt.Sprint("b-", permanent, ".txt"), []byte("b"))
		before := e.active()
		err := e.Backend.Remove(e.ctx, []string{a, gone, b}, permanent)
		var nd *remote.NotDoneError
		if !errors.As(err, &nd) {
			if !e.refused(OpRemove, err, before) {
				e.t.Errorf("removal (for good: %v) naming a removed item: %v, want a NotDoneError", permanent, err)
			}
			continue
		}
		if !slices.Equal(nd.IDs, []string{gone}) {
			e.t.Errorf("removal (for good: %v): not done %v, want [%s]", permanent, nd.IDs, gone)
		}
		for _, id := range []string{a, b} {
			if e.item(id).Status == Active {
				e.t.Errorf("removal (for good: %v): %s, named beside a removed item, is still active", permanent, id)
			}
		}
	}

	r, ok := e.Fake.(Refuser)
	if !ok {
		return
	}
	c, d := e.file(home, "c.txt", []byte("c")), e.file(home, "d.txt", []byte("d"))
	r.RefuseRemoval(c)
	var nd *remote.NotDoneError
	if err := e.Backend.Remove(e.ctx, []string{c, d}, !e.caps.Trash); !errors.As(err, &nd) || !slices.Equal(nd.IDs, []string{c}) {
		e.t.Errorf("removal the service refuses for one id: %v, want it not done", err)
	}
	if e.item(c).Status != Active || e.item(d).Status == Active {
		e.t.Errorf("refused %s is %s, %s is %s: want the refused one kept, the other removed", c, e.item(c).Status, d, e.item(d).Status)
	}
}

// lost checks the error of a call whose answer was cut: none (the
// backend found what the call did) or remote.ErrAmbiguous.
func (e *env) lost(op Op, err error) {
	e.t.Helper()
	if err != nil && !errors.Is(err, remote.ErrAmbiguous) {
		e.t.Fatalf("%s whose answer was lost: %v, want success or ErrAmbiguous", op, err)
	}
}

// testLostUpload: an upload into parent whose connection was cut after
// the service stored it is made once, and FindLanded finds it, and only
// it.
func testLostUpload(e *env, parent string) {
	data := pattern("lost", 2000)
	before := e.active()
	at := e.Now()
	e.Fake.CutNext(OpUpload)
	it, err := e.upload(parent, "lost.txt", data)
	if errors.Is(err, remote.ErrAmbiguous) || err == nil {
		e.lost(OpUpload, err)
	} else if e.refused(OpUpload, err, before) {
		return
	}
	landed := e.named(parent, "lost.txt")
	if len(landed) != 1 {
		e.t.Fatalf("%d files named lost.txt after one upload whose answer was lost", len(landed))
	}
	if n := len(e.active()) - len(before); n != 1 {
		e.t.Errorf("%d items made by one upload whose answer was lost", n)
	}
	if err == nil && it.ID != landed[0].ID {
		e.t.Errorf("the upload answered %s, the service holds %s", it.ID, landed[0].ID)
	}
	a := remote.Attempt{ParentID: parent, Name: "lost.txt", Size: int64(len(data)), At: at}
	found, ok, err := e.Backend.FindLanded(e.ctx, a)
	if err != nil || !ok || found.ID != landed[0].ID {
		e.t.Fatalf("FindLanded: %s, %v, %v; want %s", found.ID, ok, err, landed[0].ID)
	}
	if !bytes.Equal(e.content(found.ID, ""), data) {
		e.t.Errorf("the landed file holds other bytes")
	}
	a.Exclude = []string{found.ID, found.URL}
	if x, ok, err := e.Backend.FindLanded(e.ctx, a); err != nil || ok {
		e.t.Errorf("FindLanded excluding the landed file: %s, %v, %v; want nothing", x.ID, ok, err)
	}
	a.Name = "never-sent.txt"
	if x, ok, err := e.Backend.FindLanded(e.ctx, a); err != nil || ok {
		e.t.Errorf("FindLanded of an upload never sent: %s, %v, %v; want nothing", x.ID, ok, err)
	}
}

// testLostReplace: an upload onto a name a file holds, its answer lost:
// FindLanded finds the new item (Caps.NewIDPerUpload, the old one
// excluded) or the file at a new version (Attempt.Into, BaseRev), never
// the file as it was; nothing is made twice.
func testLostReplace(e *env) {
	home := "" // the root: a folder's uploads are LostUploadFolder's
	v1, v2 := pattern("v1", 600), pattern("v2", 800)
	base := e.listedFile(home, e.file(home, "ver.txt", v1))
	before := e.active()
	at := e.Now()
	e.Fake.CutNext(OpUpload)
	_, err := e.upload(home, "ver.txt", v2, base.ID, base.URL)
	if errors.Is(err, remote.ErrAmbiguous) || err == nil {
		e.lost(OpUpload, err)
	} else if e.refused(OpUpload, err, before) {
		return
	}
	a := remote.Attempt{ParentID: home, Name: "ver.txt", Size: int64(len(v2)), At: at}
	if e.caps.NewIDPerUpload {
		a.Exclude = []string{base.ID, base.URL}
	} else {
		a.Into, a.BaseRev = base.ID, base.Rev
	}
	found, ok, err := e.Backend.FindLanded(e.ctx, a)
	if err != nil || !ok {
		e.t.Fatalf("FindLanded: %v, %v; want the landed upload", ok, err)
	}
	want := 1
	if e.caps.NewIDPerUpload && !e.caps.UniqueNames {
		want = 2
		if found.ID == base.ID {
			e.t.Errorf("FindLanded took the replaced file for the upload")
		}
	} else if found.ID != base.ID || found.Rev == base.Rev {
		e.t.Errorf("FindLanded: %s at %q; want %s at a version after %q", found.ID, found.Rev, base.ID, base.Rev)
	}
	if n := len(e.named(home, "ver.txt")); n != want {
		e.t.Errorf("%d files named ver.txt, want %d", n, want)
	}
	if !bytes.Equal(e.content(found.ID, ""), v2) {
		e.t.Errorf("the landed upload holds other bytes")
	}
	if !e.caps.NewIDPerUpload {
		a.BaseRev = found.Rev // the file as it is now is no upload since
		if x, ok, err := e.Backend.FindLanded(e.ctx, a); err != nil || ok {
			e.t.Errorf("FindLanded with the current version as the base: %s at %q, %v, %v; want nothing", x.ID, x.Rev, ok, err)
		}
	}
}

// testLostFolder: a folder's creation whose answer was lost after the
// service acted makes one folder, and the backend says so or says it
// cannot tell (remote.ErrAmbiguous).
func testLostFolder(e *env) {
	home := e.folder("", "LostFolder")
	before := e.active()
	e.Fake.CutNext(OpCreateFolder)
	_, err := e.Backend.CreateFolder(e.ctx, home, "CutFolder")
	if !errors.Is(err, remote.ErrAmbiguous) && err != nil {
		e.refused(OpCreateFolder, err, before)
		return
	}
	if n := len(e.named(home, "CutFolder")); n != 1 {
		e.t.Errorf("%d folders made by one creation whose answer was lost", n)
	}
	if n := len(e.active()) - len(before); n != 1 {
		e.t.Errorf("%d items made by one folder's creation whose answer was lost", n)
	}
}

// testLostRename: a rename whose answer was lost after the service acted
// is done, and the backend says so, or that it cannot tell
// (remote.ErrAmbiguous), or that a retry found it done (a
// *remote.NotDoneError).
func testLostRename(e *env) {
	x := e.file(e.folder("", "LostRename"), "x.txt", []byte("x"))
	before := e.active()
	e.Fake.CutNext(OpRename)
	err := e.Backend.Rename(e.ctx, x, "cut-renamed.txt")
	var nd *remote.NotDoneError
	if err != nil && !errors.Is(err, remote.ErrAmbiguous) && !(errors.As(err, &nd) && e.item(x).Name == "cut-renamed.txt") {
		e.refused(OpRename, err, before)
		return
	}
	if got := e.item(x); got.Name != "cut-renamed.txt" || got.Status != Active {
		e.t.Errorf("a rename whose answer was lost: the service holds %+v", got)
	}
}

// testLostRemove: a removal whose answer was lost after the service
// acted is done, and the backend says so, or that it cannot tell, or
// that a retry found the item gone (a *remote.NotDoneError naming it).
func testLostRemove(e *env) {
	y := e.file(e.folder("", "LostRemove"), "y.txt", []byte("y"))
	permanent := !e.caps.Trash
	if permanent && !e.caps.Permanent {
		e.t.Skip("the backend removes nothing (no Caps.Trash, no Caps.Permanent)")
	}
	before := e.active()
	e.Fake.CutNext(OpRemove)
	err := e.Backend.Remove(e.ctx, []string{y}, permanent)
	var nd *remote.NotDoneError
	if err != nil && !errors.Is(err, remote.ErrAmbiguous) && !(errors.As(err, &nd) && slices.Equal(nd.IDs, []string{y})) {
		e.refused(OpRemove, err, before)
		return
	}
	if e.item(y).Status == Active {
		e.t.Errorf("a removal whose answer was lost: %s is still active", y)
	}
}

// testErrorKinds: calls on items the service no longer holds fail as
// remote.ErrNotFound (a rename may say NotDone), and the service's
// answer is an *remote.Error.
func testErrorKinds(e *env) {
	home := e.folder("", "Errors")
	data := pattern("gone", 100)
	goneFile := e.listedFile(home, e.file(home, "gone.txt", data))
	goneFolder := e.folder(home, "GoneFolder")
	e.Fake.Remove(goneFile.ID)
	e.Fake.Remove(goneFolder)
	notFound := func(what string, err error) {
		e.t.Helper()
		var apiErr *remote.Error
		if !errors.Is(err, remote.ErrNotFound) {
			e.t.Errorf("%s: %v, want ErrNotFound", what, err)
		} else if !errors.As(err, &apiErr) {
			e.t.Errorf("%s: %v is no *remote.Error", what, err)
		}
	}
	_, err := e.read(ref(goneFile), 0, 10)
	notFound("reading a removed file", err)
	_, err = e.Backend.Stat(e.ctx, ref(goneFile))
	notFound("Stat of a removed file", err)

	before := e.active()
	_, err = e.Backend.CreateFolder(e.ctx, goneFolder, "Inside")
	notFound("a folder made in a removed folder", err)
	_, err = e.upload(goneFolder, "inside.txt", data)
	notFound("an upload into a removed folder", err)
	e.unchanged("creates into a removed folder", before)

	items, err := e.list(remote.ListQuery{ParentID: goneFolder})
	if err != nil {
		notFound("listing a removed folder", err)
	} else if len(items) != 0 {
		e.t.Errorf("listing a removed folder: %d items", len(items))
	}

	err = e.Backend.Rename(e.ctx, goneFile.ID, "back.txt")
	var nd *remote.NotDoneError
	switch {
	case errors.As(err, &nd):
	case errors.Is(err, remote.ErrNotFound):
		notFound("renaming a removed file", err)
	default:
		e.refused(OpRename, err, before)
		if err == nil {
			e.t.Errorf("renaming a removed file: no error")
		}
	}
	e.unchanged("renaming a removed file", before)
}

// testVersions: a file uploaded three times under one name lists its
// versions, the oldest first, each with its Rev, a number that grows, its
// size, and the last alone current; an old version reads back by its Rev;
// removing one removes it alone, the numbers of the others kept; the
// current one is refused (remote.ErrBusy) and nothing changes; a version
// or a file gone is remote.ErrNotFound. Without Caps.Versions both calls
// are remote.ErrNotSupported.
func testVersions(e *env) {
	home := e.folder("", "Versions")
	if !e.caps.Versions {
		id := e.file(home, "doc.txt", pattern("only", 100))
		_, err := e.Backend.Versions(e.ctx, id)
		if !errors.Is(err, remote.ErrNotSupported) {
			e.t.Errorf("Versions without Caps.Versions: %v, want ErrNotSupported", err)
		}
		if err := e.Backend.RemoveVersion(e.ctx, id, e.item(id).Rev); !errors.Is(err, remote.ErrNotSupported) {
			e.t.Errorf("RemoveVersion without Caps.Versions: %v, want ErrNotSupported", err)
		}
		return
	}
	data := [][]byte{pattern("v1", 300), pattern("v2", 500), pattern("v3", 700)}
	var ups []remote.Item
	for i, d := range data {
		var exclude []string
		if i > 0 {
			exclude = []string{ups[0].ID, ups[0].URL}
		}
		before := e.active()
		it, err := e.upload(home, "doc.txt", d, exclude...)
		if e.refused(OpUpload, err, before) {
			return
		}
		if i > 0 && it.ID != ups[0].ID {
			e.t.Fatalf("upload %d onto doc.txt made file %s, want a version of %s", i+1, it.ID, ups[0].ID)
		}
		ups = append(ups, it)
		if i == 1 {
			// Two uploads of one name: two versions.
			e.checkVersions("after two uploads", it.ID, 1, ups, data[:2])
		}
	}
	id, first := ups[0].ID, 1
	if c := e.VersionCap; c > 0 && c < len(data) {
		// The service keeps the newest c: the older ones are gone.
		if c < 2 {
			e.t.Fatalf("a version cap of %d leaves no old version to read or remove", c)
		}
		first += len(data) - c
		ups, data = ups[len(ups)-c:], data[len(data)-c:]
	}
	vs := e.checkVersions("after three uploads", id, first, ups, data)
	last := len(vs) - 1
	old := remote.FileRef{ID: id, Rev: vs[0].Rev, URL: ups[last].URL}
	if got := e.readAll(old, len(data[0])); !bytes.Equal(got, data[0]) {
		e.t.Errorf("the oldest version read by its Rev: %d other bytes", len(got))
	}
	if got, err := e.read(old, 100, 50); err != nil || !bytes.Equal(got, data[0][100:150]) {
		e.t.Errorf("a range of the oldest version read by its Rev: %d other bytes, %v", len(got), err)
	}

	// The oldest one removed: it alone, the others keep their numbers.
	if err := e.Backend.RemoveVersion(e.ctx, id, vs[0].Rev); err != nil {
		e.t.Fatalf("removing the oldest version: %v", err)
	}
	// Where the removed version's bytes go (for good, or a trash) is the
	// service's business: the file keeps the others, and lists them.
	if it := e.item(id); it.Status != Active || it.Versions != last || it.Rev != vs[last].Rev {
		e.t.Errorf("after one version removed, the file is %+v; want active, %d versions, at %s", it, last, vs[last].Rev)
	}
	for i := 1; i <= last; i++ {
		if !bytes.Equal(e.content(id, vs[i].Rev), data[i]) {
			e.t.Errorf("version %d lost its bytes when version %d was removed", vs[i].Num, vs[0].Num)
		}
	}
	left, err := e.Backend.Versions(e.ctx, id)
	if err != nil {
		e.t.Fatalf("versions after one removed: %v", err)
	}
	kept := len(left) == last && left[last-1].Current
	for i := 0; kept && i < last; i++ {
		kept = left[i].Rev == vs[i+1].Rev && left[i].Num == vs[i+1].Num
	}
	if !kept {
		e.t.Errorf("versions after the oldest removed: %+v; want %+v, numbers kept", left, vs[1:])
	}

	// The current one: refused, nothing changed.
	before := e.active()
	if err := e.Backend.RemoveVersion(e.ctx, id, vs[last].Rev); !errors.Is(err, remote.ErrBusy) {
		e.t.Errorf("removing the current version: %v, want ErrBusy", err)
	}
	e.unchanged("removing the current version", before)
	if !bytes.Equal(e.content(id, vs[1].Rev), data[1]) || !bytes.Equal(e.content(id, ""), data[last]) {
		e.t.Errorf("a refused removal of the current version changed the file's bytes")
	}

	// Gone: the version, then the file.
	if err := e.Backend.RemoveVersion(e.ctx, id, vs[0].Rev); !errors.Is(err, remote.ErrNotFound) {
		e.t.Errorf("removing a version removed already: %v, want ErrNotFound", err)
	}
	e.Fake.Remove(id)
	if _, err := e.Backend.Versions(e.ctx, id); !errors.Is(err, remote.ErrNotFound) {
		e.t.Errorf("versions of a removed file: %v, want ErrNotFound", err)
	}
	if err := e.Backend.RemoveVersion(e.ctx, id, vs[1].Rev); !errors.Is(err, remote.ErrNotFound) {
		e.t.Errorf("removing a version of a removed file: %v, want ErrNotFound", err)
	}
}

// checkVersions lists file id's versions and checks them against the
// uploads that made them (ups, as answered) and their bytes: one each,
// in order, numbered upwards from first, sized, the last alone
// current, readable by Rev as the service holds them.
func (e *env) checkVersions(what, id string, first int, ups []remote.Item, data [][]byte) []remote.Version {
	e.t.Helper()
	vs, err := e.Backend.Versions(e.ctx, id)
	if err != nil {
		e.t.Fatalf("versions %s: %v", what, err)
	}
	if len(vs) != len(ups) {
		e.t.Fatalf("versions %s: %d (%+v), want %d", what, len(vs), vs, len(ups))
	}
	for i, v := range vs {
		switch {
		case v.Rev != ups[i].Rev:
			e.t.Errorf("versions %s: #%d is %q, the upload made %q", what, i+1, v.Rev, ups[i].Rev)
		case v.Num < 1 || (i > 0 && v.Num <= vs[i-1].Num):
			e.t.Errorf("versions %s: #%d numbered %d after %+v", what, i+1, v.Num, vs[max(i-1, 0)])
		case v.Size >= 0 && v.Size != int64(len(data[i])):
			e.t.Errorf("versions %s: #%d of %d bytes, want %d", what, i+1, v.Size, len(data[i]))
		case v.Current != (i == len(vs)-1):
			e.t.Errorf("versions %s: #%d current %v", what, i+1, v.Current)
		case !bytes.Equal(e.content(id, v.Rev), data[i]):
			e.t.Errorf("versions %s: the service holds other bytes under #%d's Rev", what, i+1)
		}
	}
	if vs[0].Num != first {
		e.t.Errorf("versions %s: the first is numbered %d, want %d", what, vs[0].Num, first)
	}
	return vs
}
