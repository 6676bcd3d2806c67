package ghltest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaultDown(t *testing.T) {
	s := start(t, Options{Faults: Faults{Down: true}})
	id := s.AddFile("", "a.txt", "", []byte("a"))
	it, _ := s.Item(id)
	want := `{"statusCode":503,"message":"Service Unavailable"}`
	if r := s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, 503); string(r.body) != want {
		t.Errorf("API body %s", r.body)
	}
	if r := get(t, it.URL, nil).expect(t, 503); string(r.body) != want {
		t.Errorf("storage body %s", r.body)
	}
	// Control endpoints still work, and bring the service back.
	post(t, s.URL+"/_ghlfake/faults", `{"down": false}`).expect(t, 200)
	s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, 200)
}

func TestFault500And429(t *testing.T) {
	s := start(t, Options{})
	list := func() resp { return s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}) }

	s.SetFaults(Faults{Fault500: 1})
	var body map[string]any
	list().expect(t, 500).decode(t, &body)
	if body["statusCode"] != 500.0 || body["traceId"] == "" {
		t.Errorf("500 body %v", body)
	}
	// Injected faults come before any check, even of the token.
	s.testDo(t, req{path: "/medias/files", headers: map[string]string{"Authorization": "-"}}).expect(t, 500)

	s.SetFaults(Faults{Fault429: 1})
	r := list().expect(t, 429)
	if r.header.Get("Retry-After") != "1" || string(r.body) != `{"statusCode":429,"message":"Too many requests"}` {
		t.Errorf("injected 429: %v %s", r.header, r.body)
	}
	s.SetFaults(Faults{Fault429: 1, Fault429NoRetryAfter: true})
	if r := list().expect(t, 429); r.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if st := s.Stats(); st.RateLimited != 0 || st.APIRequests != 4 {
		t.Errorf("stats %+v", st)
	}

	t.Run("fractions", func(t *testing.T) {
		s := start(t, Options{Rand: rand.New(rand.NewPCG(1, 2)), RateLimit: -1, Faults: Faults{Fault500: 0.5}})
		counts := map[int]int{}
		for range 200 {
			counts[s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).status]++
		}
		if counts[500] < 60 || counts[200] < 60 || counts[500]+counts[200] != 200 {
			t.Errorf("statuses %v", counts)
		}
	})
}

func TestFaultCut(t *testing.T) {
	s := start(t, Options{})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()

	t.Run("API: effect happens, no answer", func(t *testing.T) {
		s.SetFaults(Faults{FaultCut: 1})
		hr := s.testRequest(t, req{method: http.MethodPost, path: "/medias/folder",
			json: map[string]string{"altId": testLoc, "altType": "location", "name": "made in the dark"}})
		res, err := client.Do(hr)
		if err == nil {
			res.Body.Close()
			t.Fatalf("got an answer: %d", res.StatusCode)
		}
		s.SetFaults(Faults{})
		if got := names(s.list(t, listQ("folder", ""))); len(got) != 1 || got[0] != "made in the dark" {
			t.Errorf("folders %q", got)
		}
	})
	t.Run("storage: half a body", func(t *testing.T) {
		data := bytes.Repeat([]byte("abcdefgh"), 64<<10) // 512 KiB
		id := s.AddFile("", "big.bin", "", data)
		it, _ := s.Item(id)
		s.SetFaults(Faults{FaultCut: 1})
		defer s.SetFaults(Faults{})
		for _, rng := range []string{"", "bytes=1000-200999"} {
			hr, _ := http.NewRequest(http.MethodGet, it.URL, nil)
			if rng != "" {
				hr.Header.Set("Range", rng)
			}
			res, err := client.Do(hr)
			if err != nil {
				t.Fatalf("no headers: %v", err)
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("range %q: read error %v, want unexpected EOF", rng, err)
			}
			if int64(len(b)) >= res.ContentLength || len(b) == 0 {
				t.Errorf("range %q: got %d of %d bytes", rng, len(b), res.ContentLength)
			}
		}
		if st := s.Stats(); st.StorageBytes != int64(len(data)/2+100000) {
			t.Errorf("storage_bytes %d, want what was sent: %d", st.StorageBytes, len(data)/2+100000)
		}
	})
}

