package ocmtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
)

// clock is a test's clock: moved, never slept.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a fake and a client of it holding a token.
type env struct {
	t     *testing.T
	s     *ocmtest.Server
	clk   *clock
	token string
	// link, code, app: the credentials sent instead of the token when
	// set.
	link, code, appID, appToken string
}

func start(t *testing.T, o ocmtest.Options) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	if o.Now == nil {
		o.Now = clk.now
	}
	s, err := ocmtest.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	e := &env{t: t, s: s, clk: clk}
	e.token = e.getToken(url.Values{"grant_type": {"client_credentials"}, "scope": {s.Scope()}})
	return e
}

// getToken asks the token endpoint for a token.
func (e *env) getToken(form url.Values) string {
	e.t.Helper()
	st, out := e.tokenCall(e.s.ClientID(), e.s.ClientSecret(), form)
	if st != 200 || out["token_type"] != "Bearer" || out["access_token"] == "" {
		e.t.Fatalf("token: %d %v", st, out)
	}
	return out["access_token"].(string)
}

func (e *env) tokenCall(id, secret string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.s.URL+ocmtest.TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// answer is one API answer.
type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func (a answer) items() []map[string]any {
	var out []map[string]any
	for _, it := range a.body["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// do sends an API request (path under the base) with the env's
// credentials.
func (e *env) do(method, path string, body io.Reader, hdr ...string) answer {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.s.URL+ocmtest.BasePath+path, body)
	switch {
	case e.appID != "":
		req.Header.Set("appLinkID", e.appID)
		req.Header.Set("accessToken", e.appToken)
	case e.link != "":
		req.Header.Set("LinkID", e.link)
		if e.code != "" {
			req.AddCookie(&http.Cookie{Name: "dAccessCode-" + e.link, Value: e.code})
		}
	case e.token != "":
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	a := answer{status: res.StatusCode, header: res.Header}
	a.raw, _ = io.ReadAll(res.Body)
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(a.raw, &a.body); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, a.raw)
		}
	}
	return a
}

func (e *env) get(path string) answer { return e.do(http.MethodGet, path, nil) }

func (e *env) send(method, path, js string) answer {
	return e.do(method, path, strings.NewReader(js))
}

// upload sends a multipart upload: to files/data with parentID, or to
// files/{id}/data when id is set.
func (e *env) upload(parentID, id, name string, data []byte) answer {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	path := "files/" + id + "/data"
	if id == "" {
		path = "files/data"
		mw.WriteField("jsonInputParameters", fmt.Sprintf(`{"parentID":%q}`, parentID))
	}
	w, _ := mw.CreateFormFile("primaryFile", name)
	w.Write(data)
	mw.Close()
	return e.do(http.MethodPost, path, &buf, "Content-Type", mw.FormDataContentType())
}

func (e *env) expect(a answer, status int, code string) {
	e.t.Helper()
	if a.status != status || a.str("errorCode") != code {
		e.t.Fatalf("answer %d errorCode %q, want %d %q: %s", a.status, a.str("errorCode"), status, code, a.raw)
	}
}

