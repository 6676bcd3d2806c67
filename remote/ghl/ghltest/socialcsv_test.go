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

// The social planner's CSV endpoints: their wire format, statuses that
// move on the fake's clock, scopes, and each quirk.

const csvPath = "/social-media-posting/" + testLoc

// wrappedCSVList is GET csv's answer with csvs as an array.
type wrappedCSVList struct {
	Success    bool   `json:"success"`
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Results    struct {
		CSVs  json.RawMessage `json:"csvs"`
		Count int             `json:"count"`
	} `json:"results"`
}

type wireCSV struct {
	ID         string   `json:"_id"`
	LocationID string   `json:"locationId"`
	FileName   string   `json:"fileName"`
	AccountIDs []string `json:"accountIds"`
	File       string   `json:"file"`
	Status     string   `json:"status"`
	Count      int      `json:"count"`
	CreatedAt  string   `json:"createdAt"`
}

func csvPage(t *testing.T, s *Server, skip, limit int) wrappedCSVList {
	t.Helper()
	var out wrappedCSVList
	s.testDo(t, req{path: csvPath + "/csv", query: url.Values{"skip": {itoa(skip)}, "limit": {itoa(limit)}}}).expect(t, 200).decode(t, &out)
	return out
}

func seedImports(s *Server, n int, at time.Time) []string {
	var ids []string
	for i := range n {
		ids = append(ids, s.AddCSVImport(CSVImportSeed{FileName: fmt.Sprintf("import-%03d.csv", i), CreatedAt: at.Add(time.Duration(i) * time.Minute), Rows: i % 4}))
	}
	return ids
}

// GET csv answers the wrapped shape, newest first, paged by skip and
// limit sent as strings (default 10), count the total; a page past the
// end is empty.
func TestCSVListWireFormat(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	ids := seedImports(s, 25, clk.Now().Add(-time.Hour))
	var first wrappedCSVList
	s.testDo(t, req{path: csvPath + "/csv"}).expect(t, 200).decode(t, &first)
	if !first.Success || first.StatusCode != 200 || first.Message != "Fetched CSV Upload Status" || first.Results.Count != 25 {
		t.Fatalf("answer %+v", first)
	}
	var page []wireCSV
	if err := json.Unmarshal(first.Results.CSVs, &page); err != nil || len(page) != 10 {
		t.Fatalf("csvs %s: %v", first.Results.CSVs, err)
	}
	if page[0].ID != ids[24] || page[0].LocationID != testLoc || page[0].Status != "completed" || page[0].FileName != "import-024.csv" || !strings.HasPrefix(page[0].File, testLoc+"/social-import/") {
		t.Errorf("first import %+v", page[0])
	}
	var got []string
	for skip := 0; ; skip += 7 {
		var p []wireCSV
		if err := json.Unmarshal(csvPage(t, s, skip, 7).Results.CSVs, &p); err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		for _, c := range p {
			got = append(got, c.ID)
		}
	}
	want := slices.Clone(ids)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Errorf("paged ids %v, want %v", got, want)
	}
	s.testDo(t, req{path: csvPath + "/csv", query: url.Values{"skip": {"x"}}}).expect(t, 422)
	s.testDo(t, req{path: csvPath + "/csv", query: url.Values{"offset": {"0"}}}).expect(t, 422)
}

// GET csv/{id} gives the record and a page of its posts, count the total;
// 404 for an unknown id.
func TestCSVGetPosts(t *testing.T) {
	s := start(t, Options{})
	id := s.AddCSVImport(CSVImportSeed{FileName: "a.csv", Rows: 13})
	type answer struct {
		Success bool
		Results struct {
			CSV   wireCSV           `json:"csv"`
			Count int               `json:"count"`
			Posts []json.RawMessage `json:"posts"`
		} `json:"results"`
	}
	var posts []json.RawMessage
	for skip := 0; skip < 20; skip += 10 {
		var out answer
		s.testDo(t, req{path: csvPath + "/csv/" + id, query: url.Values{"skip": {itoa(skip)}}}).expect(t, 200).decode(t, &out)
		if out.Results.CSV.ID != id || out.Results.Count != 13 {
			t.Fatalf("answer %+v", out)
		}
		posts = append(posts, out.Results.Posts...)
	}
	st, _ := s.primary.CSVImport(id)
	if len(posts) != 13 || !jsonEqual(posts, st.Posts) {
		t.Errorf("posts %s, want %s", posts, st.Posts)
	}
	s.testDo(t, req{path: csvPath + "/csv/000000000000000000000000"}).expect(t, 404)
}

