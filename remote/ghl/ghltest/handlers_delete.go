package ghltest

import (
	"net/http"
	"strconv"
)

// handleDelete serves DELETE /medias/{id}: the item, and everything inside
// it when it is a folder, becomes deleted.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, cl call) {
	q := queryFields{r.URL.Query()}
	if s.quirkSet().has(QuirkDeleteNeedsAlt) && (q.get("altId") == "" || q.get("altType") == "") {
		// As a field report has it: a plain 400, before any validation.
		writeError(w, http.StatusBadRequest, "altId and altType are required", "Bad Request")
		return
	}
	var c checker
	c.onlyKeys("", q.keys(), "altType", "altId")
	c.oneOf("altType", q.get("altType"), "location")
	c.required("altId", q.get("altId"))
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	if !cl.loc.checkLocation(w, q.get("altId")) {
		return
	}
	if s.refuseSystem(w, cl.loc, s.quirkSet(), []string{cl.id}, "deleted") {
		return
	}
	if !cl.loc.store.deleteActive(cl.id) {
		errNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, object{{"success", true}, {"traceId", s.traceID()}})
}

// handleDeleteMany serves PUT /medias/delete-files: each listed item, and
// everything inside the folders among them, becomes trashed or deleted.
func (s *Server) handleDeleteMany(w http.ResponseWriter, r *http.Request, cl call) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	var c checker
	c.onlyKeys("", body.keys(), "altId", "altType", "status", "filesToBeDeleted")
	altID := body.str(&c, "", "altId", true)
	c.altType(body.str(&c, "", "altType", true))
	status := body.str(&c, "", "status", true)
	if status != "" && status != StatusDeleted && status != StatusTrashed {
		c.add("status must be one of the following values: deleted, trashed")
	}
	entries := body.objects(&c, "filesToBeDeleted")
	ids := make([]string, len(entries))
	for i, e := range entries {
		if e == nil {
			continue // already reported as not an object
		}
		prefix := "filesToBeDeleted." + strconv.Itoa(i) + "."
		c.onlyKeys(prefix, e.keys(), "_id")
		ids[i] = e.str(&c, prefix, "_id", true)
	}
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	if !cl.loc.checkLocation(w, altID) {
		return
	}
	if s.refuseSystem(w, cl.loc, s.quirkSet(), ids, "deleted") {
		return // nothing is removed
	}
	done := cl.loc.store.remove(ids, status)
	out := make([]object, len(ids))
	for i, id := range ids {
		out[i] = object{{"deleted", done[i]}, {"id", id}}
	}
	writeJSON(w, http.StatusOK, out)
}