// TestTokens: the token endpoint takes the client's Basic credentials,
// the client-credentials and password grants and a cec scope; a token
// lives TokenLife (expires_in in seconds), then the API answers 401;
// the static token always works.
func TestTokens(t *testing.T) {
	e := start(t, ocmtest.Options{TokenLife: 90 * time.Second, StaticToken: "static-T"})
	st, out := e.tokenCall(e.s.ClientID(), e.s.ClientSecret(), url.Values{"grant_type": {"client_credentials"}, "scope": {e.s.Scope()}})
	if st != 200 || out["expires_in"] != float64(90) {
		t.Errorf("token: %d %v, want expires_in 90 as a number", st, out)
	}
	for _, c := range []struct {
		id, secret string
		form       url.Values
		status     int
		err        string
	}{
		{e.s.ClientID(), "wrong", url.Values{"grant_type": {"client_credentials"}, "scope": {e.s.Scope()}}, 401, "invalid_client"},
		{e.s.ClientID(), e.s.ClientSecret(), url.Values{"grant_type": {"client_credentials"}}, 400, "invalid_scope"},
		{e.s.ClientID(), e.s.ClientSecret(), url.Values{"grant_type": {"client_credentials"}, "scope": {"other"}}, 400, "invalid_scope"},
		{e.s.ClientID(), e.s.ClientSecret(), url.Values{"grant_type": {"password"}, "username": {ocmtest.DefaultUser}, "password": {"x"}, "scope": {e.s.Scope()}}, 400, "invalid_grant"},
		{e.s.ClientID(), e.s.ClientSecret(), url.Values{"grant_type": {"authorization_code"}, "scope": {e.s.Scope()}}, 400, "unsupported_grant_type"},
	} {
		if st, out := e.tokenCall(c.id, c.secret, c.form); st != c.status || out["error"] != c.err {
			t.Errorf("token %v: %d %v, want %d %s", c.form, st, out, c.status, c.err)
		}
	}
	pw := e.getToken(url.Values{"grant_type": {"password"}, "username": {ocmtest.DefaultUser}, "password": {ocmtest.DefaultPassword}, "scope": {e.s.Scope()}})
	for _, tok := range []string{e.token, pw, "static-T"} {
		e.token = tok
		e.expect(e.get("folders/self/items"), 200, "0")
	}
	e.clk.add(91 * time.Second)
	for tok, want := range map[string]int{pw: 401, "static-T": 200, "": 401, "nonsense": 401} {
		e.token = tok
		if a := e.get("folders/self/items"); a.status != want {
			t.Errorf("token %q after its life: %d, want %d", tok, a.status, want)
		}
	}
	e.token = e.getToken(url.Values{"grant_type": {"client_credentials"}, "scope": {e.s.Scope()}})
	e.expect(e.get("folders/self/items"), 200, "0")
	e.s.ExpireTokens()
	if a := e.get("folders/self/items"); a.status != 401 {
		t.Errorf("after ExpireTokens: %d", a.status)
	}
	if n := e.s.Calls(ocmtest.Unauthorized); n < 4 {
		t.Errorf("401s counted: %d", n)
	}
}

// TestListing: the wire shape of a listing (numbers as strings), paging
// by offset while hasMore is "1", orderby, filterName exact, limit
// default and cap, GUIDs, the home folder as "self".
func TestListing(t *testing.T) {
	e := start(t, ocmtest.Options{})
	dir := e.s.AddFolder("", "Docs")
	for i := range 7 {
		e.s.AddFile(dir, fmt.Sprintf("f%d.txt", i), bytes.Repeat([]byte("x"), i))
	}
	home := e.get("folders/self/items")
	e.expect(home, 200, "0")
	it := home.items()[0]
	if len(home.items()) != 1 || it["id"] != dir || it["parentID"] != "self" || it["type"] != "folder" || it["childItemsCount"] != "7" || it["size"] != "21" {
		t.Errorf("home listing: %s", home.raw)
	}
	if !strings.HasPrefix(dir, "F") || len(dir) < 33 {
		t.Errorf("folder id %q: want a GUID starting F", dir)
	}
	var names []string
	for off := 0; ; off += 3 {
		a := e.get(fmt.Sprintf("folders/%s/items?limit=3&offset=%d", dir, off))
		e.expect(a, 200, "0")
		if a.str("totalResults") != "7" || a.str("count") != fmt.Sprint(len(a.items())) || a.str("offset") != fmt.Sprint(off) || a.str("limit") != "3" {
			t.Errorf("page at %d: %s", off, a.raw)
		}
		for _, it := range a.items() {
			names = append(names, it["name"].(string))
			if it["type"] != "file" || it["parentID"] != dir || it["version"] != "1" || it["mimeType"] != "text/plain; charset=utf-8" && it["mimeType"] != "text/plain" {
				t.Errorf("file item: %v", it)
			}
			if _, isStr := it["size"].(string); !isStr {
				t.Errorf("size not a string: %v", it["size"])
			}
			if id := it["id"].(string); !strings.HasPrefix(id, "D") || len(id) < 33 {
				t.Errorf("file id %q", id)
			}
		}
		if a.str("hasMore") == "0" {
			break
		}
		if a.str("hasMore") != "1" {
			t.Fatalf("hasMore %q", a.str("hasMore"))
		}
	}
	if strings.Join(names, ",") != "f0.txt,f1.txt,f2.txt,f3.txt,f4.txt,f5.txt,f6.txt" {
		t.Errorf("paged names: %v", names)
	}
	if a := e.get("folders/" + dir + "/items?orderby=name:desc&limit=1"); a.items()[0]["name"] != "f6.txt" || a.str("hasMore") != "1" {
		t.Errorf("name:desc: %s", a.raw)
	}
	if a := e.get("folders/" + dir + "/items"); a.str("limit") != "50" {
		t.Errorf("default limit: %s", a.str("limit"))
	}
	if a := e.get("folders/" + dir + "/items?limit=20000"); a.str("limit") != "10000" {
		t.Errorf("limit past the max: %s", a.str("limit"))
	}
	if a := e.get("folders/" + dir + "/items?filterName=F3.txt"); a.str("count") != "0" {
		t.Errorf("filterName matched ignoring case: %s", a.raw)
	}
	if a := e.get("folders/" + dir + "/items?filterName=f3.txt"); a.str("count") != "1" || a.str("totalResults") != "1" {
		t.Errorf("filterName exact: %s", a.raw)
	}
	e.expect(e.get("folders/"+dir+"/items?orderby=size:asc"), 400, ocmtest.CodeBadRequest)
	e.expect(e.get("folders/FNOSUCHFOLDER0000000000T0000000000100000001/items"), 404, ocmtest.CodeNotFound)
	if a := e.get("folders/items"); a.str("ownerFolderID") != "self" || len(a.items()) != 1 {
		t.Errorf("GET folders/items: %s", a.raw)
	}
	if a := e.get("folders/" + dir); a.str("id") != dir || a.str("name") != "Docs" || a.str("parentID") != "self" || a.str("childItemsCount") != "7" {
		t.Errorf("GET folders/{id}: %s", a.raw)
	}
}

