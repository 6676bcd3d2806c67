package ghltest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const testRedirect = "http://127.0.0.1:53682/callback"

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// startOAuth runs a server of DemoLocations(n) (empty libraries unless
// seed is set) on an injected clock.
func startOAuth(t *testing.T, n int, clk *fakeClock, mod func(*Options)) *Server {
	t.Helper()
	locs := DemoLocations(n)
	for i := range locs {
		locs[i].Seed = ""
	}
	opts := Options{Locations: locs, Now: clk.Now, Token: testToken}
	if mod != nil {
		mod(&opts)
	}
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// authorizeURL is the authorize page's address with the usual parameters.
func authorizeURL(s *Server, scope, state string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {s.ClientID()}, "redirect_uri": {testRedirect}, "scope": {scope}}
	if state != "" {
		q.Set("state", state)
	}
	return s.URL + "/oauth/chooselocation?" + q.Encode()
}

// authorize goes through the authorize page and returns where it
// redirected to.
func authorize(t *testing.T, s *Server, scope, state string) *url.URL {
	t.Helper()
	res, err := noRedirect.Get(authorizeURL(s, scope, state))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", res.StatusCode)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// tokenForm posts a form to /oauth/token (or another path).
func (s *Server) postForm(t *testing.T, path, bearer string, form url.Values) resp {
	t.Helper()
	auth := "-"
	if bearer != "" {
		auth = "Bearer " + bearer
	}
	return s.testDo(t, req{method: http.MethodPost, path: path, body: []byte(form.Encode()),
		ctype: "application/x-www-form-urlencoded", headers: map[string]string{"Authorization": auth}})
}

func (s *Server) codeForm(code, userType string) url.Values {
	return url.Values{"client_id": {s.ClientID()}, "client_secret": {DefaultClientSecret}, "grant_type": {"authorization_code"},
		"code": {code}, "redirect_uri": {testRedirect}, "user_type": {userType}}
}

func (s *Server) refreshForm(refresh, userType string) url.Values {
	return url.Values{"client_id": {s.ClientID()}, "client_secret": {DefaultClientSecret}, "grant_type": {"refresh_token"},
		"refresh_token": {refresh}, "user_type": {userType}}
}

// tokenAnswer is a grant's answer.
type tokenAnswer struct {
	AccessToken       string   `json:"access_token"`
	TokenType         string   `json:"token_type"`
	ExpiresIn         *int     `json:"expires_in"`
	RefreshToken      *string  `json:"refresh_token"`
	Scope             string   `json:"scope"`
	UserType          *string  `json:"userType"`
	LocationID        *string  `json:"locationId"`
	CompanyID         string   `json:"companyId"`
	UserID            string   `json:"userId"`
	ApprovedLocations []string `json:"approvedLocations"`
}

// login runs the whole flow and returns the grant's answer.
func login(t *testing.T, s *Server, scope, userType string) tokenAnswer {
	t.Helper()
	code := authorize(t, s, scope, "").Query().Get("code")
	if code == "" {
		t.Fatal("no code")
	}
	var a tokenAnswer
	s.postForm(t, "/oauth/token", "", s.codeForm(code, userType)).expect(t, 200).decode(t, &a)
	return a
}

// oauthErr is an OAuth error body.
type oauthErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func expectOAuthError(t *testing.T, r resp, status int, code string) {
	t.Helper()
	r.expect(t, status)
	var e oauthErr
	r.decode(t, &e)
	if e.Error != code || e.Description == "" {
		t.Fatalf("error body %s, want error %q and a description", r.body, code)
	}
	var keys map[string]any
	r.decode(t, &keys)
	if len(keys) != 2 {
		t.Fatalf("error body %s has other keys", r.body)
	}
}

// listAs lists the root files of a location with a token.
func (s *Server) listAs(t *testing.T, token, loc string) resp {
	t.Helper()
	q := listQ("file", "")
	q.Set("altId", loc)
	return s.testDo(t, req{path: "/medias/files", query: q, headers: map[string]string{"Authorization": "Bearer " + token}})
}

func (s *Server) folderAs(t *testing.T, token, loc, name string) resp {
	t.Helper()
	return s.testDo(t, req{method: http.MethodPost, path: "/medias/folder", json: map[string]string{"altId": loc, "altType": "location", "name": name},
		headers: map[string]string{"Authorization": "Bearer " + token}})
}

func TestAuthorizeRedirects(t *testing.T) {
	s := startOAuth(t, 2, newClock(), nil)
	u := authorize(t, s, "medias.readonly medias.write", "st-123")
	if got := u.Scheme + "://" + u.Host + u.Path; got != testRedirect {
		t.Errorf("redirected to %s", got)
	}
	if c := u.Query().Get("code"); len(c) != 40 || u.Query().Get("state") != "st-123" {
		t.Errorf("query %q", u.RawQuery)
	}
	// No state: none is sent back.
	if u := authorize(t, s, "", ""); u.Query().Has("state") || u.Query().Get("code") == "" {
		t.Errorf("query %q", u.RawQuery)
	}
	// A scope the app lacks, a wrong response_type, a denial: redirected with the error.
	if u := authorize(t, s, "medias.readonly contacts.write", "x"); u.Query().Get("error") != "invalid_scope" || u.Query().Has("code") || u.Query().Get("state") != "x" {
		t.Errorf("bad scope: %q", u.RawQuery)
	}
	res, err := noRedirect.Get(strings.Replace(authorizeURL(s, "", ""), "response_type=code", "response_type=token", 1))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc, _ := url.Parse(res.Header.Get("Location")); res.StatusCode != 302 || loc.Query().Get("error") != "unsupported_response_type" {
		t.Errorf("response_type=token: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	post(t, s.URL+"/_ghlfake/oauth/approval", `{"deny": true}`).expect(t, 200)
	if u := authorize(t, s, "", ""); u.Query().Get("error") != "access_denied" {
		t.Errorf("denied: %q", u.RawQuery)
	}
	// Unknown client or bad redirect_uri: a page, no redirect.
	for _, bad := range []string{
		strings.Replace(authorizeURL(s, "", ""), url.QueryEscape(s.ClientID()), "nobody", 1),
		strings.Replace(authorizeURL(s, "", ""), url.QueryEscape(testRedirect), "javascript%3Aalert(1)", 1),
	} {
		res, err := noRedirect.Get(bad)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 || res.Header.Get("Location") != "" {
			t.Errorf("%s: %d %s", bad, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if st := s.Stats().OAuth; st.Authorizations != 2 {
		t.Errorf("authorizations %d, want 2", st.Authorizations)
	}
}

func TestAuthorizeRegisteredRedirects(t *testing.T) {
	s := startOAuth(t, 1, newClock(), func(o *Options) { o.RedirectURIs = []string{"https://app.example/cb"} })
	res, err := noRedirect.Get(authorizeURL(s, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("unregistered redirect_uri: %d", res.StatusCode)
	}
}

func TestCodeGrant(t *testing.T) {
	clk := newClock()
	s := startOAuth(t, 3, clk, func(o *Options) { o.ApproveLocation = "demo-location-2" })
	code := authorize(t, s, "medias.readonly medias.write", "").Query().Get("code")
	r := s.postForm(t, "/oauth/token", "", s.codeForm(code, "Location")).expect(t, 200)
	// The answer's keys, in order.
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	_, _ = dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var v any
		_ = dec.Decode(&v)
	}
	want := []string{"access_token", "token_type", "expires_in", "refresh_token", "scope", "userType", "locationId", "companyId", "userId"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	var a tokenAnswer
	r.decode(t, &a)
	if a.TokenType != "Bearer" || *a.ExpiresIn != 86399 || *a.UserType != "Location" || *a.LocationID != "demo-location-2" ||
		a.CompanyID != DefaultCompanyID || a.UserID != DefaultUserID || a.Scope != "medias.readonly medias.write" ||
		a.RefreshToken == nil || *a.RefreshToken == "" || strings.Count(a.AccessToken, ".") != 2 {
		t.Errorf("answer %s", r.body)
	}
	// The token is the approved location's, and no other's.
	s.listAs(t, a.AccessToken, "demo-location-2").expect(t, 200)
	s.listAs(t, a.AccessToken, DefaultLocationID).expect(t, 403)

	// A code is single use.
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", s.codeForm(code, "Location")), 400, "invalid_grant")
	// A code must come back with its redirect_uri and user type.
	code = authorize(t, s, "", "").Query().Get("code")
	f := s.codeForm(code, "Location")
	f.Set("redirect_uri", "http://127.0.0.1:1/other")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", f), 400, "invalid_grant")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", s.codeForm(code, "Company")), 400, "invalid_request")
	// Neither refusal used it up; a user_type left out is the grant's.
	f = s.codeForm(code, "")
	f.Del("user_type")
	s.postForm(t, "/oauth/token", "", f).expect(t, 200)
	// Codes expire.
	code = authorize(t, s, "", "").Query().Get("code")
	clk.Advance(DefaultCodeTTL)
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", s.codeForm(code, "Location")), 400, "invalid_grant")

	st := s.Stats().OAuth
	if st.CodeGrants != 2 || st.CodeReused != 1 || st.CodeRefused != 4 || st.Authorizations != 3 {
		t.Errorf("stats %+v", st)
	}
	if st := s.Stats().ByEndpoint[EndpointOAuthToken]; st != 6 {
		t.Errorf("token requests %d, want 6", st)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	s := startOAuth(t, 1, newClock(), nil)
	a := login(t, s, "", "Location")
	f := s.refreshForm(*a.RefreshToken, "Location")
	f.Set("client_secret", "wrong")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", f), 401, "invalid_client")
	f = s.refreshForm(*a.RefreshToken, "Location")
	f.Set("client_id", "other-app")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", f), 401, "invalid_client")
	f = s.refreshForm(*a.RefreshToken, "Location")
	f.Set("grant_type", "client_credentials")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", f), 400, "unsupported_grant_type")
	f.Del("grant_type")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", f), 400, "invalid_request")
	f = s.refreshForm(*a.RefreshToken, "Agency")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", f), 400, "invalid_request")
	f = s.refreshForm("", "Location")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", f), 400, "invalid_request")
	// A JSON body is not read: no client credentials.
	body, _ := json.Marshal(map[string]string{"client_id": s.ClientID(), "client_secret": DefaultClientSecret,
		"grant_type": "refresh_token", "refresh_token": *a.RefreshToken})
	r := s.testDo(t, req{method: http.MethodPost, path: "/oauth/token", body: body, ctype: "application/json", headers: map[string]string{"Authorization": "-"}})
	expectOAuthError(t, r, 401, "invalid_client")
	// None of that used the refresh token.
	s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")).expect(t, 200)
	if st := s.Stats().OAuth; st.ClientRefused != 3 || st.Refreshes != 1 || st.RefreshReused != 0 {
		t.Errorf("stats %+v", st)
	}
	// No Version header is needed; a User-Agent is.
	r = s.testDo(t, req{method: http.MethodPost, path: "/oauth/token", body: []byte("grant_type=x"),
		ctype: "application/x-www-form-urlencoded", headers: map[string]string{"Authorization": "-", "Version": "-", "User-Agent": "-"}})
	r.expect(t, 403)
}

func TestRefreshSingleUse(t *testing.T) {
	s := startOAuth(t, 1, newClock(), nil)
	a := login(t, s, "", "Location")
	var b tokenAnswer
	s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")).expect(t, 200).decode(t, &b)
	if b.AccessToken == a.AccessToken || *b.RefreshToken == *a.RefreshToken || *b.LocationID != DefaultLocationID {
		t.Fatalf("refresh answer %+v", b)
	}
	// The used refresh token is refused, now and later; the new one works once.
	for range 2 {
		expectOAuthError(t, s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")), 400, "invalid_grant")
	}
	var c tokenAnswer
	s.postForm(t, "/oauth/token", "", s.refreshForm(*b.RefreshToken, "Location")).expect(t, 200).decode(t, &c)
	// Access tokens live on until they expire, refreshed or not.
	for _, tok := range []string{a.AccessToken, b.AccessToken, c.AccessToken} {
		s.listAs(t, tok, DefaultLocationID).expect(t, 200)
	}
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", s.refreshForm("not-a-token", "Location")), 400, "invalid_grant")
	st := s.Stats().OAuth
	if st.Refreshes != 2 || st.RefreshReused != 2 || st.RefreshRefused != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestRefreshRace(t *testing.T) {
	s := startOAuth(t, 1, newClock(), nil)
	a := login(t, s, "", "Location")
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes[i] = s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")).status
		})
	}
	wg.Wait()
	slices.Sort(codes)
	if codes[0] != 200 || codes[1] != 400 || codes[n-1] != 400 {
		t.Errorf("statuses %v, want one 200 and the rest 400", codes)
	}
	if st := s.Stats().OAuth; st.Refreshes != 1 || st.RefreshReused != n-1 {
		t.Errorf("stats %+v", st)
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	clk := newClock()
	s := startOAuth(t, 1, clk, func(o *Options) { o.TokenTTL = 30 * time.Second })
	a := login(t, s, "", "Location")
	if *a.ExpiresIn != 30 {
		t.Errorf("expires_in %d", *a.ExpiresIn)
	}
	clk.Advance(29 * time.Second)
	s.listAs(t, a.AccessToken, DefaultLocationID).expect(t, 200)
	clk.Advance(time.Second)
	r := s.listAs(t, a.AccessToken, DefaultLocationID).expect(t, 401)
	var e struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
	}
	r.decode(t, &e)
	if e.StatusCode != 401 || e.Message != "Invalid token: access token is invalid" {
		t.Errorf("body %s", r.body)
	}
	// The refresh token outlives it.
	var b tokenAnswer
	s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")).expect(t, 200).decode(t, &b)
	s.listAs(t, b.AccessToken, DefaultLocationID).expect(t, 200)
	// Expired at once, by the control endpoint.
	var n map[string]int
	post(t, s.URL+"/_ghlfake/oauth/expire", "").expect(t, 200).decode(t, &n)
	if n["expired"] != 1 {
		t.Errorf("expired %v, want 1", n)
	}
	s.listAs(t, b.AccessToken, DefaultLocationID).expect(t, 401)
	// A Private Integration Token does not expire.
	s.listAs(t, testToken, DefaultLocationID).expect(t, 200)
	if st := s.Stats().OAuth; st.ExpiredTokenCalls != 2 || st.RefusedTokenCalls != 0 {
		t.Errorf("stats %+v", st)
	}
	// Refresh tokens expire too.
	clk.Advance(DefaultRefreshTTL)
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", s.refreshForm(*b.RefreshToken, "Location")), 400, "invalid_grant")
}

func TestRevokeGrants(t *testing.T) {
	s := startOAuth(t, 1, newClock(), nil)
	a := login(t, s, "", "Location")
	var n map[string]int
	post(t, s.URL+"/_ghlfake/oauth/revoke", "").expect(t, 200).decode(t, &n)
	if n["revoked"] != 1 {
		t.Errorf("revoked %v", n)
	}
	s.listAs(t, a.AccessToken, DefaultLocationID).expect(t, 401)
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")), 400, "invalid_grant")
	if st := s.Stats().OAuth; st.RefusedTokenCalls != 1 || st.RefreshReused != 0 {
		t.Errorf("stats %+v", st)
	}
	// A new login works.
	s.listAs(t, login(t, s, "", "Location").AccessToken, DefaultLocationID).expect(t, 200)
}

func TestScopes(t *testing.T) {
	s := startOAuth(t, 1, newClock(), nil)
	ro := login(t, s, "medias.readonly", "Location").AccessToken
	wo := login(t, s, "medias.write", "Location").AccessToken
	expectScope := func(r resp) {
		t.Helper()
		r.expect(t, 401)
		var e struct {
			StatusCode int    `json:"statusCode"`
			Message    string `json:"message"`
			Error      string `json:"error"`
		}
		r.decode(t, &e)
		if e.StatusCode != 401 || e.Message != "The token is not authorized for this scope." || e.Error != "Unauthorized" {
			t.Errorf("body %s", r.body)
		}
	}
	s.listAs(t, ro, DefaultLocationID).expect(t, 200)
	expectScope(s.listAs(t, wo, DefaultLocationID))
	expectScope(s.folderAs(t, ro, DefaultLocationID, "A"))
	s.folderAs(t, wo, DefaultLocationID, "A").expect(t, 201)
	dir := s.Items()[0].ID
	hdr := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	body, ctype := multipartBody(t, nil, formFile{"file", "a.txt", "", []byte("a")})
	expectScope(s.testDo(t, req{method: http.MethodPost, path: "/medias/upload-file", body: body, ctype: ctype, headers: hdr(ro)}))
	expectScope(s.testDo(t, req{method: http.MethodPost, path: "/medias/" + dir, json: map[string]string{"altId": DefaultLocationID, "altType": "location", "name": "B"}, headers: hdr(ro)}))
	expectScope(s.testDo(t, req{method: http.MethodPut, path: "/medias/update-files", json: map[string]any{}, headers: hdr(ro)}))
	expectScope(s.testDo(t, req{method: http.MethodPut, path: "/medias/delete-files", json: map[string]any{}, headers: hdr(ro)}))
	expectScope(s.testDo(t, req{method: http.MethodDelete, path: "/medias/" + dir, query: url.Values{"altId": {DefaultLocationID}, "altType": {"location"}}, headers: hdr(ro)}))
	if it, _ := s.Item(dir); it.Name != "A" || it.Status != StatusActive {
		t.Errorf("folder after refused writes: %+v", it)
	}
	// A location token has no business with the agency's endpoints.
	expectScope(s.testDo(t, req{path: "/oauth/installedLocations", query: url.Values{"companyId": {DefaultCompanyID}, "appId": {s.AppID()}}, headers: hdr(ro)}))
	if st := s.Stats(); st.OAuth.ScopeRefusals != 8 || st.Locations[DefaultLocationID].APIRequests != 10 {
		t.Errorf("stats %+v", st)
	}
}

func TestTokenScopesOption(t *testing.T) {
	s := start(t, Options{TokenScopes: []string{ScopeMediasReadonly}})
	s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, 200)
	s.testDo(t, req{method: http.MethodPost, path: "/medias/folder", json: map[string]string{"altId": testLoc, "altType": "location", "name": "E"}}).expect(t, 401)
}

func TestAgencyTokens(t *testing.T) {
	s := startOAuth(t, 3, newClock(), func(o *Options) {
		o.Approve = "Company"
		o.Locations[2].NotInstalled = true
		o.CompanyToken = "agency-pit"
	})
	a := login(t, s, "", "Company")
	if a.LocationID != nil || a.CompanyID != DefaultCompanyID || *a.UserType != "Company" ||
		!slices.Equal(a.ApprovedLocations, []string{"demo-location", "demo-location-2"}) {
		t.Fatalf("answer %+v", a)
	}
	// An agency's token reaches no library.
	s.listAs(t, a.AccessToken, DefaultLocationID).expect(t, 401)

	mint := func(tok, loc string) resp {
		return s.postForm(t, "/oauth/locationToken", tok, url.Values{"companyId": {DefaultCompanyID}, "locationId": {loc}})
	}
	r := mint(a.AccessToken, "demo-location-2").expect(t, 201)
	var lt map[string]any
	r.decode(t, &lt)
	if _, has := lt["refresh_token"]; has || lt["locationId"] != "demo-location-2" || lt["token_type"] != "Bearer" || lt["expires_in"] != 86399.0 {
		t.Errorf("location token answer %s", r.body)
	}
	tok := lt["access_token"].(string)
	s.folderAs(t, tok, "demo-location-2", "Only here").expect(t, 201)
	s.folderAs(t, tok, DefaultLocationID, "Not here").expect(t, 403)
	if got := len(s.Location("demo-location-2").Items()); got != 1 || len(s.Items()) != 0 || len(s.Location("demo-location-3").Items()) != 0 {
		t.Errorf("items: %d in location 2, %d in location 1", got, len(s.Items()))
	}

	mint(a.AccessToken, "demo-location-3").expect(t, 400) // not installed
	mint(a.AccessToken, "nowhere").expect(t, 400)
	s.postForm(t, "/oauth/locationToken", a.AccessToken, url.Values{"companyId": {"other"}, "locationId": {"demo-location-2"}}).expect(t, 403)
	s.postForm(t, "/oauth/locationToken", a.AccessToken, url.Values{"locationId": {"demo-location-2"}, "x": {"1"}}).expect(t, 422)
	mint(tok, "demo-location-2").expect(t, 401)          // a location's token
	mint("agency-pit", "demo-location-2").expect(t, 401) // an agency's Private Integration Token: OAuth only
	mint("nonsense", "demo-location-2").expect(t, 401)
	// A Version header is needed here.
	r = s.testDo(t, req{method: http.MethodPost, path: "/oauth/locationToken", body: []byte("companyId=" + DefaultCompanyID + "&locationId=demo-location"),
		ctype: "application/x-www-form-urlencoded", headers: map[string]string{"Authorization": "Bearer " + a.AccessToken, "Version": "-"}})
	r.expect(t, 400)

	// The agency's Private Integration Token may search the locations.
	s.testDo(t, req{path: "/locations/search", headers: map[string]string{"Authorization": "Bearer agency-pit"}}).expect(t, 200)

	// Revoking the agency's grants revokes the minted tokens.
	s.RevokeGrants()
	s.folderAs(t, tok, "demo-location-2", "Later").expect(t, 401)

	st := s.Stats()
	if st.OAuth.LocationTokens != 1 || st.Company.APIRequests != 9 || st.Locations["demo-location-2"].APIRequests != 3 {
		t.Errorf("stats %+v", st)
	}
}

// installedPage is an installedLocations answer.
type installedPage struct {
	Locations []struct {
		ID          string `json:"_id"`
		Name        string `json:"name"`
		Address     string `json:"address"`
		IsInstalled *bool  `json:"isInstalled"`
	} `json:"locations"`
	Count *int `json:"count"`
}

func TestInstalledLocations(t *testing.T) {
	s := startOAuth(t, 25, newClock(), func(o *Options) {
		o.Approve = "Company"
		for i := range o.Locations {
			o.Locations[i].NotInstalled = i%5 == 4 // 5 of 25
		}
	})
	tok := login(t, s, "", "Company").AccessToken
	get := func(extra ...string) resp {
		q := url.Values{"companyId": {DefaultCompanyID}, "appId": {s.AppID()}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return s.testDo(t, req{path: "/oauth/installedLocations", query: q, headers: map[string]string{"Authorization": "Bearer " + tok}})
	}
	page := func(extra ...string) installedPage {
		var p installedPage
		get(extra...).expect(t, 200).decode(t, &p)
		return p
	}
	// Paged: 20 by default, count is the total.
	p := page()
	if len(p.Locations) != 20 || *p.Count != 25 || p.Locations[0].ID != DefaultLocationID || p.Locations[0].Name != "Demo Location 1" || p.Locations[0].Address == "" {
		t.Fatalf("first page: %d locations, count %v, first %+v", len(p.Locations), *p.Count, p.Locations[0])
	}
	var ids []string
	for skip := 0; ; skip += 7 {
		p := page("isInstalled", "true", "skip", itoa(skip), "limit", "7")
		if *p.Count != 20 {
			t.Fatalf("count %d, want 20", *p.Count)
		}
		for _, l := range p.Locations {
			if !*l.IsInstalled {
				t.Errorf("%s not installed", l.ID)
			}
			ids = append(ids, l.ID)
		}
		if len(p.Locations) < 7 {
			break
		}
	}
	if len(ids) != 20 || slices.Contains(ids, "demo-location-5") || slices.Contains(ids, "demo-location-25") || !slices.Contains(ids, "demo-location-24") {
		t.Errorf("installed: %v", ids)
	}
	if p := page("isInstalled", "false"); *p.Count != 5 || *p.Locations[0].IsInstalled {
		t.Errorf("not installed: %+v", p)
	}
	if p := page("query", "location 12"); len(p.Locations) != 1 || p.Locations[0].ID != "demo-location-12" {
		t.Errorf("query: %+v", p)
	}
	if p := page("appId", "another-app"); len(p.Locations) != 0 || *p.Count != 0 {
		t.Errorf("another app: %+v", p)
	}
	get("companyId", "other").expect(t, 403)
	get("skip", "x").expect(t, 422)
	get("isInstalled", "yes").expect(t, 422)
	get("bogus", "1").expect(t, 422)
	get("companyId", "").expect(t, 422)

	// Uninstalled: dropped from the installed list, its tokens refused.
	loc2 := s.Location("demo-location-2")
	mint := func() resp {
		return s.postForm(t, "/oauth/locationToken", tok, url.Values{"companyId": {DefaultCompanyID}, "locationId": {loc2.ID()}})
	}
	var lt map[string]any
	mint().expect(t, 201).decode(t, &lt)
	post(t, s.URL+"/_ghlfake/locations/demo-location-2", `{"installed": false}`).expect(t, 200)
	if p := page("isInstalled", "true", "limit", "0"); *p.Count != 19 || p.Locations[1].ID != "demo-location-3" {
		t.Errorf("after uninstall: count %d", *p.Count)
	}
	s.listAs(t, lt["access_token"].(string), loc2.ID()).expect(t, 401)
	mint().expect(t, 400)
	loc2.SetInstalled(true)
	mint().expect(t, 201)
}

func TestInstalledLocationsPageCap(t *testing.T) {
	s := startOAuth(t, 12, newClock(), func(o *Options) { o.Approve = "Company"; o.PageCap = 5 })
	tok := login(t, s, "", "Company").AccessToken
	var p installedPage
	s.testDo(t, req{path: "/oauth/installedLocations", query: url.Values{"companyId": {DefaultCompanyID}, "appId": {s.AppID()}, "limit": {"100"}},
		headers: map[string]string{"Authorization": "Bearer " + tok}}).expect(t, 200).decode(t, &p)
	if len(p.Locations) != 5 || *p.Count != 12 {
		t.Errorf("%d locations, count %d", len(p.Locations), *p.Count)
	}
}

func TestSearchLocations(t *testing.T) {
	s := startOAuth(t, 12, newClock(), func(o *Options) {
		o.Approve = "Company"
		o.Locations[3].NotInstalled = true
		o.Locations[1].Token = "pit-2"
	})
	tok := login(t, s, "locations.readonly", "Company").AccessToken
	search := func(tok string, extra ...string) resp {
		q := url.Values{}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return s.testDo(t, req{path: "/locations/search", query: q, headers: map[string]string{"Authorization": "Bearer " + tok}})
	}
	type entry struct {
		ID, Name, Email, Address, Timezone string
		Underscore                         string `json:"_id"`
	}
	var p struct{ Locations []entry }
	search(tok).expect(t, 200).decode(t, &p)
	if len(p.Locations) != 10 || p.Locations[0].ID != DefaultLocationID || p.Locations[0].Underscore != "" || p.Locations[3].ID != "demo-location-4" || p.Locations[0].Name != "Demo Location 1" {
		t.Fatalf("first page %+v", p)
	}
	search(tok, "skip", "10", "companyId", DefaultCompanyID).expect(t, 200).decode(t, &p)
	if len(p.Locations) != 2 {
		t.Errorf("second page %+v", p)
	}
	search(tok, "order", "desc", "limit", "1").expect(t, 200).decode(t, &p)
	if len(p.Locations) != 1 || p.Locations[0].ID != "demo-location-12" {
		t.Errorf("desc %+v", p)
	}
	search(tok, "email", p.Locations[0].Email).expect(t, 200).decode(t, &p)
	if len(p.Locations) != 1 || p.Locations[0].ID != "demo-location-12" {
		t.Errorf("by email %+v", p)
	}
	// A location's token finds its own location only.
	search("pit-2").expect(t, 200).decode(t, &p)
	if len(p.Locations) != 1 || p.Locations[0].ID != "demo-location-2" {
		t.Errorf("with a location's token %+v", p)
	}
	search(tok, "companyId", "other").expect(t, 403)
	search(tok, "order", "up").expect(t, 422)
	// Without locations.readonly: refused.
	s.testDo(t, req{path: "/locations/search", headers: map[string]string{"Authorization": "Bearer " + login(t, s, "oauth.readonly", "Company").AccessToken}}).expect(t, 401)
}

func TestLocationIsolation(t *testing.T) {
	s := startOAuth(t, 3, newClock(), func(o *Options) {
		o.RateLimit = 4
		o.Locations[1].Token = "pit-2"
		o.Locations[2].Token = "pit-3"
	})
	// A write to one location lands there only, and its file is served.
	body, ctype := multipartBody(t, nil, formFile{"file", "x.txt", "", []byte("for two")})
	var up struct{ FileID, URL string }
	s.testDo(t, req{method: http.MethodPost, path: "/medias/upload-file", body: body, ctype: ctype,
		headers: map[string]string{"Authorization": "Bearer pit-2"}}).expect(t, 201).decode(t, &up)
	if !strings.Contains(up.URL, "/storage/msgsndr/demo-location-2/media/") {
		t.Errorf("url %s", up.URL)
	}
	if got := get(t, up.URL, nil).expect(t, 200).body; string(got) != "for two" {
		t.Errorf("storage %q", got)
	}
	if _, ok := s.Location("demo-location-2").Item(up.FileID); !ok || len(s.Items()) != 0 || len(s.Location("demo-location-3").Items()) != 0 {
		t.Errorf("the file is not in location 2 alone")
	}
	var files struct{ Files []wireItem }
	s.listAs(t, "pit-2", "demo-location-2").expect(t, 200).decode(t, &files)
	if len(files.Files) != 1 || files.Files[0].AltID != "demo-location-2" {
		t.Errorf("listing %+v", files)
	}
	// Each location has its own rate limit: location 2 has used 2 of 4.
	s.listAs(t, "pit-2", "demo-location-2").expect(t, 200)
	r := s.listAs(t, "pit-2", "demo-location-2").expect(t, 200)
	if r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("remaining %q", r.header.Get("X-RateLimit-Remaining"))
	}
	s.listAs(t, "pit-2", "demo-location-2").expect(t, 429)
	r = s.listAs(t, "pit-3", "demo-location-3").expect(t, 200)
	if r.header.Get("X-RateLimit-Remaining") != "3" {
		t.Errorf("location 3 remaining %q", r.header.Get("X-RateLimit-Remaining"))
	}
	s.listAs(t, testToken, DefaultLocationID).expect(t, 200)
	st := s.Stats()
	want := map[string]LocationStats{
		DefaultLocationID: {APIRequests: 1, MaxInWindow: 1},
		"demo-location-2": {APIRequests: 5, RateLimited: 1, MaxInWindow: 4},
		"demo-location-3": {APIRequests: 1, MaxInWindow: 1},
	}
	if !jsonEqual(st.Locations, want) || st.RateLimited != 1 || st.MaxInWindow != 4 {
		t.Errorf("stats %+v", st)
	}
	// Down: one location answers 503, the others serve.
	post(t, s.URL+"/_ghlfake/locations/demo-location-3", `{"down": true}`).expect(t, 200)
	s.listAs(t, "pit-3", "demo-location-3").expect(t, 503)
	s.listAs(t, testToken, DefaultLocationID).expect(t, 200)
	var ls struct {
		Locations []locationState `json:"locations"`
	}
	get(t, s.URL+"/_ghlfake/locations", nil).expect(t, 200).decode(t, &ls)
	if len(ls.Locations) != 3 || !ls.Locations[2].Down || ls.Locations[1].Down || !ls.Locations[0].Installed {
		t.Errorf("control listing %+v", ls)
	}
	post(t, s.URL+"/_ghlfake/locations/nowhere", `{"down": true}`).expect(t, 404)
	post(t, s.URL+"/_ghlfake/locations/demo-location-3", `{"dow": true}`).expect(t, 400)
	s.ResetStats()
	if st := s.Stats(); st.Locations["demo-location-2"].APIRequests != 0 || st.Locations["demo-location-2"].RateLimited != 0 {
		t.Errorf("after reset %+v", st.Locations)
	}
}

func TestDemoLocationsDiffer(t *testing.T) {
	classic, err := New(Options{Seed: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Locations: DemoLocations(3)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Location("demo-location-2").Name() != "Demo Location 2" {
		t.Errorf("name %q", s.Location("demo-location-2").Name())
	}
	// The first location's library is the classic one.
	if !jsonEqual(s.Items(), classic.Items()) {
		t.Error("the first location's demo library differs from the classic one")
	}
	ids := map[string]string{}
	for _, l := range s.Locations() {
		items := l.Items()
		var readme, about *Item
		for i, it := range items {
			if prev, dup := ids[it.ID]; dup {
				t.Errorf("id %s in %s and %s", it.ID, prev, l.ID())
			}
			ids[it.ID] = l.ID()
			switch {
			case it.Name == "README.txt" && it.ParentID == "":
				readme = &items[i]
			case strings.HasPrefix(it.Name, "About "):
				about = &items[i]
			}
		}
		if l.ID() == DefaultLocationID {
			if about != nil {
				t.Errorf("the classic library has %s", about.Name)
			}
			continue
		}
		if len(items) != len(classic.Items())+1 || about == nil || about.Name != "About "+l.Name()+".txt" {
			t.Errorf("%s: %d items, about %+v", l.ID(), len(items), about)
			continue
		}
		if b, _ := l.Content(about.ID); !strings.Contains(string(b), l.ID()) {
			t.Errorf("%s: about says %q", l.ID(), b)
		}
		if b, _ := l.Content(readme.ID); !strings.Contains(string(b), l.Name()) {
			t.Errorf("%s: README says %q", l.ID(), b)
		}
	}
	// The same on every run.
	again, err := New(Options{Locations: DemoLocations(3)})
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(again.Location("demo-location-3").Items(), s.Location("demo-location-3").Items()) {
		t.Error("the derived library differs between runs")
	}
}

func TestLocationsDataDir(t *testing.T) {
	dir := t.TempDir()
	locs := DemoLocations(2)
	locs[1].Seed = ""
	s, err := New(Options{Locations: locs, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	id := s.Location("demo-location-2").AddFile("", "kept.txt", "", []byte("kept"))
	// Started again from the directory alone.
	again, err := LoadLocations(dir, "demo")
	if err != nil || len(again) != 2 || again[1].ID != "demo-location-2" || again[1].Name != "Demo Location 2" {
		t.Fatalf("LoadLocations: %+v, %v", again, err)
	}
	s2, err := New(Options{Locations: again, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := s2.Location("demo-location-2").Content(id); !ok || string(b) != "kept" || len(s2.Location("demo-location-2").Items()) != 1 {
		t.Errorf("location 2 after restart: %q %v", b, ok)
	}
	if !jsonEqual(s2.Items(), s.Items()) {
		t.Error("location 1 changed across the restart")
	}
	// A single-location directory has no location list, and the first
	// location's library is where one location's always was.
	if l, err := LoadLocations(t.TempDir(), ""); l != nil || err != nil {
		t.Errorf("empty dir: %v %v", l, err)
	}
	one, err := New(Options{DataDir: dir, Seed: "demo"})
	if err != nil || !jsonEqual(one.Items(), s.Items()) {
		t.Errorf("first location alone: %v", err)
	}
}

func TestLocationOptionsChecked(t *testing.T) {
	for name, opts := range map[string]Options{
		"repeated id":      {Locations: []LocationOptions{{ID: "a"}, {ID: "a"}}},
		"empty id":         {Locations: []LocationOptions{{ID: "a"}, {}}},
		"LocationID":       {LocationID: "b", Locations: []LocationOptions{{ID: "a"}}},
		"first token":      {Locations: []LocationOptions{{ID: "a", Token: "t"}}},
		"approve":          {Approve: "Agency"},
		"approve location": {ApproveLocation: "nowhere"},
		"scope":            {AppScopes: []string{"a b"}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestOAuthQuirks(t *testing.T) {
	t.Run("oauth-nest-errors", func(t *testing.T) {
		s := startOAuth(t, 1, newClock(), func(o *Options) { o.Quirks = []string{QuirkOAuthNestErrors} })
		r := s.postForm(t, "/oauth/token", "", s.refreshForm("nope", "Location")).expect(t, 400)
		var e map[string]any
		r.decode(t, &e)
		if e["statusCode"] != 400.0 || e["error"] != "Bad Request" || e["message"] == "" {
			t.Errorf("body %s", r.body)
		}
	})
	t.Run("refresh-revokes-access", func(t *testing.T) {
		s := startOAuth(t, 1, newClock(), func(o *Options) { o.Quirks = []string{QuirkRefreshRevokesAccess} })
		a := login(t, s, "", "Location")
		var b tokenAnswer
		s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")).expect(t, 200).decode(t, &b)
		s.listAs(t, a.AccessToken, DefaultLocationID).expect(t, 401)
		s.listAs(t, b.AccessToken, DefaultLocationID).expect(t, 200)
	})
	t.Run("refresh-reuse-revokes", func(t *testing.T) {
		s := startOAuth(t, 1, newClock(), func(o *Options) { o.Quirks = []string{QuirkRefreshReuseRevokes} })
		a := login(t, s, "", "Location")
		var b tokenAnswer
		s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")).expect(t, 200).decode(t, &b)
		s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")).expect(t, 400)
		// The reuse killed the whole grant: the newest pair too.
		s.listAs(t, b.AccessToken, DefaultLocationID).expect(t, 401)
		expectOAuthError(t, s.postForm(t, "/oauth/token", "", s.refreshForm(*b.RefreshToken, "Location")), 400, "invalid_grant")
	})
}

func TestSpareOAuth(t *testing.T) {
	s := startOAuth(t, 1, newClock(), func(o *Options) { o.Faults = Faults{Fault500: 1, SpareOAuth: true} })
	a := login(t, s, "", "Location")
	s.listAs(t, a.AccessToken, DefaultLocationID).expect(t, 500)
	s.postForm(t, "/oauth/token", "", s.refreshForm(*a.RefreshToken, "Location")).expect(t, 200)
}

func TestAuthCodeAndApproval(t *testing.T) {
	s := startOAuth(t, 2, newClock(), func(o *Options) { o.Locations[1].NotInstalled = true })
	if err := s.SetApproval(Approval{LocationID: "demo-location-2"}); err != nil {
		t.Fatal(err)
	}
	var a Approval
	get(t, s.URL+"/_ghlfake/oauth/approval", nil).expect(t, 200).decode(t, &a)
	if a.UserType != "Location" || a.LocationID != "demo-location-2" {
		t.Errorf("approval %+v", a)
	}
	post(t, s.URL+"/_ghlfake/oauth/approval", `{"user_type": "Agency"}`).expect(t, 400)
	code, err := s.AuthCode(testRedirect, ScopeMediasReadonly)
	if err != nil {
		t.Fatal(err)
	}
	// Approving installs the app in the location.
	if !s.Location("demo-location-2").Installed() {
		t.Error("approved location not installed")
	}
	var ans tokenAnswer
	s.postForm(t, "/oauth/token", "", s.codeForm(code, "Location")).expect(t, 200).decode(t, &ans)
	if *ans.LocationID != "demo-location-2" || ans.Scope != ScopeMediasReadonly {
		t.Errorf("answer %+v", ans)
	}
	if _, err := s.AuthCode(testRedirect, "nope"); err == nil {
		t.Error("a scope the app lacks was approved")
	}
}

// PKCE: a code asked for with a code_challenge is exchanged only with
// its code_verifier (S256, or plain); one without takes any. A refusal
// does not use the code up. Under pkce-ignored the challenge is ignored.
func TestAuthorizePKCE(t *testing.T) {
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B
	const s256 = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	codeWith := func(t *testing.T, s *Server, challenge, method string) (string, string) {
		t.Helper()
		q := url.Values{"response_type": {"code"}, "client_id": {s.ClientID()}, "redirect_uri": {testRedirect},
			"code_challenge": {challenge}}
		if method != "" {
			q.Set("code_challenge_method", method)
		}
		res, err := noRedirect.Get(s.URL + "/oauth/chooselocation?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		u, err := url.Parse(res.Header.Get("Location"))
		if err != nil || res.StatusCode != http.StatusFound {
			t.Fatalf("authorize: %d %v", res.StatusCode, err)
		}
		return u.Query().Get("code"), u.Query().Get("error")
	}
	withVerifier := func(s *Server, code, v string) url.Values {
		f := s.codeForm(code, "Location")
		if v != "" {
			f.Set("code_verifier", v)
		}
		return f
	}

	s := startOAuth(t, 1, newClock(), nil)
	code, _ := codeWith(t, s, s256, "S256")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", withVerifier(s, code, "")), 400, "invalid_request")
	expectOAuthError(t, s.postForm(t, "/oauth/token", "", withVerifier(s, code, strings.Repeat("x", 43))), 400, "invalid_grant")
	s.postForm(t, "/oauth/token", "", withVerifier(s, code, verifier)).expect(t, 200)
	// plain, named or left out.
	for _, method := range []string{"plain", ""} {
		code, _ = codeWith(t, s, verifier, method)
		expectOAuthError(t, s.postForm(t, "/oauth/token", "", withVerifier(s, code, s256)), 400, "invalid_grant")
		s.postForm(t, "/oauth/token", "", withVerifier(s, code, verifier)).expect(t, 200)
	}
	// An unknown method, or a challenge of the wrong length.
	for _, c := range [][2]string{{s256, "S512"}, {"short", "S256"}} {
		if code, e := codeWith(t, s, c[0], c[1]); code != "" || e != "invalid_request" {
			t.Errorf("challenge %q method %q: code %q error %q", c[0], c[1], code, e)
		}
	}
	// Without a challenge, any verifier (or none) is taken.
	code = authorize(t, s, "", "").Query().Get("code")
	s.postForm(t, "/oauth/token", "", withVerifier(s, code, "anything-at-all")).expect(t, 200)
	if st := s.Stats().OAuth; st.CodeGrants != 4 || st.CodeRefused != 4 {
		t.Errorf("stats %+v, want 4 grants and 4 refusals", st)
	}

	t.Run(QuirkPKCEIgnored, func(t *testing.T) {
		s := startOAuth(t, 1, newClock(), func(o *Options) { o.Quirks = []string{QuirkPKCEIgnored} })
		code, _ := codeWith(t, s, s256, "S256")
		s.postForm(t, "/oauth/token", "", withVerifier(s, code, "")).expect(t, 200)
		code, _ = codeWith(t, s, s256, "S256")
		s.postForm(t, "/oauth/token", "", withVerifier(s, code, strings.Repeat("x", 43))).expect(t, 200)
	})
	// Under pkce-refused the exchange's body is held to the published
	// schema: code_verifier is refused (422, NestJS's words), the code is
	// not used up, and goes through without it.
	t.Run(QuirkPKCERefused, func(t *testing.T) {
		s := startOAuth(t, 1, newClock(), func(o *Options) { o.Quirks = []string{QuirkPKCERefused} })
		code, _ := codeWith(t, s, s256, "S256")
		r := s.postForm(t, "/oauth/token", "", withVerifier(s, code, verifier))
		r.expect(t, 422)
		if want := `{"statusCode":422,"message":["property code_verifier should not exist"],"error":"Unprocessable Entity"}`; strings.TrimSpace(string(r.body)) != want {
			t.Errorf("refusal %s, want %s", r.body, want)
		}
		s.postForm(t, "/oauth/token", "", withVerifier(s, code, "")).expect(t, 200)
		if st := s.Stats().OAuth; st.CodeGrants != 1 || st.CodeRefused != 0 {
			t.Errorf("stats %+v, want 1 grant and no refusal", st)
		}
	})
}
