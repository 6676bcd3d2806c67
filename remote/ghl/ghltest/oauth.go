package ghltest

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the OAuth options.
const (
	// DefaultClientID has HighLevel's form, APPID-SUFFIX; the app id is
	// its part before the "-".
	DefaultClientID     = "66d0f1a2b3c4d5e6f7a8b9c0-ghlfake"
	DefaultClientSecret = "demo-client-secret"
	DefaultCompanyID    = "demo-company"
	DefaultUserID       = "demo-user"
	DefaultTokenTTL     = 86399 * time.Second
	DefaultRefreshTTL   = 365 * 24 * time.Hour
	DefaultCodeTTL      = 10 * time.Minute
)

// User types of a grant (user_type, userType).
const (
	UserTypeLocation = "Location"
	UserTypeCompany  = "Company"
)

// OAuthStats count the OAuth work of the fake (Stats.OAuth).
type OAuthStats struct {
	// Authorizations counts the codes the authorize page (or AuthCode) gave.
	Authorizations int64 `json:"authorizations"`
	// CodeGrants counts codes exchanged for tokens; CodeRefused the
	// authorization_code grants refused (unknown, expired or used code,
	// redirect_uri or user_type that does not match); CodeReused those
	// refused because the code was used already.
	CodeGrants  int64 `json:"code_grants"`
	CodeRefused int64 `json:"code_refused"`
	CodeReused  int64 `json:"code_reused"`
	// Refreshes counts refresh_token grants served (a new pair issued).
	Refreshes int64 `json:"refreshes"`
	// RefreshReused counts refresh tokens refused because they were used
	// already: a client that never uses one twice keeps it at 0.
	RefreshReused int64 `json:"refresh_reused"`
	// RefreshRefused counts refresh_token grants refused for any reason,
	// reuse included (unknown, expired or revoked token, user_type).
	RefreshRefused int64 `json:"refresh_refused"`
	// ClientRefused counts token requests refused for their client_id or
	// client_secret (401 invalid_client).
	ClientRefused int64 `json:"client_refused"`
	// LocationTokens counts tokens minted at /oauth/locationToken.
	LocationTokens int64 `json:"location_tokens"`
	// ExpiredTokenCalls counts API calls made with an expired OAuth access
	// token (answered 401); RefusedTokenCalls those made with any other
	// token the API does not take (unknown, revoked, malformed).
	ExpiredTokenCalls int64 `json:"expired_token_calls"`
	RefusedTokenCalls int64 `json:"refused_token_calls"`
	// ScopeRefusals counts calls refused for their token's scope or kind.
	ScopeRefusals int64 `json:"scope_refusals"`
}

// Approval is what the authorize page stand-in approves.
type Approval struct {
	// UserType is "Location" (the app installed in one location) or
	// "Company" (in the agency).
	UserType string `json:"user_type"`
	// LocationID is the location a Location approval is for; "" means the
	// first location.
	LocationID string `json:"location_id,omitempty"`
	// Deny makes the page redirect with error=access_denied.
	Deny bool `json:"deny,omitempty"`
}

// grant is one authorization (one login), shared by the tokens it begets.
type grant struct {
	userType   string
	locationID string // of a Location grant
	scopes     []string
	revoked    bool
}

type accessToken struct {
	g          *grant
	locationID string // "" for an agency's token
	expires    time.Time
	revoked    bool
}

type refreshToken struct {
	g       *grant
	expires time.Time
	used    bool
}

type authCode struct {
	g           *grant
	redirectURI string
	expires     time.Time
	used        bool
	// challenge is the PKCE code_challenge the authorize page was given
	// (RFC 7636), S256 (or plain when method is "plain"); "" for none.
	challenge, method string
}

// oauthState is the fake's authorization server. Lock order: oauthState.mu
// is taken alone (never with a store's lock).
type oauthState struct {
	s                             *Server
	clientID, clientSecret, appID string
	companyID, userID, companyPIT string
	appScopes                     []string
	tokenTTL, refreshTTL, codeTTL time.Duration
	redirectURIs                  []string
	companyRequests               atomic.Int64 // the agency's API requests
	mu                            sync.Mutex   // guards the fields below
	approval                      Approval
	access                        map[string]*accessToken
	refresh                       map[string]*refreshToken
	codes                         map[string]*authCode
	st                            OAuthStats
	pruneAt                       int // prune expired tokens when the maps reach this size
}