// TestUploadDownload: a new file by POST files/data, a new version by
// POST files/{id}/data (same GUID), an upload onto a name the folder
// holds ignoring case is a version of that file; reads of any version,
// Range 206/416, ETag.
func TestUploadDownload(t *testing.T) {
	e := start(t, ocmtest.Options{})
	a := e.upload("self", "", "Report.txt", []byte("hello world!!"))
	e.expect(a, 200, "0")
	id := a.str("id")
	if a.str("name") != "Report.txt" || a.str("size") != "13" || a.str("version") != "1" || a.str("parentID") != "self" {
		t.Errorf("upload: %s", a.raw)
	}
	b := e.upload("", id, "ignored.bin", []byte("second"))
	e.expect(b, 200, "0")
	if b.str("id") != id || b.str("version") != "2" || b.str("name") != "Report.txt" || b.str("size") != "6" {
		t.Errorf("a version: %s", b.raw)
	}
	c := e.upload("self", "", "REPORT.TXT", []byte("third"))
	if c.str("id") != id || c.str("version") != "3" || c.str("name") != "Report.txt" {
		t.Errorf("an upload onto a name taken ignoring case: %s", c.raw)
	}
	if it, _ := e.s.Item(id); fmt.Sprint(it.Versions) != "[1 2 3]" {
		t.Errorf("versions %v", it.Versions)
	}
	for _, r := range []struct {
		path, rng string
		status    int
		body, cr  string
	}{
		{"files/" + id + "/data", "", 200, "third", ""},
		{"files/" + id + "/data?version=1", "", 200, "hello world!!", ""},
		{"files/" + id + "/data?version=1", "bytes=6-10", 206, "world", "bytes 6-10/13"},
		{"files/" + id + "/data?version=1", "bytes=11-", 206, "!!", "bytes 11-12/13"},
		{"files/" + id + "/data?version=1", "bytes=-3", 206, "d!!", "bytes 10-12/13"},
		{"files/" + id + "/data?version=1", "bytes=5-100", 206, " world!!", "bytes 5-12/13"},
		{"files/" + id + "/data?version=1", "bytes=13-", 416, "", "bytes */13"},
	} {
		got := e.do(http.MethodGet, r.path, nil, "Range", r.rng)
		if got.status != r.status || r.status != 416 && string(got.raw) != r.body || got.header.Get("Content-Range") != r.cr {
			t.Errorf("GET %s Range %q: %d %q %q, want %d %q %q", r.path, r.rng, got.status, got.raw, got.header.Get("Content-Range"), r.status, r.body, r.cr)
		}
	}
	if tag1, tag3 := e.get("files/"+id+"/data?version=1").header.Get("ETag"), e.get("files/"+id+"/data").header.Get("ETag"); tag1 == "" || tag1 == tag3 {
		t.Errorf("ETags %q %q: want one per version", tag1, tag3)
	}
	e.expect(e.get("files/"+id+"/data?version=9"), 404, ocmtest.CodeNotFound)
	e.expect(e.get("files/DNOSUCHFILE00000000000T0000000000100000001/data"), 404, ocmtest.CodeNotFound)
	if f := e.get("files/" + id + "?version=1"); f.str("version") != "1" || f.str("size") != "13" {
		t.Errorf("GET files/{id}?version=1: %s", f.raw)
	}
	v := e.get("files/" + id + "/versions")
	e.expect(v, 200, "0")
	if v.str("id") != id || v.str("name") != "Report.txt" || len(v.items()) != 3 || v.items()[0]["version"] != "1" || v.items()[0]["size"] != "13" || v.items()[2]["id"] != id {
		t.Errorf("versions: %s", v.raw)
	}
	e.expect(e.upload("self", "", "a/b", []byte("x")), 400, ocmtest.CodeBadRequest)
	e.expect(e.upload("FNOSUCHFOLDER0000000000T0000000000100000001", "", "x", []byte("x")), 404, ocmtest.CodeNotFound)
}

