package ghltest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHeaderChecks(t *testing.T) {
	s := start(t, Options{})
	okQuery := listQ("file", "")
	tests := []struct {
		name       string
		r          req
		status     int
		body       string // exact body, when not ""
		rateHeader bool   // X-RateLimit-* expected
	}{
		{
			name:   "no user agent",
			r:      req{path: "/medias/files", query: okQuery, headers: map[string]string{"User-Agent": "-"}},
			status: 403,
			body:   `{"statusCode":403,"message":"Forbidden","error":"Forbidden"}`,
		},
		{
			name:   "wrong token",
			r:      req{path: "/medias/files", query: okQuery, headers: map[string]string{"Authorization": "Bearer nope"}},
			status: 401,
			body:   `{"statusCode":401,"message":"Invalid token: access token is invalid","error":"Unauthorized"}`,
		},
		{
			name:   "no token",
			r:      req{path: "/medias/files", query: okQuery, headers: map[string]string{"Authorization": "-"}},
			status: 401,
			body:   `{"statusCode":401,"message":"Invalid token: access token is invalid","error":"Unauthorized"}`,
		},
		{
			name:   "token without Bearer",
			r:      req{path: "/medias/files", query: okQuery, headers: map[string]string{"Authorization": testToken}},
			status: 401,
		},
		{
			name:       "no version",
			r:          req{path: "/medias/files", query: okQuery, headers: map[string]string{"Version": "-"}},
			status:     400,
			body:       `{"statusCode":400,"message":"Invalid or missing Version header","error":"Bad Request"}`,
			rateHeader: true,
		},
		{
			name:       "wrong version",
			r:          req{path: "/medias/files", query: okQuery, headers: map[string]string{"Version": "2021-04-15"}},
			status:     400,
			rateHeader: true,
		},
		{
			name:       "version v3",
			r:          req{path: "/medias/files", query: okQuery, headers: map[string]string{"Version": "v3"}},
			status:     200,
			body:       `{"files":[]}`,
			rateHeader: true,
		},
		{
			name:       "other location",
			r:          req{path: "/medias/files", query: url.Values{"altType": {"location"}, "altId": {"other"}, "type": {"file"}, "sortBy": {"name"}, "sortOrder": {"asc"}}},
			status:     403,
			body:       `{"statusCode":403,"message":"The token does not have access to this location.","error":"Forbidden"}`,
			rateHeader: true,
		},
		{
			name:   "unknown path",
			r:      req{path: "/x"},
			status: 404,
			body:   `{"statusCode":404,"message":"Cannot GET /x","error":"Not Found"}`,
		},
		{
			name:   "wrong method",
			r:      req{method: http.MethodPatch, path: "/medias/files"},
			status: 404,
			body:   `{"statusCode":404,"message":"Cannot PATCH /medias/files","error":"Not Found"}`,
		},
		{
			name:       "unknown id",
			r:          req{method: http.MethodPost, path: "/medias/0123456789abcdef01234567", json: map[string]string{"name": "x", "altType": "location", "altId": testLoc}},
			status:     404,
			body:       `{"statusCode":404,"message":"Media not found","error":"Not Found"}`,
			rateHeader: true,
		},
		{
			name:       "bad JSON",
			r:          req{method: http.MethodPost, path: "/medias/folder", body: []byte(`{"name":`), ctype: "application/json"},
			status:     400,
			body:       `{"statusCode":400,"message":"Bad Request"}`,
			rateHeader: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.testDo(t, tt.r).expect(t, tt.status)
			if tt.body != "" && string(r.body) != tt.body {
				t.Errorf("body\n got %s\nwant %s", r.body, tt.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, h := range []string{"X-RateLimit-Max", "X-RateLimit-Remaining", "X-RateLimit-Interval-Milliseconds",
				"X-RateLimit-Limit-Daily", "X-RateLimit-Daily-Remaining", "X-RateLimit-Daily-Reset"} {
				if got := r.header.Get(h) != ""; got != tt.rateHeader {
					t.Errorf("%s present = %v, want %v", h, got, tt.rateHeader)
				}
			}
		})
	}
}

func TestValidation(t *testing.T) {
	s := start(t, Options{})
	folder := s.AddFolder("", "F")
	tests := []struct {
		name string
		r    req
		msgs []string
	}{
		{
			name: "list without anything",
			r:    req{path: "/medias/files"},
			msgs: []string{"altType should not be empty", "altId should not be empty", "type should not be empty",
				"sortBy should not be empty", "sortOrder should not be empty"},
		},
		{
			name: "list with bad values",
			r: req{path: "/medias/files", query: url.Values{"altType": {"company"}, "altId": {testLoc}, "type": {"files"},
				"sortBy": {"size"}, "sortOrder": {"up"}, "offset": {"x"}, "limit": {"-1"}, "fetchAll": {"yes"}}},
			msgs: []string{
				"altType must be one of the following values: location",
				"type must be one of the following values: file, folder",
				"sortBy must be one of the following values: createdAt, name, updatedAt",
				"sortOrder must be one of the following values: asc, desc",
				"offset must be a number string",
				"limit must be a number string",
				"fetchAll must be a boolean string",
			},
		},
		{
			name: "list with a misspelt parameter",
			r:    req{path: "/medias/files", query: listQ("file", "", "parentID", folder)},
			msgs: []string{"property parentID should not exist"},
		},
		{
			name: "create folder without name",
			r:    req{method: http.MethodPost, path: "/medias/folder", json: map[string]any{"altId": testLoc, "altType": "location"}},
			msgs: []string{"name should not be empty"},
		},
		{
			name: "create folder with a number as name",
			r:    req{method: http.MethodPost, path: "/medias/folder", json: map[string]any{"altId": testLoc, "altType": "location", "name": 3}},
			msgs: []string{"name must be a string"},
		},
		{
			name: "create folder sent as form",
			r:    req{method: http.MethodPost, path: "/medias/folder", body: []byte("name=x"), ctype: "application/x-www-form-urlencoded"},
			msgs: []string{"altId should not be empty", "altType should not be empty", "name should not be empty"},
		},
		{
			name: "rename with parentId",
			r: req{method: http.MethodPost, path: "/medias/" + folder,
				json: map[string]any{"altId": testLoc, "altType": "location", "name": "G", "parentId": folder}},
			msgs: []string{"property parentId should not exist"},
		},
		{
			name: "bulk update without items",
			r:    req{method: http.MethodPut, path: "/medias/update-files", json: map[string]any{"altId": testLoc, "altType": "location", "filesToBeUpdated": []any{}}},
			msgs: []string{"filesToBeUpdated should not be empty"},
		},
		{
			name: "bulk update with _id",
			r: req{method: http.MethodPut, path: "/medias/update-files", json: map[string]any{"altId": testLoc, "altType": "location",
				"filesToBeUpdated": []any{map[string]string{"_id": folder, "name": "G"}}}},
			msgs: []string{"filesToBeUpdated.0.property _id should not exist", "filesToBeUpdated.0.id should not be empty"},
		},
		{
			name: "bulk delete with id instead of _id",
			r: req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{"altId": testLoc, "altType": "location",
				"status": "trashed", "filesToBeDeleted": []any{map[string]string{"id": folder}}}},
			msgs: []string{"filesToBeDeleted.0.property id should not exist", "filesToBeDeleted.0._id should not be empty"},
		},
		{
			name: "bulk delete with a bad status",
			r: req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{"altId": testLoc, "altType": "location",
				"status": "gone", "filesToBeDeleted": []any{map[string]string{"_id": folder}}}},
			msgs: []string{"status must be one of the following values: deleted, trashed"},
		},
		{
			name: "delete without query",
			r:    req{method: http.MethodDelete, path: "/medias/" + folder},
			msgs: []string{"altType should not be empty", "altId should not be empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.testDo(t, tt.r).expect(t, 422)
			var body struct {
				StatusCode int      `json:"statusCode"`
				Message    []string `json:"message"`
				Error      string   `json:"error"`
			}
			r.decode(t, &body)
			if body.StatusCode != 422 || body.Error != "Unprocessable Entity" {
				t.Errorf("body %s", r.body)
			}
			if !slices.Equal(body.Message, tt.msgs) {
				t.Errorf("messages\n got %q\nwant %q", body.Message, tt.msgs)
			}
		})
	}
	if it, _ := s.Item(folder); it.Name != "F" || it.Status != StatusActive {
		t.Errorf("a refused request changed the folder: %+v", it)
	}
}

