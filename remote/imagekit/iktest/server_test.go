package iktest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/imagekit/iktest"
)

func newServer(t *testing.T, o iktest.Options) *iktest.Server {
	t.Helper()
	s, err := iktest.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// do sends a request with the key, and decodes a JSON answer into out.
func do(t *testing.T, s *iktest.Server, method, path, ctype string, body io.Reader, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, body)
	req.SetBasicAuth(s.Key(), "")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// upload sends a file with the fields given (and nothing else).
func upload(t *testing.T, s *iktest.Server, fields map[string]string, data []byte) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	w, _ := mw.CreateFormFile("file", "blob")
	w.Write(data)
	mw.Close()
	var out map[string]any
	st := do(t, s, http.MethodPost, "/api/v1/files/upload", mw.FormDataContentType(), &buf, &out)
	return st, out
}

// TestDocumentedUploads: useUniqueFileName defaults to true (a suffix);
// names are rewritten silently; a taken name with
// useUniqueFileName=false makes a version of the same file, at most 100.
func TestDocumentedUploads(t *testing.T) {
	s := newServer(t, iktest.Options{MaxVersions: 3})
	st, a := upload(t, s, map[string]string{"fileName": "a.txt"}, []byte("x"))
	if st != 200 || a["name"] == "a.txt" || !strings.HasPrefix(a["name"].(string), "a_") {
		t.Errorf("an upload without useUniqueFileName: %d, named %v; want a suffix", st, a["name"])
	}
	st, b := upload(t, s, map[string]string{"fileName": "two words!.txt", "useUniqueFileName": "false", "folder": "/my dir/"}, []byte("y"))
	if st != 200 || b["name"] != "two_words_.txt" || b["filePath"] != "/my_dir/two_words_.txt" {
		t.Errorf("a name with a space: %d, %v at %v; want it rewritten", st, b["name"], b["filePath"])
	}
	var ids []any
	for i := range 4 {
		st, c := upload(t, s, map[string]string{"fileName": "v.txt", "useUniqueFileName": "false"}, []byte{byte(i)})
		if i < 3 && st != 200 {
			t.Fatalf("version %d: %d", i+1, st)
		}
		if i == 3 && st != 400 {
			t.Errorf("a version past the limit: %d, want 400", st)
		}
		ids = append(ids, c["fileId"])
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("versions under ids %v, want one", ids)
	}
	if st, _ := upload(t, s, map[string]string{"fileName": "v.txt", "useUniqueFileName": "false", "overwriteFile": "false"}, []byte("z")); st != 400 {
		t.Errorf("overwriteFile=false onto a taken name: %d, want 400", st)
	}
}

// TestFolderDeleteRecursive: DELETE /v1/folder deletes everything below.
func TestFolderDeleteRecursive(t *testing.T) {
	s := newServer(t, iktest.Options{})
	f := s.AddFolder("", "Top")
	sub := s.AddFolder(f, "Sub")
	id := s.AddFile(sub, "deep.txt", []byte("d"))
	if st := do(t, s, http.MethodDelete, "/v1/folder", "application/json", strings.NewReader(`{"folderPath":"/Top/"}`), nil); st != 204 {
		t.Fatalf("DELETE /v1/folder: %d", st)
	}
	if it, _ := s.Item(id); !it.Deleted {
		t.Errorf("a file two levels below a deleted folder is left")
	}
}

