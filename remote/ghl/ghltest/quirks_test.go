package ghltest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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
	// An unknown parent is still refused, by both creates.
	s.upload(t, map[string]string{"name": "b.txt", "parentId": "0123456789abcdef01234567"}, formFile{"file", "b.txt", "", []byte("b")}).expect(t, http.StatusNotFound)
	s.testDo(t, req{method: http.MethodPost, path: "/medias/folder", json: map[string]any{
		"altType": "location", "altId": testLoc, "name": "c", "parentId": "0123456789abcdef01234567"}}).expect(t, http.StatusNotFound)
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

// A file part without a Content-Type is what multer's parser (busboy)
// makes of it, text/plain, whatever its file's name says: so the fake
// takes it, for the type-allowlist filter and for the type it keeps. (It
// guessed a type from the name, as no service behind multer does.)
func TestUploadPartWithoutType(t *testing.T) {
	for _, quirks := range [][]string{nil, {QuirkTypeAllowlist}} {
		s := start(t, Options{Quirks: quirks})
		r := s.upload(t, map[string]string{"name": "a.avif"}, formFile{"file", "a.avif", "", []byte("x")}).expect(t, http.StatusCreated)
		var up struct {
			FileID string `json:"fileId"`
		}
		r.decode(t, &up)
		if it, ok := s.Item(up.FileID); !ok || it.ContentType != "text/plain" {
			t.Errorf("%v: the file is kept as %+v; want text/plain", quirks, it)
		}
	}
}

// upload-id-differs: the upload answers its storage object's UUID, which
// names the file in its url, while listings show the item's own id; the
// API knows no item by the UUID (rename and DELETE 404, the bulk calls
// answer not done), and nothing is changed by a call that names it.
func TestQuirkUploadIDDiffers(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkUploadIDDiffers}, DataDir: t.TempDir()})
	var up struct {
		FileID string `json:"fileId"`
		URL    string `json:"url"`
	}
	s.upload(t, map[string]string{"name": "a.png"}, formFile{"file", "a.png", "image/png", []byte("png bytes")}).expect(t, http.StatusCreated).decode(t, &up)
	if !validID(up.FileID) || len(up.FileID) != 36 {
		t.Fatalf("fileId %q is not a UUID", up.FileID)
	}
	if !strings.HasSuffix(up.URL, "/media/"+up.FileID+".png") {
		t.Fatalf("url %q does not name the object %s", up.URL, up.FileID)
	}
	listed := s.list(t, listQ("file", "", "limit", "10"))
	if len(listed) != 1 || len(listed[0].ID) != 24 || listed[0].ID == up.FileID || listed[0].URL != up.URL {
		t.Fatalf("listing %+v, answer %+v", listed, up)
	}
	id := listed[0].ID
	if b := get(t, up.URL, nil).expect(t, http.StatusOK).body; string(b) != "png bytes" {
		t.Fatalf("storage serves %q", b)
	}
	s.testDo(t, req{method: http.MethodPost, path: "/medias/" + up.FileID, json: map[string]any{
		"altType": "location", "altId": testLoc, "name": "b.png"}}).expect(t, http.StatusNotFound)
	s.testDo(t, req{method: http.MethodDelete, path: "/medias/" + up.FileID,
		query: url.Values{"altType": {"location"}, "altId": {testLoc}}}).expect(t, http.StatusNotFound)
	r := s.testDo(t, req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{
		"altType": "location", "altId": testLoc, "status": "trashed",
		"filesToBeDeleted": []map[string]string{{"_id": up.FileID}}}}).expect(t, http.StatusOK)
	if !strings.Contains(string(r.body), `"deleted":false`) {
		t.Fatalf("delete-files of the UUID answered %s", r.body)
	}
	r = s.testDo(t, req{method: http.MethodPut, path: "/medias/update-files", json: map[string]any{
		"altType": "location", "altId": testLoc, "filesToBeUpdated": []map[string]string{{"id": up.FileID, "name": "c.png"}}}}).expect(t, http.StatusOK)
	if !strings.Contains(string(r.body), `"updated":false`) {
		t.Fatalf("update-files of the UUID answered %s", r.body)
	}
	if it, _ := s.Item(id); it.Name != "a.png" || it.Status != StatusActive {
		t.Fatalf("the file is now %+v", it)
	}
	// The object keeps its name across a restart of the fake.
	s.Close()
	s2 := start(t, Options{DataDir: s.disk.dir})
	if b := get(t, strings.Replace(up.URL, s.URL, s2.URL, 1), nil).expect(t, http.StatusOK).body; string(b) != "png bytes" {
		t.Fatalf("after a restart storage serves %q", b)
	}
}