// DELETE csv/{id} marks the import deleted: still listed so, 404 from
// then on; the answer is the record as it was, without _id and createdAt.
func TestCSVDelete(t *testing.T) {
	s := start(t, Options{})
	id := s.AddCSVImport(CSVImportSeed{FileName: "a.csv", Rows: 2})
	var out struct {
		Success    bool
		StatusCode int
		Message    string
		Results    struct {
			CSV map[string]any `json:"csv"`
		}
	}
	s.testDo(t, req{method: http.MethodDelete, path: csvPath + "/csv/" + id}).expect(t, 200).decode(t, &out)
	if !out.Success || out.Message != "Deleted Post" || out.Results.CSV["status"] != "completed" || out.Results.CSV["_id"] != nil || out.Results.CSV["createdAt"] != nil {
		t.Errorf("answer %+v", out)
	}
	var page []wireCSV
	json.Unmarshal(csvPage(t, s, 0, 10).Results.CSVs, &page)
	if len(page) != 1 || page[0].Status != "deleted" {
		t.Errorf("listed %+v", page)
	}
	s.testDo(t, req{method: http.MethodDelete, path: csvPath + "/csv/" + id}).expect(t, 404)
	s.testDo(t, req{path: csvPath + "/csv/" + id}).expect(t, 404)
}

// Upload, set-accounts and finalize make an import: pending, importing,
// then completed once the fake's clock has moved CSVImportTime on, with a
// post for each row asked for.
func TestCSVImportSteps(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	s.SetCSVImportTime(5 * time.Second)
	data := []byte("postAtSpecificTime,content,link,imageUrls\n2025-04-01 10:00:00,Hello,https://example.com/,https://example.com/a.png\n\n2025-04-02 10:00:00,World,,\n")
	body, ctype := multipartBody(t, nil, formFile{"file", "plan.csv", "text/csv", data})
	var up struct {
		StatusCode int
		Results    struct {
			FilePath  string `json:"filePath"`
			RowsCount int    `json:"rowsCount"`
			FileName  string `json:"fileName"`
		}
	}
	s.testDo(t, req{method: http.MethodPost, path: csvPath + "/csv", body: body, ctype: ctype}).expect(t, 201).decode(t, &up)
	if up.StatusCode != 201 || up.Results.RowsCount != 2 || up.Results.FileName != "plan.csv" || !strings.HasPrefix(up.Results.FilePath, testLoc+"/social-import/") {
		t.Fatalf("upload answer %+v", up)
	}
	accounts := map[string]any{"accountIds": []string{"acc1"}, "filePath": up.Results.FilePath, "rowsCount": 3, "fileName": "plan.csv"}
	s.testDo(t, req{method: http.MethodPost, path: csvPath + "/set-accounts", json: accounts}).expect(t, 400)
	accounts["rowsCount"] = 2
	s.testDo(t, req{method: http.MethodPost, path: csvPath + "/set-accounts", json: map[string]any{"filePath": up.Results.FilePath}}).expect(t, 422)
	s.testDo(t, req{method: http.MethodPost, path: csvPath + "/set-accounts", json: accounts}).expect(t, 201)
	all := s.CSVImports()
	if len(all) != 1 || all[0].Status != "pending" || len(all[0].Posts) != 2 {
		t.Fatalf("imports %+v", all)
	}
	var rec wireCSV
	json.Unmarshal(all[0].Record, &rec)
	if rec.File != up.Results.FilePath || rec.Count != 2 || !slices.Equal(rec.AccountIDs, []string{"acc1"}) {
		t.Errorf("record %+v", rec)
	}
	var post struct {
		Summary      string
		ScheduleDate string
		Medias       []struct{ URL, Type string }
		Link         struct{ URL string }
	}
	json.Unmarshal(all[0].Posts[0], &post)
	if post.Summary != "Hello" || post.ScheduleDate != "2025-04-01T10:00:00.000Z" || len(post.Medias) != 1 || post.Medias[0].Type != "image/png" || post.Link.URL != "https://example.com/" {
		t.Errorf("post %s", all[0].Posts[0])
	}
	s.testDo(t, req{method: http.MethodPatch, path: csvPath + "/csv/" + rec.ID, json: map[string]any{}}).expect(t, 200)
	if st, _ := s.primary.CSVImport(rec.ID); st.Status != "importing" {
		t.Fatalf("status %s after the finalize", st.Status)
	}
	clk.Advance(4 * time.Second)
	if st, _ := s.primary.CSVImport(rec.ID); st.Status != "importing" {
		t.Fatalf("status %s before its time", st.Status)
	}
	clk.Advance(time.Second)
	if st, _ := s.primary.CSVImport(rec.ID); st.Status != "completed" {
		t.Fatalf("status %s once its time came", st.Status)
	}
	// A finalize again changes nothing, and answers the same.
	s.testDo(t, req{method: http.MethodPatch, path: csvPath + "/csv/" + rec.ID, json: map[string]any{}}).expect(t, 200)
	body, ctype = multipartBody(t, nil)
	s.testDo(t, req{method: http.MethodPost, path: csvPath + "/csv", body: body, ctype: ctype}).expect(t, 400)
}

