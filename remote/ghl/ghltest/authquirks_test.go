package ghltest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The quirks of authorisation from field reports (issue 16).

func TestQuirkLocationsPageCapParse(t *testing.T) {
	for _, bad := range []string{"locations-page-cap", "locations-page-cap=0", "locations-page-cap=-3", "locations-page-cap=x", "locations-page-cap=2000000"} {
		if _, err := parseQuirks([]string{bad}); err == nil {
			t.Errorf("parseQuirks(%q) accepted", bad)
		}
	}
	q, err := parseQuirks([]string{"locations-page-cap=020"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.names, []string{"locations-page-cap=20"}) || q.locPageCap != 20 {
		t.Fatalf("got %q, cap %d", q.names, q.locPageCap)
	}
	for _, bad := range []string{"version-401=1", "location-401=yes"} {
		if _, err := parseQuirks([]string{bad}); err == nil {
			t.Errorf("parseQuirks(%q) accepted", bad)
		}
	}
}

// locations-page-cap=N: both location listings give at most N a page,
// whatever limit is asked; installedLocations' count is still the total.
func TestQuirkLocationsPageCap(t *testing.T) {
	s := startOAuth(t, 12, newClock(), func(o *Options) { o.Approve = "Company"; o.Quirks = []string{"locations-page-cap=5"} })
	tok := login(t, s, "", "Company").AccessToken
	auth := map[string]string{"Authorization": "Bearer " + tok}
	var ids []string
	for skip := 0; ; {
		var p installedPage
		s.testDo(t, req{path: "/oauth/installedLocations", query: url.Values{"companyId": {DefaultCompanyID}, "appId": {s.AppID()}, "limit": {"100"}, "skip": {itoa(skip)}},
			headers: auth}).expect(t, 200).decode(t, &p)
		if len(p.Locations) > 5 || *p.Count != 12 {
			t.Fatalf("skip %d: %d locations, count %d", skip, len(p.Locations), *p.Count)
		}
		if len(p.Locations) == 0 {
			break
		}
		for _, l := range p.Locations {
			ids = append(ids, l.ID)
		}
		skip += len(p.Locations)
	}
	if len(ids) != 12 {
		t.Errorf("paging by what the pages gave: %d locations, want 12", len(ids))
	}
	var sp struct {
		Locations []map[string]any `json:"locations"`
	}
	s.testDo(t, req{path: "/locations/search", query: url.Values{"companyId": {DefaultCompanyID}, "limit": {"100"}}, headers: auth}).expect(t, 200).decode(t, &sp)
	if len(sp.Locations) != 5 {
		t.Errorf("search: %d locations, want 5", len(sp.Locations))
	}
}

// A Version the API does not take: 400 by default; under version-401,
// 401 in the words of the field report, for a missing one and a wrong
// one. Faults.RefuseVersion refuses even the right one, sparing
// /oauth/token.
func TestQuirkVersion401(t *testing.T) {
	message := func(r resp) string {
		var b struct {
			Message string `json:"message"`
		}
		r.decode(t, &b)
		return b.Message
	}
	s := start(t, Options{})
	list := func(version string) resp {
		return s.testDo(t, req{path: "/medias/files", query: listQ("file", ""), headers: map[string]string{"Version": version}})
	}
	list("-").expect(t, http.StatusBadRequest)
	list("2020-01-01").expect(t, http.StatusBadRequest)
	if err := s.SetQuirks([]string{QuirkVersion401}); err != nil {
		t.Fatal(err)
	}
	if m := message(list("-").expect(t, http.StatusUnauthorized)); m != "Version header was not found" {
		t.Errorf("no Version: %q", m)
	}
	if m := message(list("2020-01-01").expect(t, http.StatusUnauthorized)); m != "Version header is invalid" {
		t.Errorf("a wrong Version: %q", m)
	}
	list("2021-07-28").expect(t, http.StatusOK)

	s.SetFaults(Faults{RefuseVersion: true})
	if m := message(list("2021-07-28").expect(t, http.StatusUnauthorized)); m != "Version header is invalid" {
		t.Errorf("a retired Version: %q", m)
	}
	s.SetQuirks(nil)
	list("v3").expect(t, http.StatusBadRequest)
	code, err := s.AuthCode(testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	s.postForm(t, "/oauth/token", "", s.codeForm(code, UserTypeLocation)).expect(t, http.StatusOK)
}

// An altId that is not the token's location: 403 by default; under
// location-401, 401 naming both locations, as a field report has it.
func TestQuirkLocation401(t *testing.T) {
	s := start(t, Options{})
	q := listQ("file", "")
	q.Set("altId", "someone-else")
	s.testDo(t, req{path: "/medias/files", query: q}).expect(t, http.StatusForbidden)
	if err := s.SetQuirks([]string{QuirkLocation401}); err != nil {
		t.Fatal(err)
	}
	var b struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	s.testDo(t, req{path: "/medias/files", query: q}).expect(t, http.StatusUnauthorized).decode(t, &b)
	if b.Message != "Your token grants access to location "+testLoc+" but you're requesting someone-else" || b.Error != "Unauthorized" {
		t.Errorf("answer %+v", b)
	}
	s.testDo(t, req{path: "/medias/folder", method: http.MethodPost, json: map[string]any{"name": "x", "altType": "location", "altId": "someone-else"}}).expect(t, http.StatusUnauthorized)
}

// The authorize page's stand-in answers at the docs' new address and at
// the old one.
func TestAuthorizePageBothPaths(t *testing.T) {
	s := startOAuth(t, 1, newClock(), nil)
	for _, path := range []string{"/v2/oauth/chooselocation", "/oauth/chooselocation"} {
		u := strings.Replace(authorizeURL(s, "", "st"), "/oauth/chooselocation?", path+"?", 1)
		res, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st" {
			t.Errorf("%s: %d to %q", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
}