func newOAuthState(s *Server, opts Options) (*oauthState, error) {
	o := &oauthState{
		s:            s,
		clientID:     cmp.Or(opts.ClientID, DefaultClientID),
		clientSecret: cmp.Or(opts.ClientSecret, DefaultClientSecret),
		companyID:    cmp.Or(opts.CompanyID, DefaultCompanyID),
		userID:       cmp.Or(opts.UserID, DefaultUserID),
		companyPIT:   opts.CompanyToken,
		tokenTTL:     cmp.Or(opts.TokenTTL, DefaultTokenTTL),
		refreshTTL:   cmp.Or(opts.RefreshTTL, DefaultRefreshTTL),
		codeTTL:      cmp.Or(opts.CodeTTL, DefaultCodeTTL),
		redirectURIs: slices.Clone(opts.RedirectURIs),
		access:       map[string]*accessToken{},
		refresh:      map[string]*refreshToken{},
		codes:        map[string]*authCode{},
		pruneAt:      1024,
	}
	o.appID = opts.AppID
	if o.appID == "" {
		o.appID, _, _ = strings.Cut(o.clientID, "-")
	}
	if o.tokenTTL < 0 || o.refreshTTL < 0 || o.codeTTL < 0 {
		return nil, errors.New("ghltest: TokenTTL, RefreshTTL and CodeTTL must not be negative")
	}
	var err error
	if o.appScopes, err = parseScopes(opts.AppScopes, false); err != nil {
		return nil, err
	}
	if opts.AppScopes == nil {
		o.appScopes = KnownScopes()
	}
	if err := o.checkApproval(Approval{UserType: opts.Approve, LocationID: opts.ApproveLocation}); err != nil {
		return nil, err
	}
	o.approval = Approval{UserType: cmp.Or(opts.Approve, UserTypeLocation), LocationID: opts.ApproveLocation}
	return o, nil
}

func (o *oauthState) checkApproval(a Approval) error {
	if a.UserType != "" && a.UserType != UserTypeLocation && a.UserType != UserTypeCompany {
		return fmt.Errorf("ghltest: approval user type %q is neither Location nor Company", a.UserType)
	}
	if a.LocationID != "" && o.s.Location(a.LocationID) == nil {
		return fmt.Errorf("ghltest: approval location %q is not served", a.LocationID)
	}
	return nil
}

// Approval returns what the authorize page approves.
func (s *Server) Approval() Approval {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	return s.oauth.approval
}

// SetApproval changes what the authorize page approves. UserType ""
// means Location.
func (s *Server) SetApproval(a Approval) error {
	if err := s.oauth.checkApproval(a); err != nil {
		return err
	}
	a.UserType = cmp.Or(a.UserType, UserTypeLocation)
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	s.oauth.approval = a
	return nil
}

// AppID is the app's id (what /oauth/installedLocations takes as appId).
func (s *Server) AppID() string { return s.oauth.appID }

// CompanyID is the agency's id.
func (s *Server) CompanyID() string { return s.oauth.companyID }

// ClientID is the app's client id (the secret is Options.ClientSecret, or
// DefaultClientSecret).
func (s *Server) ClientID() string { return s.oauth.clientID }

// now is the authorization server's clock.
func (o *oauthState) now() time.Time { return o.s.now() }

