package ocmtest_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
)

// TestParseQuirks: every known quirk is taken; version-cap and page-cap
// need a whole number of 1 or more; anything else is refused.
func TestParseQuirks(t *testing.T) {
	for _, q := range ocmtest.KnownQuirks() {
		q = strings.Replace(q, "=N", "=3", 1)
		if _, err := ocmtest.New(ocmtest.Options{Quirks: []string{q}}); err != nil {
			t.Errorf("quirk %s: %v", q, err)
		}
	}
	for _, q := range []string{"version-cap", "version-cap=0", "version-cap=x", "page-cap=N", "page-cap=-1", "error-in-200=1", "nope"} {
		if _, err := ocmtest.New(ocmtest.Options{Quirks: []string{q}}); err == nil {
			t.Errorf("quirk %q taken", q)
		}
	}
	s, _ := ocmtest.New(ocmtest.Options{})
	if err := s.SetQuirks([]string{"version-cap=2", ocmtest.QuirkHomeGUID}); err != nil || !slices.Equal(s.Quirks(), []string{"version-cap=2", "home-guid"}) {
		t.Errorf("SetQuirks: %v %v", err, s.Quirks())
	}
}

// quirkIf is the fake's options with quirk q on, or none.
func quirkIf(on bool, q string) ocmtest.Options {
	if !on {
		return ocmtest.Options{}
	}
	return ocmtest.Options{Quirks: []string{q}}
}

// threeVersions is a file of three versions in the home folder.
func threeVersions(e *env) string {
	id := e.s.AddFile("", "v.txt", []byte("1"))
	e.s.AddFile("", "v.txt", []byte("22"))
	e.s.AddFile("", "v.txt", []byte("333"))
	return id
}

// TestQuirkDeleteLatestOnly: a DELETE without a version removes only the
// latest version, the previous one current; without the quirk, the whole
// file goes.
func TestQuirkDeleteLatestOnly(t *testing.T) {
	for _, on := range []bool{false, true} {
		e := start(t, quirkIf(on, ocmtest.QuirkDeleteLatestOnly))
		id := threeVersions(e)
		e.expect(e.send(http.MethodDelete, "files/"+id, ""), 200, "0")
		it, _ := e.s.Item(id)
		switch {
		case on && (it.Trashed || fmt.Sprint(it.Versions) != "[1 2]" || it.Size != 2):
			t.Errorf("delete-latest-only: %+v, want versions 1 and 2 left, 2 current", it)
		case !on && !it.Trashed:
			t.Errorf("default: %+v, want the file trashed", it)
		}
		if on {
			if a := e.get("files/" + id); a.str("version") != "2" {
				t.Errorf("the file after a delete-latest-only: %s", a.raw)
			}
			e.expect(e.send(http.MethodDelete, "files/"+id, ""), 200, "0")
			e.expect(e.send(http.MethodDelete, "files/"+id, ""), 200, "0")
			if it, _ := e.s.Item(id); !it.Trashed {
				t.Errorf("three deletes left %+v", it)
			}
		}
	}
}

// TestQuirkDeleteVersionInQuery: the version is read from ?version=N
// only, the body's ignored; by default the reverse.
func TestQuirkDeleteVersionInQuery(t *testing.T) {
	e := start(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkDeleteVersionInQuery}})
	id := threeVersions(e)
	e.expect(e.send(http.MethodDelete, "files/"+id+"?version=1", ""), 200, "0")
	if it, _ := e.s.Item(id); fmt.Sprint(it.Versions) != "[2 3]" {
		t.Errorf("?version=1: %+v", it)
	}
	e.expect(e.send(http.MethodDelete, "files/"+id+"?version=2", `{"version":"3"}`), 200, "0")
	if it, _ := e.s.Item(id); fmt.Sprint(it.Versions) != "[3]" {
		t.Errorf("?version=2 with a body of 3: %+v", it)
	}
	e.expect(e.send(http.MethodDelete, "files/"+id, `{"version":"3"}`), 200, "0")
	if it, _ := e.s.Item(id); !it.Trashed {
		t.Errorf("a body version alone (ignored): %+v, want the file trashed", it)
	}
	e = start(t, ocmtest.Options{})
	id = threeVersions(e)
	e.expect(e.send(http.MethodDelete, "files/"+id+"?version=2", `{"version":3}`), 200, "0")
	if it, _ := e.s.Item(id); fmt.Sprint(it.Versions) != "[1 2]" {
		t.Errorf("default, a numeric body version 3 and ?version=2: %+v", it)
	}
}