// TestCDN: an optimised copy unless tr=orig-true; ranges as 206, or the
// whole file under range-ignored.
func TestCDN(t *testing.T) {
	for _, ignored := range []bool{false, true} {
		var q []string
		if ignored {
			q = []string{iktest.QuirkRangeIgnored}
		}
		s := newServer(t, iktest.Options{Quirks: q})
		s.AddFile("", "p.jpg", []byte("0123456789"))
		get := func(query, rng string) (int, string) {
			req, _ := http.NewRequest(http.MethodGet, s.Endpoint+"/p.jpg"+query, nil)
			if rng != "" {
				req.Header.Set("Range", rng)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		if _, body := get("", ""); body == "0123456789" {
			t.Errorf("without tr=orig-true: the original bytes")
		}
		st, body := get("?tr=orig-true", "bytes=2-4")
		want := fmt.Sprint(206, "234")
		if ignored {
			want = fmt.Sprint(200, "0123456789")
		}
		if got := fmt.Sprint(st, body); got != want {
			t.Errorf("range (ignored %v): %s, want %s", ignored, got, want)
		}
	}
}

// TestMoveMerges: a file moved onto a taken name joins that file's
// history (documented), or is refused (move-409).
func TestMoveMerges(t *testing.T) {
	for _, q := range []string{iktest.QuirkMoveMerges, iktest.QuirkMove409} {
		s := newServer(t, iktest.Options{Quirks: []string{q}})
		a, b := s.AddFolder("", "A"), s.AddFolder("", "B")
		src := s.AddFile(a, "x.txt", []byte("src"))
		dst := s.AddFile(b, "x.txt", []byte("dst"))
		st := do(t, s, http.MethodPost, "/v1/files/move", "application/json", strings.NewReader(`{"sourceFilePath":"/A/x.txt","destinationPath":"/B/"}`), nil)
		it, _ := s.Item(dst)
		gone, _ := s.Item(src)
		switch q {
		case iktest.QuirkMoveMerges:
			if st != 204 || it.Versions != 2 || !gone.Deleted {
				t.Errorf("merge: %d, %d versions, source deleted %v", st, it.Versions, gone.Deleted)
			}
		default:
			if st != 409 || it.Versions != 1 || gone.Deleted {
				t.Errorf("409: %d, %d versions, source deleted %v", st, it.Versions, gone.Deleted)
			}
		}
	}
}

// TestFaults429AndUploads: Fault429 answers API calls 429 with the
// rate-limit headers, never an upload; UploadsReceived counts an upload
// as it arrives, before UploadDelay ends.
func TestFaults429AndUploads(t *testing.T) {
	s := newServer(t, iktest.Options{})
	s.SetFaults(iktest.Faults{Fault429: 1})
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/files", nil)
	req.SetBasicAuth(s.Key(), "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("X-RateLimit-Reset") != "100" || res.Header.Get("X-RateLimit-Limit") == "" {
		t.Errorf("GET /v1/files under Fault429: %d %v", res.StatusCode, res.Header)
	}
	if st, _ := upload(t, s, map[string]string{"fileName": "a.txt", "useUniqueFileName": "false"}, []byte("x")); st != http.StatusOK {
		t.Errorf("an upload under Fault429: %d", st)
	}
	s.SetFaults(iktest.Faults{UploadDelay: 300 * time.Millisecond})
	done := make(chan int)
	go func() {
		st, _ := upload(t, s, map[string]string{"fileName": "b.txt", "useUniqueFileName": "false"}, []byte("y"))
		done <- st
	}()
	for s.Calls(iktest.UploadsReceived) < 2 {
		time.Sleep(2 * time.Millisecond) // until the server has it
	}
	if _, ok := s.ByPath("/b.txt"); ok {
		t.Error("the delayed upload was stored at once")
	}
	if st := <-done; st != http.StatusOK {
		t.Errorf("the delayed upload: %d", st)
	}
	if _, ok := s.ByPath("/b.txt"); !ok {
		t.Error("the delayed upload was not stored")
	}
}

// TestRateLimitedCounted: every 429 the fake answers, of a spent window
// or of Fault429, is counted under RateLimited as well as its endpoint's.
func TestRateLimitedCounted(t *testing.T) {
	s := newServer(t, iktest.Options{RateLimit: 1, RateInterval: time.Hour})
	get := func(s *iktest.Server) int { return do(t, s, http.MethodGet, "/v1/files", "", nil, nil) }
	if a, b := get(s), get(s); a != http.StatusOK || b != http.StatusTooManyRequests {
		t.Fatalf("two calls in a window of one: %d, %d", a, b)
	}
	if n := s.Calls(iktest.RateLimited); n != 1 {
		t.Errorf("a spent window's 429: counted %d, want 1", n)
	}
	s = newServer(t, iktest.Options{})
	s.SetFaults(iktest.Faults{Fault429: 1})
	if st := get(s); st != http.StatusTooManyRequests {
		t.Fatalf("under Fault429: %d", st)
	}
	if n := s.Calls(iktest.RateLimited); n != 1 {
		t.Errorf("a Fault429: counted %d, want 1", n)
	}
}

// TestVersions: a file's versions are listed with their numbers ("Version
// N", the earlier ones of type file-version and read by ik-obj-version);
// DELETE of one removes it alone and its number is never taken again;
// the current one is 400 with the documented message; a restore makes an
// earlier one current, keeping its id and name; what a file or a version
// does not hold is 404 (doc delete-file-version.md,
// restore-file-version.md, get-file-versions.md).
func TestVersions(t *testing.T) {
	s := newServer(t, iktest.Options{})
	for i := range 3 {
		if st, _ := upload(t, s, map[string]string{"fileName": "v.txt", "useUniqueFileName": "false"}, []byte{'a' + byte(i)}); st != 200 {
			t.Fatalf("upload %d: %d", i+1, st)
		}
	}
	it, _ := s.ByPath("/v.txt")
	type listed struct {
		Type        string `json:"type"`
		URL         string `json:"url"`
		VersionInfo struct {
			ID, Name string
		} `json:"versionInfo"`
	}
	versions := func() []listed {
		t.Helper()
		var out []listed
		if st := do(t, s, http.MethodGet, "/v1/files/"+it.ID+"/versions", "", nil, &out); st != 200 {
			t.Fatalf("GET versions: %d", st)
		}
		return out
	}
	names := func(vs []listed) string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Type+" "+v.VersionInfo.Name)
		}
		return strings.Join(out, ", ")
	}
	vs := versions()
	if got := names(vs); got != "file-version Version 1, file-version Version 2, file Version 3" {
		t.Fatalf("versions: %s", got)
	}
	if !strings.Contains(vs[0].URL, "ik-obj-version="+vs[0].VersionInfo.ID) {
		t.Errorf("an earlier version's url %s does not name it", vs[0].URL)
	}
	del := func(id, rev string) (int, map[string]any) {
		t.Helper()
		var out map[string]any
		st := do(t, s, http.MethodDelete, "/v1/files/"+id+"/versions/"+rev, "", nil, &out)
		return st, out
	}
	if st, body := del(it.ID, vs[2].VersionInfo.ID); st != 400 || body["message"] != "You cannot delete current version of a file." {
		t.Errorf("DELETE of the current version: %d %v", st, body)
	}
	if st, _ := del(it.ID, vs[0].VersionInfo.ID); st != 204 {
		t.Fatalf("DELETE of version 1: %d", st)
	}
	if got := names(versions()); got != "file-version Version 2, file Version 3" {
		t.Errorf("after version 1 deleted: %s", got)
	}
	if _, ok := s.Content(it.ID, vs[0].VersionInfo.ID); ok {
		t.Errorf("the fake still holds version 1's bytes")
	}
	if st, body := del(it.ID, vs[0].VersionInfo.ID); st != 404 || body["message"] != "The requested asset does not exist." {
		t.Errorf("DELETE of a version deleted: %d %v", st, body)
	}
	if st, _ := del("0123456789abcdef01234567", vs[1].VersionInfo.ID); st != 404 {
		t.Errorf("DELETE of a version of no file: %d", st)
	}
	upload(t, s, map[string]string{"fileName": "v.txt", "useUniqueFileName": "false"}, []byte("d"))
	if got := names(versions()); got != "file-version Version 2, file-version Version 3, file Version 4" {
		t.Errorf("an upload after version 1 deleted: %s; its number is never taken again", got)
	}

	// Restore version 2: current again, as "Version 2"; version 4 can go.
	var restored listed
	if st := do(t, s, http.MethodPut, "/v1/files/"+it.ID+"/versions/"+vs[1].VersionInfo.ID+"/restore", "", nil, &restored); st != 200 ||
		restored.VersionInfo.ID != vs[1].VersionInfo.ID || restored.VersionInfo.Name != "Version 2" || restored.Type != "file" {
		t.Fatalf("restore of version 2: %d %+v", st, restored)
	}
	if b, _ := s.Content(it.ID, ""); string(b) != "b" {
		t.Errorf("after the restore the file reads %q, want version 2's", b)
	}
	after := versions()
	if got := names(after); got != "file-version Version 3, file-version Version 4, file Version 2" {
		t.Fatalf("after the restore: %s; want version 2 current, listed last", got)
	}
	four := after[1].VersionInfo
	if st, _ := del(it.ID, four.ID); st != 204 {
		t.Errorf("DELETE of version 4, no longer current: %d", st)
	}
	if st, _ := del(it.ID, vs[1].VersionInfo.ID); st != 400 {
		t.Errorf("DELETE of version 2, restored as the current one: %d", st)
	}
	if st := do(t, s, http.MethodPut, "/v1/files/"+it.ID+"/versions/"+four.ID+"/restore", "", nil, nil); st != 404 {
		t.Errorf("restore of a version deleted: %d", st)
	}
}