// Reading takes csv.readonly, changing csv.write; the path's location
// must be the token's.
func TestCSVScopesAndLocation(t *testing.T) {
	s := start(t, Options{TokenScopes: []string{ScopeMediasReadonly, ScopeCSVReadonly}})
	id := s.AddCSVImport(CSVImportSeed{FileName: "a.csv"})
	s.testDo(t, req{path: csvPath + "/csv"}).expect(t, 200)
	r := s.testDo(t, req{method: http.MethodDelete, path: csvPath + "/csv/" + id}).expect(t, 401)
	if !strings.Contains(string(r.body), "not authorized for this scope") {
		t.Errorf("refusal %s", r.body)
	}
	s2 := start(t, Options{TokenScopes: []string{ScopeMediasReadonly, ScopeMediasWrite}})
	s2.testDo(t, req{path: csvPath + "/csv"}).expect(t, 401)
	s3 := start(t, Options{})
	s3.testDo(t, req{path: "/social-media-posting/other-loc/csv"}).expect(t, 403)
	s3.testDo(t, req{method: http.MethodPut, path: csvPath + "/csv"}).expect(t, 404)
}

// Statuses move from importing to completed on the fake's clock alone.
func TestCSVStatusMovesOnItsOwn(t *testing.T) {
	clk := newClock()
	s := start(t, Options{Now: clk.Now})
	id := s.AddCSVImport(CSVImportSeed{FileName: "a.csv", Status: "importing", DoneAt: clk.Now().Add(time.Minute)})
	never := s.AddCSVImport(CSVImportSeed{FileName: "b.csv", Status: "in_progress"})
	clk.Advance(time.Minute)
	var page []wireCSV
	json.Unmarshal(csvPage(t, s, 0, 10).Results.CSVs, &page)
	got := map[string]string{}
	for _, c := range page {
		got[c.ID] = c.Status
	}
	if got[id] != "completed" || got[never] != "in_progress" {
		t.Errorf("statuses %v", got)
	}
}

