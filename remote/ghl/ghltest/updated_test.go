package ghltest

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// Every change of an item moves it to the front of a listing by updatedAt,
// with fetchAll as without; the updated-order-ignored quirk answers in
// createdAt order instead.
func TestListByUpdatedAt(t *testing.T) {
	for _, quirk := range []bool{false, true} {
		var opts Options
		if quirk {
			opts.Quirks = []string{QuirkUpdatedOrderIgnored, QuirkTrashListed}
		} else {
			opts.Quirks = []string{QuirkTrashListed}
		}
		clk := newClock()
		opts.Now = clk.Now
		s := start(t, opts)
		folder := s.AddFolder("", "F")
		ids := map[string]string{}
		for _, name := range []string{"a", "b", "c", "d"} {
			clk.Advance(time.Second)
			ids[name] = s.AddFile(folder, name, "", []byte(name))
		}
		clk.Advance(time.Second)
		s.testDo(t, req{method: http.MethodPost, path: "/medias/" + ids["a"], json: map[string]any{
			"altType": "location", "altId": testLoc, "name": "a2"}}).expect(t, http.StatusCreated)
		clk.Advance(time.Second)
		s.testDo(t, req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{
			"altType": "location", "altId": testLoc, "status": "trashed",
			"filesToBeDeleted": []map[string]string{{"_id": ids["b"]}},
		}}).expect(t, http.StatusOK)
		clk.Advance(time.Second)
		s.upload(t, map[string]string{"name": "e", "parentId": folder}, formFile{"file", "e", "", []byte("e")}).expect(t, http.StatusCreated)
		clk.Advance(time.Second)
		s.testDo(t, req{method: http.MethodPut, path: "/medias/update-files", json: map[string]any{
			"altType": "location", "altId": testLoc, "filesToBeUpdated": []map[string]string{{"id": ids["c"], "name": "c2"}}}}).expect(t, http.StatusOK)

		want := []string{"c2", "e", "b", "a2", "d"}
		if quirk {
			want = []string{"e", "d", "c2", "b", "a2"}
		}
		for _, q := range []map[string]string{{"fetchAll": "true"}, {"parentId": folder}} {
			lq := listQ(TypeFile, "", "sortBy", "updatedAt", "sortOrder", "desc")
			for k, v := range q {
				lq.Set(k, v)
			}
			got := s.listAll(t, lq, 2)
			if !slices.Equal(names(got), want) {
				t.Errorf("quirk=%v %v: %q, want %q", quirk, q, names(got), want)
			}
		}
	}
}