// TestNamesIgnoreCase: names are unique per folder ignoring case, files
// and folders together: a folder made on a taken name is name(2)
// silently (doc), a rename onto another item's name is 409 -17, a
// case-only rename is allowed, an upload onto a folder's name is 409.
func TestNamesIgnoreCase(t *testing.T) {
	e := start(t, ocmtest.Options{})
	a := e.send(http.MethodPost, "folders/self", `{"name":"Docs","description":"d"}`)
	e.expect(a, 200, "0")
	if a.str("name") != "Docs" || a.str("type") != "folder" || a.str("parentID") != "self" || a.str("childItemsCount") != "0" || a.str("description") != "d" {
		t.Errorf("create folder: %s", a.raw)
	}
	for _, want := range []string{"DOCS(2)", "docs(3)"} {
		name := strings.TrimSuffix(strings.TrimSuffix(want, "(2)"), "(3)")
		if b := e.send(http.MethodPost, "folders/self", fmt.Sprintf(`{"name":%q}`, name)); b.str("name") != want {
			t.Errorf("create folder %q on a taken name: %q, want %q", name, b.str("name"), want)
		}
	}
	f := e.upload("self", "", "a.txt", []byte("a")).str("id")
	g := e.upload("self", "", "b.txt", []byte("b")).str("id")
	e.expect(e.send(http.MethodPut, "files/"+g, `{"name":"A.TXT"}`), 409, ocmtest.CodeClash)
	e.expect(e.send(http.MethodPut, "folders/"+a.str("id"), `{"name":"a.txt"}`), 409, ocmtest.CodeClash)
	e.expect(e.upload("self", "", "docs", []byte("x")), 409, ocmtest.CodeClash)
	r := e.send(http.MethodPut, "files/"+f, `{"name":"A.txt"}`)
	e.expect(r, 200, "0")
	if r.str("name") != "A.txt" || r.str("id") != f {
		t.Errorf("case-only rename: %s", r.raw)
	}
	e.expect(e.send(http.MethodPut, "files/"+a.str("id"), `{"name":"x"}`), 404, ocmtest.CodeNotFound)
	e.expect(e.send(http.MethodPut, "files/"+f, `{"name":"x/y"}`), 400, ocmtest.CodeBadRequest)
	e.expect(e.send(http.MethodPut, "folders/self", `{"name":"x"}`), 403, ocmtest.CodePrivilege)
	if it, _ := e.s.ByPath("Docs"); it.Name != "Docs" {
		t.Errorf("the refused rename changed the folder: %+v", it)
	}
}

