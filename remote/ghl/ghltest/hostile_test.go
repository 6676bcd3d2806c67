package ghltest

import (
	"io"
	"net/http"
	"net/url"
	"testing"
)

// Items with ids of any form: listed, served by storage under their
// escaped URL, renamed and deleted through /medias/{escaped id}.
func TestAddFileWithID(t *testing.T) {
	s := start(t, Options{})
	for _, id := range []string{"a/b", "..", "line\nbreak", "q?x#y%z"} {
		s.AddFileWithID(id, "", "f.png", "", []byte("bytes of "+id))
		var got *wireItem
		for _, it := range s.list(t, listQ(TypeFile, "")) {
			if it.ID == id {
				got = &it
			}
		}
		if got == nil {
			t.Fatalf("%q not listed", id)
		}
		res, err := http.Get(got.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(b) != "bytes of "+id {
			t.Fatalf("%q: GET %s: %d %q", id, got.URL, res.StatusCode, b)
		}
		path := "/medias/" + escapeSegment(id)
		s.testDo(t, req{method: "POST", path: path, json: map[string]any{"name": "g.png", "altType": "location", "altId": testLoc}}).expect(t, 201)
		if it, _ := s.Item(id); it.Name != "g.png" {
			t.Fatalf("%q: not renamed: %+v", id, it)
		}
		s.testDo(t, req{method: "DELETE", path: path, query: url.Values{"altType": {"location"}, "altId": {testLoc}}}).expect(t, 200)
		if it, _ := s.Item(id); it.Status != StatusDeleted {
			t.Fatalf("%q: not deleted: %+v", id, it)
		}
	}
}
