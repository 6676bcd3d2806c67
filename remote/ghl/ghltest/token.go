package ghltest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Token rotation: a Private Integration Token can be rotated in
// HighLevel's settings while a client is running. SetToken (or POST
// /_ghlfake/token {"token": "..."}) makes the API accept the new token
// only, from the next request on.

// SetToken replaces the bearer token the API accepts. An empty token
// restores Options.Token.
func (s *Server) SetToken(token string) {
	if token == "" {
		s.rotated.Store(nil)
		return
	}
	s.rotated.Store(&token)
}

// currentToken is the bearer token the API accepts now.
func (s *Server) currentToken() string {
	if t := s.rotated.Load(); t != nil {
		return *t
	}
	return s.token
}

// postToken serves POST /_ghlfake/token {"token": "..."}. It answers
// {"rotated": true} and never shows a token.
func (s *Server) postToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Token *string `json:"token"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Token == nil || strings.ContainsAny(*body.Token, " \t\r\n") {
		writeError(w, http.StatusBadRequest, `want {"token": "..."} (no spaces)`, "Bad Request")
		return
	}
	s.SetToken(*body.Token)
	writeJSON(w, http.StatusOK, object{{"rotated", true}})
}

// SetFileURL makes listings give u as the url of the file id (of the first
// location), in place of
// its storage path on this server: a link to a foreign or hostile host, or
// one with a signature in its query. The fake's storage still serves the
// file at its own path. It panics when id is no file. The url is not kept
// in Options.DataDir.
func (s *Server) SetFileURL(id, u string) { s.primary.SetFileURL(id, u) }

// SetFileURL is Server.SetFileURL in this location.
func (l *Location) SetFileURL(id, u string) {
	st := l.store
	st.mu.Lock()
	defer st.mu.Unlock()
	it, ok := st.items[id]
	if !ok || it.typ != TypeFile {
		panic("ghltest: SetFileURL(" + strconv.Quote(id) + "): no such file")
	}
	cp := *it // items are shared read-only: change a copy
	cp.url = u
	cp.updatedAt = st.stamp()
	st.items[id] = &cp
	st.gen++ // sorted listings held the old copy (not saved: see above)
}

// urlFrom is the url of a file served from base.
func (it item) urlFrom(base string) string {
	if it.url != "" {
		return it.url
	}
	return base + "/storage/" + it.objectPath
}

// retryAfter is the Retry-After header of an injected 429.
func (f Faults) retryAfter() string {
	d := time.Duration(f.Fault429RetryAfter)
	if d <= 0 {
		return "1"
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}
