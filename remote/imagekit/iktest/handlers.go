package iktest

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// handleList: GET /v1/files (doc list-and-search-files.md): type,
// path (one level), searchQuery, sort, skip, limit; a bare array.
func (s *Server) handleList(r *http.Request) reply {
	q := r.URL.Query()
	typ := cmp.Or(q.Get("type"), "file")
	switch typ {
	case "file", "folder", "all", "file-version":
	default:
		return fail(http.StatusBadRequest, "Invalid type parameter.", "")
	}
	name := ""
	if sq := q.Get("searchQuery"); sq != "" {
		// With a searchQuery, type and name are taken from it alone (doc).
		typ, name = "file", ""
		var ok bool
		if typ, name, ok = parseSearch(sq); !ok {
			return fail(http.StatusBadRequest, "Your request contains invalid syntax for the searchQuery parameter.", "")
		}
	}
	limit, skip := 1000, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fail(http.StatusBadRequest, "limit must be between 1 and 1000.", "")
		}
		limit = n
	}
	if v := q.Get("skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail(http.StatusBadRequest, "skip must be 0 or more.", "")
		}
		skip = n
	}
	byPath := q.Has("path")
	dir, err := cleanPath(q.Get("path"))
	if err != nil {
		return fail(http.StatusBadRequest, "Invalid path.", "")
	}
	var items []*node
	for _, n := range s.nodes {
		switch {
		case n.deleted, byPath && n.dir != dir, name != "" && n.name != name:
		case typ == "folder" && !n.folder, (typ == "file" || typ == "file-version") && n.folder:
		default:
			items = append(items, n)
		}
	}
	less, ok := sorts[cmp.Or(q.Get("sort"), "ASC_CREATED")]
	if !ok {
		return fail(http.StatusBadRequest, "Invalid sort parameter.", "")
	}
	slices.SortFunc(items, func(a, b *node) int { return cmp.Or(less(a, b), cmp.Compare(a.seq, b.seq)) })
	if s.quirks.has(QuirkSkipShifts) && byPath && skip > 0 && len(items) > limit && !s.shifted[dir] {
		s.shifted[dir] = true
		skip++ // as if an item before this page had been deleted meanwhile
	}
	out := []any{}
	for _, n := range items[min(skip, len(items)):min(skip+limit, len(items))] {
		if n.folder {
			out = append(out, folderJSON(n))
		} else {
			out = append(out, s.fileJSON(n, n.current()))
		}
	}
	return reply{http.StatusOK, out}
}

var sorts = map[string]func(a, b *node) int{
	"ASC_CREATED":  func(a, b *node) int { return a.created.Compare(b.created) },
	"DESC_CREATED": func(a, b *node) int { return b.created.Compare(a.created) },
	"ASC_UPDATED":  func(a, b *node) int { return a.updated.Compare(b.updated) },
	"DESC_UPDATED": func(a, b *node) int { return b.updated.Compare(a.updated) },
	"ASC_NAME":     func(a, b *node) int { return strings.Compare(a.name, b.name) },
	"DESC_NAME":    func(a, b *node) int { return strings.Compare(b.name, a.name) },
	"ASC_SIZE":     func(a, b *node) int { return cmp.Compare(size(a), size(b)) },
	"DESC_SIZE":    func(a, b *node) int { return cmp.Compare(size(b), size(a)) },
}

func size(n *node) int {
	if n.folder {
		return 0
	}
	return len(n.current().data)
}

// parseSearch reads the searchQuery forms a client sends for an exact
// name: `name = "x"`, `type = "file"`, joined by AND.
func parseSearch(sq string) (typ, name string, ok bool) {
	typ = "file"
	for _, term := range strings.Split(sq, " AND ") {
		k, v, found := strings.Cut(term, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !found || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return "", "", false
		}
		v = v[1 : len(v)-1]
		switch k {
		case "name":
			name = v
		case "type":
			if v != "file" && v != "folder" && v != "all" {
				return "", "", false
			}
			typ = v
		default:
			return "", "", false
		}
	}
	return typ, name, true
}

