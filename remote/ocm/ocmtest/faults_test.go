package ocmtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
	"github.com/ghlfs/ghlfs/remote/remotetest"
)

// TestFaults: Fault429 answers 429 with Retry-After (and no rate-limit
// header otherwise); Fault500 and FailNext answer 500 with nothing done;
// CutNext carries a call out and cuts its connection; Down is 503 but
// the control API answers.
func TestFaults(t *testing.T) {
	e := start(t, ocmtest.Options{})
	a := e.get("folders/self/items")
	for k := range a.header {
		if strings.Contains(strings.ToLower(k), "ratelimit") || k == "Retry-After" {
			t.Errorf("a rate-limit header without a fault: %s", k)
		}
	}
	e.s.SetFaults(ocmtest.Faults{Fault429: 1, RetryAfter: 1500 * time.Millisecond})
	if a := e.get("folders/self/items"); a.status != 429 || a.header.Get("Retry-After") != "2" {
		t.Errorf("Fault429: %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	if e.s.Calls(ocmtest.RateLimited) != 1 {
		t.Errorf("429s counted %d", e.s.Calls(ocmtest.RateLimited))
	}
	e.s.SetFaults(ocmtest.Faults{Fault500: 1})
	if a := e.send(http.MethodPost, "folders/self", `{"name":"x"}`); a.status != 500 || len(e.s.Items()) != 0 {
		t.Errorf("Fault500: %d, %d items", a.status, len(e.s.Items()))
	}
	e.s.SetFaults(ocmtest.Faults{})
	e.s.FailNext(ocmtest.EndpointCreateFolder)
	if a := e.send(http.MethodPost, "folders/self", `{"name":"x"}`); a.status != 500 || len(e.s.Items()) != 0 {
		t.Errorf("FailNext: %d", a.status)
	}
	e.s.CutNext(ocmtest.EndpointCreateFolder)
	req, _ := http.NewRequest(http.MethodPost, e.s.URL+ocmtest.BasePath+"folders/self", strings.NewReader(`{"name":"cut"}`))
	req.Header.Set("Authorization", "Bearer "+e.token)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Errorf("CutNext: answered %s", res.Status)
	}
	if _, ok := e.s.ByPath("cut"); !ok {
		t.Errorf("CutNext: the folder was not made")
	}
	e.s.SetFaults(ocmtest.Faults{Down: true})
	if a := e.get("folders/self/items"); a.status != 503 {
		t.Errorf("Down: %d", a.status)
	}
	res, err := http.Get(e.s.URL + "/_ocmfake/items")
	if err != nil || res.StatusCode != 200 {
		t.Errorf("the control API while Down: %v %v", res, err)
	}
	res.Body.Close()
	if e.s.Calls(ocmtest.EndpointCreateFolder) != 3 {
		t.Errorf("calls of create folder: %d", e.s.Calls(ocmtest.EndpointCreateFolder))
	}
}

// TestUploadDelay: UploadsReceived counts an upload as it arrives; it is
// stored once UploadDelay is over.
func TestUploadDelay(t *testing.T) {
	e := start(t, ocmtest.Options{})
	e.s.SetFaults(ocmtest.Faults{UploadDelay: 300 * time.Millisecond})
	done := make(chan int)
	go func() { done <- e.upload("self", "", "slow.txt", []byte("s")).status }()
	for e.s.Calls(ocmtest.UploadsReceived) < 1 {
		time.Sleep(2 * time.Millisecond) // until the server has it
	}
	if _, ok := e.s.ByPath("slow.txt"); ok {
		t.Error("the delayed upload was stored at once")
	}
	if st := <-done; st != 200 {
		t.Errorf("the delayed upload: %d", st)
	}
	if _, ok := e.s.ByPath("slow.txt"); !ok {
		t.Error("the delayed upload was not stored")
	}
}

