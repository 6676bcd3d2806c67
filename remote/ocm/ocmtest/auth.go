package ocmtest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote/internal/fakenet"
)

// Link roles (doc: public links and applinks grant a role).
const (
	RoleViewer      = "viewer"      // lists and reads item information, no bytes
	RoleDownloader  = "downloader"  // viewer, and downloads
	RoleContributor = "contributor" // downloader, and writes
	RoleManager     = "manager"     // applinks: as contributor here
	roleOwner       = "owner"       // a bearer token: the user's own library
)

// link is a public link (linkID, optional access code) or an applink
// (appLinkID and accessToken) over a folder.
type link struct {
	id, role, code, token string
	app                   bool
	folder                *node
}

// access is who a request acts as, and where.
type access struct {
	who   *user // nil: a public link's anonymous visitor
	role  string
	scope *node // nil: the whole library; else the linked folder
}

// canWrite reports whether the role writes.
func (a *access) canWrite() bool {
	return a.role == roleOwner || a.role == RoleContributor || a.role == RoleManager
}

// reach answers why a may not touch n (nil: it may): outside the link's
// folder (403 -20).
func (s *Server) reach(a *access, n *node, service string) *reply {
	if a.scope != nil && !below(n, a.scope) {
		r := denied(a.who, n.id, service)
		return &r
	}
	return nil
}

// see is the item of id a may read, or why not. mu held.
func (s *Server) see(a *access, id, service string) (*node, *reply) {
	n := s.lookup(id)
	if n == nil || inTrash(n) {
		r := notFound(id)
		return nil, &r
	}
	if r := s.reach(a, n, service); r != nil {
		return nil, r
	}
	return n, nil
}

// change is the item of id a may write (into, for a folder a new item
// goes in: the link's own folder too), or why not. mu held.
func (s *Server) change(a *access, id, service string, into bool) (*node, *reply) {
	n, rep := s.see(a, id, service)
	if rep != nil {
		return nil, rep
	}
	if !a.canWrite() || !into && (n == s.home || n == a.scope) {
		r := denied(a.who, id, service)
		return nil, &r
	}
	return n, nil
}

// param is a request's parameter from its query or its headers, under
// either spelling the doc allows (appLinkID or AppLinkID ...).
func param(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.URL.Query().Get(n); v != "" {
			return v
		}
		if v := r.Header.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// authorize reads a request's credentials: an applink (appLinkID and
// accessToken), a public link (linkID, and its access code in the cookie
// dAccessCode-<linkID>), else a bearer token. A failure is the reply to
// answer. mu held.
func (s *Server) authorize(r *http.Request) (*access, *reply) {
	if id := param(r, "appLinkID", "AppLinkID"); id != "" {
		l := s.links[id]
		if l == nil || !l.app || inTrash(l.folder) {
			return nil, linkInvalid(id)
		}
		tok := param(r, "accessToken", "AccessToken")
		if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(l.token)) != 1 {
			return nil, s.unauthorized()
		}
		return &access{who: s.owner, role: l.role, scope: l.folder}, nil
	}
	if id := param(r, "linkID", "LinkID"); id != "" {
		l := s.links[id]
		if l == nil || l.app || inTrash(l.folder) {
			return nil, linkInvalid(id)
		}
		if l.code != "" {
			c, err := r.Cookie("dAccessCode-" + id)
			if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(l.code)) != 1 {
				r := fail(http.StatusForbidden, CodeAccessCode, "!csFldUnableToProcess!csAccessCodeRequiredForLinkAccess",
					"The access code must be provided to access the link.", id)
				return nil, &r
			}
		}
		return &access{role: l.role, scope: l.folder}, nil
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, s.unauthorized()
	}
	if s.opts.StaticToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.StaticToken)) == 1 {
		return &access{who: s.owner, role: roleOwner}, nil
	}
	if exp, found := s.tokens[tok]; found && s.opts.Now().Before(exp) {
		return &access{who: s.owner, role: roleOwner}, nil
	}
	return nil, s.unauthorized()
}

// linkInvalid is the refusal of a link the fake does not hold (never
// made, removed: RemoveLink) or whose folder is in the trash: 400 -26,
// "the link is invalid or expired" (doc Error-Messages; its errorKey a
// guess).
func linkInvalid(id string) *reply {
	r := fail(http.StatusBadRequest, CodeLinkInvalid, "!csFldUnableToProcess!csLinkInvalidOrExpired,"+id,
		"The link is invalid or has expired.", id)
	return &r
}

