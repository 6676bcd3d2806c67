package ghltest

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// trashIDs sends ids to the trash through the API.
func (s *Server) trashIDs(t *testing.T, ids ...string) resp {
	t.Helper()
	var list []map[string]string
	for _, id := range ids {
		list = append(list, map[string]string{"_id": id})
	}
	return s.testDo(t, req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{
		"altType": "location", "altId": testLoc, "status": "trashed", "filesToBeDeleted": list,
	}})
}

func (s *Server) restoreHTTP(t *testing.T, body string) resp {
	t.Helper()
	return s.testDo(t, req{method: http.MethodPost, path: "/_ghlfake/restore", body: []byte(body), ctype: "application/json"})
}

// A restore puts a trashed file back in its folder with its id, and bumps
// updatedAt; what was trashed with a folder comes back with it, what was
// trashed on its own before does not.
func TestRestore(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	d := s.AddFolder("", "d")
	f := s.AddFile(d, "f.txt", "", []byte("f"))
	g := s.AddFile(d, "g.txt", "", []byte("g"))
	clk.Advance(time.Minute)
	s.trashIDs(t, g).expect(t, http.StatusOK)
	clk.Advance(time.Minute)
	s.trashIDs(t, d).expect(t, http.StatusOK)
	trashedAt, _ := s.Item(f)

	clk.Advance(time.Minute)
	var out struct {
		Restored []string `json:"restored"`
	}
	s.restoreHTTP(t, `{"id": "`+f+`"}`).expect(t, http.StatusOK).decode(t, &out)
	if !slices.Equal(out.Restored, []string{d, f}) {
		t.Fatalf("restored %q, want the folder and the file", out.Restored)
	}
	it, _ := s.Item(f)
	if it.Status != StatusActive || it.ParentID != d || !it.UpdatedAt.After(trashedAt.UpdatedAt) {
		t.Fatalf("after the restore: %+v", it)
	}
	if got := names(s.list(t, listQ("file", d))); !slices.Equal(got, []string{"f.txt"}) {
		t.Fatalf("the folder lists %q (g.txt was trashed on its own)", got)
	}
	s.restoreHTTP(t, `{"id": "`+f+`"}`).expect(t, http.StatusBadRequest) // active
	s.restoreHTTP(t, `{"id": "000000000000000000000000"}`).expect(t, http.StatusNotFound)
	s.restoreHTTP(t, `{"id": "`+g+`", "nope": 1}`).expect(t, http.StatusBadRequest)

	// A folder restored brings back what was trashed with it.
	s.trashIDs(t, d).expect(t, http.StatusOK)
	ids, err := s.Restore(d)
	if err != nil || !slices.Equal(ids, []string{d, f}) {
		t.Fatalf("restoring the folder: %q, %v", ids, err)
	}

	// Past the retention the trash is empty.
	clk.Advance(TrashRetention + time.Hour)
	if _, err := s.Restore(g); err == nil {
		t.Fatal("restored an item trashed more than 30 days ago")
	}
}

// Under restore-keeps-updated, a restore leaves updatedAt as the trash
// set it: a listing by last change does not bring the item up.
func TestQuirkRestoreKeepsUpdated(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now, Quirks: []string{QuirkRestoreKeepsUpdated}})
	f := s.AddFile("", "f.txt", "", []byte("f"))
	clk.Advance(time.Minute)
	s.trashIDs(t, f).expect(t, http.StatusOK)
	before, _ := s.Item(f)
	clk.Advance(time.Minute)
	s.AddFile("", "newer.txt", "", []byte("n"))
	clk.Advance(time.Minute)
	if _, err := s.Restore(f); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Item(f)
	if after.Status != StatusActive || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("after the restore: %+v (updatedAt was %v)", after, before.UpdatedAt)
	}
	got := names(s.list(t, listQ("file", "", "fetchAll", "true", "sortBy", "updatedAt", "sortOrder", "desc", "limit", "1")))
	if !slices.Equal(got, []string{"newer.txt"}) {
		t.Fatalf("the latest change is %q, want newer.txt", got)
	}
}

