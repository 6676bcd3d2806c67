package ghltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
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
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshalJSON(f.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalJSON(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalJSON is json.Marshal without HTML escaping (Node's JSON.stringify
// does not turn & or < into \u0026).
func marshalJSON(v any) ([]byte, error) {
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
