package ocm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ocm"
	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
)

// quirked starts a fake with quirks and a backend against it.
func quirked(t *testing.T, quirks ...string) (*ocmtest.Server, *ocm.Backend) {
	t.Helper()
	return start(t, ocmtest.Options{Quirks: nonEmpty(quirks...)}, ocm.Config{})
}

func nonEmpty(s ...string) []string {
	return slices.DeleteFunc(s, func(x string) bool { return x == "" })
}

// active is the items of the library outside the trash, by path.
func active(srv *ocmtest.Server) []string {
	var out []string
	for p := range srv.Tree() {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// versions is the numbers of the versions the fake keeps of id.
func versions(srv *ocmtest.Server, id string) []int {
	it, _ := srv.Item(id)
	return it.Versions
}

// TestRemoveEveryVersion: rm of a file of three versions leaves none of
// them showing, whether a DELETE removes the file or its latest version
// only (delete-latest-only): the backend deletes until the file is gone.
func TestRemoveEveryVersion(t *testing.T) {
	for _, c := range []struct {
		quirk   string
		deletes int
	}{{"", 1}, {ocmtest.QuirkDeleteLatestOnly, 3}} {
		srv, b := quirked(t, c.quirk)
		id := srv.AddFile("", "v.txt", []byte("one"))
		srv.AddFile("", "v.txt", []byte("two"))
		srv.AddFile("", "v.txt", []byte("three"))
		if err := b.Remove(context.Background(), []string{id}, false); err != nil {
			t.Fatalf("%q: removing a file of three versions: %v", c.quirk, err)
		}
		if it, _ := srv.Item(id); !it.Trashed {
			t.Errorf("%q: the file is not in the trash: %+v", c.quirk, it)
		}
		if n := srv.Calls(ocmtest.EndpointDeleteFile); n != c.deletes {
			t.Errorf("%q: %d deletes, want %d", c.quirk, n, c.deletes)
		}
		if got := active(srv); len(got) != 0 {
			t.Errorf("%q: left showing: %v", c.quirk, got)
		}
	}
}

// TestRemoveBounded: a service that answers every DELETE with success
// and keeps listing the file is asked at most once per version it has,
// then the removal fails: it never loops, and is never taken as done. One
// that still shows the file by its id but no longer lists it (the trash
// seen through GET files/{id}) has removed it.
func TestRemoveBounded(t *testing.T) {
	for _, listed := range []bool{true, false} {
		deletes := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			const file = `{"id":"D1","parentID":"self","type":"file","name":"a.txt","size":"3","version":"2"}`
			switch {
			case r.Method == http.MethodDelete:
				deletes++
				io.WriteString(w, `{"errorCode":"0","idList":"D1","type":"file"}`)
			case strings.HasSuffix(r.URL.Path, "/folders/self"):
				io.WriteString(w, `{"errorCode":"0","id":"self","type":"folder","name":"Home"}`)
			case strings.HasSuffix(r.URL.Path, "/items") && listed:
				io.WriteString(w, `{"errorCode":"0","hasMore":"0","items":[`+file+`]}`)
			case strings.HasSuffix(r.URL.Path, "/items"):
				io.WriteString(w, `{"errorCode":"0","hasMore":"0","items":[]}`)
			default:
				io.WriteString(w, file)
			}
		}))
		t.Cleanup(srv.Close)
		b, err := ocm.New(ocm.Config{APIURL: srv.URL, Token: "t", ClientOptions: remote.ClientOptions{RateLimit: -1}})
		if err != nil {
			t.Fatal(err)
		}
		err = b.Remove(context.Background(), []string{"D1"}, false)
		if listed && (err == nil || deletes != 3) {
			t.Errorf("a file that never goes: %v after %d deletes, want an error after 3", err, deletes)
		}
		if !listed && (err != nil || deletes != 1) {
			t.Errorf("a file its folder no longer lists: %v after %d deletes, want success after 1", err, deletes)
		}
	}
}