// Under essential-folders, a new library holds the system folders, listed
// with their flags; their removal and renaming answer 400 and change
// nothing; what is inside them is ordinary.
func TestQuirkEssentialFolders(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkEssentialFolders}})
	var out struct {
		Files []map[string]any `json:"files"`
	}
	s.testDo(t, req{path: "/medias/files", query: listQ("folder", "", "limit", "10")}).expect(t, http.StatusOK).decode(t, &out)
	flags := map[string][2]any{}
	ids := map[string]string{}
	for _, f := range out.Files {
		flags[f["name"].(string)] = [2]any{f["isEssential"], f["appFolder"]}
		ids[f["name"].(string)] = f["_id"].(string)
	}
	if flags[EssentialFolder] != [2]any{true, false} || flags[AppFolder] != [2]any{false, true} || len(flags) != 2 {
		t.Fatalf("folders and their flags: %v", flags)
	}
	mine := s.AddFolder("", "mine")
	for _, id := range []string{ids[EssentialFolder], ids[AppFolder]} {
		r := s.trashIDs(t, mine, id).expect(t, http.StatusBadRequest)
		var e struct {
			StatusCode int    `json:"statusCode"`
			Message    string `json:"message"`
			Error      string `json:"error"`
		}
		r.decode(t, &e)
		if e.StatusCode != 400 || e.Message == "" || e.Error != "Bad Request" {
			t.Fatalf("refusal body %s", r.body)
		}
		alt := url.Values{"altType": {"location"}, "altId": {testLoc}}
		s.testDo(t, req{method: http.MethodDelete, path: "/medias/" + id, query: alt}).expect(t, http.StatusBadRequest)
		s.testDo(t, req{method: http.MethodPost, path: "/medias/" + id, json: map[string]any{"name": "x", "altType": "location", "altId": testLoc}}).expect(t, http.StatusBadRequest)
		s.testDo(t, req{method: http.MethodPut, path: "/medias/update-files", json: map[string]any{"altType": "location", "altId": testLoc,
			"filesToBeUpdated": []map[string]string{{"id": id, "name": "x"}}}}).expect(t, http.StatusBadRequest)
	}
	for _, it := range s.Items() {
		if it.Status != StatusActive || (it.ID == ids[EssentialFolder] && it.Name != EssentialFolder) {
			t.Fatalf("a refused call changed %+v", it)
		}
	}
	// Inside: ordinary.
	var file string
	for _, it := range s.Items() {
		if it.Name == AppFolderFile {
			file = it.ID
		}
	}
	if it, _ := s.Item(file); it.ParentID != ids[AppFolder] {
		t.Fatalf("the app folder's file is in %q", it.ParentID)
	}
	s.trashIDs(t, file).expect(t, http.StatusOK)

	// Without the quirk, no flags are listed and nothing is refused.
	if err := s.SetQuirks(nil); err != nil {
		t.Fatal(err)
	}
	var plain struct {
		Files []map[string]any `json:"files"`
	}
	s.testDo(t, req{path: "/medias/files", query: listQ("folder", "")}).expect(t, http.StatusOK).decode(t, &plain)
	for _, f := range plain.Files {
		if _, ok := f["isEssential"]; ok {
			t.Fatalf("flags listed without the quirk: %v", f)
		}
	}
	s.trashIDs(t, ids[EssentialFolder]).expect(t, http.StatusOK)
}

// The system folders' flags and the trash's bookkeeping survive a restart
// from the data directory.
func TestSystemFoldersAndTrashPersist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := start(t, Options{DataDir: dir, Quirks: []string{QuirkEssentialFolders}})
	d := s.AddFolder("", "d")
	f := s.AddFile(d, "f.txt", "", []byte("f"))
	s.trashIDs(t, d).expect(t, http.StatusOK)
	s.Close()
	s2 := start(t, Options{DataDir: dir, Quirks: []string{QuirkEssentialFolders}})
	n := 0
	for _, it := range s2.Items() {
		if it.Essential || it.AppFolder {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d system folders after the restart, want 2", n)
	}
	if ids, err := s2.Restore(f); err != nil || !slices.Equal(ids, []string{d, f}) {
		t.Fatalf("restore after the restart: %q, %v", ids, err)
	}
}