// TestMoveKeepsIdentity: a move keeps the GUID, the versions and the
// dates; a name taken at the destination (ignoring case) is refused; a
// folder cannot go into itself; a folder moves with what it holds.
func TestMoveKeepsIdentity(t *testing.T) {
	e := start(t, ocmtest.Options{TokenLife: 24 * time.Hour})
	src, dst := e.s.AddFolder("", "src"), e.s.AddFolder("", "dst")
	id := e.s.AddFile(src, "f.txt", []byte("v1"))
	e.clk.add(time.Hour)
	e.s.AddFile(src, "f.txt", []byte("v2"))
	before, _ := e.s.Item(id)
	e.clk.add(time.Hour)
	m := e.send(http.MethodPost, "files/"+id+"/move", fmt.Sprintf(`{"destinationID":%q}`, dst))
	e.expect(m, 200, "0")
	after, _ := e.s.Item(id)
	if m.str("id") != id || after.ParentID != dst || fmt.Sprint(after.Versions) != "[1 2]" || !after.Created.Equal(before.Created) || !after.Modified.Equal(before.Modified) {
		t.Errorf("move: %s; before %+v after %+v", m.raw, before, after)
	}
	other := e.s.AddFile(src, "F.TXT", []byte("x"))
	e.expect(e.send(http.MethodPost, "files/"+other+"/move", fmt.Sprintf(`{"destinationID":%q}`, dst)), 409, ocmtest.CodeClash)
	sub := e.s.AddFolder(src, "sub")
	inner := e.s.AddFile(sub, "in.txt", []byte("in"))
	e.expect(e.send(http.MethodPost, "folders/"+src+"/move", fmt.Sprintf(`{"destinationID":%q}`, sub)), 400, ocmtest.CodeBadRequest)
	e.expect(e.send(http.MethodPost, "folders/"+sub+"/move", fmt.Sprintf(`{"destinationID":%q}`, dst)), 200, "0")
	if _, ok := e.s.ByPath("dst/sub/in.txt"); !ok {
		t.Errorf("the folder's content did not move with it: %v", e.s.Tree())
	}
	if it, _ := e.s.Item(inner); it.ParentID != sub {
		t.Errorf("inner file's parent %s", it.ParentID)
	}
	e.expect(e.send(http.MethodPost, "files/"+id+"/move", `{"destinationID":"`+id+`"}`), 400, ocmtest.CodeBadRequest)
	e.expect(e.send(http.MethodPost, "files/"+id+"/move", `{}`), 400, ocmtest.CodeBadRequest)
}

// TestCopy: a copy is a new GUID holding the current version; a taken
// name is refused unless TimeStampSuffix; a folder copies deep.
func TestCopy(t *testing.T) {
	e := start(t, ocmtest.Options{})
	dst := e.s.AddFolder("", "dst")
	id := e.s.AddFile("", "c.txt", []byte("one"))
	e.s.AddFile("", "c.txt", []byte("two"))
	c := e.send(http.MethodPost, "files/"+id+"/copy", fmt.Sprintf(`{"destinationID":%q}`, dst))
	e.expect(c, 200, "0")
	if c.str("id") == id || c.str("version") != "1" || c.str("parentID") != dst {
		t.Errorf("copy: %s", c.raw)
	}
	if b, _ := e.s.Content(c.str("id"), ""); string(b) != "two" {
		t.Errorf("copy holds %q", b)
	}
	e.expect(e.send(http.MethodPost, "files/"+id+"/copy", fmt.Sprintf(`{"destinationID":%q}`, dst)), 409, ocmtest.CodeClash)
	if d := e.send(http.MethodPost, "files/"+id+"/copy", fmt.Sprintf(`{"destinationID":%q,"duplicateResolution":"TimeStampSuffix"}`, dst)); d.str("name") != "c_120000.txt" {
		t.Errorf("TimeStampSuffix copy: %s", d.raw)
	}
	e.expect(e.send(http.MethodPost, "folders/"+dst+"/copy", `{"destinationID":"self"}`), 409, ocmtest.CodeClash)
	sub := e.s.AddFolder("", "tree")
	e.s.AddFile(sub, "leaf.txt", []byte("leaf"))
	e.expect(e.send(http.MethodPost, "folders/"+sub+"/copy", fmt.Sprintf(`{"destinationID":%q}`, dst)), 200, "0")
	if _, ok := e.s.ByPath("dst/tree/leaf.txt"); !ok {
		t.Errorf("deep copy: %v", e.s.Tree())
	}
}

