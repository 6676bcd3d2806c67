package ghl

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ghlfs/ghlfs/remote"
)

// apiItem is an Item as the API writes it: its UnmarshalJSON is the
// parser of every item this package reads.
type apiItem Item

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
	it.ID = firstString(r.ID, r.AltID, r.FileID)
	it.Name = cutName(firstString(r.Name))
	it.Type = strings.ToLower(firstString(r.Type))
	it.ParentID = firstString(r.ParentID)
	it.URL = firstString(r.URL)
	it.Path = firstString(r.Path)
	it.ContentType = firstString(r.ContentType)
	if n, ok := jsonInt(r.Size); ok && n >= 0 && n <= remote.MaxFileSize {
		it.Size = n
	}
	it.CreatedAt = jsonTime(r.CreatedAt)
	if it.CreatedAt.IsZero() {
		it.CreatedAt = IDTime(it.ID) // the API's own clock, in the id
	}
	it.UpdatedAt = jsonTime(r.UpdatedAt)
	if len(r.Deleted) > 0 {
		_ = json.Unmarshal(r.Deleted, &it.Deleted)
	}
	// A trashed item may stay in listings with "deleted": false; its
	// status says it is gone.
	switch strings.ToLower(firstString(r.Status)) {
	case "trashed", "deleted", "trash":
		it.Deleted = true
	}
	if it.Type != TypeFile && it.Type != TypeFolder {
		it.Type = "" // the caller knows what it asked for
	}
	it.System = jsonTrue(r.Essential) || jsonTrue(r.AppFolder)
	return nil
}

// jsonTrue reports whether raw is true, as a JSON boolean or the string
// "true" (any case).
func jsonTrue(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	switch {
	case string(raw) == "true":
		return true
	case len(raw) > 0 && raw[0] == '"':
		var s string
		return json.Unmarshal(raw, &s) == nil && strings.EqualFold(strings.TrimSpace(s), "true")
	}
	return false
}

// cutName bounds a name to remote.MaxNameBytes, cut at a character boundary.
func cutName(s string) string {
	if len(s) <= remote.MaxNameBytes {
		return s
	}
	n := remote.MaxNameBytes
	for i := 0; i < utf8.UTFMax-1 && !utf8.RuneStart(s[n]); i++ {
		n-- // a character's start is at most 3 bytes back (else invalid)
	}
	return s[:n]
}

// firstString returns the first of raws that holds a non-empty JSON
// string. Absent values, null, numbers and other shapes do not count.
func firstString(raws ...json.RawMessage) string {
	for _, raw := range raws {
		if len(raw) == 0 || raw[0] != '"' {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

func jsonInt(raw json.RawMessage) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		raw = []byte(strings.TrimSpace(s))
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(string(raw), 64); err == nil && f >= 0 && f < 1<<62 {
		return int64(f), true
	}
	return 0, false
}

func jsonTime(raw json.RawMessage) time.Time {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}
	}
	if raw[0] != '"' {
		if ms, ok := jsonInt(raw); ok && ms > 0 {
			return time.UnixMilli(ms).UTC()
		}
		return time.Time{}
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC()
	}
	return time.Time{}
}

// decodeItems reads a listing body: {"files": [...]} as documented, and
// tolerates a bare array or the items under "folders"/"data".
func decodeItems(body []byte) ([]Item, error) {
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
func itemsOf(raw []apiItem) []Item {
	if raw == nil {
		return nil
	}
	out := make([]Item, len(raw))
	for i := range raw {
		out[i] = Item(raw[i])
	}
	return out
}