// TestQuirkErrorIn200: failures answer 200, their errorCode negative;
// a 401 stays a 401.
func TestQuirkErrorIn200(t *testing.T) {
	e := start(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkErrorIn200}})
	e.expect(e.get("files/DNOSUCHFILE00000000000T0000000000100000001"), 200, ocmtest.CodeNotFound)
	id := e.s.AddFile("", "a.txt", []byte("abc"))
	e.expect(e.do(http.MethodGet, "files/"+id+"/data", nil, "Range", "bytes=10-"), 200, ocmtest.CodeRange)
	shared := e.s.AddFolder("", "s")
	tok := e.token
	e.token, e.link = "", e.s.AddLink(shared, ocmtest.RoleViewer, "c")
	e.expect(e.get("folders/"+shared+"/items"), 200, ocmtest.CodeAccessCode)
	e.link, e.token = "", "expired"
	if a := e.get("folders/self/items"); a.status != 401 {
		t.Errorf("a bad token under error-in-200: %d", a.status)
	}
	e.token = tok
	if a := e.get("files/" + id + "/data"); a.status != 200 || string(a.raw) != "abc" {
		t.Errorf("a good read: %d %q", a.status, a.raw)
	}
}

// TestQuirkUploadDupSuffix: an upload onto a taken name makes name(2),
// a new file; POST files/{id}/data still makes a version.
func TestQuirkUploadDupSuffix(t *testing.T) {
	e := start(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkUploadDupSuffix}})
	id := e.upload("self", "", "doc.txt", []byte("1")).str("id")
	for _, want := range []string{"Doc(2).txt", "doc(3).txt"} {
		name := strings.Replace(strings.Replace(want, "(2)", "", 1), "(3)", "", 1)
		a := e.upload("self", "", name, []byte("x"))
		if a.str("name") != want || a.str("id") == id || a.str("version") != "1" {
			t.Errorf("upload %s onto a taken name: %s, want %s", name, a.raw, want)
		}
	}
	if a := e.upload("", id, "doc.txt", []byte("2")); a.str("id") != id || a.str("version") != "2" {
		t.Errorf("a version upload: %s", a.raw)
	}
}

// TestQuirkMoveClashSuffix: a move onto a taken name lands as name(2).
func TestQuirkMoveClashSuffix(t *testing.T) {
	e := start(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkMoveClashSuffix}})
	dst := e.s.AddFolder("", "dst")
	e.s.AddFile(dst, "m.txt", []byte("there"))
	id := e.s.AddFile("", "M.txt", []byte("moved"))
	a := e.send(http.MethodPost, "files/"+id+"/move", fmt.Sprintf(`{"destinationID":%q}`, dst))
	e.expect(a, 200, "0")
	if a.str("name") != "M(2).txt" || a.str("id") != id || a.str("parentID") != dst {
		t.Errorf("move onto a taken name: %s", a.raw)
	}
	sub := e.s.AddFolder("", "sub")
	e.s.AddFolder(dst, "SUB")
	if a := e.send(http.MethodPost, "folders/"+sub+"/move", fmt.Sprintf(`{"destinationID":%q}`, dst)); a.str("name") != "sub(2)" {
		t.Errorf("folder move onto a taken name: %s", a.raw)
	}
}

// TestQuirkCaseRenameRefused: a case-only rename is a clash with itself.
func TestQuirkCaseRenameRefused(t *testing.T) {
	e := start(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkCaseRenameRefused}})
	id := e.s.AddFile("", "case.txt", []byte("c"))
	e.expect(e.send(http.MethodPut, "files/"+id, `{"name":"CASE.txt"}`), 409, ocmtest.CodeClash)
	e.expect(e.send(http.MethodPut, "files/"+id, `{"name":"case.txt"}`), 200, "0")
	e.expect(e.send(http.MethodPut, "files/"+id, `{"name":"other.txt"}`), 200, "0")
}