// fileByID is the active file of the last path segment but one (or
// last). mu held.
func (s *Server) fileByID(id string) *node {
	n := s.nodes[id]
	if n == nil || n.folder || n.deleted {
		return nil
	}
	return n
}

func segment(r *http.Request, i int) string {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/files/"), "/")
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

var fileMissing = fail(http.StatusNotFound, "The requested file does not exist.", "")

// handleDetails: GET /v1/files/{id}/details.
func (s *Server) handleDetails(r *http.Request) reply {
	n := s.fileByID(segment(r, 0))
	if n == nil {
		return fileMissing
	}
	return reply{http.StatusOK, s.fileJSON(n, n.current())}
}

// handleVersions: GET /v1/files/{id}/versions.
func (s *Server) handleVersions(r *http.Request) reply {
	n := s.fileByID(segment(r, 0))
	if n == nil {
		return fileMissing
	}
	out := []any{}
	for i := range n.versions {
		out = append(out, s.fileJSON(n, &n.versions[i]))
	}
	return reply{http.StatusOK, out}
}

// handleVersion: GET /v1/files/{id}/versions/{versionId}.
func (s *Server) handleVersion(r *http.Request) reply {
	n := s.fileByID(segment(r, 0))
	if n == nil {
		return fileMissing
	}
	for i := range n.versions {
		if n.versions[i].id == segment(r, 2) {
			return reply{http.StatusOK, s.fileJSON(n, &n.versions[i])}
		}
	}
	return fail(http.StatusNotFound, "The requested file version does not exist.", "")
}

// assetMissing is the 404 of the calls on one version (doc
// delete-file-version.md, get-file-versions.md).
var assetMissing = fail(http.StatusNotFound, "The requested asset does not exist.", "")

// versionAt is the index of version id among n's; -1 when n has none of
// that id. mu held.
func versionAt(n *node, id string) int {
	return slices.IndexFunc(n.versions, func(v version) bool { return v.id == id })
}

// handleDeleteVersion: DELETE /v1/files/{id}/versions/{versionId} (doc
// delete-file-version.md): 204 with no body, the version gone for good;
// the current version 400 "You cannot delete current version of a
// file."; a file or a version it does not hold 404. The CDN keeps what it
// served of it until a purge (cdn-stale), as for a file deleted.
func (s *Server) handleDeleteVersion(r *http.Request) reply {
	n := s.fileByID(segment(r, 0))
	if n == nil {
		return assetMissing
	}
	i := versionAt(n, segment(r, 2))
	switch {
	case i < 0:
		return assetMissing
	case i == len(n.versions)-1:
		return fail(http.StatusBadRequest, "You cannot delete current version of a file.", "")
	}
	n.versions = slices.Delete(n.versions, i, i+1)
	s.changed(n.path())
	return reply{http.StatusNoContent, nil}
}

// handleRestoreVersion: PUT /v1/files/{id}/versions/{versionId}/restore
// (doc restore-file-version.md): the version becomes the current one,
// keeping its id and its name ("Version 2" stays "Version 2", as the
// documented answer shows), and the answer is the file at it; 404 for a
// file, or a version, it does not hold. The docs do not say where the
// restored version then stands among the others: the fake lists it last,
// as the current one.
func (s *Server) handleRestoreVersion(r *http.Request) reply {
	n := s.fileByID(segment(r, 0))
	if n == nil {
		return fileMissing
	}
	i := versionAt(n, segment(r, 2))
	if i < 0 {
		return fail(http.StatusNotFound, "The requested file version does not exist.", "")
	}
	if i != len(n.versions)-1 {
		v := n.versions[i]
		n.versions = append(slices.Delete(n.versions, i, i+1), v)
		n.updated = s.now()
		s.changed(n.path())
	}
	return reply{http.StatusOK, s.fileJSON(n, n.current())}
}

// handleDelete: DELETE /v1/files/{id}: for good, every version.
func (s *Server) handleDelete(r *http.Request) reply {
	n := s.fileByID(segment(r, 0))
	if n == nil {
		return fileMissing
	}
	s.removeNode(n)
	return reply{http.StatusNoContent, nil}
}

// removeNode deletes n for good (a folder with everything below). mu
// held.
func (s *Server) removeNode(n *node) {
	if n.folder {
		for _, c := range s.below(n.path()) {
			c.deleted = true
			if !c.folder {
				s.changed(c.path())
			}
		}
	} else {
		s.changed(n.path())
	}
	n.deleted = true
}

// handleRename: PUT /v1/files/rename {filePath, newFileName, purgeCache}
// (doc rename-file.md): 404 FILE_MISSING, 409 FILE_ALREADY_EXISTS;
// the new name rewritten silently.
func (s *Server) handleRename(r *http.Request) reply {
	var b struct {
		FilePath    string `json:"filePath"`
		NewFileName string `json:"newFileName"`
		PurgeCache  bool   `json:"purgeCache"`
	}
	if !readJSON(r, &b) || b.FilePath == "" || b.NewFileName == "" || strings.Contains(b.NewFileName, "/") {
		return fail(http.StatusBadRequest, "Your request contains invalid filePath or newFileName.", "")
	}
	p, err := cleanPath(b.FilePath)
	n := s.fileAt(p)
	if err != nil || n == nil {
		return fail(http.StatusNotFound, "No file found with filePath "+b.FilePath+".", "FILE_MISSING")
	}
	name := StoredName(b.NewFileName, false)
	if name == "." || name == ".." {
		return fail(http.StatusBadRequest, "Invalid newFileName.", "")
	}
	if other := s.fileAt(n.dir + "/" + name); other != nil && other != n {
		return fail(http.StatusConflict, "File with name "+name+" already exists at the same location.", "FILE_ALREADY_EXISTS")
	}
	s.changed(n.path())
	n.name, n.updated = name, s.now()
	return reply{http.StatusOK, map[string]any{}}
}

// handleMove: POST /v1/files/move {sourceFilePath, destinationPath}
// (doc move-file.md): 204; 404 SOURCE_FILE_MISSING. A name the
// destination holds: the source's versions join that file's history
// (documented; move-merges), or 409 (move-409).
func (s *Server) handleMove(r *http.Request) reply {
	var b struct {
		Source string `json:"sourceFilePath"`
		Dest   string `json:"destinationPath"`
	}
	if !readJSON(r, &b) || b.Source == "" || b.Dest == "" {
		return fail(http.StatusBadRequest, "Your request contains invalid sourceFilePath or destinationPath.", "")
	}
	p, err := cleanPath(b.Source)
	n := s.fileAt(p)
	if err != nil || n == nil {
		return fail(http.StatusNotFound, "No file found with sourceFilePath "+b.Source+".", "SOURCE_FILE_MISSING")
	}
	dest, err := cleanPath(b.Dest)
	if _, ok := s.folderAt(dest); err != nil || !ok {
		return fail(http.StatusBadRequest, "Invalid destinationPath: no such folder.", "INVALID_FOLDER_PATH")
	}
	if dest == n.dir {
		return reply{http.StatusNoContent, nil}
	}
	if other := s.fileAt(dest + "/" + n.name); other != nil {
		if s.quirks.has(QuirkMove409) {
			return fail(http.StatusConflict, "File with name "+n.name+" already exists at the destination.", "FILE_ALREADY_EXISTS")
		}
		// The documented merge: the moved file's versions are appended
		// to the history of the file that holds the name, and the moved
		// fileId is gone.
		s.changed(n.path())
		s.changed(other.path())
		// Numbered on from the file's own (the docs do not say).
		for _, v := range n.versions {
			other.nums++
			v.num = other.nums
			other.versions = append(other.versions, v)
		}
		if len(other.versions) > s.opts.MaxVersions {
			other.versions = other.versions[len(other.versions)-s.opts.MaxVersions:]
		}
		other.updated = s.now()
		n.deleted = true
		return reply{http.StatusNoContent, nil}
	}
	s.changed(n.path())
	n.dir, n.updated = dest, s.now()
	return reply{http.StatusNoContent, nil}
}

// handleBulkDelete: POST /v1/files/batch/deleteByFileIds {fileIds}
// (seed 003): at most 100 ids; 404 {missingFileIds} and nothing deleted
// when one is missing; 207 with errors[] when some are refused; else 200.
func (s *Server) handleBulkDelete(r *http.Request) reply {
	var b struct {
		FileIDs []string `json:"fileIds"`
	}
	if !readJSON(r, &b) || len(b.FileIDs) == 0 {
		return fail(http.StatusBadRequest, "fileIds is required.", "")
	}
	if len(b.FileIDs) > 100 {
		return fail(http.StatusBadRequest, "fileIds can have at most 100 ids.", "")
	}
	var missing []string
	for _, id := range b.FileIDs {
		if s.fileByID(id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		body := errBody("The requested file(s) does not exist.", "")
		body["missingFileIds"] = missing
		return reply{http.StatusNotFound, body}
	}
	deleted := []string{}
	var errs []any
	for _, id := range b.FileIDs {
		n := s.fileByID(id)
		if n == nil {
			continue // named twice
		}
		if msg, ok := s.refuse[id]; ok {
			errs = append(errs, map[string]any{"fileId": id, "error": msg})
			continue
		}
		s.removeNode(n)
		deleted = append(deleted, id)
	}
	if len(errs) > 0 {
		return reply{http.StatusMultiStatus, map[string]any{"successfullyDeletedFileIds": deleted, "errors": errs}}
	}
	return reply{http.StatusOK, map[string]any{"successfullyDeletedFileIds": deleted}}
}

// handleCreateFolder: POST /v1/folder {folderName, parentFolderPath}:
// 201 {}; missing parents made; an existing folder is no error (doc).
func (s *Server) handleCreateFolder(r *http.Request) reply {
	var b struct {
		Name   string `json:"folderName"`
		Parent string `json:"parentFolderPath"`
	}
	if !readJSON(r, &b) || b.Name == "" || strings.Contains(b.Name, "/") {
		return fail(http.StatusBadRequest, "Your request contains invalid folderName.", "")
	}
	parent, err := cleanPath(b.Parent)
	name := StoredName(b.Name, true)
	if err != nil {
		return fail(http.StatusBadRequest, "Your request contains invalid parentFolderPath.", "")
	}
	s.ensureFolder(parent + "/" + name)
	return reply{http.StatusCreated, map[string]any{}}
}

// handleDeleteFolder: DELETE /v1/folder {folderPath}: 204, everything
// below deleted for good; 404 FOLDER_NOT_FOUND.
func (s *Server) handleDeleteFolder(r *http.Request) reply {
	var b struct {
		Path string `json:"folderPath"`
	}
	if !readJSON(r, &b) {
		return fail(http.StatusBadRequest, "Your request contains invalid folderPath.", "")
	}
	p, err := cleanPath(b.Path)
	f, ok := s.folderAt(p)
	if err != nil || !ok || f == nil {
		return fail(http.StatusNotFound, "No folder found with folderPath "+b.Path+".", "FOLDER_NOT_FOUND")
	}
	s.removeNode(f)
	return reply{http.StatusNoContent, nil}
}

// job is a bulk job: its effect happens when a poll finds it done.
type job struct {
	id, typ string
	polls   int // left before it is done
	apply   func()
	done    bool
}

// handleJob: POST (PUT under jobs-via-put) /v1/bulkJobs/moveFolder
// {sourceFolderPath, destinationPath}, renameFolder {folderPath,
// newFolderName, purgeCache}, copyFolder (not served: 400). The answer
// is {jobId}; the job is Pending for Options.JobPolls polls.
func (s *Server) handleJob(r *http.Request) reply {
	var b struct {
		Source  string `json:"sourceFolderPath"`
		Dest    string `json:"destinationPath"`
		Path    string `json:"folderPath"`
		NewName string `json:"newFolderName"`
	}
	if !readJSON(r, &b) {
		return fail(http.StatusBadRequest, "Invalid request body.", "")
	}
	var j *job
	switch r.URL.Path {
	case EndpointMoveFolder:
		src, err1 := cleanPath(b.Source)
		dest, err2 := cleanPath(b.Dest)
		f, ok := s.folderAt(src)
		if err1 != nil || err2 != nil || b.Source == "" {
			return fail(http.StatusBadRequest, "Invalid sourceFolderPath or destinationPath.", "")
		}
		if !ok || f == nil || len(s.below(src)) == 0 {
			return fail(http.StatusNotFound, "No files & folder found at sourceFolderPath "+b.Source+".", "NO_FILES_FOLDER")
		}
		if _, ok := s.folderAt(dest); !ok {
			return fail(http.StatusBadRequest, "Invalid destinationPath.", "INVALID_FOLDER_PATH")
		}
		if dest == src || strings.HasPrefix(dest, src+"/") {
			return fail(http.StatusBadRequest, "A folder cannot be moved into itself.", "INVALID_FOLDER_PATH")
		}
		if _, taken := s.folderAt(dest + "/" + f.name); taken {
			return fail(http.StatusConflict, "A folder named "+f.name+" already exists at destinationPath.", "FOLDER_ALREADY_EXISTS")
		}
		j = &job{typ: "MOVE_FOLDER", apply: func() { s.relocate(f, dest, f.name) }}
	case EndpointRenameFolder:
		p, err := cleanPath(b.Path)
		f, ok := s.folderAt(p)
		name := StoredName(b.NewName, true)
		if err != nil || b.NewName == "" || strings.Contains(b.NewName, "/") {
			return fail(http.StatusBadRequest, "Invalid folderPath or newFolderName.", "")
		}
		if !ok || f == nil {
			return fail(http.StatusNotFound, "No folder found with folderPath "+b.Path+".", "FOLDER_NOT_FOUND")
		}
		if _, taken := s.folderAt(f.dir + "/" + name); taken && name != f.name {
			return fail(http.StatusConflict, "A folder named "+name+" already exists.", "FOLDER_ALREADY_EXISTS")
		}
		j = &job{typ: "RENAME_FOLDER", apply: func() { s.relocate(f, f.dir, name) }}
	default:
		return fail(http.StatusBadRequest, "copyFolder is not served by this fake.", "")
	}
	j.id = s.newID()
	j.polls = s.opts.JobPolls
	s.jobs[j.id] = j
	return reply{http.StatusOK, map[string]any{"jobId": j.id}}
}

// relocate gives folder f a new place (its folder's path, its name), and
// everything below it new paths; under folderid-changes-on-rename, new
// folderIds. mu held.
func (s *Server) relocate(f *node, dir, name string) {
	if f.deleted {
		return
	}
	old := f.path()
	nested := s.below(old)
	f.dir, f.name, f.updated = dir, name, s.now()
	now := f.path()
	for _, c := range nested {
		if !c.folder {
			s.changed(c.path())
		}
		c.dir = now + strings.TrimPrefix(c.dir, old)
	}
	if s.quirks.has(QuirkFolderIDChanges) {
		for _, c := range append(nested, f) {
			if c.folder {
				delete(s.nodes, c.id)
				c.id = s.newID()
				s.nodes[c.id] = c
			}
		}
	}
}

// handleJobStatus: GET /v1/bulkJobs/{jobId} → {jobId, type, status}.
func (s *Server) handleJobStatus(r *http.Request) reply {
	id := strings.TrimPrefix(r.URL.Path, "/v1/bulkJobs/")
	j := s.jobs[id]
	if j == nil {
		return fail(http.StatusNotFound, "No job found with jobId "+id+".", "")
	}
	status := "Completed"
	if j.polls > 0 {
		j.polls--
		status = "Pending"
	} else if !j.done {
		j.done = true
		j.apply()
	}
	return reply{http.StatusOK, map[string]any{"jobId": j.id, "type": j.typ, "status": status}}
}
