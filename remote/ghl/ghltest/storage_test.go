package ghltest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestUpload(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	dir := s.AddFolder("", "Uploads")
	data := bytes.Repeat([]byte("0123456789"), 5000)

	type answer struct {
		FileID  string `json:"fileId"`
		URL     string `json:"url"`
		TraceID string `json:"traceId"`
	}
	tests := []struct {
		name     string
		fields   map[string]string
		file     formFile
		wantName string
		wantType string
		parent   string
	}{
		{
			name:     "part header and filename",
			file:     formFile{"file", "photo.jpg", "image/jpeg", data},
			wantName: "photo.jpg", wantType: "image/jpeg",
		},
		{
			// A part without a type is text/plain, as multer has it,
			// whatever the name says.
			name:     "name field wins, no part type",
			fields:   map[string]string{"name": "doc.pdf", "parentId": dir},
			file:     formFile{"file", "upload.bin", "", data},
			wantName: "doc.pdf", wantType: "text/plain", parent: dir,
		},
		{
			name:     "no type anywhere",
			fields:   map[string]string{"parentId": ""},
			file:     formFile{"file", "blob", "", data[:10]},
			wantName: "blob", wantType: "text/plain",
		},
		{
			name:     "empty file",
			file:     formFile{"file", "empty.txt", "text/plain", []byte{}},
			wantName: "empty.txt", wantType: "text/plain",
		},
		{
			name:     "altId and altType beside parentId",
			fields:   map[string]string{"name": "a.png", "parentId": dir, "altId": testLoc, "altType": "location"},
			file:     formFile{"file", "a.png", "image/png", data[:100]},
			wantName: "a.png", wantType: "image/png", parent: dir,
		},
		{
			// A public client saw folderId as a form field answered with
			// success and the file in the root.
			name:     "folderId field taken, and ignored",
			fields:   map[string]string{"name": "b.png", "folderId": dir},
			file:     formFile{"file", "b.png", "image/png", data[:100]},
			wantName: "b.png", wantType: "image/png",
		},
		{
			name:     "slash in the name",
			fields:   map[string]string{"name": "before/after.png"},
			file:     formFile{"file", "x.png", "image/png", data[:100]},
			wantName: "before/after.png", wantType: "image/png",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			s.upload(t, tt.fields, tt.file).expect(t, 201).decode(t, &a)
			if a.FileID == "" || a.TraceID == "" || !strings.HasPrefix(a.URL, s.URL+"/storage/msgsndr/"+testLoc+"/media/"+a.FileID) {
				t.Fatalf("answer %+v", a)
			}
			it, ok := s.Item(a.FileID)
			if !ok || it.Name != tt.wantName || it.ContentType != tt.wantType || it.ParentID != tt.parent ||
				it.Size != int64(len(tt.file.data)) || it.URL != a.URL {
				t.Errorf("stored %+v", it)
			}
			got := get(t, a.URL, nil).expect(t, 200)
			if !bytes.Equal(got.body, tt.file.data) {
				t.Errorf("storage gave %d bytes, want %d", len(got.body), len(tt.file.data))
			}
			if ct := got.header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("storage Content-Type %q", ct)
			}
			found := false
			for _, w := range s.list(t, listQ("file", tt.parent, "limit", "100")) {
				found = found || w.ID == a.FileID
			}
			if !found {
				t.Errorf("upload not in its folder's listing")
			}
		})
	}

	t.Run("hosted copy of an own URL", func(t *testing.T) {
		src := s.AddFile("", "orig.png", "image/png", data)
		srcItem, _ := s.Item(src)
		var a answer
		s.upload(t, map[string]string{"hosted": "true", "fileUrl": srcItem.URL, "name": "copy.png"}).expect(t, 201).decode(t, &a)
		it, _ := s.Item(a.FileID)
		if a.FileID == src || it.Name != "copy.png" || it.ContentType != "image/png" {
			t.Errorf("copy %+v", it)
		}
		if b, _ := s.Content(a.FileID); !bytes.Equal(b, data) {
			t.Errorf("copy holds other bytes")
		}
	})

	errorCases := []struct {
		name   string
		fields map[string]string
		files  []formFile
		status int
		body   string
	}{
		{"nothing", nil, nil, 422,
			`{"statusCode":422,"message":["file should not be empty"],"error":"Unprocessable Entity"}`},
		{"file part without filename", nil, []formFile{{"file", "", "", data}}, 422, ""},
		{"hosted without fileUrl", map[string]string{"hosted": "true"}, nil, 422,
			`{"statusCode":422,"message":["fileUrl should not be empty"],"error":"Unprocessable Entity"}`},
		{"foreign fileUrl", map[string]string{"hosted": "true", "fileUrl": "https://example.com/a.png"}, nil, 400, ""},
		{"unknown field", map[string]string{"parentID": dir}, []formFile{{"file", "a.txt", "", data}}, 422,
			`{"statusCode":422,"message":["property parentID should not exist"],"error":"Unprocessable Entity"}`},
		{"altType not location", map[string]string{"altId": testLoc, "altType": "company"}, []formFile{{"file", "a.txt", "", data}}, 422,
			`{"statusCode":422,"message":["altType must be one of the following values: location"],"error":"Unprocessable Entity"}`},
		{"empty altId", map[string]string{"altId": "", "altType": "location"}, []formFile{{"file", "a.txt", "", data}}, 422,
			`{"statusCode":422,"message":["altId should not be empty"],"error":"Unprocessable Entity"}`},
		{"altId of another location", map[string]string{"altId": "other", "altType": "location"}, []formFile{{"file", "a.txt", "", data}}, 403, ""},
		{"unknown parent", map[string]string{"parentId": "0123456789abcdef01234567"}, []formFile{{"file", "a.txt", "", data}}, 404, ""},
		{"too large", nil, []formFile{{"file", "big.bin", "", make([]byte, MaxUploadSize+1)}}, 413,
			`{"statusCode":413,"message":"File size exceeds the 25 MB limit","error":"Payload Too Large"}`},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Items())
			r := s.upload(t, tt.fields, tt.files...).expect(t, tt.status)
			if tt.body != "" && string(r.body) != tt.body {
				t.Errorf("body %s\nwant %s", r.body, tt.body)
			}
			if n := len(s.Items()); n != before {
				t.Errorf("a refused upload stored something")
			}
		})
	}

	t.Run("folderId in the query places it", func(t *testing.T) {
		body, ctype := multipartBody(t, map[string]string{"name": "q.png"}, formFile{"file", "q.png", "image/png", data[:10]})
		var a answer
		s.testDo(t, req{method: http.MethodPost, path: "/medias/upload-file", query: url.Values{"folderId": {dir}}, body: body, ctype: ctype}).
			expect(t, 201).decode(t, &a)
		if it, _ := s.Item(a.FileID); it.ParentID != dir {
			t.Errorf("landed in %q, want %q", it.ParentID, dir)
		}
	})

	t.Run("exactly 25 MB", func(t *testing.T) {
		s.upload(t, nil, formFile{"file", "max.bin", "", make([]byte, MaxUploadSize)}).expect(t, 201)
	})
	// Seen: a JSON body answers 400 "Unsupported content type", and a
	// multipart body cut short 400 "Unexpected end of form" (the service's
	// parser, busboy, is strict about framing).
	t.Run("a JSON body", func(t *testing.T) {
		r := s.testDo(t, req{method: http.MethodPost, path: "/medias/upload-file", json: map[string]string{"name": "x", "hosted": "true", "fileUrl": "https://example.com/x.png"}}).expect(t, 400)
		if want := `{"statusCode":400,"message":"Unsupported content type","error":"Bad Request"}`; string(r.body) != want {
			t.Errorf("body %s", r.body)
		}
	})
	t.Run("a multipart body cut short", func(t *testing.T) {
		before := len(s.Items())
		body, ctype := multipartBody(t, map[string]string{"name": "cut.png"}, formFile{"file", "cut.png", "image/png", data[:100]})
		for _, cut := range []int{len(body) - 8, len(body) / 2} {
			r := s.testDo(t, req{method: http.MethodPost, path: "/medias/upload-file", body: body[:cut], ctype: ctype}).expect(t, 400)
			if want := `{"statusCode":400,"message":"Unexpected end of form","error":"Bad Request"}`; string(r.body) != want {
				t.Errorf("cut at %d of %d: body %s", cut, len(body), r.body)
			}
		}
		if len(s.Items()) != before {
			t.Error("a body cut short stored something")
		}
	})
}

