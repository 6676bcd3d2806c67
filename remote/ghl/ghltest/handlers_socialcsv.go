package ghltest

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The social planner's CSV endpoints, under /social-media-posting/{locationId}/
// (socialcsv.go holds the imports). Answers are wrapped, {success,
// statusCode, message, results}; errors are NestJS's, as elsewhere. The
// path's locationId is checked as altId is on the media endpoints: 403
// (401 under location-401) when it is not the token's.

// Scopes of the CSV endpoints (the docs' scope list).
const (
	ScopeCSVReadonly = "socialplanner/csv.readonly" // GET csv, GET csv/{id}
	ScopeCSVWrite    = "socialplanner/csv.write"    // POST csv, POST set-accounts, PATCH csv/{id}, DELETE csv/{id}
)

// The endpoint keys of Stats.ByEndpoint.
const (
	EndpointCSVList     = "GET /social-media-posting/{locationId}/csv"
	EndpointCSVUpload   = "POST /social-media-posting/{locationId}/csv"
	EndpointCSVAccounts = "POST /social-media-posting/{locationId}/set-accounts"
	EndpointCSVGet      = "GET /social-media-posting/{locationId}/csv/{id}"
	EndpointCSVFinalize = "PATCH /social-media-posting/{locationId}/csv/{id}"
	EndpointCSVDelete   = "DELETE /social-media-posting/{locationId}/csv/{id}"
)

// matchCSVRoute finds a CSV endpoint: /social-media-posting/{locationId}/csv,
// .../csv/{id} and .../set-accounts, each segment unescaped.
func matchCSVRoute(method, p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/social-media-posting/")
	if !ok {
		return route{}, false
	}
	seg := strings.Split(rest, "/")
	for i, s := range seg {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return route{}, false
		}
		seg[i] = u
	}
	loc := seg[0]
	switch {
	case len(seg) == 2 && seg[1] == "csv" && method == http.MethodGet:
		return route{key: EndpointCSVList, scope: ScopeCSVReadonly, handle: func(s *Server, w http.ResponseWriter, r *http.Request, c call) {
			s.handleCSVList(w, r, c, loc)
		}}, true
	case len(seg) == 2 && seg[1] == "csv" && method == http.MethodPost:
		return route{key: EndpointCSVUpload, scope: ScopeCSVWrite, handle: func(s *Server, w http.ResponseWriter, r *http.Request, c call) {
			s.handleCSVUpload(w, r, c, loc)
		}}, true
	case len(seg) == 2 && seg[1] == "set-accounts" && method == http.MethodPost:
		return route{key: EndpointCSVAccounts, scope: ScopeCSVWrite, handle: func(s *Server, w http.ResponseWriter, r *http.Request, c call) {
			s.handleCSVAccounts(w, r, c, loc)
		}}, true
	case len(seg) == 3 && seg[1] == "csv":
		id := seg[2]
		switch method {
		case http.MethodGet:
			return route{key: EndpointCSVGet, id: id, scope: ScopeCSVReadonly, handle: func(s *Server, w http.ResponseWriter, r *http.Request, c call) {
				s.handleCSVGet(w, r, c, loc)
			}}, true
		case http.MethodPatch:
			return route{key: EndpointCSVFinalize, id: id, scope: ScopeCSVWrite, handle: func(s *Server, w http.ResponseWriter, r *http.Request, c call) {
				s.handleCSVFinalize(w, r, c, loc)
			}}, true
		case http.MethodDelete:
			return route{key: EndpointCSVDelete, id: id, scope: ScopeCSVWrite, handle: func(s *Server, w http.ResponseWriter, r *http.Request, c call) {
				s.handleCSVDelete(w, r, c, loc)
			}}, true
		}
	}
	return route{}, false
}

// writeWrapped writes a successful answer as the social planner's
// endpoints do: {success, statusCode, message, results}, results left out
// when nil.
func writeWrapped(w http.ResponseWriter, status int, message string, results any) {
	o := object{{"success", true}, {"statusCode", status}, {"message", message}}
	if results != nil {
		o = append(o, field{"results", results})
	}
	writeJSON(w, status, o)
}

func errCSVNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "CSV not found", "Not Found")
}

// csvChecked answers a request that failed validation (422), then one
// whose path names another location than the token's (403): ok is false
// once it has.
func (s *Server) csvChecked(w http.ResponseWriter, cl call, loc string, c *checker) bool {
	if c.failed() {
		errValidation(w, c.msgs)
		return false
	}
	return cl.loc.checkLocation(w, loc)
}

