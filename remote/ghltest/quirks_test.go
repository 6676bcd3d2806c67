package ghltest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQuirksParse(t *testing.T) {
	for _, bad := range [][]string{{"nope"}, {"clock-skew"}, {"clock-skew=soon"}, {"create-200=1"}, {"query-prefix", "query-exact"}} {
		if _, err := parseQuirks(bad); err == nil {
			t.Errorf("parseQuirks(%q) accepted", bad)
		}
	}
	q, err := parseQuirks([]string{"trash-listed", "clock-skew=-300s", "trash-listed"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.names, []string{"clock-skew=-5m0s", "trash-listed"}) || q.skew != -5*time.Minute {
		t.Fatalf("got %q, skew %v", q.names, q.skew)
	}
}

func TestQuirksControlEndpoint(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkCreate200}})
	var got quirksBody
	get(t, s.URL+"/_ghlfake/quirks", nil).expect(t, http.StatusOK).decode(t, &got)
	if !slices.Equal(got.Quirks, []string{QuirkCreate200}) {
		t.Fatalf("GET: %q", got.Quirks)
	}
	post := func(body string) resp {
		return s.testDo(t, req{method: http.MethodPost, path: "/_ghlfake/quirks", body: []byte(body), ctype: "application/json"})
	}
	post(`{"quirks": ["nope"]}`).expect(t, http.StatusBadRequest)
	if q := s.Quirks(); !slices.Equal(q, []string{QuirkCreate200}) {
		t.Fatalf("a refused POST changed the quirks: %q", q)
	}
	post(`{"quirks": ["root-lists-all", "clock-skew=5m"]}`).expect(t, http.StatusOK).decode(t, &got)
	if !slices.Equal(got.Quirks, []string{"clock-skew=5m0s", "root-lists-all"}) {
		t.Fatalf("POST: %q", got.Quirks)
	}
	post(`{"quirks": []}`).expect(t, http.StatusOK)
	if q := s.Quirks(); len(q) != 0 {
		t.Fatalf("an empty list left %q on", q)
	}
}

func TestQuirkTrashListed(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkTrashListed}})
	keep := s.AddFile("", "keep.txt", "", []byte("k"))
	gone := s.AddFile("", "gone.txt", "", []byte("g"))
	s.testDo(t, req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{
		"altType": "location", "altId": testLoc, "status": "trashed",
		"filesToBeDeleted": []map[string]string{{"_id": gone}},
	}}).expect(t, http.StatusOK)
	var out struct {
		Files []map[string]any `json:"files"`
	}
	s.testDo(t, req{path: "/medias/files", query: listQ("file", "", "limit", "10")}).expect(t, http.StatusOK).decode(t, &out)
	status := map[string]any{}
	for _, f := range out.Files {
		if f["deleted"] != false {
			t.Errorf("%v: deleted = %v, want false", f["name"], f["deleted"])
		}
		status[f["_id"].(string)] = f["status"]
	}
	if status[keep] != StatusActive || status[gone] != StatusTrashed || len(status) != 2 {
		t.Fatalf("statuses %v", status)
	}
}

func TestQuirkUnstableTies(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkUnstableTies}, Seed: "demo"})
	var folder string
	for _, it := range s.Items() {
		if it.Name == BulkImportFolder && it.Type == TypeFolder {
			folder = it.ID
		}
	}
	if folder == "" {
		t.Fatal("the demo seed under unstable-ties has no bulk import folder")
	}
	var firstPages []string
	seen := map[string]bool{}
	for range 5 {
		page := s.list(t, listQ("file", folder, "limit", "100"))
		if len(page) != 100 {
			t.Fatalf("page of %d", len(page))
		}
		firstPages = append(firstPages, strings.Join(names(page[:5]), ","))
		for _, it := range page {
			seen[it.ID] = true
			if it.CreatedAt != page[0].CreatedAt {
				t.Fatalf("bulk items differ in createdAt: %s, %s", it.CreatedAt, page[0].CreatedAt)
			}
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(firstPages)))) < 2 {
		t.Fatalf("five requests gave the same order: %q", firstPages[0])
	}
	if len(seen) <= 100 {
		t.Fatalf("five first pages held only %d distinct items", len(seen))
	}
}

func TestQuirkAnswers(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkUploadNoURL, QuirkCreate200, QuirkFolderNoID}})
	r := s.testDo(t, req{method: http.MethodPost, path: "/medias/folder", json: map[string]any{
		"altType": "location", "altId": testLoc, "name": "F"}}).expect(t, http.StatusOK)
	var folder map[string]any
	r.decode(t, &folder)
	if _, ok := folder["_id"]; ok || folder["name"] != "F" {
		t.Fatalf("folder answer %s", r.body)
	}
	up := s.upload(t, map[string]string{"name": "a.txt"}, formFile{"file", "a.txt", "text/plain", []byte("a")}).expect(t, http.StatusOK)
	var res map[string]any
	up.decode(t, &res)
	if len(res) != 1 || res["fileId"] == "" {
		t.Fatalf("upload answer %s", up.body)
	}
}

