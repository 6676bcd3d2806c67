package ghltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// field is one key of an ordered JSON object.
type field struct {
	key   string
	value any
}

// object is a JSON object whose keys are written in the order given, so that
// bodies look like the real service's (NestJS writes keys in insertion order)
// and optional keys can be left out entirely.
type object []field

func (o object) MarshalJSON() ([]byte, error) {
	return o.appendJSON(nil)
}

func (o object) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, f := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.key)
		b = append(b, ':')
		var err error
		if b, err = appendJSON(b, f.value); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendJSON appends v as JSON, as marshalJSON writes it, with fast paths
// for what answers are made of: a listing of 100,000 items is 45 MB.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case object:
		return v.appendJSON(b)
	case []object:
		b = append(b, '[')
		for i, o := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = o.appendJSON(b); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	j, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

// appendJSONString appends s as a JSON string, as encoding/json writes it
// without HTML escaping: control characters, quotes and backslashes
// escaped, U+2028 and U+2029 too, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// marshalJSON is json.Marshal without HTML escaping (Node's JSON.stringify
// does not turn & or < into \u0026).
func marshalJSON(v any) ([]byte, error) {
	if o, ok := v.(object); ok {
		return o.appendJSON(nil)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

const jsonContentType = "application/json; charset=utf-8"

// writeJSON writes v with the given status as the service does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshalJSON(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"statusCode":500,"message":"Internal server error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", jsonContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError writes a NestJS style error body. message is a string or a
// []string; errName (the "error" key) is left out when empty.
func writeError(w http.ResponseWriter, status int, message any, errName string) {
	o := object{{"statusCode", status}, {"message", message}}
	if errName != "" {
		o = append(o, field{"error", errName})
	}
	writeJSON(w, status, o)
}

// The error bodies of the service, in one place.

func errForbiddenUA(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "Forbidden", "Forbidden")
}

func errUnauthorized(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized, "Invalid token: access token is invalid", "Unauthorized")
}

// errVersion answers a Version header the API does not take (v, "" when
// missing): 400, or under the version-401 quirk 401 in the words a field
// report gives.
func errVersion(w http.ResponseWriter, v string, as401 bool) {
	switch {
	case !as401:
		writeError(w, http.StatusBadRequest, "Invalid or missing Version header", "Bad Request")
	case v == "":
		writeError(w, http.StatusUnauthorized, "Version header was not found", "Unauthorized")
	default:
		writeError(w, http.StatusUnauthorized, "Version header is invalid", "Unauthorized")
	}
}

func errValidation(w http.ResponseWriter, msgs []string) {
	writeError(w, http.StatusUnprocessableEntity, msgs, "Unprocessable Entity")
}

// errLocation answers an altId that is not the token's location (mine):
// 403, or under the location-401 quirk 401 in the words a field report
// gives.
func errLocation(w http.ResponseWriter, mine, asked string, as401 bool) {
	if as401 {
		writeError(w, http.StatusUnauthorized, fmt.Sprintf("Your token grants access to location %s but you're requesting %s", mine, asked), "Unauthorized")
		return
	}
	writeError(w, http.StatusForbidden, "The token does not have access to this location.", "Forbidden")
}

func errNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "Media not found", "Not Found")
}

func errBadRequest(w http.ResponseWriter) {
	writeError(w, http.StatusBadRequest, "Bad Request", "")
}

func errRoute(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.RequestURI(), "Not Found")
}

// errTooLarge answers a file above limit (MaxUploadSize or
// MaxVideoUploadSize) in the words of the docs: "the 25 MB limit".
func errTooLarge(w http.ResponseWriter, limit int64) {
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("File size exceeds the %d MB limit", limit/1_000_000), "Payload Too Large")
}

func errBodyTooLarge(w http.ResponseWriter) {
	writeError(w, http.StatusRequestEntityTooLarge, "request entity too large", "Payload Too Large")
}

func errDown(w http.ResponseWriter) {
	writeError(w, http.StatusServiceUnavailable, "Service Unavailable", "")
}