// csvLocked is csvChecked, then the location's imports, settled, with
// the imports' lock held: the caller lets go of it.
func (s *Server) csvLocked(w http.ResponseWriter, cl call, loc string, c *checker) (*csvLibrary, bool) {
	if !s.csvChecked(w, cl, loc, c) {
		return nil, false
	}
	now := s.serverNow()
	s.csv.mu.Lock()
	lib := s.csv.lib(cl.loc.id)
	lib.settle(now)
	return lib, true
}

// csvFound is csvLocked, then the import the path names, with the lock
// held: 404 for one unknown or deleted (then the lock is let go of).
func (s *Server) csvFound(w http.ResponseWriter, cl call, loc string, c *checker) (*csvImport, bool) {
	lib, ok := s.csvLocked(w, cl, loc, c)
	if !ok {
		return nil, false
	}
	imp := lib.imports[cl.id]
	if imp == nil || imp.status == "deleted" {
		s.csv.mu.Unlock()
		errCSVNotFound(w)
		return nil, false
	}
	return imp, true
}

// page returns the part of n items a page of skip and limit holds (limit
// 0: no limit, as MongoDB's), at most pageCap of them when it is set.
func page(n, skip, limit, pageCap int) (from, to int) {
	from = min(skip, n)
	to = n
	if limit > 0 && limit < n-from {
		to = from + limit
	}
	if pageCap > 0 && to-from > pageCap {
		to = from + pageCap
	}
	return from, to
}

// handleCSVList serves GET csv: the imports, newest first, deleted ones
// among them, paged by skip and limit (number strings, defaults "0" and
// "10"); userId keeps those it created. results:{csvs, count}: csvs an
// array (an object under csvs-object), count every import listed (the
// page's under count-is-page).
func (s *Server) handleCSVList(w http.ResponseWriter, r *http.Request, cl call, loc string) {
	q := queryFields{r.URL.Query()}
	var c checker
	c.onlyKeys("", q.keys(), "skip", "limit", "includeUsers", "userId")
	skip := c.numberString("skip", q.get("skip"), 0)
	limit := c.numberString("limit", q.get("limit"), defaultListLimit)
	if v := q.get("includeUsers"); v != "" && v != "true" && v != "false" {
		c.add("includeUsers must be a boolean string")
	}
	qs := s.quirkSet()
	lib, ok := s.csvLocked(w, cl, loc, &c)
	if !ok {
		return
	}
	all := lib.sorted()
	if uid := q.get("userId"); uid != "" {
		all = slices.DeleteFunc(all, func(imp *csvImport) bool { return imp.createdBy != uid })
	}
	from, to := page(len(all), skip, limit, qs.csvCap)
	records := make([]object, 0, to-from)
	for _, imp := range all[from:to] {
		records = append(records, imp.record(cl.loc.id))
	}
	s.csv.mu.Unlock()
	count := len(all)
	if qs.has(QuirkCountIsPage) {
		count = len(records)
	}
	var csvs any = records
	if qs.has(QuirkCSVsObject) {
		o := object{}
		for i, rec := range records {
			o = append(o, field{strconv.Itoa(i), rec})
		}
		csvs = o
	}
	writeWrapped(w, http.StatusOK, "Fetched CSV Upload Status", object{{"csvs", csvs}, {"count", count}})
}

// handleCSVGet serves GET csv/{id}: the import and a page of its posts
// (skip, limit as GET csv's). A deleted or unknown import is 404.
func (s *Server) handleCSVGet(w http.ResponseWriter, r *http.Request, cl call, loc string) {
	q := queryFields{r.URL.Query()}
	var c checker
	c.onlyKeys("", q.keys(), "skip", "limit")
	skip := c.numberString("skip", q.get("skip"), 0)
	limit := c.numberString("limit", q.get("limit"), defaultListLimit)
	qs := s.quirkSet()
	imp, ok := s.csvFound(w, cl, loc, &c)
	if !ok {
		return
	}
	rec := imp.record(cl.loc.id)
	from, to := page(len(imp.posts), skip, limit, qs.csvCap)
	posts := slices.Clone(imp.posts[from:to])
	count := len(imp.posts)
	s.csv.mu.Unlock()
	if qs.has(QuirkCountIsPage) {
		count = len(posts)
	}
	if posts == nil {
		posts = []json.RawMessage{}
	}
	writeWrapped(w, http.StatusOK, "Fetched CSV Post", object{{"csv", rec}, {"count", count}, {"posts", posts}})
}

