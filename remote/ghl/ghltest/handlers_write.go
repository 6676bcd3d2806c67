package ghltest

import (
	"errors"
	"net/http"
	"strconv"
)

// altType checks the altType member, which must be "location".
func (c *checker) altType(v string) {
	if v != "" && v != "location" {
		c.add("altType must be one of the following values: location")
	}
}

// handleCreateFolder serves POST /medias/folder.
func (s *Server) handleCreateFolder(w http.ResponseWriter, r *http.Request, cl call) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	var c checker
	c.onlyKeys("", body.keys(), "altId", "altType", "name", "parentId")
	altID := body.str(&c, "", "altId", true)
	c.altType(body.str(&c, "", "altType", true))
	name := body.str(&c, "", "name", true)
	parentID := body.str(&c, "", "parentId", false)
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	if !cl.loc.checkLocation(w, altID) {
		return
	}
	quirks := s.quirkSet()
	parentID = s.rootParent(cl.loc, quirks, parentID)
	if quirks.has(QuirkParentIgnored) {
		// An unknown parent is still refused, as by an upload.
		if it, ok := cl.loc.store.get(parentID); parentID != "" && (!ok || it.typ != TypeFolder) {
			errNotFound(w)
			return
		}
		parentID = "" // checked, then not used
	}
	it, err := cl.loc.store.addFolder(parentID, name)
	if err != nil {
		errNotFound(w)
		return
	}
	o := s.itemJSONq(cl.loc, quirks, it, s.baseURL(r))
	if quirks.has(QuirkFolderNoID) {
		o = o[1:] // "_id" comes first
	}
	writeJSON(w, createStatus(quirks), o)
}

// handleRename serves POST /medias/{id}.
func (s *Server) handleRename(w http.ResponseWriter, r *http.Request, cl call) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	var c checker
	c.onlyKeys("", body.keys(), "name", "altType", "altId")
	name := body.str(&c, "", "name", true)
	c.altType(body.str(&c, "", "altType", true))
	altID := body.str(&c, "", "altId", true)
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	if !cl.loc.checkLocation(w, altID) {
		return
	}
	if s.refuseSystem(w, cl.loc, s.quirkSet(), []string{cl.id}, "renamed") {
		return
	}
	if s.quirkSet().has(QuirkRenameNotUpdated) {
		if _, ok := cl.loc.store.get(cl.id); !ok {
			errNotFound(w)
			return
		}
		writeJSON(w, http.StatusOK, object{{"updated", false}, {"traceId", s.traceID()}})
		return
	}
	if err := cl.loc.store.rename(cl.id, name); errors.Is(err, errNoItem) {
		errNotFound(w)
		return
	}
	writeJSON(w, http.StatusCreated, object{{"updated", true}, {"traceId", s.traceID()}})
}

// handleUpdateMany serves PUT /medias/update-files.
func (s *Server) handleUpdateMany(w http.ResponseWriter, r *http.Request, cl call) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	var c checker
	c.onlyKeys("", body.keys(), "altId", "altType", "filesToBeUpdated")
	altID := body.str(&c, "", "altId", true)
	c.altType(body.str(&c, "", "altType", true))
	entries := body.objects(&c, "filesToBeUpdated")
	ids := make([]string, len(entries))
	names := make([]string, len(entries))
	for i, e := range entries {
		if e == nil {
			continue // already reported as not an object
		}
		prefix := "filesToBeUpdated." + strconv.Itoa(i) + "."
		c.onlyKeys(prefix, e.keys(), "id", "name")
		ids[i] = e.str(&c, prefix, "id", true)
		names[i] = e.str(&c, prefix, "name", true)
	}
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	if !cl.loc.checkLocation(w, altID) {
		return
	}
	if s.refuseSystem(w, cl.loc, s.quirkSet(), ids, "renamed") {
		return // nothing is renamed
	}
	var done []bool
	if s.quirkSet().has(QuirkRenameNotUpdated) {
		done = make([]bool, len(ids))
	} else {
		done = cl.loc.store.renameMany(ids, names)
	}
	out := make([]object, len(ids))
	for i, id := range ids {
		out[i] = object{{"updated", done[i]}, {"id", id}}
	}
	writeJSON(w, http.StatusOK, out)
}