// uuid-ids: every new item's id is a UUID, which holds no time.
func TestQuirkUUIDIDs(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkUUIDIDs}, DataDir: t.TempDir()})
	f := s.AddFolder("", "F")
	var up struct {
		FileID string `json:"fileId"`
		URL    string `json:"url"`
	}
	s.upload(t, map[string]string{"name": "a.txt", "parentId": f}, formFile{"file", "a.txt", "", []byte("a")}).expect(t, http.StatusCreated).decode(t, &up)
	for _, id := range []string{f, up.FileID} {
		if len(id) != 36 || !validID(id) {
			t.Fatalf("id %q is not a UUID", id)
		}
	}
	if got := s.list(t, listQ("file", f)); len(got) != 1 || got[0].ID != up.FileID {
		t.Fatalf("listing %+v", got)
	}
	get(t, up.URL, nil).expect(t, http.StatusOK)
	s.testDo(t, req{method: http.MethodPost, path: "/medias/" + up.FileID, json: map[string]any{
		"altType": "location", "altId": testLoc, "name": "b.txt"}}).expect(t, http.StatusCreated)
	s.Close()
	s2 := start(t, Options{DataDir: s.disk.dir}) // a library of UUIDs reloads
	if it, ok := s2.Item(up.FileID); !ok || it.Name != "b.txt" {
		t.Fatalf("after a restart: %+v", it)
	}
}

// update-404 and no-bulk-routes: the routes answer as routes the service
// does not have, NestJS's 404 "Cannot POST /medias/x", whatever the id;
// DELETE /medias/{id} still works, and deletes for good.
func TestQuirkRoutesRefused(t *testing.T) {
	for _, c := range []struct {
		quirk   string
		refused []string
	}{
		{QuirkUpdate404, []string{EndpointRename, EndpointUpdateMany}},
		{QuirkNoBulkRoutes, []string{EndpointUpdateMany, EndpointDeleteMany}},
	} {
		t.Run(c.quirk, func(t *testing.T) {
			s := start(t, Options{Quirks: []string{c.quirk}})
			id := s.AddFile("", "a.txt", "", []byte("a"))
			other := s.AddFile("", "o.txt", "", []byte("o"))
			calls := map[string]req{
				EndpointRename: {method: http.MethodPost, path: "/medias/" + id, json: map[string]any{
					"altType": "location", "altId": testLoc, "name": "b.txt"}},
				EndpointUpdateMany: {method: http.MethodPut, path: "/medias/update-files", json: map[string]any{
					"altType": "location", "altId": testLoc, "filesToBeUpdated": []map[string]string{{"id": id, "name": "c.txt"}}}},
				EndpointDeleteMany: {method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{
					"altType": "location", "altId": testLoc, "status": "trashed", "filesToBeDeleted": []map[string]string{{"_id": other}}}},
			}
			for _, ep := range []string{EndpointRename, EndpointUpdateMany, EndpointDeleteMany} {
				r := s.testDo(t, calls[ep])
				if !slices.Contains(c.refused, ep) {
					if r.status >= 300 {
						t.Errorf("%s: %d %s", ep, r.status, r.body)
					}
					continue
				}
				r.expect(t, http.StatusNotFound)
				want := fmt.Sprintf(`{"statusCode":404,"message":"Cannot %s %s","error":"Not Found"}`, calls[ep].method, calls[ep].path)
				if string(r.body) != want {
					t.Errorf("%s: body %s, want %s", ep, r.body, want)
				}
			}
			if it, _ := s.Item(id); it.Status != StatusActive {
				t.Fatalf("the file is %s", it.Status)
			}
			s.testDo(t, req{method: http.MethodDelete, path: "/medias/" + id,
				query: url.Values{"altType": {"location"}, "altId": {testLoc}}}).expect(t, http.StatusOK)
			if it, _ := s.Item(id); it.Status != StatusDeleted {
				t.Fatalf("DELETE left the file %s", it.Status)
			}
		})
	}
}

// delete-needs-alt: DELETE /medias/{id} without altId and altType is a
// 400 (by default, the validation's 422), and deletes nothing.
func TestQuirkDeleteNeedsAlt(t *testing.T) {
	for _, c := range []struct {
		quirks []string
		status int
	}{{nil, http.StatusUnprocessableEntity}, {[]string{QuirkDeleteNeedsAlt}, http.StatusBadRequest}} {
		s := start(t, Options{Quirks: c.quirks})
		id := s.AddFile("", "a.txt", "", []byte("a"))
		for _, q := range []url.Values{nil, {"altId": {testLoc}}, {"altType": {"location"}}} {
			s.testDo(t, req{method: http.MethodDelete, path: "/medias/" + id, query: q}).expect(t, c.status)
		}
		if it, _ := s.Item(id); it.Status != StatusActive {
			t.Fatalf("%v: the file is %s", c.quirks, it.Status)
		}
		s.testDo(t, req{method: http.MethodDelete, path: "/medias/" + id,
			query: url.Values{"altType": {"location"}, "altId": {testLoc}}}).expect(t, http.StatusOK)
	}
}