// TestRemoveVersion: one version goes, the file and its other versions
// stay, whether the service reads the version from the body or the
// query (delete-version-in-query); the current version is refused
// (ErrBusy) with nothing sent; a version not there is ErrNotFound.
func TestRemoveVersion(t *testing.T) {
	for _, q := range []string{"", ocmtest.QuirkDeleteVersionInQuery, ocmtest.QuirkErrorIn200} {
		srv, b := quirked(t, q)
		ctx := context.Background()
		id := srv.AddFile("", "v.txt", []byte("one"))
		srv.AddFile("", "v.txt", []byte("two"))
		srv.AddFile("", "v.txt", []byte("three"))
		vs, err := b.Versions(ctx, id)
		if err != nil || len(vs) != 3 || !vs[2].Current || vs[0].Current || vs[1].Num != 2 || vs[1].Size != 3 || vs[1].Rev != "2" {
			t.Fatalf("%q: versions %+v, %v", q, vs, err)
		}
		if err := b.RemoveVersion(ctx, id, "3"); !errors.Is(err, remote.ErrBusy) {
			t.Errorf("%q: removing the current version: %v, want ErrBusy", q, err)
		}
		if n := srv.Calls(ocmtest.EndpointDeleteFile); n != 0 {
			t.Errorf("%q: %d deletes sent for the current version", q, n)
		}
		if err := b.RemoveVersion(ctx, id, "2"); err != nil {
			t.Fatalf("%q: removing version 2: %v", q, err)
		}
		if got := versions(srv, id); !slices.Equal(got, []int{1, 3}) {
			t.Errorf("%q: versions kept %v, want [1 3]", q, got)
		}
		if err := b.RemoveVersion(ctx, id, "2"); !errors.Is(err, remote.ErrNotFound) {
			t.Errorf("%q: removing a version gone: %v, want ErrNotFound", q, err)
		}
		buf := make([]byte, 3)
		if n, err := b.ReadAt(ctx, remote.FileRef{ID: id, Rev: "1"}, [][]byte{buf}, 0); err != nil || string(buf[:n]) != "one" {
			t.Errorf("%q: version 1 after: %q, %v", q, buf[:n], err)
		}
	}
}

// TestRemoveVersionRemovedMore: a service that takes neither the
// query's version nor the body's removes the whole file, or its latest
// version: the backend says so as an error, never success.
func TestRemoveVersionRemovedMore(t *testing.T) {
	for _, q := range []string{"", ocmtest.QuirkDeleteLatestOnly} {
		fake, err := ocmtest.New(ocmtest.Options{Quirks: nonEmpty(q)})
		if err != nil {
			t.Fatal(err)
		}
		deaf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodDelete {
				io.Copy(io.Discard, r.Body)
				r.URL.RawQuery = ""
				r.Body, r.ContentLength = http.NoBody, 0
			}
			fake.ServeHTTP(w, r)
		}))
		t.Cleanup(deaf.Close)
		fake.SetAddr(strings.TrimPrefix(deaf.URL, "http://"))
		var logged bytes.Buffer
		b, err := ocm.New(ocm.Config{APIURL: deaf.URL, TokenURL: deaf.URL + ocmtest.TokenPath, ClientID: fake.ClientID(), ClientSecret: fake.ClientSecret(), Scope: fake.Scope(),
			ClientOptions: remote.ClientOptions{RateLimit: -1, Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))}})
		if err != nil {
			t.Fatal(err)
		}
		id := fake.AddFile("", "v.txt", []byte("one"))
		fake.AddFile("", "v.txt", []byte("two"))
		fake.AddFile("", "v.txt", []byte("three"))
		err = b.RemoveVersion(context.Background(), id, "1")
		if err == nil || !strings.Contains(err.Error(), "removed more than the version") {
			t.Errorf("%q: a service that removed more than version 1: %v, want that said", q, err)
		}
		// The error is the caller's to log, once, naming the file (the
		// filesystem's unlink): the backend adds no line of its own.
		if logged.Len() != 0 {
			t.Errorf("%q: the backend logged:\n%s", q, &logged)
		}
	}
}