// TestQuirkVersionCap: version-cap=N keeps N versions, the oldest
// deleted; Options.VersionCap does the same.
func TestQuirkVersionCap(t *testing.T) {
	for _, o := range []ocmtest.Options{{Quirks: []string{"version-cap=2"}}, {VersionCap: 2}} {
		e := start(t, o)
		id := e.upload("self", "", "c.txt", []byte("1")).str("id")
		e.upload("", id, "c.txt", []byte("2"))
		a := e.upload("", id, "c.txt", []byte("3"))
		if a.str("version") != "3" {
			t.Errorf("third version: %s", a.raw)
		}
		v := e.get("files/" + id + "/versions")
		if len(v.items()) != 2 || v.items()[0]["version"] != "2" {
			t.Errorf("versions under a cap of 2: %s", v.raw)
		}
		e.expect(e.get("files/"+id+"/data?version=1"), 404, ocmtest.CodeNotFound)
	}
}

// TestQuirkHasMoreZeroAndPageCap: hasMore "0" on every page with an
// honest totalResults; page-cap=N answers N items whatever limit asks.
func TestQuirkHasMoreZeroAndPageCap(t *testing.T) {
	e := start(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkHasMoreZero, "page-cap=4"}})
	for i := range 10 {
		e.s.AddFile("", fmt.Sprintf("%02d", i), nil)
	}
	a := e.get("folders/self/items?limit=100")
	if a.str("hasMore") != "0" || a.str("totalResults") != "10" || a.str("count") != "4" || a.str("limit") != "4" {
		t.Errorf("page: %s", a.raw)
	}
	if a := e.get("folders/self/items?limit=100&offset=8"); a.str("count") != "2" || a.items()[0]["name"] != "08" {
		t.Errorf("last page: %s", a.raw)
	}
}

// TestQuirkFilterIgnoresCase: filterName matches ignoring case.
func TestQuirkFilterIgnoresCase(t *testing.T) {
	e := start(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkFilterIgnoresCase}})
	e.s.AddFile("", "Report.PDF", []byte("r"))
	if a := e.get("folders/self/items?filterName=report.pdf"); a.str("count") != "1" || a.items()[0]["name"] != "Report.PDF" {
		t.Errorf("filterName ignoring case: %s", a.raw)
	}
}

// TestQuirkFilterIgnored: filterName is ignored: the whole folder,
// paged, whatever the filter; without the quirk, the exact match alone.
func TestQuirkFilterIgnored(t *testing.T) {
	for _, on := range []bool{false, true} {
		e := start(t, quirkIf(on, ocmtest.QuirkFilterIgnored))
		for i := range 5 {
			e.s.AddFile("", fmt.Sprintf("f%d.txt", i), []byte("x"))
		}
		a := e.get("folders/self/items?filterName=f3.txt&limit=2&offset=2")
		switch {
		case on && (a.str("totalResults") != "5" || a.str("count") != "2" || a.str("hasMore") != "1" || a.items()[0]["name"] != "f2.txt"):
			t.Errorf("filter-ignored: %s, want f2.txt and f3.txt of 5", a.raw)
		case !on && (a.str("totalResults") != "1" || a.str("count") != "0"):
			t.Errorf("default, offset past the one match: %s", a.raw)
		}
		if a := e.get("folders/self/items?filterName=none.txt"); !on && a.str("totalResults") != "0" || on && a.str("totalResults") != "5" {
			t.Errorf("on %v: a filter matching nothing: %s", on, a.raw)
		}
	}
}

// TestQuirkHomeGUID: the home folder is written by its GUID; self still
// names it.
func TestQuirkHomeGUID(t *testing.T) {
	e := start(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkHomeGUID}})
	guid := e.s.HomeGUID()
	if e.s.HomeID() != guid || !strings.HasPrefix(guid, "F") {
		t.Fatalf("HomeID %s, GUID %s", e.s.HomeID(), guid)
	}
	e.s.AddFile("", "h.txt", []byte("h"))
	if a := e.get("folders/self/items"); a.str("id") != guid || a.items()[0]["parentID"] != guid {
		t.Errorf("home listing: %s", a.raw)
	}
	if a := e.get("folders/" + guid + "/items"); a.str("totalResults") != "1" {
		t.Errorf("listing by the GUID: %s", a.raw)
	}
	if a := e.get("folders/self"); a.str("id") != guid {
		t.Errorf("GET folders/self: %s", a.raw)
	}
}

