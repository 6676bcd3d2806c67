package ghltest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// defaultListLimit is the page size when a list request gives no limit.
const defaultListLimit = 10

// timeFormat is how the service writes times: ISO 8601, milliseconds, Z.
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// itemJSON is the JSON form of an item, as listings and folder creation
// return it.
func (s *Server) itemJSON(it item, base string) object {
	o := object{{"_id", it.id}, {"name", it.name}, {"type", it.typ}}
	switch {
	case it.parentID != "":
		o = append(o, field{"parentId", it.parentID})
	case !s.minimal:
		o = append(o, field{"parentId", nil})
	}
	if it.typ == TypeFile {
		o = append(o, field{"url", it.urlFrom(base)}, field{"path", it.objectPath})
	}
	o = append(o, field{"altId", s.loc}, field{"altType", "location"})
	if it.typ == TypeFile && !s.minimal {
		o = append(o, field{"contentType", it.contentType}, field{"size", it.size})
	}
	o = append(o, field{"deleted", it.status == StatusDeleted})
	if !s.minimal {
		o = append(o, field{"createdAt", formatTime(it.createdAt)}, field{"updatedAt", formatTime(it.updatedAt)})
	}
	return o
}

// numberString reads an optional non-negative integer query parameter
// (class-validator's IsNumberString). Values too large for an int saturate.
func (c *checker) numberString(name, v string, def int) int {
	if v == "" {
		return def
	}
	for _, ch := range v {
		if ch < '0' || ch > '9' {
			c.add(name + " must be a number string")
			return def
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return math.MaxInt
	}
	return n
}

// handleList serves GET /medias/files.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request, _ string) {
	q := queryFields{r.URL.Query()}
	var c checker
	c.onlyKeys("", q.keys(), "altType", "altId", "type", "sortBy", "sortOrder",
		"parentId", "offset", "limit", "query", "fetchAll")
	c.oneOf("altType", q.get("altType"), "location")
	c.required("altId", q.get("altId"))
	c.oneOf("type", q.get("type"), TypeFile, TypeFolder)
	c.oneOf("sortBy", q.get("sortBy"), "createdAt", "name", "updatedAt")
	c.oneOf("sortOrder", q.get("sortOrder"), "asc", "desc")
	offset := c.numberString("offset", q.get("offset"), 0)
	limit := c.numberString("limit", q.get("limit"), defaultListLimit)
	fetchAll := q.get("fetchAll")
	if fetchAll != "" && fetchAll != "true" && fetchAll != "false" {
		c.add("fetchAll must be a boolean string")
	}
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	if !s.checkLocation(w, q.get("altId")) {
		return
	}
	// As in MongoDB, a limit of 0 means no limit; the page cap still holds.
	if limit == 0 || limit > s.pageCap {
		limit = s.pageCap
	}
	items := s.store.list(listQuery{
		typ:      q.get("type"),
		parentID: q.get("parentId"),
		all:      fetchAll == "true",
		search:   q.get("query"),
		sortBy:   q.get("sortBy"),
		desc:     q.get("sortOrder") == "desc",
		offset:   offset,
		limit:    limit,
	})
	base := s.baseURL(r)
	files := make([]object, 0, len(items))
	for _, it := range items {
		files = append(files, s.itemJSON(it, base))
	}
	writeJSON(w, http.StatusOK, object{{"files", files}})
}
