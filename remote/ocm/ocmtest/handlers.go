package ocmtest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// handleList: GET folders/{id}/items?limit=&offset=&orderby=&filterName=
// (doc folders-folderid-items-get).
func (s *Server) handleList(c *call) reply {
	f, rep := s.target(c, "FLD_BROWSE", false)
	if rep != nil {
		return *rep
	}
	return s.listing(c, f, map[string]any{"id": s.publicID(f)})
}

// handleHomeItems: GET folders/items: the home folder's items (and, in
// the real service, folders others shared: the fake has none), to a
// token only.
func (s *Server) handleHomeItems(c *call) reply {
	if c.acc.scope != nil {
		return denied(c.acc.who, "self", "FLD_BROWSE")
	}
	return s.listing(c, s.home, map[string]any{"ownerFolderID": s.publicID(s.home)})
}

// listing answers one page of folder f's items: limit (default 50, at
// most 10000, or page-cap's N), offset, orderby name|createdTime|
// modifiedTime :asc|:desc (default name:asc), filterName (exact, or
// ignoring case under filter-ignores-case, or not at all under
// filter-ignored). mu held.
func (s *Server) listing(c *call, f *node, out map[string]any) reply {
	q := c.r.URL.Query()
	limit, offset := DefaultPageLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("The limit parameter is not valid: " + v)
		}
		limit = min(n, MaxPageLimit)
	}
	if s.quirks.pageCap > 0 {
		limit = min(limit, s.quirks.pageCap)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badRequest("The offset parameter is not valid: " + v)
		}
		offset = n
	}
	field, dir, _ := strings.Cut(cmp.Or(q.Get("orderby"), "name:asc"), ":")
	less, found := map[string]func(a, b *node) int{
		"name":         func(a, b *node) int { return cmp.Compare(strings.ToLower(a.name), strings.ToLower(b.name)) },
		"createdTime":  func(a, b *node) int { return a.created.Compare(b.created) },
		"modifiedTime": func(a, b *node) int { return a.modified.Compare(b.modified) },
	}[field]
	if !found || dir != "" && dir != "asc" && dir != "desc" {
		return badRequest("The orderby parameter is not valid: " + q.Get("orderby"))
	}
	var items []*node
	filter, filtered := q.Get("filterName"), q.Has("filterName") && !s.quirks.has(QuirkFilterIgnored)
	for _, n := range s.children(f) {
		if !filtered || n.name == filter || s.quirks.has(QuirkFilterIgnoresCase) && strings.EqualFold(n.name, filter) {
			items = append(items, n)
		}
	}
	slices.SortFunc(items, func(a, b *node) int {
		r := less(a, b)
		if dir == "desc" {
			r = -r
		}
		return cmp.Or(r, cmp.Compare(a.name, b.name), cmp.Compare(a.seq, b.seq))
	})
	page := items[min(offset, len(items)):min(offset+limit, len(items))]
	list := make([]any, 0, len(page))
	for _, n := range page {
		list = append(list, s.itemJSON(n))
	}
	more := "0"
	if offset+len(page) < len(items) && !s.quirks.has(QuirkHasMoreZero) {
		more = "1"
	}
	out["count"] = strconv.Itoa(len(page))
	out["totalResults"] = strconv.Itoa(len(items))
	out["hasMore"] = more
	out["offset"] = strconv.Itoa(offset)
	out["limit"] = strconv.Itoa(limit)
	out["items"] = list
	return ok(out)
}

// handleFolder: GET folders/{id} (doc Get Folder).
func (s *Server) handleFolder(c *call) reply {
	f, rep := s.details(c, "FLD_INFO")
	if rep != nil {
		return *rep
	}
	return ok(s.itemJSON(f))
}

// handleCreateFolder: POST folders/{parent} {"name", "description"}: the
// new folder; a name the parent holds (ignoring case) gives name(2)
// (doc Create Folder).
func (s *Server) handleCreateFolder(c *call) reply {
	var b struct{ Name, Description string }
	if !c.json(&b) {
		return badRequest("The request body is not valid JSON.")
	}
	p, rep := s.change(c.acc, c.id, "FLD_CREATE_FOLDER", true)
	if rep != nil {
		return *rep
	}
	if !p.folder {
		return notFound(c.id)
	}
	if s.quirks.badName(b.Name) {
		return badRequest("The folder name is not valid: " + b.Name)
	}
	f := s.add(p, s.freeName(p, b.Name, true, nil), true, c.acc.who)
	f.description = b.Description
	return ok(s.itemJSON(f))
}