// TestVersionCap: under an admin's cap of two versions, the file lists
// two, and an older version the service dropped reads as not found.
func TestVersionCap(t *testing.T) {
	srv, b := quirked(t, ocmtest.QuirkVersionCap+"=2")
	ctx := context.Background()
	up := func(data string) remote.Item {
		it, err := b.Upload(ctx, remote.Upload{Name: "c.txt", Size: int64(len(data)), Open: reader([]byte(data))})
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	first := up("one")
	up("two")
	last := up("three")
	if last.ID != first.ID || last.Rev != "3" {
		t.Errorf("the third upload: %s at %q, want %s at 3", last.ID, last.Rev, first.ID)
	}
	vs, err := b.Versions(ctx, first.ID)
	if err != nil || len(vs) != 2 || vs[0].Num != 2 || !vs[1].Current {
		t.Errorf("versions under a cap of 2: %+v, %v", vs, err)
	}
	if _, err := b.ReadAt(ctx, remote.FileRef{ID: first.ID, Rev: first.Rev}, [][]byte{make([]byte, 3)}, 0); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("reading a version the cap dropped: %v, want ErrNotFound", err)
	}
	if n := len(versions(srv, first.ID)); n != 2 {
		t.Errorf("the fake keeps %d versions", n)
	}
}

// TestCreateFolderSuffixed: a folder made onto a name another folder
// holds in another case (which the exact look-up cannot see) comes back
// as name(2): it is removed, and the creation is ErrExists.
func TestCreateFolderSuffixed(t *testing.T) {
	srv, b := quirked(t)
	srv.AddFolder("", "Made")
	_, err := b.CreateFolder(context.Background(), "", "made")
	if !errors.Is(err, remote.ErrExists) {
		t.Errorf("a folder made onto a name in another case: %v, want ErrExists", err)
	}
	if got := active(srv); !slices.Equal(got, []string{"Made"}) {
		t.Errorf("the library holds %v, want [Made]", got)
	}
}

// TestUploadSuffixed: a new upload onto a name a file holds in another
// case is a version of that file, its name kept, under the doc's
// behaviour and under upload-dup-suffix (whose name(2) is removed);
// onto a folder's name it is ErrExists.
func TestUploadSuffixed(t *testing.T) {
	for _, q := range []string{"", ocmtest.QuirkUploadDupSuffix} {
		srv, b := quirked(t, q)
		ctx := context.Background()
		id := srv.AddFile("", "doc.txt", []byte("one"))
		it, err := b.Upload(ctx, remote.Upload{Name: "DOC.TXT", Size: 3, Open: reader([]byte("two"))})
		if err != nil || it.ID != id || it.Name != "doc.txt" || it.Rev != "2" {
			t.Errorf("%q: an upload onto a name in another case: %+v, %v; want version 2 of %s", q, it, err, id)
		}
		if got := active(srv); !slices.Equal(got, []string{"doc.txt"}) {
			t.Errorf("%q: the library holds %v, want [doc.txt]", q, got)
		}
		srv.AddFolder("", "Dir")
		if _, err := b.Upload(ctx, remote.Upload{Name: "dir", Size: 1, Open: reader([]byte("x"))}); !errors.Is(err, remote.ErrExists) {
			t.Errorf("%q: an upload onto a folder's name: %v, want ErrExists", q, err)
		}
		if got := active(srv); !slices.Equal(got, []string{"Dir", "doc.txt"}) {
			t.Errorf("%q: the library holds %v, want [Dir doc.txt]", q, got)
		}
	}
}

// TestCaseRename: a rename changing only case is done, through a
// temporary name where the service refuses it (case-rename-refused),
// the id kept.
func TestCaseRename(t *testing.T) {
	for _, c := range []struct {
		quirk string
		puts  int
	}{{"", 1}, {ocmtest.QuirkCaseRenameRefused, 3}} {
		srv, b := quirked(t, c.quirk)
		id := srv.AddFile("", "a.txt", []byte("a"))
		if err := b.Rename(context.Background(), id, "A.txt"); err != nil {
			t.Errorf("%q: a case-only rename: %v", c.quirk, err)
		}
		if it, _ := srv.Item(id); it.Name != "A.txt" {
			t.Errorf("%q: the file is named %q", c.quirk, it.Name)
		}
		if n := srv.Calls(ocmtest.EndpointRenameFile); n != c.puts {
			t.Errorf("%q: %d renames sent, want %d", c.quirk, n, c.puts)
		}
	}
}