// CutNext cuts one request of the endpoints named, carried out, and no
// other.
func TestCutNext(t *testing.T) {
	s := start(t, Options{})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	mkdir := func(name string) error {
		hr := s.testRequest(t, req{method: http.MethodPost, path: "/medias/folder",
			json: map[string]string{"altId": testLoc, "altType": "location", "name": name}})
		res, err := client.Do(hr)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	s.CutNext(EndpointUpload, EndpointFolder)
	if got := s.testDo(t, req{path: "/medias/files", query: listQ("folder", "")}).status; got != 200 {
		t.Fatalf("a listing, not named: %d", got)
	}
	if err := mkdir("cut"); err == nil {
		t.Fatal("the folder's create was answered; want its connection cut")
	}
	if err := mkdir("answered"); err != nil {
		t.Fatalf("the next create: %v; one cut was asked for", err)
	}
	if got := names(s.list(t, listQ("folder", ""))); len(got) != 2 {
		t.Errorf("folders %q: want both made", got)
	}
}

func TestFaultRejectUploads(t *testing.T) {
	s := start(t, Options{Faults: Faults{RejectUploads: true}})
	r := s.upload(t, nil, formFile{"file", "a.txt", "", []byte("a")}).expect(t, 400)
	if string(r.body) != `{"statusCode":400,"message":"File upload rejected (injected fault)","error":"Bad Request"}` {
		t.Errorf("body %s", r.body)
	}
	if n := len(s.Items()); n != 0 {
		t.Errorf("%d items stored", n)
	}
	s.SetFaults(Faults{RejectUploads: true, RejectUploadsStatus: 503})
	r = s.upload(t, nil, formFile{"file", "a.txt", "", []byte("a")}).expect(t, 503)
	if string(r.body) != `{"statusCode":503,"message":"File upload rejected (injected fault)","error":"Service Unavailable"}` {
		t.Errorf("body %s", r.body)
	}
	post(t, s.URL+"/_ghlfake/faults", `{"reject_uploads": true, "reject_uploads_status": 200}`).expect(t, 400)
}

func TestFaultUploadDelay(t *testing.T) {
	s, err := New(Options{Token: testToken, LocationID: testLoc, Faults: Faults{UploadDelay: Duration(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool, 1)
	s.hooks.uploadWaiting = cancel // the client gives up while the server waits
	s.hooks.uploadDone = func(stored bool) { done <- stored }
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	body, ctype := multipartBody(t, nil, formFile{"file", "late.txt", "", []byte("late")})
	hr := s.testRequest(t, req{method: http.MethodPost, path: "/medias/upload-file", body: body, ctype: ctype})
	if res, err := http.DefaultClient.Do(hr.WithContext(ctx)); err == nil {
		res.Body.Close()
		t.Fatalf("got an answer: %d", res.StatusCode)
	}
	if stored := <-done; stored {
		t.Errorf("the upload was stored after the client left")
	}
	if n := len(s.Items()); n != 0 {
		t.Errorf("%d items stored", n)
	}

	// With a short delay the upload goes through.
	s.SetFaults(Faults{UploadDelay: Duration(time.Millisecond)})
	s.upload(t, nil, formFile{"file", "a.txt", "", []byte("a")}).expect(t, 201)
	if stored := <-done; !stored {
		t.Errorf("not stored")
	}
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Faults: Faults{Latency: Duration(150 * time.Millisecond), StorageLatency: Duration(150 * time.Millisecond)}})
	id := s.AddFile("", "a.txt", "", []byte("a"))
	it, _ := s.Item(id)
	begin := time.Now()
	s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, 200)
	get(t, it.URL, nil).expect(t, 200)
	if d := time.Since(begin); d < 300*time.Millisecond {
		t.Errorf("two requests took %v, want at least 300ms", d)
	}
}

func TestControlEndpoints(t *testing.T) {
	s := start(t, Options{Faults: Faults{Fault500: 0.25, Latency: Duration(time.Millisecond)}})

	var f Faults
	post(t, s.URL+"/_ghlfake/faults", `{"fault_cut": 0.5, "latency": "50ms", "storage_rate": 1000}`).expect(t, 200).decode(t, &f)
	want := Faults{Fault500: 0.25, FaultCut: 0.5, Latency: Duration(50 * time.Millisecond), StorageRate: 1000}
	if f != want || s.Faults() != want {
		t.Errorf("faults %+v, want %+v", f, want)
	}
	get(t, s.URL+"/_ghlfake/faults", nil).expect(t, 200).decode(t, &f)
	if f != want {
		t.Errorf("GET faults %+v", f)
	}
	raw := get(t, s.URL+"/_ghlfake/faults", nil)
	for _, k := range []string{"fault_500", "fault_429", "fault_429_no_retry_after", "fault_cut", "latency", "storage_latency",
		"storage_rate", "down", "reject_uploads", "upload_delay", "upload_rate", `"50ms"`} {
		if !strings.Contains(string(raw.body), k) {
			t.Errorf("faults JSON lacks %s: %s", k, raw.body)
		}
	}
	for _, bad := range []string{`{"fault_5OO": 1}`, `{"fault_500": 2}`, `{"latency": "soon"}`, `nope`} {
		post(t, s.URL+"/_ghlfake/faults", bad).expect(t, 400)
	}
	if s.Faults() != want {
		t.Errorf("a refused change changed the faults: %+v", s.Faults())
	}
	if st := s.Stats(); st.APIRequests != 0 || st.StorageRequests != 0 {
		t.Errorf("control requests were counted: %+v", st)
	}
	get(t, s.URL+"/_ghlfake/nothing", nil).expect(t, 404)
}

func TestStats(t *testing.T) {
	s := start(t, Options{})
	data := bytes.Repeat([]byte("x"), 1000)
	id := s.AddFile("", "a.txt", "", data)
	it, _ := s.Item(id)
	dir := s.AddFolder("", "D")

	s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, 200)
	s.testDo(t, req{path: "/medias/files", headers: map[string]string{"Authorization": "-"}}).expect(t, 401)
	s.testDo(t, req{path: "/medias/files"}).expect(t, 422)
	s.testDo(t, req{method: http.MethodPost, path: "/medias/folder", json: map[string]string{"altId": testLoc, "altType": "location", "name": "E"}}).expect(t, 201)
	s.upload(t, nil, formFile{"file", "b.txt", "", data}).expect(t, 201)
	s.testDo(t, req{method: http.MethodPost, path: "/medias/" + dir, json: map[string]string{"altId": testLoc, "altType": "location", "name": "F"}}).expect(t, 201)
	s.testDo(t, req{method: http.MethodPut, path: "/medias/update-files", json: map[string]any{"altId": testLoc, "altType": "location",
		"filesToBeUpdated": []map[string]string{{"id": dir, "name": "G"}}}}).expect(t, 200)
	s.testDo(t, req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{"altId": testLoc, "altType": "location",
		"status": "trashed", "filesToBeDeleted": []map[string]string{{"_id": dir}}}}).expect(t, 200)
	s.testDo(t, req{method: http.MethodDelete, path: "/medias/" + id}).expect(t, 422)
	s.testDo(t, req{path: "/nowhere"}).expect(t, 404)
	get(t, it.URL, nil).expect(t, 200)
	get(t, it.URL, map[string]string{"Range": "bytes=0-9"}).expect(t, 206)
	get(t, s.URL+"/storage/none", nil).expect(t, 404)

	st := s.Stats()
	want := map[string]int64{
		EndpointList: 3, EndpointFolder: 1, EndpointUpload: 1, EndpointRename: 1,
		EndpointUpdateMany: 1, EndpointDeleteMany: 1, EndpointDelete: 1,
		EndpointOAuthToken: 0, EndpointLocationToken: 0, EndpointInstalledLocations: 0, EndpointSearchLocations: 0,
		EndpointCSVList: 0, EndpointCSVUpload: 0, EndpointCSVAccounts: 0, EndpointCSVGet: 0, EndpointCSVFinalize: 0, EndpointCSVDelete: 0,
	}
	if st.APIRequests != 10 || !jsonEqual(st.ByEndpoint, want) || st.StorageRequests != 3 || st.RateLimited != 0 || st.MaxInWindow != 8 {
		t.Errorf("stats %+v", st)
	}
	notFound := int64(len(get(t, s.URL+"/storage/none", nil).body))
	if st.StorageBytes != 1010+notFound {
		t.Errorf("storage_bytes %d, want %d", st.StorageBytes, 1010+notFound)
	}

	var viaHTTP map[string]any
	get(t, s.URL+"/_ghlfake/stats", nil).expect(t, 200).decode(t, &viaHTTP)
	for _, k := range []string{"api_requests", "by_endpoint", "storage_requests", "storage_bytes", "rate_limited", "max_in_window"} {
		if _, ok := viaHTTP[k]; !ok {
			t.Errorf("stats JSON lacks %s", k)
		}
	}
	if viaHTTP["api_requests"] != 10.0 {
		t.Errorf("api_requests over HTTP: %v", viaHTTP["api_requests"])
	}
	post(t, s.URL+"/_ghlfake/stats/reset", "").expect(t, 200)
	st = s.Stats()
	if st.APIRequests != 0 || st.StorageRequests != 0 || st.StorageBytes != 0 || st.ByEndpoint[EndpointList] != 0 || len(st.ByEndpoint) != len(endpointKeys) {
		t.Errorf("after reset %+v", st)
	}
}

func post(t *testing.T, u, body string) resp {
	t.Helper()
	res, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func TestDurationJSON(t *testing.T) {
	var f Faults
	if err := json.Unmarshal([]byte(`{"latency":"1.5s","upload_delay":1000}`), &f); err != nil {
		t.Fatal(err)
	}
	if f.Latency != Duration(1500*time.Millisecond) || f.UploadDelay != Duration(time.Microsecond) {
		t.Errorf("%+v", f)
	}
	b, _ := json.Marshal(Faults{StorageLatency: Duration(20 * time.Millisecond)})
	if !strings.Contains(string(b), `"storage_latency":"20ms"`) || !strings.Contains(string(b), `"latency":"0s"`) {
		t.Errorf("%s", b)
	}
}