// TestControlAPI: the library is read and changed over /_ocmfake/.
func TestControlAPI(t *testing.T) {
	e := start(t, ocmtest.Options{})
	post := func(path, body string, out any) int {
		t.Helper()
		res, err := http.Post(e.s.URL+"/_ocmfake/"+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if out != nil {
			json.NewDecoder(res.Body).Decode(out)
		}
		return res.StatusCode
	}
	var f, file struct{ ID string }
	post("folders", `{"parentID":"","name":"ctl"}`, &f)
	post("files?parentID="+f.ID+"&name=c.txt", "bytes", &file)
	if b, _ := e.s.Content(file.ID, "1"); string(b) != "bytes" {
		t.Fatalf("files: %q", b)
	}
	if st := post("reserve", `{"id":"`+file.ID+`","user":"x@example.com"}`, nil); st != 200 {
		t.Errorf("reserve: %d", st)
	}
	if it, _ := e.s.Item(file.ID); it.ReservedBy != "x@example.com" {
		t.Errorf("reserved by %q", it.ReservedBy)
	}
	post("remove", `{"id":"`+f.ID+`"}`, nil)
	if it, _ := e.s.Item(file.ID); !it.Trashed {
		t.Errorf("remove: %+v", it)
	}
	if st := post("restore", `{"id":"`+f.ID+`"}`, nil); st != 200 {
		t.Errorf("restore: %d", st)
	}
	if st := post("restore", `{"id":"`+f.ID+`"}`, nil); st != 409 {
		t.Errorf("restore of an item not in the trash: %d", st)
	}
	var l struct{ LinkID string }
	post("links", `{"folderID":"`+f.ID+`","role":"viewer"}`, &l)
	if st := post("links", `{"folderID":"`+f.ID+`","role":"admin"}`, nil); st != 400 || l.LinkID == "" {
		t.Errorf("links: %d, %q", st, l.LinkID)
	}
	e.token, e.link = "", l.LinkID
	e.expect(e.get("folders/"+f.ID+"/items"), 200, "0")
	if st := post("links/remove", `{"id":"`+l.LinkID+`"}`, nil); st != 200 {
		t.Errorf("links/remove: %d", st)
	}
	e.expect(e.get("folders/"+f.ID+"/items"), 400, ocmtest.CodeLinkInvalid)
	e.link = ""
	post("faults", `{"fault_500":1}`, nil)
	if e.s.CurrentFaults().Fault500 != 1 {
		t.Errorf("faults: %+v", e.s.CurrentFaults())
	}
	post("faults", `{"fault_500":0}`, nil)
	if st := post("quirks", `{"quirks":["nope"]}`, nil); st != 400 {
		t.Errorf("an unknown quirk: %d", st)
	}
	post("quirks", `{"quirks":["home-guid"]}`, nil)
	if e.s.HomeID() == "self" {
		t.Errorf("quirks not set")
	}
	post("tokens/expire", ``, nil)
	if a := e.get("folders/self/items"); a.status != 401 {
		t.Errorf("tokens/expire: %d", a.status)
	}
	res, _ := http.Get(e.s.URL + "/_ocmfake/content?id=" + file.ID)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(b, []byte("bytes")) {
		t.Errorf("content: %q", b)
	}
	post("purge", `{"id":"`+file.ID+`"}`, nil)
	var items []ocmtest.Item
	res, _ = http.Get(e.s.URL + "/_ocmfake/items")
	json.NewDecoder(res.Body).Decode(&items)
	res.Body.Close()
	if len(items) != 2 || !items[1].Purged {
		t.Errorf("items: %+v", items)
	}
	if st := post("nope", ``, nil); st != 404 {
		t.Errorf("an unknown control route: %d", st)
	}
}

// TestContractFake: the contract's view: the home folder is "", a
// trashed item Trashed, a purged one Deleted, Rev the version number;
// CutNext(op) cuts that op's endpoints.
func TestContractFake(t *testing.T) {
	e := start(t, ocmtest.Options{Quirks: []string{ocmtest.QuirkHomeGUID}})
	var f remotetest.Fake = ocmtest.ContractFake{Server: e.s}
	dir := f.AddFolder("", "d")
	id := f.AddFile(dir, "x.txt", []byte("1"))
	f.AddFile(dir, "x.txt", []byte("22"))
	gone := f.AddFile("", "gone.txt", nil)
	f.Remove(gone)
	purged := f.AddFile("", "purged.txt", nil)
	e.s.Purge(purged)
	byID := map[string]remotetest.Item{}
	for _, it := range f.Items() {
		byID[it.ID] = it
	}
	if d := byID[dir]; d.ParentID != "" || !d.Folder || d.Status != remotetest.Active {
		t.Errorf("folder %+v", d)
	}
	if x := byID[id]; x.ParentID != dir || x.Rev != "2" || x.Versions != 2 || x.Size != 2 {
		t.Errorf("file %+v", x)
	}
	if byID[gone].Status != remotetest.Trashed || byID[purged].Status != remotetest.Deleted {
		t.Errorf("statuses %+v %+v", byID[gone], byID[purged])
	}
	if b, _ := f.Content(id, "1"); string(b) != "1" {
		t.Errorf("content of version 1: %q", b)
	}
	f.CutNext(remotetest.OpRename)
	req, _ := http.NewRequest(http.MethodPut, e.s.URL+ocmtest.BasePath+"files/"+id, strings.NewReader(`{"name":"y.txt"}`))
	req.Header.Set("Authorization", "Bearer "+e.token)
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
	}
	if it, _ := e.s.Item(id); err == nil || it.Name != "y.txt" {
		t.Errorf("CutNext(rename): answered (error %v), name %q; want it done and cut", err, it.Name)
	}
}