// TestMoveClash: a move onto a name the destination holds in another
// case (which the exact look-up cannot see) is ErrExists: refused by the
// service, or landed as name(2) (move-clash-suffix) and moved back.
func TestMoveClash(t *testing.T) {
	for _, q := range []string{"", ocmtest.QuirkMoveClashSuffix} {
		srv, b := quirked(t, q)
		src, dest := srv.AddFolder("", "Src"), srv.AddFolder("", "Dest")
		id := srv.AddFile(src, "a.txt", []byte("a"))
		srv.AddFile(dest, "A.TXT", []byte("other"))
		before := active(srv)
		if err := b.Move(context.Background(), id, dest, ""); !errors.Is(err, remote.ErrExists) {
			t.Errorf("%q: a move onto a name in another case: %v, want ErrExists", q, err)
		}
		if got := active(srv); !slices.Equal(got, before) {
			t.Errorf("%q: the library holds %v, want %v", q, got, before)
		}
	}
}

// TestMoveRenamedOldNameTaken: a move under a new name, into a folder
// that holds the item's old name in another case, lands under the new
// name: the item is renamed first, as where the old name is taken
// exactly. (Before: the exact look-up did not see "E", the move under
// the old name "e" was sent, and the service's 409 was the mount's EIO:
// fsrand write-back on OCM, op 1183; and where the source held the new
// name, the rename before the move was refused: op 1891.)
func TestMoveRenamedOldNameTaken(t *testing.T) {
	for _, folder := range []bool{false, true} {
		srv, b := quirked(t)
		src, dest := srv.AddFolder("", "Src"), srv.AddFolder("", "Dest")
		var id string
		if folder {
			id = srv.AddFolder(src, "e")
			srv.AddFolder(dest, "E")
		} else {
			id = srv.AddFile(src, "e.txt", []byte("mine"))
			srv.AddFile(dest, "E.TXT", []byte("theirs"))
		}
		// The new name is taken in the source (in another case): the
		// item goes through a temporary name.
		srv.AddFile(src, "B", []byte("stays"))
		if err := b.Move(context.Background(), id, dest, "b"); err != nil {
			t.Errorf("folder %v: a move under a free name: %v", folder, err)
		}
		if it, _ := srv.Item(id); it.ParentID != dest || it.Name != "b" {
			t.Errorf("folder %v: after the move: %+v", folder, it)
		}
		if n := len(srv.Tree()); n != 5 {
			t.Errorf("folder %v: the library holds %v", folder, srv.Tree())
		}
	}
}

// TestMoveLost: a move whose answer was cut is looked into: done, the
// id kept.
func TestMoveLost(t *testing.T) {
	srv, b := quirked(t)
	src, dest := srv.AddFolder("", "Src"), srv.AddFolder("", "Dest")
	id := srv.AddFile(src, "a.txt", []byte("a"))
	srv.CutNext(ocmtest.EndpointMoveFile)
	if err := b.Move(context.Background(), id, dest, "b.txt"); err != nil {
		t.Errorf("a move whose answer was cut: %v", err)
	}
	if it, _ := srv.Item(id); it.ParentID != dest || it.Name != "b.txt" {
		t.Errorf("after a move whose answer was cut: %+v", it)
	}
	if n := srv.Calls(ocmtest.EndpointMoveFile); n != 1 {
		t.Errorf("%d moves sent, want 1", n)
	}
}

// TestReadPinned: a read of the current version pins it (?version=), a
// read of an older version reads that one, and the token goes with
// every request to the API host.
func TestReadPinned(t *testing.T) {
	srv, b := quirked(t)
	ctx := context.Background()
	id := srv.AddFile("", "r.txt", []byte("first version"))
	srv.AddFile("", "r.txt", []byte("second version!"))
	read := func(rev string, n int) string {
		buf := make([]byte, n)
		got, err := b.ReadAt(ctx, remote.FileRef{ID: id, Rev: rev}, [][]byte{buf}, 0)
		if err != nil && err != io.EOF {
			t.Errorf("read of %q: %v", rev, err)
		}
		return string(buf[:got])
	}
	if got := read("", 40); got != "second version!" {
		t.Errorf("the current version reads %q", got)
	}
	if got := read("1", 40); got != "first version" {
		t.Errorf("version 1 reads %q", got)
	}
	if got := read("2", 6); got != "second" {
		t.Errorf("a range of version 2 reads %q", got)
	}
}

