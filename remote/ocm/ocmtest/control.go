package ocmtest

import (
	"encoding/json"
	"io"
	"net/http"
)

// controlPrefix is where the control API is served.
const controlPrefix = "/_ocmfake/"

// serveControl serves the fake's own endpoints, for a test or a person
// driving ghlfake --service ocm. They need no credentials, are not
// counted, and work while the fake is Down:
//
//	GET  /_ocmfake/items            every item, trashed and purged too (Items)
//	GET  /_ocmfake/content?id=&rev= a version's bytes ("" the current one)
//	GET  /_ocmfake/calls            the counters (AllCalls); POST /_ocmfake/calls/reset zeroes them
//	GET  /_ocmfake/faults           the fault settings; POST sets the fields the JSON body names
//	GET  /_ocmfake/quirks           {"quirks": [...]}; POST sets them ([] all off)
//	POST /_ocmfake/folders          {"parentID", "name"} → {"id"} (AddFolder)
//	POST /_ocmfake/files?parentID=&name=  the body as the file's bytes → {"id"} (AddFile)
//	POST /_ocmfake/remove           {"id"}: to the trash (Remove)
//	POST /_ocmfake/restore          {"id"}: out of the trash (Restore)
//	POST /_ocmfake/purge            {"id"}: for good (Purge)
//	POST /_ocmfake/reserve          {"id", "user"}: reserve as user ("" ends it) (Reserve)
//	POST /_ocmfake/tokens/expire    every token given expires (ExpireTokens)
//	POST /_ocmfake/links            {"folderID", "role", "accessCode"} → {"linkID"} (AddLink)
//	POST /_ocmfake/applinks         {"folderID", "role"} → {"appLinkID", "accessToken"} (AddAppLink)
//	POST /_ocmfake/links/remove     {"id"}: a link or an applink ends (RemoveLink)
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID, ParentID, Name, User string
		FolderID, Role           string
		AccessCode               string
		Quirks                   []string
	}
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		if body, err = io.ReadAll(io.LimitReader(r.Body, 64<<20)); err != nil {
			controlError(w, http.StatusBadRequest, "the body could not be read")
			return
		}
	}
	decode := func() bool {
		if err := json.Unmarshal(body, &in); err != nil {
			controlError(w, http.StatusBadRequest, "the body is not the JSON expected: "+err.Error())
			return false
		}
		return true
	}
	// exists checks an id a test names, as the library's methods would
	// panic on one that is not there.
	exists := func(id string, folder bool) bool {
		s.mu.Lock()
		n := s.resolve(id)
		s.mu.Unlock()
		if n == nil || n.folder != folder || inTrash(n) && folder {
			controlError(w, http.StatusNotFound, "no such item: "+id)
			return false
		}
		return true
	}
	switch route := r.Method + " " + r.URL.Path[len(controlPrefix)-1:]; route {
	case "GET /items":
		writeJSON(w, http.StatusOK, s.Items())
	case "GET /content":
		b, found := s.Content(r.URL.Query().Get("id"), r.URL.Query().Get("rev"))
		if !found {
			controlError(w, http.StatusNotFound, "no such version")
			return
		}
		w.Write(b)
	case "GET /calls":
		writeJSON(w, http.StatusOK, s.AllCalls())
	case "POST /calls/reset":
		s.ResetCalls()
		writeJSON(w, http.StatusOK, s.AllCalls())
	case "GET /faults":
		writeJSON(w, http.StatusOK, s.CurrentFaults())
	case "POST /faults":
		f := s.CurrentFaults()
		if err := json.Unmarshal(body, &f); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, s.CurrentFaults())
	case "GET /quirks":
		writeJSON(w, http.StatusOK, map[string]any{"quirks": s.Quirks()})
	case "POST /quirks":
		if !decode() {
			return
		}
		if err := s.SetQuirks(in.Quirks); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"quirks": s.Quirks()})
	case "POST /folders":
		if decode() && exists(in.ParentID, true) {
			writeJSON(w, http.StatusOK, map[string]string{"id": s.AddFolder(in.ParentID, in.Name)})
		}
	case "POST /files":
		q := r.URL.Query()
		if exists(q.Get("parentID"), true) {
			writeJSON(w, http.StatusOK, map[string]string{"id": s.AddFile(q.Get("parentID"), q.Get("name"), body)})
		}
	case "POST /remove", "POST /restore", "POST /purge", "POST /reserve":
		if !decode() {
			return
		}
		var err error
		switch route {
		case "POST /remove":
			s.Remove(in.ID)
		case "POST /restore":
			err = s.Restore(in.ID)
		case "POST /purge":
			s.Purge(in.ID)
		default:
			if !exists(in.ID, false) {
				return
			}
			s.Reserve(in.ID, in.User)
		}
		if err != nil {
			controlError(w, http.StatusConflict, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": in.ID})
	case "POST /links/remove":
		if !decode() {
			return
		}
		s.RemoveLink(in.ID)
		writeJSON(w, http.StatusOK, map[string]string{"id": in.ID})
	case "POST /tokens/expire":
		s.ExpireTokens()
		writeJSON(w, http.StatusOK, map[string]string{})
	case "POST /links", "POST /applinks":
		if !decode() {
			return
		}
		l, err := s.addLink(in.FolderID, in.Role, in.AccessCode, route == "POST /applinks")
		switch {
		case err != nil:
			controlError(w, http.StatusBadRequest, err.Error())
		case l.app:
			writeJSON(w, http.StatusOK, map[string]string{"appLinkID": l.id, "accessToken": l.token})
		default:
			writeJSON(w, http.StatusOK, map[string]string{"linkID": l.id})
		}
	default:
		controlError(w, http.StatusNotFound, "no control route "+r.Method+" "+r.URL.Path)
	}
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
