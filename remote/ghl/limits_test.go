package ghl

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

func TestTypesAndLimits(t *testing.T) {
	for _, tt := range []struct {
		name, typ, intended string
		limit               int64
	}{
		{"clip.mp4", "video/mp4", "video/mp4", MaxVideoUploadSize},
		{"CLIP.MOV", "video/quicktime", "video/quicktime", MaxVideoUploadSize},
		{"clip.webm", "video/webm", "video/webm", MaxVideoUploadSize},
		{"photo.png", "image/png", "image/png", MaxUploadSize},
		{"notes", remote.OctetStream, remote.OctetStream, MaxUploadSize},
		{"data.bin", remote.OctetStream, remote.OctetStream, MaxUploadSize},
		{".clip.mp4.Xy12Ab", remote.OctetStream, "video/mp4", MaxUploadSize},
		{"clip.mp4.part", remote.OctetStream, "video/mp4", MaxUploadSize},
		{"photo.png.bak", remote.OctetStream, "image/png", MaxUploadSize},
		{"a.b.c", remote.OctetStream, remote.OctetStream, MaxUploadSize},
	} {
		typ, intended := remote.TypeByName(tt.name), remote.IntendedType(tt.name)
		if typ != tt.typ {
			t.Errorf("remote.TypeByName(%q) = %q, want %q", tt.name, typ, tt.typ)
		}
		if intended != tt.intended {
			t.Errorf("remote.IntendedType(%q) = %q, want %q", tt.name, intended, tt.intended)
		}
		if got := UploadLimit(typ, MaxUploadSize); got != tt.limit {
			t.Errorf("UploadLimit(%q) = %d, want %d", typ, got, tt.limit)
		}
	}
	if got := UploadLimit("video/mp4", 600_000_000); got != 600_000_000 {
		t.Errorf("a general limit above the video one: video limit %d", got)
	}
	if got := UploadLimit("image/png", 1_000_000); got != 1_000_000 {
		t.Errorf("a lowered general limit: %d", got)
	}
}

// The type sent for a name comes from ghlfs's own table, whatever the
// machine's tables say: here the process's table (which Go fills from
// /etc/mime.types and shared-mime-info) is given other types for known
// extensions and types for unknown ones, and nothing changes.
func TestContentTypesOwnTable(t *testing.T) {
	want := map[string]string{
		"a.txt": "text/plain", "a.csv": "text/csv", "a.md": "text/markdown", "a.json": "application/json",
		"a.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"a.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"a.pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"a.doc":  "application/msword", "a.xls": "application/vnd.ms-excel", "a.ppt": "application/vnd.ms-powerpoint",
		"a.odt": "application/vnd.oasis.opendocument.text", "a.pdf": "application/pdf",
		"a.heic": "image/heic", "a.HEIF": "image/heif", "a.avif": "image/avif", "a.svg": "image/svg+xml",
		"a.tif": "image/tiff", "a.tiff": "image/tiff", "a.bmp": "image/bmp", "a.ico": "image/x-icon",
		"a.webp": "image/webp", "a.gif": "image/gif", "a.JPG": "image/jpeg", "a.png": "image/png",
		"a.mp4": "video/mp4", "a.mov": "video/quicktime", "a.m4a": "audio/x-m4a", "a.mp3": "audio/mpeg",
		"a.wav": "audio/wav", "a.zip": "application/zip", "a.gz": "application/gzip", "a.7z": "application/x-7z-compressed",
		"a.bin": remote.OctetStream, "a.ghlfs-unknown": remote.OctetStream, "README": remote.OctetStream,
	}
	check := func(when string) {
		for name, typ := range want {
			if got := remote.TypeByName(name); got != typ {
				t.Errorf("%s: remote.TypeByName(%q) = %q, want %q", when, name, got, typ)
			}
		}
	}
	check("before")
	// (Extensions no other test of the package uploads or guesses.)
	for ext, typ := range map[string]string{".csv": "application/x-other", ".heic": "application/octet-stream",
		".m4a": "audio/mp4", ".docx": "application/zip", ".ghlfs-unknown": "text/plain"} {
		if err := mime.AddExtensionType(ext, typ); err != nil {
			t.Fatal(err)
		}
	}
	check("with the machine's table changed")
	for ext, typ := range remote.ContentTypes() {
		if mt, params, err := mime.ParseMediaType(typ); err != nil || mt != typ || len(params) > 0 || ext != strings.ToLower(ext) {
			t.Errorf("%s: %q is not a bare lower-case media type", ext, typ)
		}
	}
}