// TestHostileAnswers: what a server sends is bounded and checked: items
// of bad ids, names, sizes or versions are left out of a listing; a
// listing of more items than the bound fails; an error's message is cut
// and cleaned; a hasMore that is neither "0" nor "1" is no listing.
func TestHostileAnswers(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/folders/self") {
			io.WriteString(w, `{"errorCode":"0","id":"self","type":"folder","name":"Home"}`)
			return
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	b, err := ocm.New(ocm.Config{APIURL: srv.URL, Token: "t", ClientOptions: remote.ClientOptions{RateLimit: -1, MaxListItems: 8, RetryTimeout: 1}})
	if err != nil {
		t.Fatal(err)
	}
	list := func() ([]string, error) {
		var names []string
		err := b.List(context.Background(), remote.ListQuery{}, nil, func(it remote.Item) { names = append(names, it.Name) })
		return names, err
	}
	body = `{"errorCode":"0","hasMore":"0","items":[
		{"id":"D1","parentID":"self","type":"file","name":"good.txt","size":"3","version":"1"},
		{"id":"../D2","parentID":"self","type":"file","name":"bad-id.txt","size":"3","version":"1"},
		{"id":"D3","parentID":"self","type":"file","name":"a/b","size":"3","version":"1"},
		{"id":"D4","parentID":"self","type":"file","name":"neg.txt","size":"-3","version":"1"},
		{"id":"D5","parentID":"self","type":"file","name":"nover.txt","size":"3","version":"x1"},
		{"id":"D6","parentID":"F9","type":"file","name":"elsewhere.txt","size":"3","version":"1"},
		{"id":"D7","parentID":"self","type":"link","name":"odd","size":"3","version":"1"},
		{"id":"F1","parentID":"self","type":"folder","name":"Dir"}]}`
	if names, err := list(); err != nil || strings.Join(names, ",") != "good.txt,Dir" {
		t.Errorf("a listing of bad items: %v, %v; want [good.txt Dir]", names, err)
	}
	body = `{"errorCode":"0","hasMore":"maybe","items":[]}`
	if _, err := list(); err == nil {
		t.Errorf("hasMore \"maybe\" was taken")
	}
	body = `{"errorCode":"0","hasMore":"0","items":[` + strings.Repeat(`{"id":"F1","parentID":"self","type":"folder","name":"D"},`, 5) +
		`{"id":"F2","parentID":"self","type":"folder","name":"E"},{"id":"F3","parentID":"self","type":"folder","name":"F"},{"id":"F4","parentID":"self","type":"folder","name":"G"},{"id":"F5","parentID":"self","type":"folder","name":"H"}]}`
	if _, err := list(); !errors.Is(err, remote.ErrListTooLong) {
		t.Errorf("a listing over the bound: %v, want ErrListTooLong", err)
	}
	body = `{"errorCode":"-20","title":"denied\u0007` + strings.Repeat("x", 1000) + `"}`
	_, err = list()
	var e *remote.Error
	if !errors.Is(err, remote.ErrForbidden) || !errors.As(err, &e) || len(e.Message) > 310 || strings.ContainsRune(e.Message, 7) {
		t.Errorf("an error in a 200 with a long message: %v", err)
	}
}

// TestReserved: a file another user reserved takes no new version
// (ErrBusy), and its removal is not done, the service's reason named.
func TestReserved(t *testing.T) {
	for _, q := range []string{"", ocmtest.QuirkErrorIn200} {
		srv, b := quirked(t, q)
		ctx := context.Background()
		id := srv.AddFile("", "r.txt", []byte("one"))
		srv.Reserve(id, "someone.else@example.com")
		_, err := b.Upload(ctx, remote.Upload{Name: "r.txt", Into: id, Size: 3, Open: reader([]byte("two"))})
		if !errors.Is(err, remote.ErrBusy) {
			t.Errorf("%q: an upload onto a file another user reserved: %v, want ErrBusy", q, err)
		}
		var nd *remote.NotDoneError
		if err := b.Remove(ctx, []string{id}, false); !errors.As(err, &nd) || !strings.Contains(nd.Reason(id), "reserved") {
			t.Errorf("%q: removing a file another user reserved: %v, want it not done, the reason named", q, err)
		}
		if got := versions(srv, id); len(got) != 1 {
			t.Errorf("%q: the reserved file has versions %v", q, got)
		}
	}
}

