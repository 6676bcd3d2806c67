package ghltest

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Control endpoints of the locations and of OAuth:
//
//	GET  /_ghlfake/locations         every location: {"locations": [{"id", "name", "installed", "down"}]}
//	POST /_ghlfake/locations/{id}    change one: {"installed": bool, "down": bool} (each optional); answers its state
//	POST /_ghlfake/oauth/expire      expire every OAuth access token now: {"expired": n}
//	POST /_ghlfake/oauth/revoke      revoke every grant: {"revoked": n}
//	GET  /_ghlfake/oauth/approval    what the authorize page approves (Approval)
//	POST /_ghlfake/oauth/approval    change it: {"user_type": "Company", "location_id": "...", "deny": false}

// locationState is the JSON of one location for the control endpoints.
type locationState struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Installed bool   `json:"installed"`
	Down      bool   `json:"down"`
}

func (l *Location) state() locationState {
	return locationState{ID: l.id, Name: l.name, Installed: l.Installed(), Down: l.down.Load()}
}

// serveControlOAuth serves the control endpoints above; it reports false
// for a path that is none of them.
func (s *Server) serveControlOAuth(w http.ResponseWriter, r *http.Request) bool {
	switch key := r.Method + " " + r.URL.Path; {
	case key == "GET /_ghlfake/locations":
		out := []locationState{}
		for _, l := range s.locs {
			out = append(out, l.state())
		}
		writeJSON(w, http.StatusOK, map[string]any{"locations": out})
	case strings.HasPrefix(key, "POST /_ghlfake/locations/"):
		s.postLocation(w, r)
	case key == "POST /_ghlfake/oauth/expire":
		writeJSON(w, http.StatusOK, map[string]int{"expired": s.ExpireAccessTokens()})
	case key == "POST /_ghlfake/oauth/revoke":
		writeJSON(w, http.StatusOK, map[string]int{"revoked": s.RevokeGrants()})
	case key == "GET /_ghlfake/oauth/approval":
		writeJSON(w, http.StatusOK, s.Approval())
	case key == "POST /_ghlfake/oauth/approval":
		var a Approval
		if err := decodeControl(r, &a); err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "Bad Request")
			return true
		}
		if err := s.SetApproval(a); err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "Bad Request")
			return true
		}
		writeJSON(w, http.StatusOK, s.Approval())
	default:
		return false
	}
	return true
}

// postLocation serves POST /_ghlfake/locations/{id}.
func (s *Server) postLocation(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/_ghlfake/locations/")
	id, err := url.PathUnescape(raw)
	l := s.Location(id)
	if err != nil || l == nil {
		writeError(w, http.StatusNotFound, "no such location", "Not Found")
		return
	}
	var body struct {
		Installed *bool `json:"installed"`
		Down      *bool `json:"down"`
	}
	if err := decodeControl(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "Bad Request")
		return
	}
	if body.Installed != nil {
		l.SetInstalled(*body.Installed)
	}
	if body.Down != nil {
		l.SetDown(*body.Down)
	}
	writeJSON(w, http.StatusOK, l.state())
}

// decodeControl reads a control endpoint's JSON body strictly.
func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// locationsFile lists a data directory's locations, so that ghlfake can
// serve them again without being told (LoadLocations).
const locationsFile = "locations.json"

type locationsJSON struct {
	Locations []locationJSON `json:"locations"`
}

type locationJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	Address      string `json:"address,omitempty"`
	NotInstalled bool   `json:"notInstalled,omitempty"`
}

// saveLocations writes DIR/locations.json: the locations as they start
// (installed or not). Tokens are not written.
func saveLocations(dir string, locs []*Location) error {
	var lj locationsJSON
	for _, l := range locs {
		lj.Locations = append(lj.Locations, locationJSON{ID: l.id, Name: l.name, Address: l.address, NotInstalled: !l.Installed()})
	}
	b, err := json.MarshalIndent(lj, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, locationsFile), append(b, '\n'))
}

// LoadLocations reads the locations a data directory was last served
// with (several: a directory of one location has none, and nil is
// returned). Their libraries are loaded by New from the directory; their
// seed is seed and they have no Private Integration Token.
func LoadLocations(dir, seed string) ([]LocationOptions, error) {
	b, err := os.ReadFile(filepath.Join(dir, locationsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lj locationsJSON
	if err := json.Unmarshal(b, &lj); err != nil {
		return nil, err
	}
	var out []LocationOptions
	for _, l := range lj.Locations {
		out = append(out, LocationOptions{ID: l.ID, Name: l.Name, Address: l.Address, NotInstalled: l.NotInstalled, Seed: seed})
	}
	return out, nil
}