func TestStorage(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Now: clock.Now, RateLimit: 1})
	data := []byte("Hello, storage! 0123456789abcdefghijklmnopqrstuvwxyz")
	id := s.AddFile("", "hello.txt", "text/plain; charset=utf-8", data)
	it, _ := s.Item(id)

	t.Run("no headers needed, whole file", func(t *testing.T) {
		hr, _ := http.NewRequest(http.MethodGet, it.URL, nil)
		hr.Header.Set("User-Agent", "") // no header at all
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(b, data) {
			t.Fatalf("status %d, %q", res.StatusCode, b)
		}
		for h, want := range map[string]string{
			"ETag":          `"` + id + `"`,
			"Last-Modified": "Sat, 01 Mar 2025 10:00:00 GMT",
			"Content-Type":  "text/plain; charset=utf-8",
			"Accept-Ranges": "bytes",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
	})
	t.Run("range", func(t *testing.T) {
		r := get(t, it.URL, map[string]string{"Range": "bytes=7-13"}).expect(t, 206)
		if string(r.body) != "storage" || r.header.Get("Content-Range") != "bytes 7-13/52" {
			t.Errorf("got %q, %s", r.body, r.header.Get("Content-Range"))
		}
		r = get(t, it.URL, map[string]string{"Range": "bytes=-4"}).expect(t, 206)
		if string(r.body) != "wxyz" {
			t.Errorf("suffix range %q", r.body)
		}
	})
	t.Run("several ranges", func(t *testing.T) {
		r := get(t, it.URL, map[string]string{"Range": "bytes=0-4,7-13"}).expect(t, 206)
		mt, params, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
		if mt != "multipart/byteranges" {
			t.Fatalf("Content-Type %s", mt)
		}
		mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
		var parts []string
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, string(b))
		}
		if strings.Join(parts, "|") != "Hello|storage" {
			t.Errorf("parts %q", parts)
		}
	})
	t.Run("unsatisfiable range", func(t *testing.T) {
		get(t, it.URL, map[string]string{"Range": "bytes=100-200"}).expect(t, 416)
	})
	t.Run("conditional", func(t *testing.T) {
		get(t, it.URL, map[string]string{"If-None-Match": `"` + id + `"`}).expect(t, 304)
	})
	t.Run("head", func(t *testing.T) {
		res, err := http.Head(it.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.ContentLength != int64(len(data)) {
			t.Errorf("HEAD %d, length %d", res.StatusCode, res.ContentLength)
		}
	})
	t.Run("not found", func(t *testing.T) {
		for _, u := range []string{
			s.URL + "/storage/msgsndr/" + testLoc + "/media/" + id,                   // wrong extension
			s.URL + "/storage/msgsndr/other/media/" + id + ".txt",                    // other location
			s.URL + "/storage/msgsndr/" + testLoc + "/media/nothing.txt",             // no such id
			s.URL + "/storage/msgsndr/" + testLoc + "/media/" + s.AddFolder("", "d"), // a folder
		} {
			r := get(t, u, nil).expect(t, 404)
			if !strings.Contains(string(r.body), "<Code>NoSuchKey</Code>") {
				t.Errorf("404 body %s", r.body)
			}
		}
	})
	t.Run("not counted by the rate limiter", func(t *testing.T) {
		for range 5 {
			get(t, it.URL, nil).expect(t, 200)
		}
		s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, 200)
	})
	t.Run("trashed file is gone", func(t *testing.T) {
		s.store.remove([]string{id}, StatusTrashed)
		get(t, it.URL, nil).expect(t, 404)
	})
}

func TestStorageRate(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Faults: Faults{StorageRate: 100_000}})
	id := s.AddFile("", "slow.bin", "", make([]byte, 50_000))
	it, _ := s.Item(id)
	begin := time.Now()
	r := get(t, it.URL, nil).expect(t, 200)
	if len(r.body) != 50_000 {
		t.Fatalf("%d bytes", len(r.body))
	}
	// 50 kB at 100 kB/s: the first 5 kB go at once, the rest take 0.45 s.
	if d := time.Since(begin); d < 400*time.Millisecond {
		t.Errorf("took %v, want at least 0.4s", d)
	}
}