// TestRootOnce: the root's own id is asked once (GET folders/self),
// whether the service writes the home folder as "self" or by its GUID
// (home-guid); its items are handed on as the root's ("").
func TestRootOnce(t *testing.T) {
	for _, q := range []string{"", ocmtest.QuirkHomeGUID} {
		srv, b := quirked(t, q)
		srv.AddFile("", "a.txt", []byte("a"))
		for range 3 {
			var got []remote.Item
			if err := b.List(context.Background(), remote.ListQuery{}, nil, func(it remote.Item) { got = append(got, it) }); err != nil || len(got) != 1 || got[0].ParentID != "" {
				t.Fatalf("%q: the root lists %+v, %v", q, got, err)
			}
		}
		if n := srv.Calls(ocmtest.EndpointFolder); n != 1 {
			t.Errorf("%q: the root's folder asked %d times for 3 listings, want once", q, n)
		}
	}
}

// TestTrashVisible: a file another client removed is gone to every call
// of the backend, whether the service hides the trash from GET
// files/{id} or shows it there (trash-visible): Stat and Confirm are
// ErrNotFound, a rename or a move of it is not done, its removal names
// it missing, and an upload that meant to add a version to it makes a
// new file under the name instead (the trashed one untouched). A live
// file's removal is one DELETE.
func TestTrashVisible(t *testing.T) {
	for _, q := range []string{"", ocmtest.QuirkTrashVisible} {
		srv, b := quirked(t, q)
		ctx := context.Background()
		dir := srv.AddFolder("", "D")
		other := srv.AddFolder("", "E")
		id := srv.AddFile(dir, "a.txt", []byte("old bytes"))
		var listed remote.Item
		if err := b.List(ctx, remote.ListQuery{ParentID: dir}, nil, func(it remote.Item) { listed = it }); err != nil || listed.ID != id {
			t.Fatalf("%q: listing: %+v, %v", q, listed, err)
		}
		srv.Remove(id)
		notFound := func(what string, err error) {
			t.Helper()
			var e *remote.Error
			if !errors.Is(err, remote.ErrNotFound) || !errors.As(err, &e) {
				t.Errorf("%q: %s of a trashed file: %v, want ErrNotFound from the API", q, what, err)
			}
		}
		_, err := b.Stat(ctx, remote.FileRef{ID: id})
		notFound("Stat", err)
		_, err = b.Stat(ctx, remote.FileRef{ID: id, Rev: "1"})
		notFound("Stat of version 1", err)
		_, err = b.Confirm(ctx, listed, nil, nil)
		notFound("Confirm", err)
		_, err = b.ReadAt(ctx, remote.FileRef{ID: id, Rev: listed.Rev}, [][]byte{make([]byte, 4)}, 0)
		notFound("a read", err)
		notFound("a rename", b.Rename(ctx, id, "b.txt"))
		notFound("a move", b.Move(ctx, id, other, ""))
		var nd *remote.NotDoneError
		if err := b.Remove(ctx, []string{id}, false); !errors.As(err, &nd) || len(nd.Missing) != 1 {
			t.Errorf("%q: removing a trashed file: %v, want it named missing", q, err)
		}
		if it, _ := srv.Item(id); !it.Trashed || it.Name != "a.txt" || it.ParentID != dir || it.Version != 1 {
			t.Errorf("%q: the trashed file changed: %+v", q, it)
		}

		up, err := b.Upload(ctx, remote.Upload{ParentID: dir, Name: "a.txt", Size: 9, Into: id, BaseRev: listed.Rev, Open: reader([]byte("new bytes"))})
		if err != nil || up.ID == id || up.Rev != "1" {
			t.Errorf("%q: an upload onto a file trashed meanwhile: %+v, %v; want a new file", q, up, err)
		}
		if it, ok := srv.ByPath("D/a.txt"); !ok || it.ID != up.ID {
			t.Errorf("%q: D/a.txt is %+v, %v; want the upload %s", q, it, ok, up.ID)
		}
		if b, _ := srv.Content(id, ""); string(b) != "old bytes" {
			t.Errorf("%q: the trashed file holds %q", q, b)
		}

		srv.ResetCalls()
		if err := b.Remove(ctx, []string{up.ID}, false); err != nil {
			t.Errorf("%q: removing a live file: %v", q, err)
		}
		if n := srv.Calls(ocmtest.EndpointDeleteFile); n != 1 {
			t.Errorf("%q: %d deletes for one live file, want 1", q, n)
		}
		if got := active(srv); !slices.Equal(got, []string{"D", "E"}) {
			t.Errorf("%q: the library holds %v", q, got)
		}
	}
}

