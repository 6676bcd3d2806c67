package ghltest

import (
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// defaultListLimit is the page size when a list request gives no limit.
const defaultListLimit = 10

// timeFormat is how the service writes times: ISO 8601, milliseconds, Z.
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// itemJSON is the JSON form of an item, as listings and folder creation
// return it.
func (s *Server) itemJSON(l *Location, it item, base string) object {
	return s.itemJSONq(l, s.quirkSet(), it, base)
}

func (s *Server) itemJSONq(l *Location, q quirks, it item, base string) object {
	o := object{{"_id", it.id}, {"name", it.name}, {"type", it.typ}}
	switch {
	case it.parentID != "":
		o = append(o, field{"parentId", it.parentID})
	case q.has(QuirkRootParentLocation):
		o = append(o, field{"parentId", l.id})
	case !s.minimal:
		o = append(o, field{"parentId", nil})
	}
	if it.typ == TypeFile {
		o = append(o, field{"url", it.urlFrom(base)}, field{"path", it.objectPath})
	}
	o = append(o, field{"altId", l.id}, field{"altType", "location"})
	if it.typ == TypeFile && !s.minimal {
		o = append(o, field{"contentType", it.contentType}, field{"size", it.size})
	}
	o = append(o, field{"deleted", it.status == StatusDeleted})
	if it.typ == TypeFolder && q.has(QuirkEssentialFolders) {
		o = append(o, field{"appFolder", it.appFolder}, field{"isEssential", it.essential})
	}
	if q.has(QuirkTrashListed) {
		o = append(o, field{"status", it.status})
	}
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
func (s *Server) handleList(w http.ResponseWriter, r *http.Request, cl call) {
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
	quirks := s.quirkSet()
	if quirks.has(QuirkLimitMax100) && limit > 100 {
		c.add("limit must not be greater than 100")
	}
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	if !cl.loc.checkLocation(w, q.get("altId")) {
		return
	}
	match, err := nameMatcher(quirks, q.get("query"))
	if err != nil {
		// As a MongoDB $regex that does not compile fails the request.
		s.log.Debug("ghlfake: query is no valid regex", "err", err)
		writeError(w, http.StatusInternalServerError, "Internal server error", "")
		return
	}
	// As in MongoDB, a limit of 0 means no limit; the page cap still holds.
	if limit == 0 || limit > s.pageCap {
		limit = s.pageCap
	}
	all := fetchAll == "true"
	if all && quirks.has(QuirkFetchAllUnpaged) {
		// The whole library in one answer, whatever offset and limit say.
		offset, limit = 0, math.MaxInt
	}
	parentID := s.rootParent(cl.loc, quirks, q.get("parentId"))
	sortBy := q.get("sortBy")
	if sortBy == "updatedAt" && quirks.has(QuirkUpdatedOrderIgnored) {
		sortBy = "createdAt"
	}
	lq := listQuery{
		typ:      q.get("type"),
		parentID: parentID,
		all:      all || (q.get("parentId") == "" && quirks.has(QuirkRootListsAll)),
		match:    match,
		search:   matchKey(quirks, q.get("query")),
		sortBy:   sortBy,
		desc:     q.get("sortOrder") == "desc",
		offset:   offset,
		limit:    limit,
		trashed:  quirks.has(QuirkTrashListed),
	}
	if quirks.has(QuirkUnstableTies) {
		lq.tieSalt = s.rand.uint64() | 1
	}
	if quirks.lag > 0 && (all || q.get("sortBy") == "updatedAt") {
		// Served from an index that lags behind the folders' own listings.
		lq.asOf = s.serverNow().UTC().Truncate(time.Millisecond).Add(-quirks.lag)
	}
	items, lagged := cl.loc.store.list(lq)
	if lagged {
		s.stats.lagged()
	}
	base := s.baseURL(r)
	files := make([]object, 0, len(items))
	for _, it := range items {
		files = append(files, s.itemJSONq(cl.loc, quirks, it, base))
	}
	writeJSON(w, http.StatusOK, object{{"files", files}})
}

// matchKey names what nameMatcher matches, for the list index.
func matchKey(q quirks, query string) string {
	if query == "" {
		return ""
	}
	for _, name := range []string{QuirkQueryExact, QuirkQueryPrefix, QuirkQueryRegex} {
		if q.has(name) {
			return name + "\x00" + query
		}
	}
	return "\x00" + strings.ToLower(query)
}

// nameMatcher is the name search of a listing's query: a case-insensitive
// substring, or what the query-* quirks make of it.
func nameMatcher(q quirks, query string) (func(string) bool, error) {
	if query == "" {
		return nil, nil
	}
	lower := strings.ToLower(query)
	switch {
	case q.has(QuirkQueryExact):
		return func(name string) bool { return name == query }, nil
	case q.has(QuirkQueryPrefix):
		return func(name string) bool { return strings.HasPrefix(strings.ToLower(name), lower) }, nil
	case q.has(QuirkQueryRegex):
		re, err := regexp.Compile("(?i)" + query)
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	}
	return func(name string) bool { return strings.Contains(strings.ToLower(name), lower) }, nil
}