// newToken makes a token that looks like HighLevel's, a JWT (header,
// claims, and a random signature); claims are the extra claims.
func (o *oauthState) newToken(kind string, g *grant, locationID string, exp time.Time, extra ...field) string {
	now := o.now()
	authClass, authClassID := g.userType, o.companyID
	if locationID != "" {
		authClass, authClassID = UserTypeLocation, locationID
	}
	claims := object{
		{"authClass", authClass},
		{"authClassId", authClassID},
		{"source", "INTEGRATION"},
		{"sourceId", o.clientID},
		{"channel", "OAUTH"},
		{"primaryAuthClassId", authClassID},
		{"oauthMeta", object{{"scopes", g.scopes}, {"client", o.appID}, {"clientKey", o.clientID}}},
		{"tokenType", kind},
		{"iat", now.Unix()},
		{"exp", exp.Unix()},
	}
	claims = append(claims, extra...)
	var sig [32]byte
	for i := 0; i < len(sig); i += 8 {
		binary.LittleEndian.PutUint64(sig[i:], o.s.rand.uint64())
	}
	head, _ := marshalJSON(object{{"alg", "HS256"}, {"typ", "JWT"}})
	body, _ := marshalJSON(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(head) + "." + enc.EncodeToString(body) + "." + enc.EncodeToString(sig[:])
}

// randomCode is an authorization code: 40 hex digits.
func (o *oauthState) randomCode() string {
	return fmt.Sprintf("%016x%016x%08x", o.s.rand.uint64(), o.s.rand.uint64(), uint32(o.s.rand.uint64()))
}

// issue makes an access token (and a refresh token when withRefresh) of
// g, for locationID ("" for an agency's token). o.mu is held.
func (o *oauthState) issue(g *grant, locationID string, withRefresh bool) (access, refresh string) {
	o.prune()
	now := o.now()
	exp := now.Add(o.tokenTTL)
	access = o.newToken("access", g, locationID, exp)
	o.access[access] = &accessToken{g: g, locationID: locationID, expires: exp}
	if withRefresh {
		rexp := now.Add(o.refreshTTL)
		refresh = o.newToken("refresh", g, locationID, rexp)
		o.refresh[refresh] = &refreshToken{g: g, expires: rexp}
	}
	return access, refresh
}

// prune forgets dead tokens and codes once the maps have grown. o.mu is
// held.
func (o *oauthState) prune() {
	if len(o.access)+len(o.refresh)+len(o.codes) < o.pruneAt {
		return
	}
	now := o.now()
	for k, a := range o.access {
		if a.revoked || a.g.revoked || !now.Before(a.expires) {
			delete(o.access, k)
		}
	}
	for k, c := range o.codes {
		if !now.Before(c.expires) {
			delete(o.codes, k)
		}
	}
	// Used refresh tokens are kept, so that their reuse is told apart
	// from an unknown token; expired ones go.
	for k, r := range o.refresh {
		if !now.Before(r.expires) {
			delete(o.refresh, k)
		}
	}
	o.pruneAt = 2 * (len(o.access) + len(o.refresh) + len(o.codes) + 512)
}

// lookup finds the principal of an OAuth access token.
func (o *oauthState) lookup(tok string) (principal, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a, ok := o.access[tok]
	switch {
	case !ok || a.revoked || a.g.revoked:
		o.st.RefusedTokenCalls++
		return principal{}, false
	case !o.now().Before(a.expires):
		o.st.ExpiredTokenCalls++
		return principal{}, false
	}
	p := principal{oauth: true, scopes: a.g.scopes, grant: a.g}
	if a.locationID != "" {
		p.loc = o.s.Location(a.locationID)
	}
	return p, true
}

func (o *oauthState) countScopeRefusal() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.st.ScopeRefusals++
}

func (o *oauthState) stats() OAuthStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.st
}

func (o *oauthState) resetStats() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.st = OAuthStats{}
	o.companyRequests.Store(0)
}

// revokeLocation revokes every OAuth token of a location: its Location
// grants, and the tokens minted for it from an agency's grant.
func (o *oauthState) revokeLocation(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range o.access {
		if a.locationID == id {
			a.revoked = true
		}
		if a.g.userType == UserTypeLocation && a.g.locationID == id {
			a.g.revoked = true
		}
	}
	for _, r := range o.refresh {
		if r.g.userType == UserTypeLocation && r.g.locationID == id {
			r.g.revoked = true
		}
	}
}

// ExpireAccessTokens makes every OAuth access token issued so far expired,
// as if their time had run out; refresh tokens are not touched. It
// returns how many live tokens it expired.
func (s *Server) ExpireAccessTokens() int {
	o := s.oauth
	o.mu.Lock()
	defer o.mu.Unlock()
	now, n := o.now(), 0
	for _, a := range o.access {
		if now.Before(a.expires) {
			a.expires = now
			n++
		}
	}
	return n
}