// TestFilterIgnored: a service that ignores filterName (filter-ignored)
// answers a look-up with the whole folder: the backend finds the name
// in a folder of more pages than a look-up reads, takes no other name
// for it, and from then on reads the folder's listing at once (one
// wasted page in all). By default a look-up is one call.
func TestFilterIgnored(t *testing.T) {
	for _, q := range []string{"", ocmtest.QuirkFilterIgnored} {
		srv, b := quirked(t, q)
		ctx := context.Background()
		big := srv.AddFolder("", "Big")
		ids := map[string]string{}
		for i := range 12 * contractPage {
			name := fmt.Sprintf("f%03d.txt", i)
			ids[name] = srv.AddFile(big, name, []byte("v1"))
		}
		srv.ResetCalls()
		it, err := b.Upload(ctx, remote.Upload{ParentID: big, Name: "F077.TXT", Size: 2, Open: reader([]byte("v2"))})
		if err != nil || it.ID != ids["f077.txt"] || it.Name != "f077.txt" || it.Rev != "2" {
			t.Errorf("%q: an upload onto a name held in another case, page 8 of 12: %+v, %v; want version 2 of f077.txt", q, it, err)
		}
		first := srv.Calls(ocmtest.EndpointList)
		srv.ResetCalls()
		nu, err := b.Upload(ctx, remote.Upload{ParentID: big, Name: "new.txt", Size: 2, Open: reader([]byte("nu"))})
		if err != nil || nu.Name != "new.txt" || nu.Rev != "1" || slices.Contains(slices.Collect(maps.Values(ids)), nu.ID) {
			t.Errorf("%q: an upload of a name no file holds: %+v, %v; want a new file", q, nu, err)
		}
		second := srv.Calls(ocmtest.EndpointList)
		if err := b.Rename(ctx, ids["f000.txt"], "f119.txt"); !errors.Is(err, remote.ErrExists) {
			t.Errorf("%q: a rename onto a name on the last page: %v, want ErrExists", q, err)
		}
		if _, err := b.CreateFolder(ctx, big, "F002.txt"); !errors.Is(err, remote.ErrExists) {
			t.Errorf("%q: a folder made onto a file's name: %v, want ErrExists", q, err)
		}
		for name, id := range ids {
			if it, _ := srv.Item(id); it.Name != name || it.Version != map[bool]int{true: 2, false: 1}[name == "f077.txt"] {
				t.Errorf("%q: %s is now %+v", q, name, it)
			}
		}
		srv.ResetCalls()
		if err := b.List(ctx, remote.ListQuery{ParentID: big}, nil, func(remote.Item) {}); err != nil {
			t.Fatal(err)
		}
		whole := srv.Calls(ocmtest.EndpointList)
		if q == "" && (first != 1 || second != 1) || q != "" && (first != 1+whole || second != whole) {
			t.Errorf("%q: %d and %d listing calls for the first two look-ups, a listing of the folder %d", q, first, second, whole)
		}
	}
}

// TestMoveFailedRenamedBack: a move under a new name where the
// destination holds the old name renames the item first, in its folder;
// when the move then fails (after every attempt), the rename is undone:
// the move's error, nothing changed.
func TestMoveFailedRenamedBack(t *testing.T) {
	srv, b := quirked(t)
	src, dest := srv.AddFolder("", "Src"), srv.AddFolder("", "Dest")
	id := srv.AddFile(src, "a.txt", []byte("a"))
	srv.AddFile(dest, "a.txt", []byte("other"))
	before := active(srv)
	for range 20 {
		srv.FailNext(ocmtest.EndpointMoveFile)
	}
	if err := b.Move(context.Background(), id, dest, "b.txt"); err == nil {
		t.Fatal("a move answered 500 every time: no error")
	}
	if got := active(srv); !slices.Equal(got, before) {
		t.Errorf("the library holds %v, want %v", got, before)
	}
}
