package ghltest

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPersistence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := Options{Token: testToken, LocationID: testLoc, DataDir: dir}

	s1, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	var folder wireItem
	s1.testDo(t, req{method: http.MethodPost, path: "/medias/folder",
		json: map[string]string{"altId": testLoc, "altType": "location", "name": "Kept"}}).expect(t, 201).decode(t, &folder)
	var up struct {
		FileID string `json:"fileId"`
	}
	data := bytes.Repeat([]byte{0, 1, 2, 250}, 10000)
	s1.upload(t, map[string]string{"parentId": folder.ID}, formFile{"file", "data.bin", "application/x-thing", data}).expect(t, 201).decode(t, &up)
	gone := s1.AddFile("", "gone.txt", "", []byte("bye"))
	s1.testDo(t, req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{"altId": testLoc, "altType": "location",
		"status": "trashed", "filesToBeDeleted": []map[string]string{{"_id": gone}}}}).expect(t, 200)
	s1.testDo(t, req{method: http.MethodPost, path: "/medias/" + up.FileID,
		json: map[string]string{"altId": testLoc, "altType": "location", "name": "renamed.bin"}}).expect(t, 201)
	want := s1.Items()
	s1.Close()

	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "blobs", up.FileID)); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("blob on disk: %v", err)
	}

	opts.Seed = "demo" // not applied: the directory holds state
	s2 := start(t, opts)
	got := s2.Items()
	stripURLs := func(items []Item) []Item {
		out := slices.Clone(items)
		for i := range out {
			out[i].URL = ""
		}
		return out
	}
	if !slices.Equal(stripURLs(got), stripURLs(want)) {
		t.Errorf("after restart\n got %+v\nwant %+v", got, want)
	}
	if b, _ := s2.Content(up.FileID); !bytes.Equal(b, data) {
		t.Errorf("content lost")
	}
	it, _ := s2.Item(up.FileID)
	if r := get(t, it.URL, nil).expect(t, 200); !bytes.Equal(r.body, data) {
		t.Errorf("storage after restart")
	}
	if names := names(s2.list(t, listQ("file", folder.ID))); !slices.Equal(names, []string{"renamed.bin"}) {
		t.Errorf("listing after restart %q", names)
	}
	// New ids do not collide with loaded ones.
	id := s2.AddFile("", "new.txt", "", []byte("new"))
	if n := len(s2.Items()); n != len(want)+1 {
		t.Errorf("%d items after adding %s", n, id)
	}

	t.Run("other location refused", func(t *testing.T) {
		if _, err := New(Options{LocationID: "another", DataDir: dir}); err == nil {
			t.Error("a data dir of another location was loaded")
		}
	})
	t.Run("seed applied to an empty dir and kept", func(t *testing.T) {
		d := t.TempDir()
		s, err := New(Options{Seed: "demo", DataDir: d})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s2, err := New(Options{DataDir: d})
		if err != nil {
			t.Fatal(err)
		}
		if a, b := s.Items(), s2.Items(); len(a) != len(b) || len(a) < 30 {
			t.Errorf("%d items, then %d", len(a), len(b))
		}
	})
}