// handleCSVDelete serves DELETE csv/{id}: the import's status becomes
// deleted (it stays listed so); answered with the record as it was. An
// unknown or deleted import is 404; under csv-delete-422-importing, one
// importing or in_progress is refused with 422 and stays.
func (s *Server) handleCSVDelete(w http.ResponseWriter, r *http.Request, cl call, loc string) {
	q := queryFields{r.URL.Query()}
	var c checker
	c.onlyKeys("", q.keys())
	qs := s.quirkSet()
	imp, ok := s.csvFound(w, cl, loc, &c)
	if !ok {
		return
	}
	if qs.has(QuirkCSVDelete422Importing) && (imp.status == "importing" || imp.status == "in_progress") {
		s.csv.mu.Unlock()
		errValidation(w, []string{"CSV import is in progress and cannot be deleted"})
		return
	}
	before := imp.deleteRecord(cl.loc.id)
	imp.status, imp.doneAt = "deleted", time.Time{}
	s.csv.mu.Unlock()
	writeWrapped(w, http.StatusOK, "Deleted Post", object{{"csv", before}})
}

// handleCSVUpload serves POST csv: a multipart form whose part "file"
// (with a filename) is a CSV, staged for set-accounts. Its rows (after
// the header, blank ones left out) are counted. 201 results:{filePath,
// rowsCount, fileName}. No file: 400 "File is required"; a file that is
// no CSV: 400 "Invalid CSV file"; any other form field: 422.
func (s *Server) handleCSVUpload(w http.ResponseWriter, r *http.Request, cl call, loc string) {
	form, ok := readMultipart(w, r)
	if !ok {
		return
	}
	if form.tooLarge != 0 {
		errTooLarge(w, form.tooLarge)
		return
	}
	var c checker
	c.onlyKeys("", form.keys, "file")
	if !s.csvChecked(w, cl, loc, &c) {
		return
	}
	if !form.haveFile {
		writeError(w, http.StatusBadRequest, "File is required", "Bad Request")
		return
	}
	rd := csv.NewReader(bytes.NewReader(form.file))
	rd.FieldsPerRecord = -1
	records, err := rd.ReadAll()
	if err != nil || len(records) == 0 {
		writeError(w, http.StatusBadRequest, "Invalid CSV file", "Bad Request")
		return
	}
	st := stagedCSV{fileName: form.filename, header: records[0]}
	for _, rec := range records[1:] {
		if slices.ContainsFunc(rec, func(f string) bool { return strings.TrimSpace(f) != "" }) {
			st.rows = append(st.rows, rec)
		}
	}
	filePath := cl.loc.id + "/social-import/" + s.traceID() + ".csv"
	s.csv.mu.Lock()
	s.csv.lib(cl.loc.id).staged[filePath] = st
	s.csv.mu.Unlock()
	writeWrapped(w, http.StatusCreated, "Uploaded CSV", object{{"filePath", filePath}, {"rowsCount", len(st.rows)}, {"fileName", st.fileName}})
}