// TestDeleteAndTrash: DELETE files/{id} with {"version":"N"} in the body
// removes that version (?version= is ignored); without one the whole
// file goes to the trash (hidden, its name free, Items says Trashed);
// DELETE folders/{id} trashes what it holds; Restore and Purge.
func TestDeleteAndTrash(t *testing.T) {
	e := start(t, ocmtest.Options{})
	id := e.s.AddFile("", "d.txt", []byte("1"))
	e.s.AddFile("", "d.txt", []byte("22"))
	e.s.AddFile("", "d.txt", []byte("333"))
	d := e.send(http.MethodDelete, "files/"+id, `{"version":"2"}`)
	e.expect(d, 200, "0")
	if string(d.raw) != fmt.Sprintf(`{"errorCode":"0","idList":%q,"type":"file"}`+"\n", id) {
		t.Errorf("delete answer %s", d.raw)
	}
	if it, _ := e.s.Item(id); fmt.Sprint(it.Versions) != "[1 3]" || it.Trashed {
		t.Errorf("after deleting version 2: %+v", it)
	}
	e.expect(e.send(http.MethodDelete, "files/"+id+"?version=3", ``), 200, "0")
	it, _ := e.s.Item(id)
	if !it.Trashed || fmt.Sprint(it.Versions) != "[1 3]" {
		t.Errorf("a DELETE with ?version= only (ignored by default): %+v, want the whole file trashed", it)
	}
	e.expect(e.get("files/"+id), 404, ocmtest.CodeNotFound)
	e.expect(e.get("files/"+id+"/data"), 404, ocmtest.CodeNotFound)
	if a := e.get("folders/self/items"); a.str("totalResults") != "0" {
		t.Errorf("a trashed file listed: %s", a.raw)
	}
	again := e.upload("self", "", "D.TXT", []byte("new"))
	if again.str("id") == id || again.str("version") != "1" {
		t.Errorf("an upload on a trashed file's name: %s", again.raw)
	}
	if err := e.s.Restore(id); err != nil {
		t.Fatal(err)
	}
	if it, _ := e.s.Item(id); it.Trashed || it.Name != "d(2).txt" {
		t.Errorf("restored onto a name taken meanwhile: %+v", it)
	}
	dir := e.s.AddFolder("", "dir")
	in := e.s.AddFile(dir, "in.txt", []byte("x"))
	e.expect(e.send(http.MethodDelete, "folders/"+dir, ""), 200, "0")
	if it, _ := e.s.Item(in); !it.Trashed {
		t.Errorf("a file in a trashed folder: %+v", it)
	}
	e.expect(e.get("files/"+in), 404, ocmtest.CodeNotFound)
	e.expect(e.send(http.MethodDelete, "folders/"+in, ""), 404, ocmtest.CodeNotFound)
	e.expect(e.send(http.MethodDelete, "folders/self", ""), 403, ocmtest.CodePrivilege)
	e.s.Purge(dir)
	if it, _ := e.s.Item(in); !it.Purged {
		t.Errorf("purge: %+v", it)
	}
	if err := e.s.Restore(dir); err == nil {
		t.Errorf("a purged folder restored")
	}
	e.expect(e.send(http.MethodDelete, "files/"+again.str("id"), `{"version":"7"}`), 404, ocmtest.CodeNotFound)
}

