// Package loosejson reads the fields of a service's JSON loosely, as
// the services' answers need: a string that may be absent, null or
// another shape (FirstString), a number that may come as a string (Int),
// a time as ISO 8601 or epoch milliseconds (Time), a boolean that may
// be the string "true" (True), and a name bounded to
// remote.MaxNameBytes (CutName). It owns no state and no locks.
package loosejson

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ghlfs/ghlfs/remote"
)

// FirstString returns the first of raws that holds a non-empty JSON
// string. Absent values, null, numbers and other shapes do not count.
func FirstString(raws ...json.RawMessage) string {
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

// Int reads a number, or a numeric string (an integer, or a float not
// below zero taken down to one); ok is false when raw is neither.
func Int(raw json.RawMessage) (int64, bool) {
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

// Time reads a time: an ISO 8601 string (with or without a zone, a
// space for the T), or epoch milliseconds as a number or a string; the
// zero time when raw is none of these.
func Time(raw json.RawMessage) time.Time {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}
	}
	if raw[0] != '"' {
		if ms, ok := Int(raw); ok && ms > 0 {
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

// True reports whether raw is true, as a JSON boolean or the string
// "true" (any case).
func True(raw json.RawMessage) bool {
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

// CutName bounds a name to remote.MaxNameBytes, cut at a character boundary.
func CutName(s string) string {
	if len(s) <= remote.MaxNameBytes {
		return s
	}
	n := remote.MaxNameBytes
	for i := 0; i < utf8.UTFMax-1 && !utf8.RuneStart(s[n]); i++ {
		n-- // a character's start is at most 3 bytes back (else invalid)
	}
	return s[:n]
}