// handleCSVAccounts serves POST set-accounts: {accountIds (a non-empty
// array of strings), filePath (a CSV staged in this location), rowsCount
// (1 to the CSV's rows), fileName, approver?, userId?} makes an import of
// the CSV's first rowsCount rows, pending until finalized. 201 "Accounts
// Set Successfully", naming no import. Its file is filePath.
func (s *Server) handleCSVAccounts(w http.ResponseWriter, r *http.Request, cl call, loc string) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	var c checker
	c.onlyKeys("", body.keys(), "accountIds", "filePath", "rowsCount", "fileName", "approver", "userId")
	var accounts []string
	switch v := body["accountIds"].(type) {
	case nil:
		c.add("accountIds should not be empty")
	case []any:
		if len(v) == 0 {
			c.add("accountIds should not be empty")
		}
		for _, a := range v {
			if str, isStr := a.(string); !isStr || str == "" {
				c.add("each value in accountIds must be a string")
				break
			} else {
				accounts = append(accounts, str)
			}
		}
	default:
		c.add("accountIds must be an array")
	}
	filePath := body.str(&c, "", "filePath", true)
	fileName := body.str(&c, "", "fileName", true)
	approver := body.str(&c, "", "approver", false)
	userID := body.str(&c, "", "userId", false)
	rows, isNum := body["rowsCount"].(float64)
	if !isNum || rows != float64(int(rows)) {
		c.add("rowsCount must be a number conforming to the specified constraints")
	}
	if !s.csvChecked(w, cl, loc, &c) {
		return
	}
	now := s.serverNow()
	id := s.newCSVID(now)
	trace, origin := s.traceID(), s.traceID()
	s.csv.mu.Lock()
	lib := s.csv.lib(cl.loc.id)
	st, staged := lib.staged[filePath]
	switch {
	case !staged:
		s.csv.mu.Unlock()
		writeError(w, http.StatusBadRequest, "Invalid filePath: no CSV was uploaded there", "Bad Request")
		return
	case int(rows) < 1 || int(rows) > len(st.rows):
		s.csv.mu.Unlock()
		writeError(w, http.StatusBadRequest, "rowsCount must be between 1 and "+strconv.Itoa(len(st.rows)), "Bad Request")
		return
	}
	imp := &csvImport{id: id, fileName: fileName, file: filePath, status: "pending", accountIDs: accounts,
		createdBy: cmp.Or(userID, "ghlfake-user"), traceID: trace, originID: origin, approver: approver,
		createdAt: now.UTC().Truncate(time.Millisecond)}
	for _, row := range st.rows[:int(rows)] {
		imp.posts = append(imp.posts, postOfRow(st.header, row, accounts))
	}
	imp.count = len(imp.posts)
	lib.imports[id] = imp
	delete(lib.staged, filePath)
	s.csv.mu.Unlock()
	writeWrapped(w, http.StatusCreated, "Accounts Set Successfully", nil)
}

// handleCSVFinalize serves PATCH csv/{id} {userId?}: a pending import
// becomes importing, and completed CSVImportTime later; any other (not
// deleted) is left as it is, with the same answer: 200 "Updated
// Successfully".
func (s *Server) handleCSVFinalize(w http.ResponseWriter, r *http.Request, cl call, loc string) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	var c checker
	c.onlyKeys("", body.keys(), "userId")
	body.str(&c, "", "userId", false)
	d := s.csvImportTime()
	imp, ok := s.csvFound(w, cl, loc, &c)
	if !ok {
		return
	}
	if imp.status == "pending" {
		imp.status, imp.doneAt = "importing", s.serverNow().Add(d)
	}
	s.csv.mu.Unlock()
	writeWrapped(w, http.StatusOK, "Updated Successfully", nil)
}

// postOfRow is the post a CSV row makes (the importer's basic columns:
// postAtSpecificTime, content, link, imageUrls, videoUrl,
// followUpComment; names in any case), as CSVPostSchema has it.
func postOfRow(header, row []string, accounts []string) json.RawMessage {
	col := func(name string) string {
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), name) && i < len(row) {
				return strings.TrimSpace(row[i])
			}
		}
		return ""
	}
	o := object{{"accountIds", slices.Clone(accounts)}, {"summary", col("content")}}
	if at := col("postAtSpecificTime"); at != "" {
		if t, err := time.Parse("2006-01-02 15:04:05", at); err == nil {
			at = formatTime(t)
		}
		o = append(o, field{"scheduleDate", at})
	}
	o = append(o, field{"type", "post"})
	medias := []object{}
	for _, u := range strings.Split(col("imageUrls"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			medias = append(medias, object{{"url", u}, {"type", imageTypes[strings.ToLower(extOfURL(u))]}})
		}
	}
	if v := col("videoUrl"); v != "" {
		medias = append(medias, object{{"url", v}, {"type", "video/mp4"}})
	}
	o = append(o, field{"medias", medias})
	if l := col("link"); l != "" {
		o = append(o, field{"link", object{{"url", l}}})
	}
	if f := col("followUpComment"); f != "" {
		o = append(o, field{"followUpComment", f})
	}
	b, _ := marshalJSON(o)
	return b
}

// imageTypes are the types of the pictures a post's media urls name (the
// fake's own table: it never reads the machine's).
var imageTypes = map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}

// extOfURL is a url's path's extension.
func extOfURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	i := strings.LastIndexByte(p.Path, '.')
	if i < 0 || strings.Contains(p.Path[i:], "/") {
		return ""
	}
	return p.Path[i:]
}