// TestReservations: a file another user reserved refuses new versions,
// renames, moves and deletes (403 -1, the errorKey naming the
// reservation); GET files/{id} shows the reservation; the API's reserve
// and unreserve.
func TestReservations(t *testing.T) {
	e := start(t, ocmtest.Options{})
	id := e.s.AddFile("", "r.txt", []byte("r"))
	e.s.Reserve(id, "other@example.com")
	f := e.get("files/" + id)
	if by, _ := f.body["reservedBy"].(map[string]any); by["loginName"] != "other@example.com" || f.str("reservationTime") == "" {
		t.Errorf("GET of a reserved file: %s", f.raw)
	}
	dir := e.s.AddFolder("", "elsewhere")
	refused := e.upload("", id, "r.txt", []byte("x"))
	e.expect(refused, 403, ocmtest.CodeReserved)
	if !strings.Contains(refused.str("errorKey"), ocmtest.ReservedKey) || refused.str("errorCode") == ocmtest.CodeLinkInvalid {
		t.Errorf("a reservation's refusal: %s", refused.raw)
	}
	e.expect(e.upload("self", "", "R.txt", []byte("x")), 403, ocmtest.CodeReserved)
	e.expect(e.send(http.MethodPut, "files/"+id, `{"name":"s.txt"}`), 403, ocmtest.CodeReserved)
	e.expect(e.send(http.MethodPost, "files/"+id+"/move", `{"destinationID":"`+dir+`"}`), 403, ocmtest.CodeReserved)
	e.expect(e.send(http.MethodDelete, "files/"+id, ``), 403, ocmtest.CodeReserved)
	e.expect(e.send(http.MethodPost, "files/"+id+"/reserve", ``), 403, ocmtest.CodeReserved)
	e.expect(e.send(http.MethodPost, "files/"+id+"/unreserve", ``), 403, ocmtest.CodeReserved)
	if it, _ := e.s.Item(id); it.Version != 1 || it.Name != "r.txt" || it.Trashed || it.ParentID != "self" {
		t.Errorf("a refused change changed the file: %+v", it)
	}
	otherID := f.body["reservedBy"].(map[string]any)["id"].(string)
	e.expect(e.send(http.MethodPost, "files/"+id+"/unreserve", `{"reservedByUserID":"`+otherID+`"}`), 200, "0")
	r := e.send(http.MethodPost, "files/"+id+"/reserve", ``)
	e.expect(r, 200, "0")
	if by, _ := r.body["reservedBy"].(map[string]any); by["loginName"] != ocmtest.DefaultUser || r.str("reservationDate") == "" {
		t.Errorf("reserve: %s", r.raw)
	}
	e.expect(e.upload("", id, "r.txt", []byte("mine")), 200, "0")
	e.expect(e.send(http.MethodPost, "files/"+id+"/unreserve", ``), 200, "0")
	if it, _ := e.s.Item(id); it.ReservedBy != "" || it.Version != 2 {
		t.Errorf("after unreserve: %+v", it)
	}
}