// RevokeGrants revokes every grant, as a user who removes the app does:
// every access and refresh token issued so far is refused from then on
// (a refresh answers 400 invalid_grant), and codes not yet used are void.
// It returns how many grants it revoked.
func (s *Server) RevokeGrants() int {
	o := s.oauth
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := map[*grant]bool{}
	mark := func(g *grant) {
		if !g.revoked && !seen[g] {
			seen[g] = true
			g.revoked = true
		}
	}
	for _, a := range o.access {
		mark(a.g)
	}
	for _, r := range o.refresh {
		mark(r.g)
	}
	for _, c := range o.codes {
		mark(c.g)
	}
	return len(seen)
}

// oauthError answers a refused grant the way OAuth 2.0 servers do (RFC
// 6749 section 5.2): {"error": code, "error_description": desc}; under the
// oauth-nest-errors quirk, as the API's other errors:
// {"statusCode", "message", "error"}.
func (s *Server) oauthError(w http.ResponseWriter, status int, code, desc string) {
	if s.quirkSet().has(QuirkOAuthNestErrors) {
		writeError(w, status, desc, http.StatusText(status))
		return
	}
	writeJSON(w, status, object{{"error", code}, {"error_description", desc}})
}

// readForm reads an application/x-www-form-urlencoded body. A body of
// another type is read as no fields, as a body parser that does not take
// it would leave it. It answers 400 (or 413) itself when the body is not
// readable.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		errBadRequest(w)
		return nil, false
	}
	if len(b) > maxJSONBody {
		errBodyTooLarge(w)
		return nil, false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return url.Values{}, true
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		errBadRequest(w)
		return nil, false
	}
	return v, true
}

// tokenFormFields are the fields of POST /oauth/token's body in the
// published schema (GetAccessCodebodyDto): no code_verifier.
var tokenFormFields = []string{"client_id", "client_secret", "grant_type", "code", "refresh_token", "user_type", "redirect_uri"}

// handleToken serves POST /oauth/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, _ call) {
	form, ok := readForm(w, r)
	if !ok {
		return
	}
	if s.quirkSet().has(QuirkPKCERefused) {
		// The body validated against the published schema, as NestJS's
		// forbidNonWhitelisted does, before anything else: a field it
		// does not list (code_verifier) is refused with 422, and nothing
		// is done (the code is not used up).
		var c checker
		c.onlyKeys("", slices.Collect(maps.Keys(form)), tokenFormFields...)
		if c.failed() {
			errValidation(w, c.msgs)
			return
		}
	}
	o := s.oauth
	if form.Get("client_id") != o.clientID || form.Get("client_secret") != o.clientSecret {
		o.mu.Lock()
		o.st.ClientRefused++
		if form.Get("grant_type") == "refresh_token" {
			o.st.RefreshRefused++
		}
		o.mu.Unlock()
		s.oauthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client credentials")
		return
	}
	userType := form.Get("user_type")
	if userType != "" && userType != UserTypeLocation && userType != UserTypeCompany {
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "user_type must be one of the following values: Company, Location")
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
		s.codeGrant(w, form, userType)
	case "refresh_token":
		s.refreshGrant(w, form, userType)
	case "":
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type should not be empty")
	default:
		s.oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+gt)
	}
}

// refusal is a grant refused: what oauthError is to say.
type refusal struct {
	status     int
	code, desc string
}