func TestListPaging(t *testing.T) {
	clock := newClock()
	s := start(t, Options{PageCap: 25, Now: clock.Now})
	dir := s.AddFolder("", "big")
	for i := range 257 {
		if i%3 == 0 {
			clock.Advance(time.Second) // some share a creation time
		}
		s.AddFile(dir, fmt.Sprintf("f%03d.txt", 256-i), "", []byte{byte(i)})
	}
	s.AddFile("", "at-root.txt", "", nil)
	var inDir []Item
	for _, it := range s.Items() {
		if it.ParentID == dir {
			inDir = append(inDir, it)
		}
	}
	slices.SortStableFunc(inDir, func(a, b Item) int { return a.CreatedAt.Compare(b.CreatedAt) }) // Items is sorted by id
	var want []string
	for _, it := range inDir {
		want = append(want, it.ID)
	}

	t.Run("pages of the cap, in creation order", func(t *testing.T) {
		got := s.listAll(t, listQ("file", dir), 100)
		var ids []string
		for _, it := range got {
			ids = append(ids, it.ID)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("paged listing: %d items, want %d in order", len(ids), len(want))
		}
	})
	t.Run("one page is capped", func(t *testing.T) {
		if n := len(s.list(t, listQ("file", dir, "limit", "100"))); n != 25 {
			t.Errorf("page of %d, want 25", n)
		}
		if n := len(s.list(t, listQ("file", dir))); n != 10 {
			t.Errorf("default page of %d, want 10", n)
		}
		if n := len(s.list(t, listQ("file", dir, "limit", "0"))); n != 25 {
			t.Errorf("limit 0: page of %d, want 25", n)
		}
		if n := len(s.list(t, listQ("file", dir, "offset", "250", "limit", "20"))); n != 7 {
			t.Errorf("last page of %d, want 7", n)
		}
		if n := len(s.list(t, listQ("file", dir, "offset", "99999999999999999999"))); n != 0 {
			t.Errorf("huge offset: %d items", n)
		}
	})
	t.Run("sorted by name descending, no loss across pages", func(t *testing.T) {
		q := listQ("file", dir)
		q.Set("sortBy", "name")
		q.Set("sortOrder", "desc")
		got := names(s.listAll(t, q, 7))
		if len(got) != 257 || !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Errorf("%d names, sorted descending: %v", len(got), slices.IsSorted(got))
		}
	})
}