// TestPublicLinks: a link's access code goes in the cookie (missing or
// wrong: 403 -18, seed 004's body); outside the linked folder 403 -20;
// a link unknown, removed, or over a trashed folder 400 -26 (doc);
// a viewer reads no bytes, a downloader writes nothing, a contributor
// writes inside but cannot remove the linked folder; the home listing
// is a token's only.
func TestPublicLinks(t *testing.T) {
	e := start(t, ocmtest.Options{})
	shared := e.s.AddFolder("", "shared")
	in := e.s.AddFile(shared, "in.txt", []byte("inside"))
	out := e.s.AddFile("", "out.txt", []byte("outside"))
	e.token = ""
	e.link = e.s.AddLink(shared, ocmtest.RoleContributor, "s3cret")
	a := e.get("folders/" + shared + "/items")
	e.expect(a, 403, ocmtest.CodeAccessCode)
	if a.str("errorKey") == "" || a.str("title") != a.str("errorMessage") || a.str("errorType") != "file" {
		t.Errorf("access code required body: %s", a.raw)
	}
	e.code = "wrong"
	e.expect(e.get("folders/"+shared+"/items"), 403, ocmtest.CodeAccessCode)
	e.code = "s3cret"
	if a := e.get("folders/" + shared + "/items"); a.str("totalResults") != "1" {
		t.Errorf("through the link: %s", a.raw)
	}
	e.expect(e.get("files/"+out), 403, ocmtest.CodePrivilege)
	e.expect(e.get("folders/self/items"), 403, ocmtest.CodePrivilege)
	e.expect(e.get("folders/items"), 403, ocmtest.CodePrivilege)
	e.expect(e.send(http.MethodPost, "files/"+in+"/move", `{"destinationID":"self"}`), 403, ocmtest.CodePrivilege)
	e.expect(e.send(http.MethodDelete, "folders/"+shared, ``), 403, ocmtest.CodePrivilege)
	e.expect(e.send(http.MethodPut, "folders/"+shared, `{"name":"x"}`), 403, ocmtest.CodePrivilege)
	up := e.upload(shared, "", "new.txt", []byte("by link"))
	e.expect(up, 200, "0")
	if by, _ := up.body["createdBy"].(map[string]any); by == nil {
		t.Errorf("an upload through a link has no createdBy: %s", up.raw)
	}
	e.expect(e.send(http.MethodDelete, "files/"+in, `{"version":"1"}`), 200, "0")
	file := e.s.AddFile(shared, "read.txt", []byte("read me"))
	e.link, e.code = e.s.AddLink(shared, ocmtest.RoleViewer, ""), ""
	e.expect(e.get("files/"+file), 200, "0")
	e.expect(e.get("files/"+file+"/data"), 403, ocmtest.CodePrivilege)
	e.expect(e.upload(shared, "", "v.txt", []byte("x")), 403, ocmtest.CodePrivilege)
	e.link = e.s.AddLink(shared, ocmtest.RoleDownloader, "")
	if a := e.get("files/" + file + "/data"); a.status != 200 || string(a.raw) != "read me" {
		t.Errorf("downloader read: %d %q", a.status, a.raw)
	}
	e.expect(e.upload("", file, "read.txt", []byte("x")), 403, ocmtest.CodePrivilege)
	e.expect(e.send(http.MethodPut, "files/"+file, `{"name":"y"}`), 403, ocmtest.CodePrivilege)
	e.link = "LFNOSUCHLINK"
	e.expect(e.get("files/"+file), 400, ocmtest.CodeLinkInvalid)
	e.link = e.s.AddLink(shared, ocmtest.RoleDownloader, "")
	e.expect(e.get("files/"+file), 200, "0")
	e.s.RemoveLink(e.link)
	a = e.get("files/" + file)
	e.expect(a, 400, ocmtest.CodeLinkInvalid)
	if a.str("errorKey") == "" || a.str("title") == "" {
		t.Errorf("a removed link's answer: %s", a.raw)
	}
	e.link = e.s.AddLink(shared, ocmtest.RoleDownloader, "")
	e.s.Remove(shared)
	e.expect(e.get("files/"+file), 400, ocmtest.CodeLinkInvalid)
}

// TestAppLinks: appLinkID and accessToken, in headers or in the query,
// scope requests to the folder with the link's role; a wrong token is
// 401, a removed applink 400 -26.
func TestAppLinks(t *testing.T) {
	e := start(t, ocmtest.Options{})
	shared := e.s.AddFolder("", "app")
	outside := e.s.AddFile("", "o.txt", []byte("o"))
	e.token = ""
	e.appID, e.appToken = e.s.AddAppLink(shared, ocmtest.RoleContributor)
	e.expect(e.upload(shared, "", "a.txt", []byte("a")), 200, "0")
	e.expect(e.get("files/"+outside), 403, ocmtest.CodePrivilege)
	q := url.Values{"appLinkID": {e.appID}, "accessToken": {e.appToken}}.Encode()
	e.appID = ""
	if a := e.get("folders/" + shared + "/items?" + q); a.str("totalResults") != "1" {
		t.Errorf("applink in the query: %s", a.raw)
	}
	e.appID, e.appToken = e.s.AddAppLink(shared, ocmtest.RoleContributor)
	e.appToken = "wrong"
	if a := e.get("folders/" + shared + "/items"); a.status != 401 {
		t.Errorf("a wrong applink token: %d", a.status)
	}
	e.s.RemoveLink(e.appID)
	e.expect(e.get("folders/"+shared+"/items"), 400, ocmtest.CodeLinkInvalid)
}
