package ghl

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/internal/loosejson"
)

// apiItem is an Item as the API writes it: its UnmarshalJSON is the
// parser of every item this package reads.
type apiItem remote.Item

// IDTime returns the creation time encoded in the first four bytes of a
// 24-hex-digit Mongo ObjectID, or the zero time for any other id.
func IDTime(id string) time.Time {
	if len(id) != 24 {
		return time.Time{}
	}
	b, err := hex.DecodeString(id[:8])
	if err != nil {
		return time.Time{}
	}
	secs := int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
	if secs == 0 {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}

// UnmarshalJSON reads an item in any of the forms public clients have seen:
// "_id" or "id"; "parentId" missing, null or ""; "size" as a number or a
// numeric string; times as ISO 8601 strings or epoch milliseconds. An item
// without createdAt was created at the second its id says, when that is a
// Mongo ObjectID (IDTime).
func (it *apiItem) UnmarshalJSON(data []byte) error {
	// Raw fields, read one by one below: a listing holds thousands of
	// items, and a struct makes far less garbage than a map per item.
	var r struct {
		ID          json.RawMessage `json:"_id"`
		AltID       json.RawMessage `json:"id"`
		FileID      json.RawMessage `json:"fileId"`
		Name        json.RawMessage `json:"name"`
		Type        json.RawMessage `json:"type"`
		ParentID    json.RawMessage `json:"parentId"`
		URL         json.RawMessage `json:"url"`
		Path        json.RawMessage `json:"path"`
		ContentType json.RawMessage `json:"contentType"`
		Size        json.RawMessage `json:"size"`
		CreatedAt   json.RawMessage `json:"createdAt"`
		UpdatedAt   json.RawMessage `json:"updatedAt"`
		Deleted     json.RawMessage `json:"deleted"`
		Status      json.RawMessage `json:"status"`
		Essential   json.RawMessage `json:"isEssential"`
		AppFolder   json.RawMessage `json:"appFolder"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	*it = apiItem{Size: -1}
	it.ID = loosejson.FirstString(r.ID, r.AltID, r.FileID)
	it.Name = loosejson.CutName(loosejson.FirstString(r.Name))
	it.Type = strings.ToLower(loosejson.FirstString(r.Type))
	it.ParentID = loosejson.FirstString(r.ParentID)
	it.URL = loosejson.FirstString(r.URL)
	it.Path = loosejson.FirstString(r.Path)
	it.ContentType = loosejson.FirstString(r.ContentType)
	if n, ok := loosejson.Int(r.Size); ok && n >= 0 && n <= remote.MaxFileSize {
		it.Size = n
	}
	it.CreatedAt = loosejson.Time(r.CreatedAt)
	if it.CreatedAt.IsZero() {
		it.CreatedAt = IDTime(it.ID) // the API's own clock, in the id
	}
	it.UpdatedAt = loosejson.Time(r.UpdatedAt)
	if len(r.Deleted) > 0 {
		_ = json.Unmarshal(r.Deleted, &it.Deleted)
	}
	// A trashed item may stay in listings with "deleted": false; its
	// status says it is gone.
	switch strings.ToLower(loosejson.FirstString(r.Status)) {
	case "trashed", "deleted", "trash":
		it.Deleted = true
	}
	if it.Type != remote.TypeFile && it.Type != remote.TypeFolder {
		it.Type = "" // the caller knows what it asked for
	}
	it.System = loosejson.True(r.Essential) || loosejson.True(r.AppFolder)
	return nil
}

// decodeItems reads a listing body: {"files": [...]} as documented, and
// tolerates a bare array or the items under "folders"/"data".
func decodeItems(body []byte) ([]remote.Item, error) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var items []apiItem
		err := json.Unmarshal(body, &items)
		return itemsOf(items), err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	for _, k := range []string{"files", "folders", "data", "medias"} {
		raw, ok := m[k]
		if !ok || string(bytes.TrimSpace(raw)) == "null" {
			continue
		}
		var items []apiItem
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		return itemsOf(items), nil
	}
	return nil, nil
}

// itemsOf is a listing's items as the core's Items.
func itemsOf(raw []apiItem) []remote.Item {
	if raw == nil {
		return nil
	}
	out := make([]remote.Item, len(raw))
	for i := range raw {
		out[i] = remote.Item(raw[i])
	}
	return out
}