func TestListSortSearchFetchAll(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	a := s.AddFolder("", "Alpha")
	clock.Advance(time.Second)
	b := s.AddFolder(a, "beta")
	clock.Advance(time.Second)
	s.AddFolder("", "Gamma")
	f1 := s.AddFile(a, "Report.PDF", "", []byte("1"))
	f2 := s.AddFile(a, "same", "", []byte("2")) // f1, f2, f3 share a time: ties go by id
	f3 := s.AddFile(a, "same", "", []byte("3"))
	clock.Advance(time.Second)
	s.AddFile(b, "deep report.txt", "", []byte("4"))
	s.AddFile("", "root.txt", "", []byte("5"))

	ids := func(items []wireItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	tests := []struct {
		name string
		q    url.Values
		want []string // names
	}{
		{"root folders", listQ("folder", ""), []string{"Alpha", "Gamma"}},
		{"empty parentId is the root", listQ("folder", "", "parentId", ""), []string{"Alpha", "Gamma"}},
		{"subfolder", listQ("folder", a), []string{"beta"}},
		{"files by name", listQ("file", a, "sortBy", "name"), []string{"Report.PDF", "same", "same"}},
		{"files by name desc", listQ("file", a, "sortBy", "name", "sortOrder", "desc"), []string{"same", "same", "Report.PDF"}},
		{"search is case-insensitive", listQ("file", a, "query", "report"), []string{"Report.PDF"}},
		{"fetchAll ignores parentId", listQ("file", b, "fetchAll", "true", "sortBy", "name", "limit", "100"),
			[]string{"Report.PDF", "deep report.txt", "root.txt", "same", "same"}},
		{"fetchAll with search", listQ("file", "", "fetchAll", "true", "query", "REPORT"), []string{"Report.PDF", "deep report.txt"}},
		{"fetchAll folders", listQ("folder", "", "fetchAll", "true"), []string{"Alpha", "beta", "Gamma"}},
		{"fetchAll false", listQ("folder", "", "fetchAll", "false"), []string{"Alpha", "Gamma"}},
		{"unknown parent", listQ("file", "0123456789abcdef01234567"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(s.list(t, tt.q)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("ties broken by id", func(t *testing.T) {
		got := ids(s.list(t, listQ("file", a)))
		want := []string{f1, f2, f3}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestItemJSON(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	dir := s.AddFolder("", "Pics")
	id := s.AddFile(dir, "cat.PNG", "", []byte("meow"))
	noExt := s.AddFile("", "Makefile", "", []byte("all:"))

	var raw struct {
		Files []map[string]any `json:"files"`
	}
	s.testDo(t, req{path: "/medias/files", query: listQ("folder", "")}).expect(t, 200).decode(t, &raw)
	wantFolder := map[string]any{
		"_id": dir, "name": "Pics", "type": "folder", "parentId": nil, "altId": testLoc, "altType": "location",
		"deleted": false, "createdAt": "2025-03-01T10:00:00.000Z", "updatedAt": "2025-03-01T10:00:00.000Z",
	}
	if len(raw.Files) != 1 || !jsonEqual(raw.Files[0], wantFolder) {
		t.Errorf("folder\n got %v\nwant %v", raw.Files, wantFolder)
	}

	s.testDo(t, req{path: "/medias/files", query: listQ("file", dir)}).expect(t, 200).decode(t, &raw)
	path := "msgsndr/" + testLoc + "/media/" + id + ".PNG"
	wantFile := map[string]any{
		"_id": id, "name": "cat.PNG", "type": "file", "parentId": dir, "url": s.URL + "/storage/" + path, "path": path,
		"altId": testLoc, "altType": "location", "contentType": "image/png", "size": 4.0, "deleted": false,
		"createdAt": "2025-03-01T10:00:00.000Z", "updatedAt": "2025-03-01T10:00:00.000Z",
	}
	if len(raw.Files) != 1 || !jsonEqual(raw.Files[0], wantFile) {
		t.Errorf("file\n got %v\nwant %v", raw.Files, wantFile)
	}
	if it, _ := s.Item(noExt); !strings.HasSuffix(it.URL, "/media/"+noExt) {
		t.Errorf("url of a name without extension: %s", it.URL)
	}

	idRE := regexp.MustCompile(`^[0-9a-f]{24}$`)
	for _, it := range s.Items() {
		if !idRE.MatchString(it.ID) {
			t.Errorf("id %q is not 24 lowercase hex digits", it.ID)
		}
		if want := fmt.Sprintf("%08x", it.CreatedAt.Unix()); it.ID[:8] != want {
			t.Errorf("id %s does not start with its creation time %s", it.ID, want)
		}
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestMinimalFields(t *testing.T) {
	s := start(t, Options{MinimalFields: true})
	dir := s.AddFolder("", "D")
	s.AddFile("", "a.txt", "", []byte("a"))
	s.AddFile(dir, "b.txt", "", []byte("b"))

	check := func(t *testing.T, q url.Values, wantParent bool) {
		t.Helper()
		var raw struct {
			Files []map[string]json.RawMessage `json:"files"`
		}
		s.testDo(t, req{path: "/medias/files", query: q}).expect(t, 200).decode(t, &raw)
		if len(raw.Files) != 1 {
			t.Fatalf("%d items", len(raw.Files))
		}
		it := raw.Files[0]
		for _, k := range []string{"size", "contentType", "createdAt", "updatedAt"} {
			if _, ok := it[k]; ok {
				t.Errorf("key %q present", k)
			}
		}
		if _, ok := it["parentId"]; ok != wantParent {
			t.Errorf("parentId present = %v, want %v", ok, wantParent)
		}
		for _, k := range []string{"_id", "name", "type", "altId", "altType", "deleted"} {
			if _, ok := it[k]; !ok {
				t.Errorf("key %q missing", k)
			}
		}
	}
	t.Run("root file", func(t *testing.T) { check(t, listQ("file", ""), false) })
	t.Run("nested file", func(t *testing.T) { check(t, listQ("file", dir), true) })
	t.Run("root folder", func(t *testing.T) { check(t, listQ("folder", ""), false) })
}

func TestCreateFolder(t *testing.T) {
	s := start(t, Options{})
	create := func(name, parent string) resp {
		body := map[string]any{"altId": testLoc, "altType": "location", "name": name}
		if parent != "" {
			body["parentId"] = parent
		}
		return s.testDo(t, req{method: http.MethodPost, path: "/medias/folder", json: body})
	}
	var top wireItem
	create("Top", "").expect(t, 201).decode(t, &top)
	if top.ID == "" || top.Name != "Top" || top.Type != "folder" || top.ParentID != nil || top.AltID != testLoc || top.CreatedAt == "" {
		t.Errorf("created folder %+v", top)
	}
	var sub wireItem
	create("Sub", top.ID).expect(t, 201).decode(t, &sub)
	if sub.ParentID == nil || *sub.ParentID != top.ID {
		t.Errorf("sub folder parent %v", sub.ParentID)
	}
	create("Sub", top.ID).expect(t, 201) // names are not unique
	if got := names(s.list(t, listQ("folder", top.ID))); !slices.Equal(got, []string{"Sub", "Sub"}) {
		t.Errorf("listing %q", got)
	}
	create("X", "0123456789abcdef01234567").expect(t, 404)
	file := s.AddFile("", "f.txt", "", nil)
	create("X", file).expect(t, 404) // a file is no parent
}

func TestRenameAndBulkUpdate(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now})
	dir := s.AddFolder("", "Old folder")
	f1 := s.AddFile(dir, "one.txt", "", []byte("1"))
	f2 := s.AddFile(dir, "two.txt", "", []byte("2"))
	clock.Advance(time.Minute)

	rename := func(id, name string) resp {
		return s.testDo(t, req{method: http.MethodPost, path: "/medias/" + id,
			json: map[string]string{"name": name, "altType": "location", "altId": testLoc}})
	}
	var out map[string]any
	rename(dir, "New folder").expect(t, 201).decode(t, &out)
	if out["updated"] != true || out["traceId"] == "" {
		t.Errorf("rename answer %v", out)
	}
	rename(f1, "uno.txt").expect(t, 201)
	if got := names(s.list(t, listQ("folder", ""))); !slices.Equal(got, []string{"New folder"}) {
		t.Errorf("folders %q", got)
	}
	items := s.list(t, listQ("file", dir))
	if got := names(items); !slices.Equal(got, []string{"uno.txt", "two.txt"}) {
		t.Errorf("files %q", got)
	}
	if items[0].UpdatedAt != "2025-03-01T10:01:00.000Z" || items[0].CreatedAt != "2025-03-01T10:00:00.000Z" {
		t.Errorf("times after rename: %s %s", items[0].CreatedAt, items[0].UpdatedAt)
	}
	if it, _ := s.Item(f1); !strings.HasSuffix(it.URL, f1+".txt") {
		t.Errorf("url changed with the name: %s", it.URL)
	}

	unknown := "0123456789abcdef01234567"
	var results []map[string]any
	s.testDo(t, req{method: http.MethodPut, path: "/medias/update-files", json: map[string]any{
		"altId": testLoc, "altType": "location",
		"filesToBeUpdated": []map[string]string{{"id": f2, "name": "dos.txt"}, {"id": unknown, "name": "x"}},
	}}).expect(t, 200).decode(t, &results)
	want := []map[string]any{{"updated": true, "id": f2}, {"updated": false, "id": unknown}}
	if !jsonEqual(results, want) {
		t.Errorf("bulk update answer %v, want %v", results, want)
	}
	if got := names(s.list(t, listQ("file", dir))); !slices.Equal(got, []string{"uno.txt", "dos.txt"}) {
		t.Errorf("files after bulk update %q", got)
	}
	rename(unknown, "x").expect(t, 404)
}

func TestDeleteAndTrash(t *testing.T) {
	s := start(t, Options{})
	a := s.AddFolder("", "A")
	aa := s.AddFolder(a, "AA")
	fa := s.AddFile(aa, "deep.txt", "", []byte("d"))
	b := s.AddFolder("", "B")
	fb := s.AddFile(b, "b.txt", "", []byte("b"))
	fc := s.AddFile("", "c.txt", "", []byte("c"))
	fd := s.AddFile("", "d.txt", "", []byte("d"))

	deleteOne := func(id string) resp {
		return s.testDo(t, req{method: http.MethodDelete, path: "/medias/" + id,
			query: url.Values{"altType": {"location"}, "altId": {testLoc}}})
	}
	var out map[string]any
	deleteOne(a).expect(t, 200).decode(t, &out)
	if out["success"] != true || out["traceId"] == "" {
		t.Errorf("delete answer %v", out)
	}
	for _, id := range []string{a, aa, fa} {
		if it, _ := s.Item(id); it.Status != StatusDeleted {
			t.Errorf("%s (%s) is %s after deleting its folder", id, it.Name, it.Status)
		}
	}
	deleteOne(a).expect(t, 404)
	if got := names(s.list(t, listQ("folder", "", "fetchAll", "true"))); !slices.Equal(got, []string{"B"}) {
		t.Errorf("folders after delete %q", got)
	}

	bulk := func(status string, ids ...string) resp {
		var items []map[string]string
		for _, id := range ids {
			items = append(items, map[string]string{"_id": id})
		}
		return s.testDo(t, req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{
			"altId": testLoc, "altType": "location", "status": status, "filesToBeDeleted": items}})
	}
	var results []map[string]any
	bulk("trashed", b, fb, fc, a).expect(t, 200).decode(t, &results)
	want := []map[string]any{{"deleted": true, "id": b}, {"deleted": true, "id": fb}, {"deleted": true, "id": fc}, {"deleted": false, "id": a}}
	if !jsonEqual(results, want) {
		t.Errorf("bulk trash answer %v, want %v", results, want)
	}
	for id, status := range map[string]string{b: StatusTrashed, fb: StatusTrashed, fc: StatusTrashed, fd: StatusActive} {
		if it, _ := s.Item(id); it.Status != status {
			t.Errorf("%s is %s, want %s", it.Name, it.Status, status)
		}
	}
	if got := names(s.list(t, listQ("file", "", "fetchAll", "true"))); !slices.Equal(got, []string{"d.txt"}) {
		t.Errorf("files after trash %q", got)
	}
	// Trashed items are gone for the API, but the trash can be emptied.
	s.testDo(t, req{method: http.MethodPost, path: "/medias/" + fc,
		json: map[string]string{"name": "x", "altType": "location", "altId": testLoc}}).expect(t, 404)
	bulk("deleted", fc, fd).expect(t, 200).decode(t, &results)
	if !jsonEqual(results, []map[string]any{{"deleted": true, "id": fc}, {"deleted": true, "id": fd}}) {
		t.Errorf("bulk delete answer %v", results)
	}
	if it, _ := s.Item(fc); it.Status != StatusDeleted {
		t.Errorf("emptied trash item is %s", it.Status)
	}
	if _, ok := s.Content(fc); !ok {
		t.Errorf("Content of a deleted file is gone for tests")
	}
	if n := len(s.Items()); n != 7 {
		t.Errorf("Items() holds %d items, want all 7", n)
	}
}

func TestConcurrentClients(t *testing.T) {
	s := start(t, Options{RateLimit: -1})
	dir := s.AddFolder("", "shared")
	const workers, each = 8, 5
	// Requests are built here: t.Fatal must not be called from the workers.
	var uploads, lists [workers][each]*http.Request
	for w := range workers {
		for i := range each {
			body, ctype := multipartBody(t, map[string]string{"parentId": dir},
				formFile{"file", fmt.Sprintf("w%d-%d.txt", w, i), "", []byte("x")})
			uploads[w][i] = s.testRequest(t, req{method: http.MethodPost, path: "/medias/upload-file", body: body, ctype: ctype})
			lists[w][i] = s.testRequest(t, req{path: "/medias/files", query: listQ("file", dir)})
		}
	}
	errs := make(chan error, workers*each*2)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				for _, r := range []struct {
					hr   *http.Request
					want int
				}{{uploads[w][i], 201}, {lists[w][i], 200}} {
					res, err := http.DefaultClient.Do(r.hr)
					if err != nil {
						errs <- err
						continue
					}
					res.Body.Close()
					if res.StatusCode != r.want {
						errs <- fmt.Errorf("%s %s: %d", r.hr.Method, r.hr.URL.Path, res.StatusCode)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(s.listAll(t, listQ("file", dir), 100)); got != workers*each {
		t.Errorf("%d files, want %d", got, workers*each)
	}
	if st := s.Stats(); st.ByEndpoint[EndpointUpload] != workers*each {
		t.Errorf("stats %+v", st)
	}
}