func (s *Server) codeGrant(w http.ResponseWriter, form url.Values, userType string) {
	o := s.oauth
	code := form.Get("code")
	if code == "" {
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "code should not be empty")
		return
	}
	o.mu.Lock()
	answer, ref := o.exchangeCode(code, form.Get("redirect_uri"), userType, form.Get("code_verifier"))
	o.mu.Unlock()
	if ref != nil {
		s.oauthError(w, ref.status, ref.code, ref.desc)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// exchangeCode trades a code for tokens; verifier is the PKCE
// code_verifier sent ("" for none). o.mu is held.
func (o *oauthState) exchangeCode(code, redirectURI, userType, verifier string) (object, *refusal) {
	c, ok := o.codes[code]
	switch {
	case ok && c.used:
		o.st.CodeRefused++
		o.st.CodeReused++
		return nil, &refusal{http.StatusBadRequest, "invalid_grant", "Authorization code has already been used"}
	case !ok || c.g.revoked || !o.now().Before(c.expires):
		o.st.CodeRefused++
		return nil, &refusal{http.StatusBadRequest, "invalid_grant", "Invalid or expired authorization code"}
	case redirectURI != c.redirectURI:
		o.st.CodeRefused++
		return nil, &refusal{http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the one the code was issued to"}
	case userType != "" && userType != c.g.userType:
		o.st.CodeRefused++
		return nil, &refusal{http.StatusBadRequest, "invalid_request", "user_type " + userType + " does not match the grant (" + c.g.userType + ")"}
	case c.challenge != "" && verifier == "":
		o.st.CodeRefused++
		return nil, &refusal{http.StatusBadRequest, "invalid_request", "code_verifier required"}
	case c.challenge != "" && pkceChallenge(verifier, c.method) != c.challenge:
		o.st.CodeRefused++
		return nil, &refusal{http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge"}
	}
	if c.g.userType == UserTypeLocation {
		if l := o.s.Location(c.g.locationID); l == nil || !l.Installed() {
			o.st.CodeRefused++
			return nil, &refusal{http.StatusBadRequest, "invalid_grant", "The app is not installed in the location"}
		}
	}
	c.used = true
	o.st.CodeGrants++
	return o.tokenAnswer(c.g), nil
}

func (s *Server) refreshGrant(w http.ResponseWriter, form url.Values, userType string) {
	o := s.oauth
	tok := form.Get("refresh_token")
	if tok == "" {
		s.oauthError(w, http.StatusBadRequest, "invalid_request", "refresh_token should not be empty")
		return
	}
	quirks := s.quirkSet()
	o.mu.Lock()
	answer, ref := o.useRefresh(tok, userType, quirks)
	o.mu.Unlock()
	if ref != nil {
		s.oauthError(w, ref.status, ref.code, ref.desc)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// useRefresh trades a refresh token for a new pair. o.mu is held.
func (o *oauthState) useRefresh(tok, userType string, q quirks) (object, *refusal) {
	rt, ok := o.refresh[tok]
	switch {
	case ok && rt.used:
		o.st.RefreshRefused++
		o.st.RefreshReused++
		if q.has(QuirkRefreshReuseRevokes) {
			rt.g.revoked = true
		}
		return nil, &refusal{http.StatusBadRequest, "invalid_grant", "Invalid grant: refresh token has already been used"}
	case !ok || rt.g.revoked || !o.now().Before(rt.expires):
		o.st.RefreshRefused++
		return nil, &refusal{http.StatusBadRequest, "invalid_grant", "Invalid grant: refresh token is invalid"}
	case userType != "" && userType != rt.g.userType:
		o.st.RefreshRefused++
		return nil, &refusal{http.StatusBadRequest, "invalid_request", "user_type " + userType + " does not match the grant (" + rt.g.userType + ")"}
	}
	rt.used = true
	if q.has(QuirkRefreshRevokesAccess) {
		for _, a := range o.access {
			if a.g == rt.g && a.locationID == rt.g.locationID {
				a.revoked = true
			}
		}
	}
	o.st.Refreshes++
	return o.tokenAnswer(rt.g), nil
}

// tokenAnswer issues a new pair of g and writes the grant's answer. o.mu
// is held.
func (o *oauthState) tokenAnswer(g *grant) object {
	access, refresh := o.issue(g, g.locationID, true)
	ans := object{
		{"access_token", access},
		{"token_type", "Bearer"},
		{"expires_in", expiresIn(o.tokenTTL)},
		{"refresh_token", refresh},
		{"scope", strings.Join(g.scopes, " ")},
		{"userType", g.userType},
	}
	if g.userType == UserTypeLocation {
		ans = append(ans, field{"locationId", g.locationID})
	}
	ans = append(ans, field{"companyId", o.companyID})
	if g.userType == UserTypeCompany {
		approved := []string{}
		for _, l := range o.s.locs {
			if l.Installed() {
				approved = append(approved, l.id)
			}
		}
		ans = append(ans, field{"approvedLocations", approved})
	}
	return append(ans, field{"userId", o.userID})
}

// expiresIn is a lifetime in whole seconds, at least 1.
func expiresIn(d time.Duration) int64 { return max(1, int64(d/time.Second)) }

// pkceChallenge is the code_challenge of verifier by method (RFC 7636
// section 4.2): S256, BASE64URL(SHA256(verifier)) without padding; or
// plain, the verifier itself.
func pkceChallenge(verifier, method string) string {
	if method == "plain" {
		return verifier
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize is the authorize page's decision for one request: a code,
// or the OAuth error to redirect with. challenge and method are the PKCE
// code_challenge and code_challenge_method ("" for none), kept with the
// code.
func (o *oauthState) authorize(redirectURI, scope, challenge, method string) (code, oauthErr string) {
	if challenge != "" {
		if method == "" {
			method = "plain" // RFC 7636 section 4.3
		}
		if method != "S256" && method != "plain" {
			return "", "invalid_request"
		}
		// A verifier is 43 to 128 characters; so is an S256 challenge
		// (43) and a plain one.
		if len(challenge) < 43 || len(challenge) > 128 {
			return "", "invalid_request"
		}
	}
	asked := strings.Fields(scope)
	for _, sc := range asked {
		if !slices.Contains(o.appScopes, sc) {
			return "", "invalid_scope"
		}
	}
	if len(asked) == 0 {
		asked = slices.Clone(o.appScopes)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	a := o.approval
	if a.Deny {
		return "", "access_denied"
	}
	var scopes []string
	for _, sc := range asked {
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	g := &grant{userType: a.UserType, scopes: scopes}
	if g.userType == UserTypeLocation {
		l := o.s.primary
		if a.LocationID != "" {
			l = o.s.Location(a.LocationID)
		}
		g.locationID = l.id
		l.installed.Store(true) // approving installs the app there
	}
	o.prune()
	code = o.randomCode()
	o.codes[code] = &authCode{g: g, redirectURI: redirectURI, expires: o.now().Add(o.codeTTL), challenge: challenge, method: method}
	o.st.Authorizations++
	return code, ""
}

// AuthCode is what the authorize page does, without HTTP: it approves as
// Approval says, and returns a code for redirectURI (which the exchange
// must send as redirect_uri) with the scopes asked (none: every scope of
// the app).
func (s *Server) AuthCode(redirectURI string, scopes ...string) (string, error) {
	code, e := s.oauth.authorize(redirectURI, strings.Join(scopes, " "), "", "")
	if e != "" {
		return "", errors.New("ghltest: authorization refused: " + e)
	}
	return code, nil
}

// serveAuthorize serves GET /v2/oauth/chooselocation (and the older
// /oauth/chooselocation), the stand-in for the
// page where a user picks the location (or agency) and approves the app:
// it approves at once, as Approval says, and redirects (302) to
// redirect_uri with code and state. A code_challenge (PKCE) is kept with
// the code, and its exchange must then send the matching code_verifier;
// under the pkce-ignored and pkce-refused quirks it is not kept (the
// code's exchange takes any code_verifier, or none; under pkce-refused
// the token endpoint refuses the field itself), as a server without PKCE
// would do.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if s.Faults().Down {
		errDown(w)
		return
	}
	if r.Method != http.MethodGet {
		authorizePage(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	o := s.oauth
	q := r.URL.Query()
	if q.Get("client_id") != o.clientID {
		authorizePage(w, http.StatusBadRequest, "Unknown client_id")
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "" || redirect.Fragment != "" ||
		(len(o.redirectURIs) > 0 && !slices.Contains(o.redirectURIs, q.Get("redirect_uri"))) {
		authorizePage(w, http.StatusBadRequest, "Invalid redirect_uri")
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if quirks := s.quirkSet(); quirks.has(QuirkPKCEIgnored) || quirks.has(QuirkPKCERefused) {
		challenge, method = "", ""
	}
	back := redirect.Query()
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	if q.Get("response_type") != "code" {
		back.Set("error", "unsupported_response_type")
	} else if code, e := o.authorize(q.Get("redirect_uri"), q.Get("scope"), challenge, method); e != "" {
		back.Set("error", e)
	} else {
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// authorizePage answers an authorize request that cannot be redirected.
func authorizePage(w http.ResponseWriter, status int, msg string) {
	body := "<!doctype html><title>Authorization failed</title><p>" + msg + "</p>\n"
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