// target is the item of the call's path, of the kind its route names,
// that a may read (write false), or change and another user did not
// reserve (write true); or why not. mu held.
func (s *Server) target(c *call, service string, write bool) (*node, *reply) {
	n, rep := s.see(c.acc, c.id, service)
	if rep == nil && write {
		n, rep = s.change(c.acc, c.id, service, false)
	}
	if rep == nil && n.folder != strings.Contains(c.r.URL.Path, "/folders/") {
		r := notFound(c.id)
		return nil, &r
	}
	if rep == nil && write {
		rep = reserved(c.acc, n)
	}
	return n, rep
}

// details is the item of the call's path for a read of its details (GET
// files/{id}, its versions, GET folders/{id}): as target, but under
// trash-visible an item in the trash is found too. mu held.
func (s *Server) details(c *call, service string) (*node, *reply) {
	n := s.lookup(c.id)
	if s.quirks.has(QuirkTrashVisible) && n != nil && inTrash(n) && n.folder == strings.Contains(c.r.URL.Path, "/folders/") {
		if rep := s.reach(c.acc, n, service); rep != nil {
			return nil, rep
		}
		return n, nil
	}
	return s.target(c, service, false)
}

// destination is the folder of id a may put an item in, or why not. mu
// held.
func (s *Server) destination(a *access, id, service string) (*node, *reply) {
	d, rep := s.change(a, id, service, true)
	if rep == nil && !d.folder {
		r := badRequest("destinationID is not a folder: " + id)
		return nil, &r
	}
	return d, rep
}

// reserved is the refusal of a change to a file another user reserved,
// or nil.
func reserved(a *access, n *node) *reply {
	if n.folder || n.reservedBy == nil || a.who != nil && n.reservedBy == a.who {
		return nil
	}
	r := fail(http.StatusForbidden, CodeReserved, "!csFldUnableToProcess!"+ReservedKey+","+n.reservedBy.display+","+n.id,
		"The file is reserved by '"+n.reservedBy.display+"'.", n.id)
	return &r
}

// handleRename: PUT files/{id} and PUT folders/{id} {"name",
// "description"?} (doc Edit File, Edit Folder): a name another item of
// the folder holds, ignoring case, is refused (409, -17); so is one
// differing only in case, under case-rename-refused. Dates are kept.
func (s *Server) handleRename(c *call) reply {
	var b struct{ Name, Description *string }
	if !c.json(&b) {
		return badRequest("The request body is not valid JSON.")
	}
	n, rep := s.target(c, "FLD_EDIT", true)
	if rep != nil {
		return *rep
	}
	if b.Name != nil && *b.Name != n.name {
		name := *b.Name
		switch {
		case s.quirks.badName(name):
			return badRequest("The name is not valid: " + name)
		case s.taken(n.parent, name, n) != nil:
			return clash(name, n.id)
		case s.quirks.has(QuirkCaseRenameRefused) && strings.EqualFold(name, n.name):
			return clash(name, n.id)
		}
		n.name = name
	}
	if b.Description != nil {
		n.description = *b.Description
	}
	return ok(s.itemJSON(n))
}

// handleMove: POST files/{id}/move and POST folders/{id}/move
// {"destinationID"} (doc Move File, Move Folder): id, versions and dates
// kept. A name the destination holds is refused (409, -17), or lands as
// name(2) under move-clash-suffix.
func (s *Server) handleMove(c *call) reply {
	var b struct {
		DestinationID string `json:"destinationID"`
	}
	if !c.json(&b) || b.DestinationID == "" {
		return badRequest("destinationID is required.")
	}
	n, rep := s.target(c, "FLD_MOVE", true)
	if rep != nil {
		return *rep
	}
	dest, rep := s.destination(c.acc, b.DestinationID, "FLD_MOVE")
	switch {
	case rep != nil:
		return *rep
	case n.folder && below(dest, n):
		return badRequest("A folder cannot be moved into itself.")
	case dest == n.parent:
		return ok(s.itemJSON(n))
	}
	name := n.name
	if s.taken(dest, name, n) != nil {
		if !s.quirks.has(QuirkMoveClashSuffix) {
			return clash(name, n.id)
		}
		name = s.freeName(dest, name, n.folder, n)
	}
	n.setParent(dest)
	n.name = name
	return ok(s.itemJSON(n))
}