// TestQuirkStrictNames: Windows' reserved characters are refused; by
// default only / and \ are.
func TestQuirkStrictNames(t *testing.T) {
	for _, strict := range []bool{false, true} {
		e := start(t, quirkIf(strict, ocmtest.QuirkStrictNames))
		want := 200
		if strict {
			want = 400
		}
		if a := e.upload("self", "", `what?.txt`, []byte("q")); a.status != want {
			t.Errorf("strict %v: a name with ?: %d", strict, a.status)
		}
		if a := e.send(http.MethodPost, "folders/self", `{"name":"a:b"}`); a.status != want {
			t.Errorf("strict %v: a folder with ':': %d", strict, a.status)
		}
		e.expect(e.upload("self", "", `back\slash`, []byte("q")), 400, ocmtest.CodeBadRequest)
	}
}

// TestQuirkTrashVisible: under trash-visible, GET files/{id}, its
// versions and GET folders/{id} answer a trashed item (and a file below
// a trashed folder) as a live one, its old parentID and no marker;
// listings, bytes and changes do not see it. Off, all of them are 404.
func TestQuirkTrashVisible(t *testing.T) {
	for _, on := range []bool{false, true} {
		e := start(t, quirkIf(on, ocmtest.QuirkTrashVisible))
		dir := e.s.AddFolder("", "dir")
		in := e.s.AddFile(dir, "in.txt", []byte("inside"))
		id := threeVersions(e)
		e.expect(e.send(http.MethodDelete, "files/"+id, ""), 200, "0")
		e.expect(e.send(http.MethodDelete, "folders/"+dir, ""), 200, "0")
		// Each read, and the parentID it must answer.
		shown := map[string]string{"files/" + id: "self", "files/" + id + "?version=2": "self", "files/" + id + "/versions": "self",
			"files/" + in: dir, "folders/" + dir: "self"}
		for path, parent := range shown {
			a := e.get(path)
			if !on {
				e.expect(a, 404, ocmtest.CodeNotFound)
				continue
			}
			e.expect(a, 200, "0")
			if a.str("parentID") != parent {
				t.Errorf("%s of a trashed item: parentID %q, want %q: %s", path, a.str("parentID"), parent, a.raw)
			}
			for _, marker := range []string{"trash", "Trash", "deleted"} {
				if strings.Contains(string(a.raw), marker) {
					t.Errorf("%s of a trashed item carries a marker %q: %s", path, marker, a.raw)
				}
			}
		}
		if on {
			if a := e.get("files/" + id + "/versions"); len(a.items()) != 3 {
				t.Errorf("versions of a trashed file: %s", a.raw)
			}
			if a := e.get("folders/" + dir); a.str("name") != "dir" || a.str("type") != "folder" {
				t.Errorf("a trashed folder: %s", a.raw)
			}
		}
		for _, a := range []answer{
			e.get("files/" + id + "/data"),
			e.get("folders/" + dir + "/items"),
			e.send(http.MethodPut, "files/"+id, `{"name":"back.txt"}`),
			e.send(http.MethodPost, "files/"+id+"/move", `{"destinationID":"self"}`),
			e.send(http.MethodPost, "files/"+id+"/copy", `{"destinationID":"self"}`),
			e.send(http.MethodDelete, "files/"+id, ""),
			e.send(http.MethodDelete, "folders/"+dir, ""),
			e.upload("", id, "v.txt", []byte("x")),
			e.upload(dir, "", "new.txt", []byte("x")),
		} {
			e.expect(a, 404, ocmtest.CodeNotFound)
		}
		if a := e.get("folders/self/items"); a.str("totalResults") != "0" {
			t.Errorf("on %v: the home listing shows the trash: %s", on, a.raw)
		}
		if it, _ := e.s.Item(id); !it.Trashed || it.Name != "v.txt" || len(it.Versions) != 3 {
			t.Errorf("on %v: a change reached a trashed file: %+v", on, it)
		}
	}
}