func TestQuirkRenameNotUpdated(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkRenameNotUpdated}})
	id := s.AddFile("", "a.txt", "", []byte("a"))
	r := s.testDo(t, req{method: http.MethodPost, path: "/medias/" + id, json: map[string]any{
		"altType": "location", "altId": testLoc, "name": "b.txt"}}).expect(t, http.StatusOK)
	if !strings.Contains(string(r.body), `"updated":false`) {
		t.Fatalf("answer %s", r.body)
	}
	r = s.testDo(t, req{method: http.MethodPut, path: "/medias/update-files", json: map[string]any{
		"altType": "location", "altId": testLoc, "filesToBeUpdated": []map[string]string{{"id": id, "name": "c.txt"}}}}).expect(t, http.StatusOK)
	if !strings.Contains(string(r.body), `"updated":false`) {
		t.Fatalf("bulk answer %s", r.body)
	}
	if it, _ := s.Item(id); it.Name != "a.txt" {
		t.Fatalf("renamed to %q", it.Name)
	}
}

func TestQuirkRoots(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkRootParentLocation, QuirkRootListsAll}})
	f := s.AddFolder("", "F")
	s.AddFile("", "top.txt", "", []byte("t"))
	s.AddFile(f, "inner.txt", "", []byte("i"))
	root := s.list(t, listQ("file", "", "limit", "10"))
	if got := names(root); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"inner.txt", "top.txt"}) {
		t.Fatalf("root listing %q", got)
	}
	for _, it := range root {
		if it.Name == "top.txt" && (it.ParentID == nil || *it.ParentID != testLoc) {
			t.Fatalf("root item's parentId %v", it.ParentID)
		}
	}
	if got := names(s.list(t, listQ("file", testLoc, "limit", "10"))); !slices.Equal(got, []string{"top.txt"}) {
		t.Fatalf("listing of parentId=location: %q", got)
	}
}

func TestQuirkLimitMax100(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkLimitMax100}, PageCap: 500})
	r := s.testDo(t, req{path: "/medias/files", query: listQ("file", "", "limit", "101")}).expect(t, http.StatusUnprocessableEntity)
	if !strings.Contains(string(r.body), "limit must not be greater than 100") {
		t.Fatalf("body %s", r.body)
	}
	s.list(t, listQ("file", "", "limit", "100"))
}

func TestQuirkQueries(t *testing.T) {
	names := []string{"logo (1).png", "Logo.png", "my logo.png", "a+b.txt"}
	for _, c := range []struct {
		quirk, query string
		want         []string
		status       int
	}{
		{"", "logo", []string{"Logo.png", "logo (1).png", "my logo.png"}, 200},
		{QuirkQueryPrefix, "logo", []string{"Logo.png", "logo (1).png"}, 200},
		{QuirkQueryExact, "Logo.png", []string{"Logo.png"}, 200},
		{QuirkQueryExact, "logo", nil, 200},
		{QuirkQueryRegex, "logo (1).png", nil, 200}, // ( ) group: matches "logo 1.png"
		{QuirkQueryRegex, "a+b.txt", nil, 200},
		{QuirkQueryRegex, "logo (1", nil, 500},
	} {
		t.Run(fmt.Sprintf("%s %q", c.quirk, c.query), func(t *testing.T) {
			var q []string
			if c.quirk != "" {
				q = []string{c.quirk}
			}
			s := start(t, Options{Quirks: q})
			for _, n := range names {
				s.AddFile("", n, "", []byte(n))
			}
			r := s.testDo(t, req{path: "/medias/files", query: listQ("file", "", "limit", "10", "query", c.query)})
			r.expect(t, c.status)
			if c.status != 200 {
				return
			}
			var out struct {
				Files []wireItem `json:"files"`
			}
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
			got := make([]string, 0)
			for _, it := range out.Files {
				got = append(got, it.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, append([]string{}, c.want...)) && !(len(got) == 0 && len(c.want) == 0) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestQuirkParentIgnored(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkParentIgnored}})
	f := s.AddFolder("", "F")
	var folder wireItem
	s.testDo(t, req{method: http.MethodPost, path: "/medias/folder", json: map[string]any{
		"altType": "location", "altId": testLoc, "name": "sub", "parentId": f}}).expect(t, http.StatusCreated).decode(t, &folder)
	var up struct {
		FileID string `json:"fileId"`
	}
	s.upload(t, map[string]string{"name": "a.txt", "parentId": f}, formFile{"file", "a.txt", "", []byte("a")}).expect(t, http.StatusCreated).decode(t, &up)
	for _, id := range []string{folder.ID, up.FileID} {
		if it, _ := s.Item(id); it.ParentID != "" {
			t.Errorf("%s landed in %q, want the root", it.Name, it.ParentID)
		}
	}
	// An unknown parent is still refused.
	s.upload(t, map[string]string{"name": "b.txt", "parentId": "0123456789abcdef01234567"}, formFile{"file", "b.txt", "", []byte("b")}).expect(t, http.StatusNotFound)
}

func TestQuirkClockSkew(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Quirks: []string{"clock-skew=-5m"}, Now: clock.Now})
	id := s.AddFile("", "a.txt", "", []byte("a"))
	it, _ := s.Item(id)
	if want := clock.Now().Add(-5 * time.Minute); !it.CreatedAt.Equal(want) {
		t.Fatalf("createdAt %v, want %v", it.CreatedAt, want)
	}
	r := s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, http.StatusOK)
	d, err := http.ParseTime(r.header.Get("Date"))
	if err != nil || !d.Equal(clock.Now().Add(-5*time.Minute)) {
		t.Fatalf("Date %q (%v)", r.header.Get("Date"), err)
	}
}