// formParts calls fn with each part of a multipart request's body.
func formParts(r *http.Request, fn func(*multipart.Part)) {
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		fn(p)
	}
}

// countingReader gives n bytes, made on the fly (never held whole).
type countingReader struct{ left int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.left))
	for i := range p[:n] {
		p[i] = byte(r.left - int64(i))
	}
	r.left -= int64(n)
	return n, nil
}

// Version v3 goes with a video above the general limit only; the body has
// a Content-Length and the file part holds the bytes given.
func TestUploadVersionAndBody(t *testing.T) {
	type seen struct {
		version       string
		contentLength int64
		size          int64
		sum           [32]byte
		partType      string
	}
	var mu sync.Mutex
	var got []seen
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{version: r.Header.Get("Version"), contentLength: r.ContentLength}
		formParts(r, func(p *multipart.Part) {
			if p.FormName() == "file" {
				h := sha256.New()
				s.size, _ = io.Copy(h, p)
				copy(s.sum[:], h.Sum(nil))
				s.partType = p.Header.Get("Content-Type")
			}
		})
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		w.WriteHeader(201)
		io.WriteString(w, `{"fileId":"f1","url":"http://x/f1.mp4"}`)
	}), func(cfg *Config) { cfg.MaxUploadSize = 1000 })

	upload := func(name, ctype string, size int64) error {
		_, err := c.UploadFile(context.Background(), Upload{Name: name, ContentType: ctype, Size: size,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(&countingReader{left: size}), nil }})
		return err
	}
	want := func(size int64) [32]byte {
		h := sha256.New()
		io.Copy(h, &countingReader{left: size})
		var s [32]byte
		copy(s[:], h.Sum(nil))
		return s
	}
	for _, tt := range []struct {
		name, ctype string
		size        int64
		version     string
	}{
		{"small.mp4", "video/mp4", 1000, "2021-07-28"},
		{"big.mp4", "video/mp4", 1001, "v3"},
		{"big.mp4", "video/mp4", 3 << 20, "v3"},
		{"small.png", "image/png", 1000, "2021-07-28"},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		if err := upload(tt.name, tt.ctype, tt.size); err != nil {
			t.Fatalf("%s of %d bytes: %v", tt.name, tt.size, err)
		}
		mu.Lock()
		if len(got) != 1 {
			t.Fatalf("%s: %d requests", tt.name, len(got))
		}
		s := got[0]
		mu.Unlock()
		if s.version != tt.version || s.size != tt.size || s.sum != want(tt.size) || s.partType != tt.ctype {
			t.Errorf("%s of %d bytes: sent %+v, want Version %s", tt.name, tt.size, s, tt.version)
		}
		if s.contentLength <= tt.size {
			t.Errorf("%s: Content-Length %d", tt.name, s.contentLength)
		}
	}

	// Past the limit of its type, nothing is sent.
	mu.Lock()
	got = nil
	mu.Unlock()
	for _, tt := range []struct {
		name, ctype string
		size        int64
	}{
		{"big.png", "image/png", 1001},
		{"big.bin", "", 1001},
		{"huge.mp4", "video/mp4", MaxVideoUploadSize + 1},
	} {
		if err := upload(tt.name, tt.ctype, tt.size); !errors.Is(err, remote.ErrTooLarge) {
			t.Errorf("%s of %d bytes: %v", tt.name, tt.size, err)
		}
	}
	if len(got) != 0 {
		t.Errorf("%d requests sent for files over their limit", len(got))
	}

	// A source shorter than announced fails the upload, not the server.
	_, err := c.UploadFile(context.Background(), Upload{Name: "short.png", ContentType: "image/png", Size: 100,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("only this")), nil }})
	if err == nil {
		t.Error("a short source uploaded")
	}
}