// handleCopy: POST files/{id}/copy {"destinationID",
// "duplicateResolution"?} (doc) and POST folders/{id}/copy
// {"destinationID"} ([Tk]): a new item (a file's current version as its
// version 1). A name taken is refused (409, -17), unless
// duplicateResolution is TimeStampSuffix (a file: name_NNNNNN.ext).
func (s *Server) handleCopy(c *call) reply {
	var b struct {
		DestinationID       string `json:"destinationID"`
		DuplicateResolution string `json:"duplicateResolution"`
	}
	if !c.json(&b) || b.DestinationID == "" {
		return badRequest("destinationID is required.")
	}
	n, rep := s.target(c, "FLD_COPY", false)
	if rep != nil {
		return *rep
	}
	dest, rep := s.destination(c.acc, b.DestinationID, "FLD_COPY")
	switch {
	case rep != nil:
		return *rep
	case n.folder && below(dest, n):
		return badRequest("A folder cannot be copied into itself.")
	}
	name := n.name
	if s.taken(dest, name, nil) != nil {
		if n.folder || b.DuplicateResolution != "TimeStampSuffix" {
			return clash(name, n.id)
		}
		stem, ext := name, ""
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			stem, ext = name[:i], name[i:]
		}
		name = stem + "_" + s.now().Format("150405") + ext
	}
	return ok(s.itemJSON(s.copyInto(n, dest, name, c.acc.who)))
}

// copyInto copies n (a folder with what it holds) into dest as name. mu
// held.
func (s *Server) copyInto(n, dest *node, name string, by *user) *node {
	if by == nil {
		by = s.owner
	}
	m := s.add(dest, name, n.folder, by)
	if !n.folder {
		v := n.current()
		s.addVersion(m, v.data, v.mime, by)
		return m
	}
	for _, k := range s.children(n) {
		s.copyInto(k, m, k.name, by)
	}
	return m
}

// handleFile: GET files/{id}?version=N (doc files-fileid-get): the file
// at version N (the latest when absent), with reservedBy and
// reservationTime when it is reserved.
func (s *Server) handleFile(c *call) reply {
	n, rep := s.details(c, "FLD_INFO")
	if rep != nil {
		return *rep
	}
	v, rep := versionParam(c, n, c.r.URL.Query().Get("version"))
	if rep != nil {
		return *rep
	}
	m := s.itemJSON(n)
	m["size"], m["version"], m["mimeType"] = strconv.Itoa(len(v.data)), strconv.Itoa(v.num), v.mime
	m["modifiedTime"] = v.modified.Format(timeFormat)
	if n.reservedBy != nil {
		m["reservedBy"] = userJSON(n.reservedBy)
		m["reservationTime"] = n.reservedAt.Format(timeFormat)
	}
	return ok(m)
}

// versionParam is file n's version named by p ("" the current one).
func versionParam(c *call, n *node, p string) (*version, *reply) {
	if p == "" {
		return n.current(), nil
	}
	num, err := strconv.Atoi(p)
	if err != nil || num < 1 {
		r := badRequest("The version parameter is not valid: " + p)
		return nil, &r
	}
	for _, v := range n.versions {
		if v.num == num {
			return v, nil
		}
	}
	r := fail(http.StatusNotFound, CodeNotFound, "!csFldRevisionNotFound,"+n.id+","+p, "Version "+p+" of the file does not exist.", n.id)
	return nil, &r
}

