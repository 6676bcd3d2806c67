package ghltest

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

func TestUploadLimit(t *testing.T) {
	for _, tt := range []struct {
		version, ctype string
		want           int64
	}{
		{"2021-07-28", "video/mp4", MaxUploadSize},
		{"2021-07-28", "image/png", MaxUploadSize},
		{"v3", "video/mp4", MaxVideoUploadSize},
		{"v3", "video/quicktime; foo=bar", MaxVideoUploadSize},
		{"v3", "image/png", MaxUploadSize},
		{"v3", "application/octet-stream", MaxUploadSize},
		{"v3", "", MaxUploadSize},
	} {
		if got := uploadLimit(tt.version, tt.ctype); got != tt.want {
			t.Errorf("uploadLimit(%q, %q) = %d, want %d", tt.version, tt.ctype, got, tt.want)
		}
	}
	if MaxUploadSize != 25_000_000 || MaxVideoUploadSize != 500_000_000 {
		t.Errorf("limits %d and %d are not the conservative reading of 25 MB and 500 MB", MaxUploadSize, MaxVideoUploadSize)
	}
}

// The limits by Version and type, over HTTP: a video above 25 MB is taken
// with v3 only; an image above 25 MB never.
func TestUploadLimitsByVersion(t *testing.T) {
	s := start(t, Options{})
	over := make([]byte, MaxUploadSize+1)
	over[12345] = 7
	const tooLarge25 = `{"statusCode":413,"message":"File size exceeds the 25 MB limit","error":"Payload Too Large"}`
	tests := []struct {
		name    string
		version string
		file    formFile
		fields  map[string]string
		status  int
	}{
		{"video, 2021-07-28", "2021-07-28", formFile{"file", "clip.mp4", "video/mp4", over}, nil, 413},
		{"video, v3", "v3", formFile{"file", "clip.mp4", "video/mp4", over}, nil, 201},
		// multer makes a part without a type text/plain, whatever its name.
		{"video by filename, no part type, v3", "v3", formFile{"file", "clip.mov", "", over}, nil, 413},
		{"image, v3", "v3", formFile{"file", "big.png", "image/png", over}, nil, 413},
		{"other, v3", "v3", formFile{"file", "big.bin", "", over}, nil, 413},
		{"video name, octet-stream part, v3", "v3", formFile{"file", "clip.mp4", "application/octet-stream", over}, nil, 413},
		{"image at the limit, v3", "v3", formFile{"file", "max.png", "image/png", over[:MaxUploadSize]}, nil, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.ResetStats()
			before := len(s.Items())
			body, ctype := multipartBody(t, tt.fields, tt.file)
			r := s.testDo(t, req{method: "POST", path: "/medias/upload-file", body: body, ctype: ctype,
				headers: map[string]string{"Version": tt.version}}).expect(t, tt.status)
			if got := s.Stats().UploadVersions[tt.version]; got != 1 {
				t.Errorf("UploadVersions = %v", s.Stats().UploadVersions)
			}
			if tt.status == 413 {
				if string(r.body) != tooLarge25 {
					t.Errorf("body %s", r.body)
				}
				if len(s.Items()) != before {
					t.Error("a refused upload stored something")
				}
				return
			}
			var a struct {
				FileID string `json:"fileId"`
			}
			r.decode(t, &a)
			it, _ := s.Item(a.FileID)
			if it.Size != int64(len(tt.file.data)) {
				t.Errorf("stored %+v", it)
			}
			if b, _ := s.Content(a.FileID); !bytes.Equal(b, tt.file.data) {
				t.Error("stored other bytes")
			}
		})
	}

	t.Run("hosted copy of a big video", func(t *testing.T) {
		src := s.AddFile("", "orig.mp4", "video/mp4", over)
		it, _ := s.Item(src)
		fields := map[string]string{"hosted": "true", "fileUrl": it.URL}
		body, ctype := multipartBody(t, fields)
		s.testDo(t, req{method: "POST", path: "/medias/upload-file", body: body, ctype: ctype}).expect(t, 413)
		s.testDo(t, req{method: "POST", path: "/medias/upload-file", body: body, ctype: ctype,
			headers: map[string]string{"Version": "v3"}}).expect(t, 201)
	})
}

func TestTooLargeMessage(t *testing.T) {
	w := httptest.NewRecorder()
	errTooLarge(w, MaxVideoUploadSize)
	if want := `{"statusCode":413,"message":"File size exceeds the 500 MB limit","error":"Payload Too Large"}`; w.Code != 413 || w.Body.String() != want {
		t.Errorf("got %d %s", w.Code, w.Body.String())
	}
}