// fetchall-unpaged: fetchAll answers every item at once, whatever offset
// and limit say (and past the page cap); a folder's listing still pages.
func TestQuirkFetchAllUnpaged(t *testing.T) {
	s := start(t, Options{PageCap: 5, Quirks: []string{QuirkFetchAllUnpaged}})
	d := s.AddFolder("", "d")
	for i := range 12 {
		s.AddFile(d, "f"+itoa(i), "", []byte("x"))
	}
	if got := s.list(t, listQ("file", "", "fetchAll", "true", "offset", "7", "limit", "3")); len(got) != 12 {
		t.Fatalf("fetchAll answered %d items, want all 12", len(got))
	}
	if got := s.list(t, listQ("file", d, "offset", "7", "limit", "3")); len(got) != 3 {
		t.Fatalf("a folder's page has %d items, want 3", len(got))
	}
}

// fetchall-lag=D: fetchAll and sortBy=updatedAt answers show the library
// as it was D ago (creates, renames, removals, restores), a folder's own
// listing as it is.
func TestQuirkFetchAllLag(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	old := s.AddFile("", "old.txt", "", []byte("o"))
	if err := s.SetQuirks([]string{"fetchall-lag=10s"}); err != nil {
		t.Fatal(err)
	}
	all := func(extra ...string) []string {
		got := names(s.list(t, listQ("file", "", append([]string{"fetchAll", "true", "limit", "100"}, extra...)...)))
		slices.Sort(got)
		return got
	}
	own := func() []string {
		got := names(s.list(t, listQ("file", "", "limit", "100")))
		slices.Sort(got)
		return got
	}
	if got := all(); !slices.Equal(got, []string{"old.txt"}) {
		t.Fatalf("before any change, fetchAll shows %q", got)
	}
	clk.Advance(time.Second)
	s.AddFile("", "new.txt", "", []byte("n"))
	s.testDo(t, req{method: http.MethodPost, path: "/medias/" + old, json: map[string]any{"name": "renamed.txt", "altType": "location", "altId": testLoc}}).expect(t, http.StatusCreated)
	if got := own(); !slices.Equal(got, []string{"new.txt", "renamed.txt"}) {
		t.Fatalf("the folder's own listing shows %q", got)
	}
	for _, sortBy := range []string{"createdAt", "updatedAt"} {
		if got := all("sortBy", sortBy); !slices.Equal(got, []string{"old.txt"}) {
			t.Fatalf("fetchAll by %s, just after: %q", sortBy, got)
		}
	}
	if got := names(s.list(t, listQ("file", "", "sortBy", "updatedAt", "sortOrder", "desc"))); !slices.Equal(got, []string{"old.txt"}) {
		t.Fatalf("a folder's listing by updatedAt, just after: %q", got)
	}
	if s.Stats().LaggedLists == 0 {
		t.Fatal("no lagged answer counted")
	}
	clk.Advance(5 * time.Second)
	s.trashIDs(t, old).expect(t, http.StatusOK)
	clk.Advance(5 * time.Second) // the create and rename are 10 s old, the trash 5 s
	if got := all(); !slices.Equal(got, []string{"new.txt", "renamed.txt"}) {
		t.Fatalf("fetchAll 10s after: %q", got)
	}
	clk.Advance(5 * time.Second)
	if got := all(); !slices.Equal(got, []string{"new.txt"}) {
		t.Fatalf("fetchAll 10s after the trash: %q", got)
	}
	if _, err := s.Restore(old); err != nil {
		t.Fatal(err)
	}
	if got := all(); !slices.Equal(got, []string{"new.txt"}) {
		t.Fatalf("fetchAll just after a restore: %q", got)
	}
	clk.Advance(10 * time.Second)
	if got := all(); !slices.Equal(got, []string{"new.txt", "renamed.txt"}) {
		t.Fatalf("fetchAll 10s after the restore: %q", got)
	}
}

func TestQuirksParseValues(t *testing.T) {
	for _, bad := range [][]string{{"fetchall-lag"}, {"fetchall-lag=0s"}, {"fetchall-lag=-1s"}, {"fetchall-unpaged=1"}} {
		if _, err := parseQuirks(bad); err == nil {
			t.Errorf("parseQuirks(%q) accepted", bad)
		}
	}
	q, err := parseQuirks([]string{"fetchall-lag=1500ms"})
	if err != nil || q.lag != 1500*time.Millisecond || !slices.Equal(q.names, []string{"fetchall-lag=1.5s"}) {
		t.Fatalf("got %q, lag %v, %v", q.names, q.lag, err)
	}
}