// handleVersions: GET files/{id}/versions (doc files-fileid-versions-get):
// every version, the oldest first, no paging.
func (s *Server) handleVersions(c *call) reply {
	n, rep := s.details(c, "FLD_FILE_REVISIONS")
	if rep != nil {
		return *rep
	}
	items := make([]any, 0, len(n.versions))
	for _, v := range n.versions {
		items = append(items, versionJSON(n, v))
	}
	return ok(map[string]any{"id": n.id, "parentID": s.publicID(n.parent), "name": n.name, "items": items})
}

// handleDeleteFile: DELETE files/{id} (doc, seed 004). The version comes
// from the JSON body {"version":"N"} (every example), or from ?version=N
// alone under delete-version-in-query. With a version: that version goes
// (the last one: the file goes to the trash). Without: the file goes to
// the trash, or only its latest version under delete-latest-only.
func (s *Server) handleDeleteFile(c *call) reply {
	var b struct {
		Version json.RawMessage `json:"version"`
	}
	if !c.json(&b) {
		return badRequest("The request body is not valid JSON.")
	}
	n, rep := s.target(c, "FLD_MOVE_TO_TRASH", true)
	if rep != nil {
		return *rep
	}
	ver := strings.Trim(string(b.Version), `"`)
	if ver == "null" {
		ver = ""
	}
	if s.quirks.has(QuirkDeleteVersionInQuery) {
		ver = c.r.URL.Query().Get("version")
	}
	gone := map[string]any{"idList": n.id, "type": "file"}
	if ver == "" && s.quirks.has(QuirkDeleteLatestOnly) && len(n.versions) > 1 {
		ver = strconv.Itoa(n.current().num)
	}
	if ver == "" {
		n.trashed = true
		return ok(gone)
	}
	v, rep := versionParam(c, n, ver)
	if rep != nil {
		return *rep
	}
	if len(n.versions) == 1 {
		n.trashed = true
		return ok(gone)
	}
	n.versions = slices.DeleteFunc(n.versions, func(x *version) bool { return x == v })
	n.modified = n.current().modified
	return ok(gone)
}

// handleDeleteFolder: DELETE folders/{id} ([Tk]): the folder goes to the
// trash with what it holds.
func (s *Server) handleDeleteFolder(c *call) reply {
	n, rep := s.target(c, "FLD_MOVE_TO_TRASH", true)
	if rep != nil {
		return *rep
	}
	n.trashed = true
	return ok(map[string]any{"idList": n.id, "type": "folder"})
}

// handleReserve: POST files/{id}/reserve (doc Reserve File): the
// reservation, refused when another user holds one.
func (s *Server) handleReserve(c *call) reply {
	n, rep := s.target(c, "FLD_RESERVE", true)
	if rep == nil && c.acc.who == nil {
		r := denied(nil, c.id, "FLD_RESERVE")
		rep = &r
	}
	if rep != nil {
		return *rep
	}
	if n.reservedBy == nil {
		n.reservedBy, n.reservedAt = c.acc.who, s.now()
	}
	return ok(map[string]any{"id": n.id, "type": "file", "reservationDate": n.reservedAt.Format(timeFormat),
		"reservedBy": userJSON(n.reservedBy)})
}

// handleUnreserve: POST files/{id}/unreserve {"reservedByUserID"?} (doc
// Unreserve File): the holder ends its reservation; the library's owner
// ends another user's by naming that user's id.
func (s *Server) handleUnreserve(c *call) reply {
	var b struct {
		ReservedByUserID string `json:"reservedByUserID"`
	}
	if !c.json(&b) {
		return badRequest("The request body is not valid JSON.")
	}
	n, rep := s.target(c, "FLD_UNRESERVE", false)
	if rep == nil && !c.acc.canWrite() {
		r := denied(c.acc.who, c.id, "FLD_UNRESERVE")
		rep = &r
	}
	if rep == nil && n.reservedBy != nil && n.reservedBy != c.acc.who &&
		!(c.acc.role == roleOwner && b.ReservedByUserID == n.reservedBy.id) {
		rep = reserved(c.acc, n)
	}
	if rep != nil {
		return *rep
	}
	n.reservedBy = nil
	return ok(map[string]any{"id": n.id, "type": "file"})
}
