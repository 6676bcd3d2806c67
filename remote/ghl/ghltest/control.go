package ghltest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// serveControl serves the fake's own endpoints. They need no headers, are
// not counted, and work while the fake is "down":
//
//	GET  /_ghlfake/stats        the counters (Stats)
//	POST /_ghlfake/stats/reset  zero the counters
//	GET  /_ghlfake/faults       the fault settings (Faults)
//	POST /_ghlfake/faults       change the fault settings named in the JSON body
//	GET  /_ghlfake/quirks       the quirks that are on: {"quirks": [...]}
//	POST /_ghlfake/quirks       set them: {"quirks": ["name", ...]} ([] = all off)
//	POST /_ghlfake/token        rotate the first location's token: {"token": "..."}
//	POST /_ghlfake/restore      take an item out of the trash: {"id": "...", "location": "..."}
//	GET  /_ghlfake/social-csv   the CSV imports of a location (?location=ID)
//	POST /_ghlfake/social-csv   add CSV imports (socialcsv.go)
//
// and those of control_oauth.go (locations, OAuth).
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + r.URL.Path {
	case "GET /_ghlfake/stats":
		writeJSON(w, http.StatusOK, s.Stats())
	case "POST /_ghlfake/stats/reset":
		s.ResetStats()
		writeJSON(w, http.StatusOK, s.Stats())
	case "GET /_ghlfake/faults":
		writeJSON(w, http.StatusOK, s.Faults())
	case "POST /_ghlfake/faults":
		s.postFaults(w, r)
	case "GET /_ghlfake/quirks", "POST /_ghlfake/quirks":
		s.serveQuirks(w, r)
	case "POST /_ghlfake/token":
		s.postToken(w, r)
	case "POST /_ghlfake/restore":
		s.serveRestore(w, r)
	case "GET /_ghlfake/social-csv", "POST /_ghlfake/social-csv":
		s.serveCSVControl(w, r)
	default:
		if s.serveControlOAuth(w, r) {
			return
		}
		writeError(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path, "Not Found")
	}
}

// postFaults applies a JSON body holding any subset of the Faults fields;
// the fields it does not name keep their value. Unknown fields and invalid
// values are refused with 400, and then nothing changes.
func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		errBadRequest(w)
		return
	}
	s.faultsMu.Lock()
	f := s.faults
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err = dec.Decode(&f)
	if err == nil {
		err = f.validate()
	}
	if err == nil {
		s.faults = f
	}
	s.faultsMu.Unlock()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "Bad Request")
		return
	}
	writeJSON(w, http.StatusOK, f)
}