// upload-needs-alt: parentId places an upload only beside altId and
// altType; without them the file lands in the root, with success.
func TestQuirkUploadNeedsAlt(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkUploadNeedsAlt}})
	f := s.AddFolder("", "F")
	alt := map[string]string{"altId": testLoc, "altType": "location"}
	for _, c := range []struct {
		fields map[string]string
		want   string
	}{
		{map[string]string{"name": "with.txt", "parentId": f, "altId": testLoc, "altType": "location"}, f},
		{map[string]string{"name": "without.txt", "parentId": f}, ""},
		{map[string]string{"name": "no-type.txt", "parentId": f, "altId": testLoc}, ""},
		{map[string]string{"name": "no-id.txt", "parentId": f, "altType": "location"}, ""},
	} {
		var up struct {
			FileID string `json:"fileId"`
		}
		s.upload(t, c.fields, formFile{"file", c.fields["name"], "text/plain", []byte("x")}).expect(t, http.StatusCreated).decode(t, &up)
		if it, _ := s.Item(up.FileID); it.ParentID != c.want {
			t.Errorf("%s landed in %q, want %q", it.Name, it.ParentID, c.want)
		}
	}
	// An unknown parent is still refused, and wrong values still are.
	s.upload(t, map[string]string{"name": "b.txt", "parentId": "0123456789abcdef01234567"}, formFile{"file", "b.txt", "", []byte("b")}).expect(t, http.StatusNotFound)
	alt["altId"] = "other"
	s.upload(t, alt, formFile{"file", "c.txt", "", []byte("c")}).expect(t, http.StatusForbidden)
}

// type-allowlist: a file part outside the list is refused with 400
// INVALID_FILE_TYPE, before its size counts, and nothing is stored.
func TestQuirkTypeAllowlist(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkTypeAllowlist}})
	for _, c := range []struct {
		name, ctype string
		ok          bool
	}{
		{"a.png", "image/png", true},
		{"a.jpg", "image/jpeg", true},
		{"a.mp4", "video/mp4", true},
		{"a.mp3", "audio/mpeg", true},
		{"a.pdf", "application/pdf", true},
		{"a.txt", "text/plain; charset=utf-8", true},
		{"a.csv", "text/csv", true},
		{"a.bin", "application/octet-stream", false},
		{"a.m4a", "audio/mp4", false},
		{"a.m4a", "audio/x-m4a", false},
		{"a.avif", "image/avif", false},
	} {
		before := len(s.Items())
		r := s.upload(t, map[string]string{"name": c.name}, formFile{"file", c.name, c.ctype, []byte("x")})
		switch {
		case c.ok:
			r.expect(t, http.StatusCreated)
		default:
			r.expect(t, http.StatusBadRequest)
			if want := `{"statusCode":400,"message":"INVALID_FILE_TYPE","error":"Bad Request"}`; string(r.body) != want {
				t.Errorf("%s: body %s", c.ctype, r.body)
			}
			if len(s.Items()) != before {
				t.Errorf("%s: a refused upload stored something", c.ctype)
			}
		}
	}
	// Judged before the size: a file too large and of a refused type is
	// refused for its type.
	s.upload(t, nil, formFile{"file", "big.avif", "image/avif", make([]byte, MaxUploadSize+1)}).expect(t, http.StatusBadRequest)
}