// unauthorized is the 401 of missing, unknown or expired credentials.
// mu held.
func (s *Server) unauthorized() *reply {
	s.net.Calls[Unauthorized]++
	return &reply{status: http.StatusUnauthorized, header: http.Header{"Www-Authenticate": {`Bearer realm="ocm"`}},
		body: errBody(CodeBadRequest, "!csUserNotAuthenticated", "The user is not authenticated.", "")}
}

// serveToken is the identity domain's token endpoint (doc
// Authorization.html; [Tk] serverUtils.js): POST, HTTP Basic client id and
// secret, form grant_type=client_credentials or password (username,
// password), scope ending in urn:opc:cec:all. The answer: access_token,
// token_type Bearer, expires_in (seconds, a number). Errors are OAuth's
// ({"error", "error_description"}). Down, FailNext and CutNext apply,
// not the random faults.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.faults.Down
	failNow := s.net.Fails.Take(EndpointToken)
	s.net.Calls[EndpointToken]++
	s.mu.Unlock()
	oauthErr := func(status int, code, desc string) {
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
	}
	switch {
	case down:
		oauthErr(http.StatusServiceUnavailable, "temporarily_unavailable", "Service Unavailable")
		return
	case failNow:
		oauthErr(http.StatusInternalServerError, "server_error", "Internal Server Error")
		return
	case r.Method != http.MethodPost:
		oauthErr(http.StatusMethodNotAllowed, "invalid_request", "Use POST.")
		return
	}
	id, secret, hasBasic := r.BasicAuth()
	if !hasBasic || subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="idcs"`)
		oauthErr(http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(http.StatusBadRequest, "invalid_request", "The request could not be read.")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
	case "password":
		if r.PostForm.Get("username") != s.opts.User || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("password")), []byte(s.opts.Password)) != 1 {
			oauthErr(http.StatusBadRequest, "invalid_grant", "The username or password is wrong.")
			return
		}
	default:
		oauthErr(http.StatusBadRequest, "unsupported_grant_type", "Use client_credentials or password.")
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	for _, sc := range scopes {
		if !strings.HasSuffix(sc, ScopeSuffix) {
			oauthErr(http.StatusBadRequest, "invalid_scope", "The scope "+sc+" is not granted.")
			return
		}
	}
	if len(scopes) == 0 {
		oauthErr(http.StatusBadRequest, "invalid_scope", "A scope is required.")
		return
	}
	var b [32]byte
	rand.Read(b[:])
	tok := "ocmfake." + base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	life := s.opts.TokenLife
	s.tokens[tok] = s.opts.Now().Add(life)
	cutNow := s.net.Cuts.Take(EndpointToken)
	s.mu.Unlock()
	if cutNow {
		fakenet.Cut(w)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int64((life + time.Second - 1) / time.Second)})
}

// ExpireTokens makes every token the token endpoint gave expired (the
// static token apart).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
}

// AddLink makes a public link over folder id with a role (RoleViewer,
// RoleDownloader, RoleContributor) and an access code ("" none), and
// returns its linkID. A folder or role that is not there panics.
func (s *Server) AddLink(folderID, role, accessCode string) string {
	l, err := s.addLink(folderID, role, accessCode, false)
	if err != nil {
		panic(err)
	}
	return l.id
}

// AddAppLink makes an applink over folder id with a role, and returns
// its appLinkID and accessToken.
func (s *Server) AddAppLink(folderID, role string) (appLinkID, accessToken string) {
	l, err := s.addLink(folderID, role, "", true)
	if err != nil {
		panic(err)
	}
	return l.id, l.token
}

func (s *Server) addLink(folderID, role, code string, app bool) (*link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.resolve(folderID)
	if f == nil || !f.folder || inTrash(f) {
		return nil, fmt.Errorf("ocmtest: no folder %s to link", folderID)
	}
	switch role {
	case RoleViewer, RoleDownloader, RoleContributor, RoleManager:
	default:
		return nil, fmt.Errorf("ocmtest: link role %q: viewer, downloader, contributor or manager", role)
	}
	l := &link{id: "LF" + randHex(42), role: role, code: code, app: app, folder: f}
	if app {
		l.id = "LA" + randHex(64)
		l.token = randHex(64)
	}
	s.links[l.id] = l
	return l, nil
}

// RemoveLink ends a public link or an applink.
func (s *Server) RemoveLink(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.links, id)
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))[:n]
}
