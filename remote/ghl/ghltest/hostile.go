package ghltest

import (
	"fmt"
	"net/url"
	"strings"
)

// AddFileWithID creates a file in the first location with the id given, whatever it holds: a
// '/', a newline, ".." (the service documents ids as 24 hex digits, but a
// client must not trust that). Its storage URL holds the id escaped, as
// one path segment. It returns the id, and panics when the id is empty or
// taken or parentID is not an active folder. A library holding such ids
// cannot be saved to Options.DataDir and read back.
func (s *Server) AddFileWithID(id, parentID, name, contentType string, data []byte) string {
	return s.primary.AddFileWithID(id, parentID, name, contentType, data)
}

// AddFileWithID is Server.AddFileWithID in this location.
func (l *Location) AddFileWithID(id, parentID, name, contentType string, data []byte) string {
	st := l.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, taken := st.items[id]; taken || id == "" {
		panic(fmt.Sprintf("ghltest: AddFileWithID(%q): empty or taken", id))
	}
	if parentID != "" && !st.activeFolder(parentID) {
		panic(fmt.Sprintf("ghltest: AddFileWithID(%q, %q): %v", id, parentID, errNotFolder))
	}
	it := st.fileItem(id, parentID, name, contentType, append([]byte(nil), data...), st.stamp())
	it.objectPath = "msgsndr/" + st.loc + "/media/" + escapeSegment(id) + extOf(name)
	st.items[id] = it
	st.changed()
	return id
}

// escapeSegment makes an id one segment of a URL path: '/', '?', '%' and
// the like escaped, and an id of dots too (else a step up the path).
func escapeSegment(id string) string {
	e := url.PathEscape(id)
	if strings.Trim(e, ".") == "" {
		e = strings.ReplaceAll(e, ".", "%2E")
	}
	return e
}

// idOfObject returns the id a storage object name ("<escaped id><ext>")
// was made from, when it is not the usual 24 hex digits.
func idOfObject(name string) (string, bool) {
	id, err := url.PathUnescape(strings.TrimSuffix(name, extOf(name)))
	return id, err == nil && id != ""
}