// Against the fake: a video over 25 MB lands (v3), an image that large is
// refused before a byte is sent.
func TestUploadBigVideoToFake(t *testing.T) {
	srv, err := ghltest.NewServer(ghltest.Options{Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, Token: "tok", LocationID: "loc", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	const size = MaxUploadSize + 1
	open := func() (io.ReadCloser, error) { return io.NopCloser(&countingReader{left: size}), nil }
	it, err := c.UploadFile(context.Background(), Upload{Name: "clip.mp4", ContentType: remote.TypeByName("clip.mp4"), Size: size, Open: open})
	if err != nil {
		t.Fatal(err)
	}
	stored, ok := srv.Item(it.ID)
	if !ok || stored.Size != size || stored.ContentType != "video/mp4" {
		t.Errorf("stored %+v", stored)
	}
	if v := srv.Stats().UploadVersions; v["v3"] != 1 || v[APIVersion] != 0 {
		t.Errorf("upload versions %v", v)
	}
	if _, err := c.UploadFile(context.Background(), Upload{Name: "big.png", ContentType: "image/png", Size: size, Open: open}); !errors.Is(err, remote.ErrTooLarge) {
		t.Errorf("big.png: %v", err)
	}
	if n := srv.Stats().ByEndpoint[ghltest.EndpointUpload]; n != 1 {
		t.Errorf("%d upload requests", n)
	}
}

// Every upload's form holds name, parentId (in a folder), altId and
// altType beside the file part, whether its size is known (a body with a
// Content-Length) or not (chunked).
func TestUploadFormFields(t *testing.T) {
	var mu sync.Mutex
	var fields map[string]string
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost { // the placement check's listing
			io.WriteString(w, `{"files":[{"_id":"f1","name":"a.txt","type":"file","parentId":"folder1"}]}`)
			return
		}
		got := map[string]string{}
		formParts(r, func(p *multipart.Part) {
			b, _ := io.ReadAll(p)
			if p.FormName() == "file" {
				got["file"] = p.FileName() + " " + p.Header.Get("Content-Type") + " " + string(b)
				return
			}
			got[p.FormName()] = string(b)
		})
		mu.Lock()
		fields = got
		mu.Unlock()
		w.WriteHeader(201)
		io.WriteString(w, `{"fileId":"f1","url":"http://x/f1.txt"}`)
	}))
	for _, tt := range []struct {
		parent string
		size   int64
		want   map[string]string
	}{
		{"folder1", 5, map[string]string{"name": "a.txt", "parentId": "folder1", "altId": "loc1", "altType": "location", "file": "a.txt text/plain hello"}},
		{"", 5, map[string]string{"name": "a.txt", "altId": "loc1", "altType": "location", "file": "a.txt text/plain hello"}},
		{"folder1", -1, map[string]string{"name": "a.txt", "parentId": "folder1", "altId": "loc1", "altType": "location", "file": "a.txt text/plain hello"}},
	} {
		_, err := c.UploadFile(context.Background(), Upload{ParentID: tt.parent, Name: "a.txt", ContentType: "text/plain", Size: tt.size,
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("hello")), nil }})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := fields
		mu.Unlock()
		if !maps.Equal(got, tt.want) {
			t.Errorf("parent %q, size %d: the form held %q, want %q", tt.parent, tt.size, got, tt.want)
		}
	}
}