// csvs-object: csvs is an object of the page's imports keyed by index;
// count-is-page: count is the page's length; csv-limit-cap=N: N at most a
// page, on both endpoints.
func TestCSVQuirks(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkCSVsObject, QuirkCountIsPage, "csv-limit-cap=4"}})
	seedImports(s, 6, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	p := csvPage(t, s, 0, 10)
	var obj map[string]wireCSV
	if err := json.Unmarshal(p.Results.CSVs, &obj); err != nil || len(obj) != 4 || obj["0"].FileName != "import-005.csv" || obj["3"].FileName != "import-002.csv" {
		t.Errorf("csvs %s: %v", p.Results.CSVs, err)
	}
	if p.Results.Count != 4 {
		t.Errorf("count %d, want the page's 4", p.Results.Count)
	}
	id := s.AddCSVImport(CSVImportSeed{FileName: "many.csv", Rows: 9})
	var out struct {
		Results struct {
			Count int
			Posts []json.RawMessage
		}
	}
	s.testDo(t, req{path: csvPath + "/csv/" + id, query: url.Values{"limit": {"50"}}}).expect(t, 200).decode(t, &out)
	if len(out.Results.Posts) != 4 || out.Results.Count != 4 {
		t.Errorf("posts page of %d, count %d", len(out.Results.Posts), out.Results.Count)
	}
	for _, bad := range []string{"csv-limit-cap", "csv-limit-cap=0", "csv-limit-cap=x"} {
		if err := s.SetQuirks([]string{bad}); err == nil {
			t.Errorf("%s taken", bad)
		}
	}
}

// csv-delete-422-importing: an import still importing is refused with 422
// and a message array, and stays; a completed one goes.
func TestCSVQuirkDelete422Importing(t *testing.T) {
	s := start(t, Options{Quirks: []string{QuirkCSVDelete422Importing}})
	busy := s.AddCSVImport(CSVImportSeed{FileName: "a.csv", Status: "importing"})
	done := s.AddCSVImport(CSVImportSeed{FileName: "b.csv"})
	r := s.testDo(t, req{method: http.MethodDelete, path: csvPath + "/csv/" + busy}).expect(t, 422)
	var body struct {
		Message []string
		Error   string
	}
	r.decode(t, &body)
	if len(body.Message) != 1 || body.Error != "Unprocessable Entity" {
		t.Errorf("refusal %s", r.body)
	}
	s.testDo(t, req{method: http.MethodDelete, path: csvPath + "/csv/" + done}).expect(t, 200)
	if st, _ := s.primary.CSVImport(busy); st.Status != "importing" {
		t.Errorf("refused import is %s", st.Status)
	}
}

// The control endpoints seed imports and read them back, as the API gives
// them.
func TestCSVControl(t *testing.T) {
	s := start(t, Options{})
	r := s.testDo(t, req{method: http.MethodPost, path: "/_ghlfake/social-csv", json: map[string]any{
		"imports": []map[string]any{{"fileName": "x.csv", "rows": 3}, {"fileName": "y.csv", "status": "importing", "doneIn": "1h"}}}}).expect(t, 200)
	var ids struct{ IDs []string }
	r.decode(t, &ids)
	var state struct {
		Imports []struct {
			CSV   wireCSV           `json:"csv"`
			Posts []json.RawMessage `json:"posts"`
		} `json:"imports"`
	}
	s.testDo(t, req{path: "/_ghlfake/social-csv"}).expect(t, 200).decode(t, &state)
	if len(ids.IDs) != 2 || len(state.Imports) != 2 {
		t.Fatalf("ids %v, state %+v", ids, state)
	}
	byID := map[string]int{}
	for i, im := range state.Imports {
		byID[im.CSV.ID] = i
	}
	if x := state.Imports[byID[ids.IDs[0]]]; x.CSV.FileName != "x.csv" || len(x.Posts) != 3 || x.CSV.Count != 3 {
		t.Errorf("x.csv %+v", x)
	}
	if y := state.Imports[byID[ids.IDs[1]]]; y.CSV.Status != "importing" {
		t.Errorf("y.csv %+v", y)
	}
	s.testDo(t, req{method: http.MethodPost, path: "/_ghlfake/social-csv", json: map[string]any{"imports": []map[string]any{{"status": "nope"}}}}).expect(t, 400)
}

// The demo seed gives each location three imports.
func TestCSVDemoSeed(t *testing.T) {
	s := start(t, Options{LocationID: DefaultLocationID, Locations: DemoLocations(2)})
	for _, l := range s.Locations() {
		if n := len(l.CSVImports()); n != 3 {
			t.Errorf("%s: %d imports", l.ID(), n)
		}
	}
}
