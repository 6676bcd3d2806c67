package ghl

import (
	"encoding/json"
	"testing"
	"time"
)

func TestItemTolerantParsing(t *testing.T) {
	cases := []struct {
		name string
		json string
		want Item
	}{
		{"documented", `{"_id":"65a1b2c3d4e5f6a7b8c9d0e1","name":"a.png","type":"file","parentId":"f1","url":"https://s/a.png","size":12,"contentType":"image/png","createdAt":"2025-03-01T10:00:00.000Z","updatedAt":"2025-03-02T10:00:00.000Z"}`,
			Item{ID: "65a1b2c3d4e5f6a7b8c9d0e1", Name: "a.png", Type: "file", ParentID: "f1", URL: "https://s/a.png", Size: 12, ContentType: "image/png",
				CreatedAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)}},
		{"id not _id, null parent, no size", `{"id":"x1","name":"b","type":"folder","parentId":null}`,
			Item{ID: "x1", Name: "b", Type: "folder", Size: -1}},
		{"empty parent, size as string, epoch ms", `{"_id":"x2","name":"c","type":"file","parentId":"","size":"2048","createdAt":1700000000000}`,
			Item{ID: "x2", Name: "c", Type: "file", Size: 2048, CreatedAt: time.UnixMilli(1700000000000).UTC()}},
		{"no type", `{"_id":"x3","name":"d","url":"u"}`, Item{ID: "x3", Name: "d", URL: "u", Size: -1}},
		{"deleted", `{"_id":"x4","name":"e","type":"file","deleted":true,"size":1.0}`, Item{ID: "x4", Name: "e", Type: "file", Size: 1, Deleted: true}},
		{"essential folder", `{"_id":"x5","name":"s","type":"folder","isEssential":true,"appFolder":false}`, Item{ID: "x5", Name: "s", Type: "folder", Size: -1, System: true}},
		{"app folder, flag as a string", `{"_id":"x6","name":"a","type":"folder","appFolder":"TRUE"}`, Item{ID: "x6", Name: "a", Type: "folder", Size: -1, System: true}},
		{"ordinary folder", `{"_id":"x7","name":"o","type":"folder","isEssential":false,"appFolder":null}`, Item{ID: "x7", Name: "o", Type: "folder", Size: -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got Item
			if err := json.Unmarshal([]byte(c.json), (*apiItem)(&got)); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestDecodeItemsShapes(t *testing.T) {
	for _, body := range []string{`{"files":[{"_id":"a"},{"_id":"b"}]}`, `[{"_id":"a"},{"_id":"b"}]`, `{"data":[{"id":"a"},{"id":"b"}]}`} {
		items, err := decodeItems([]byte(body))
		if err != nil || len(items) != 2 || items[0].ID != "a" || items[1].ID != "b" {
			t.Errorf("%s: got %v, %v", body, items, err)
		}
	}
	if items, err := decodeItems([]byte(`{"files":null}`)); err != nil || len(items) != 0 {
		t.Errorf("null files: %v %v", items, err)
	}
}

// An item without createdAt was created at the second its id says, when
// the id is a Mongo ObjectID: the parser reads it, and the item's times
// follow (the layers above never read an id).
func TestCreatedAtFallsBackToObjectID(t *testing.T) {
	parse := func(body string) Item {
		t.Helper()
		var it Item
		if err := json.Unmarshal([]byte(body), (*apiItem)(&it)); err != nil {
			t.Fatal(err)
		}
		return it
	}
	want := time.Unix(0x65a1b2c3, 0).UTC()
	it := parse(`{"_id":"65a1b2c3d4e5f6a7b8c9d0e1"}`)
	if !it.CreatedAt.Equal(want) || !it.ModTime().Equal(want) {
		t.Errorf("CreatedAt %v, ModTime %v, want %v", it.CreatedAt, it.ModTime(), want)
	}
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	if it := parse(`{"_id":"65a1b2c3d4e5f6a7b8c9d0e1","createdAt":"2025-03-01T10:00:00Z"}`); !it.CreatedAt.Equal(at) {
		t.Errorf("CreatedAt %v, want the one listed, %v", it.CreatedAt, at)
	}
	if it := parse(`{"_id":"not-an-objectid"}`); !it.CreatedAt.IsZero() || !it.ModTime().IsZero() {
		t.Error("a non-ObjectID id gave a time")
	}
}

// FuzzItemParse: no input makes the parsers panic.
func FuzzItemParse(f *testing.F) {
	f.Add([]byte(`{"files":[{"_id":"a","size":"12","createdAt":1}]}`))
	f.Add([]byte(`[{"id":null,"parentId":{}}]`))
	f.Add([]byte(`{"statusCode":422,"message":["a","b"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeItems(data)
		var it apiItem
		_ = json.Unmarshal(data, &it)
		_ = checkResults(data, "deleted", "PUT /medias/delete-files")
	})
}
