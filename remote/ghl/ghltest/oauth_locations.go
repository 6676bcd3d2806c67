package ghltest

import (
	"fmt"
	"net/http"
	"strings"
)

// The agency's endpoints: minting a location's token, and listing the
// locations.

// Default page sizes of the location listings (the spec's defaults).
const (
	defaultInstalledLimit = 20
	defaultSearchLimit    = 10
)

// errCompany answers a companyId that is not the token's agency.
func errCompany(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "The token does not have access to this company.", "Forbidden")
}

// handleLocationToken serves POST /oauth/locationToken: an agency's OAuth
// token (with oauth.write) mints an access token of one location where
// the app is installed. The answer has no refresh token.
func (s *Server) handleLocationToken(w http.ResponseWriter, r *http.Request, cl call) {
	form, ok := readForm(w, r)
	if !ok {
		return
	}
	var c checker
	var keys []string
	for k := range form {
		keys = append(keys, k)
	}
	c.onlyKeys("", keys, "companyId", "locationId")
	c.required("companyId", form.Get("companyId"))
	c.required("locationId", form.Get("locationId"))
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	o := s.oauth
	if form.Get("companyId") != o.companyID {
		errCompany(w)
		return
	}
	l := s.Location(form.Get("locationId"))
	switch {
	case l == nil:
		writeError(w, http.StatusBadRequest, "Location not found", "Bad Request")
		return
	case !l.Installed():
		writeError(w, http.StatusBadRequest, "The app is not installed in this location", "Bad Request")
		return
	}
	o.mu.Lock()
	access, _ := o.issue(cl.who.grant, l.id, false)
	o.st.LocationTokens++
	o.mu.Unlock()
	writeJSON(w, createStatus(s.quirkSet()), object{
		{"access_token", access},
		{"token_type", "Bearer"},
		{"expires_in", expiresIn(o.tokenTTL)},
		{"scope", strings.Join(cl.who.grant.scopes, " ")},
		{"locationId", l.id},
		{"userId", o.userID},
	})
}

// pageOf cuts one page of a location listing out of n entries: skip,
// then limit (0: no limit), never more than the page cap, nor than the
// locations-page-cap quirk's.
func (s *Server) pageOf(n, skip, limit int) (from, to int) {
	if limit == 0 || limit > s.pageCap {
		limit = s.pageCap
	}
	if c := s.quirkSet().locPageCap; c > 0 {
		limit = min(limit, c)
	}
	from = min(skip, n)
	return from, min(n, from+limit)
}

// handleInstalledLocations serves GET /oauth/installedLocations.
func (s *Server) handleInstalledLocations(w http.ResponseWriter, r *http.Request, _ call) {
	q := queryFields{r.URL.Query()}
	var c checker
	c.onlyKeys("", q.keys(), "skip", "limit", "query", "isInstalled", "companyId", "appId",
		"versionId", "onTrial", "planId", "locationId")
	c.required("companyId", q.get("companyId"))
	c.required("appId", q.get("appId"))
	skip := c.numberString("skip", q.get("skip"), 0)
	limit := c.numberString("limit", q.get("limit"), defaultInstalledLimit)
	for _, b := range []string{"isInstalled", "onTrial"} {
		if v := q.get(b); v != "" && v != "true" && v != "false" {
			c.add(b + " must be a boolean value")
		}
	}
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	o := s.oauth
	if q.get("companyId") != o.companyID {
		errCompany(w)
		return
	}
	var match []*Location
	if q.get("appId") == o.appID {
		name := strings.ToLower(q.get("query"))
		for _, l := range s.locs {
			inst := l.Installed()
			switch {
			case q.get("isInstalled") == "true" && !inst,
				q.get("isInstalled") == "false" && inst,
				q.get("onTrial") == "true",
				q.get("locationId") != "" && q.get("locationId") != l.id,
				name != "" && !strings.Contains(strings.ToLower(l.name), name):
				continue
			}
			match = append(match, l)
		}
	}
	from, to := s.pageOf(len(match), skip, limit)
	out := make([]object, 0, to-from)
	for _, l := range match[from:to] {
		out = append(out, object{{"_id", l.id}, {"name", l.name}, {"address", l.address}, {"isInstalled", l.Installed()}})
	}
	writeJSON(w, http.StatusOK, object{{"locations", out}, {"count", len(match)}})
}

// handleSearchLocations serves GET /locations/search: the agency's
// locations (every one, installed or not), or with a location's token
// that location alone.
func (s *Server) handleSearchLocations(w http.ResponseWriter, r *http.Request, cl call) {
	q := queryFields{r.URL.Query()}
	var c checker
	c.onlyKeys("", q.keys(), "companyId", "skip", "limit", "order", "email")
	skip := c.numberString("skip", q.get("skip"), 0)
	limit := c.numberString("limit", q.get("limit"), defaultSearchLimit)
	if v := q.get("order"); v != "" && v != "asc" && v != "desc" {
		c.add("order must be one of the following values: asc, desc")
	}
	if c.failed() {
		errValidation(w, c.msgs)
		return
	}
	if id := q.get("companyId"); id != "" && id != s.oauth.companyID {
		errCompany(w)
		return
	}
	var match []*Location
	for _, l := range s.locs {
		if (cl.loc != nil && l != cl.loc) || (q.get("email") != "" && !strings.EqualFold(q.get("email"), locationEmail(l))) {
			continue
		}
		match = append(match, l)
	}
	if q.get("order") == "desc" {
		for i, j := 0, len(match)-1; i < j; i, j = i+1, j-1 {
			match[i], match[j] = match[j], match[i]
		}
	}
	from, to := s.pageOf(len(match), skip, limit)
	out := make([]object, 0, to-from)
	for _, l := range match[from:to] {
		out = append(out, object{
			{"id", l.id}, {"name", l.name}, {"phone", "+1555010" + pad4(l.index+1)},
			{"email", locationEmail(l)}, {"address", l.address}, {"city", "Springfield"},
			{"state", "Illinois"}, {"country", "US"}, {"postalCode", "62701"},
			{"website", ""}, {"timezone", "US/Central"},
		})
	}
	writeJSON(w, http.StatusOK, object{{"locations", out}})
}

// locationEmail is the made-up email of a location.
func locationEmail(l *Location) string { return "location" + pad4(l.index+1) + "@example.com" }

func pad4(n int) string { return fmt.Sprintf("%04d", n) }
