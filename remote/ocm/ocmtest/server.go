package ocmtest

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/ghlfs/ghlfs/remote/internal/fakenet"
)

// BasePath is the Documents API's base path: every API route is under it.
const BasePath = "/documents/api/1.2/"

// TokenPath is the identity domain's token endpoint, served on the same
// address as the API.
const TokenPath = "/oauth2/v1/token"

// Defaults of the fake's credentials and behaviour.
const (
	DefaultClientID     = "ocmfake-client"
	DefaultClientSecret = "ocmfake-secret-0123456789"
	DefaultUser         = "ocm.user@example.com"
	DefaultPassword     = "ocmfake-password"
	DefaultTokenLife    = time.Hour
	DefaultPageLimit    = 50
	MaxPageLimit        = 10000
	// ScopeSuffix ends every scope the token endpoint grants (doc:
	// <primaryAudience>/urn:opc:cec:all).
	ScopeSuffix = "urn:opc:cec:all"
)

// Options configure a Server.
type Options struct {
	// ClientID and ClientSecret are the identity domain application's
	// credentials the token endpoint takes (HTTP Basic).
	ClientID, ClientSecret string
	// User and Password are the account the password grant takes; every
	// token acts as User (its login name).
	User, Password string
	// StaticToken, when set, is a bearer token the API always takes (a
	// token a user pasted into a file: it never expires here).
	StaticToken string
	// TokenLife is how long a token of the token endpoint lives
	// (default DefaultTokenLife); expires_in says it in whole seconds,
	// rounded up.
	TokenLife time.Duration
	// Quirks are the named behaviours of quirks.go to turn on.
	Quirks []string
	// VersionCap is the admin's cap on versions per file (0: none): an
	// upload past it deletes the oldest. The quirk version-cap=N sets it
	// too (the quirk wins).
	VersionCap int
	// Now is the fake's clock (default time.Now).
	Now func() time.Time
}

// Server is the fake: the Documents API and the token endpoint on one
// address (URL).
type Server struct {
	// URL is the instance's address: the API is at URL + BasePath, the
	// token endpoint at URL + TokenPath.
	URL string

	opts Options
	hs   *httptest.Server

	mu     sync.Mutex
	quirks quirkSet
	nodes  map[string]*node
	home   *node
	seq    uint64
	owner  *user
	users  map[string]*user // by login name
	tokens map[string]time.Time
	links  map[string]*link // public links and applinks, by id
	faults Faults
	net    *fakenet.Plumbing // CutNext's, FailNext's and Calls' (guarded by mu)
}

// node is a file or a folder (or the home folder).
type node struct {
	id          string
	folder      bool
	name        string
	description string
	parent      *node          // nil: the home folder
	kids        map[*node]bool // a folder's items, trashed ones too (an index of parent)
	trashed     bool           // put in the trash itself (what is below is hidden with it)
	purged      bool           // gone for good (kept for Items)
	seq         uint64
	created     time.Time
	modified    time.Time
	createdBy   *user
	modifiedBy  *user
	versions    []*version // files: the current one last
	nextVersion int
	reservedBy  *user
	reservedAt  time.Time
}

type version struct {
	num      int
	data     []byte
	mime     string
	created  time.Time
	by       *user
	name     string // the file's name when it was made
	modified time.Time
}

// linkUser is the login the fake writes for a public link's visitor.
const linkUser = "publiclink"

// user is an account the fake knows (the owner, or one a test reserves
// a file as).
type user struct{ id, login, display string }

func (n *node) current() *version { return n.versions[len(n.versions)-1] }

// NewServer starts a fake on a loopback port (plain http: the real
// service is HTTPS only).
func NewServer(o Options) (*Server, error) {
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	s.hs = httptest.NewServer(s)
	s.URL = s.hs.URL
	return s, nil
}

// New returns a fake not yet serving: an http.Handler, served by the
// caller (SetAddr then says where).
func New(o Options) (*Server, error) {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.User == "" {
		o.User = DefaultUser
	}
	if o.Password == "" {
		o.Password = DefaultPassword
	}
	if o.TokenLife <= 0 {
		o.TokenLife = DefaultTokenLife
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	q, err := parseQuirks(o.Quirks)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, quirks: q, nodes: map[string]*node{}, users: map[string]*user{},
		tokens: map[string]time.Time{}, links: map[string]*link{}}
	s.net = fakenet.NewPlumbing(&s.mu)
	s.owner = s.userNamed(o.User)
	s.home = &node{id: s.newID(true), folder: true, name: "Home", created: s.now(), createdBy: s.owner, modifiedBy: s.owner}
	s.home.modified = s.home.created
	s.nodes[s.home.id] = s.home
	return s, nil
}

// SetAddr sets URL from the address ("host:port") a server of New is
// served at (its caller's own http.Server).
func (s *Server) SetAddr(addr string) { s.URL = "http://" + addr }

// Close stops a server NewServer started.
func (s *Server) Close() {
	if s.hs != nil {
		s.hs.Close()
	}
}

// ClientID and ClientSecret are the credentials the token endpoint
// takes.
func (s *Server) ClientID() string     { return s.opts.ClientID }
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// Scope is a scope the token endpoint grants, of the doc's form
// https://<host>:443/urn:opc:cec:all (any ending in ScopeSuffix is
// granted).
func (s *Server) Scope() string {
	host := strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://")
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return "https://" + host + ":443/" + ScopeSuffix
}

// ServeHTTP routes a request: the control API, the token endpoint, the
// Documents API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, controlPrefix):
		s.serveControl(w, r)
	case p == TokenPath:
		s.serveToken(w, r)
	case strings.HasPrefix(p, BasePath):
		s.serveAPI(w, r)
	default:
		writeJSON(w, http.StatusNotFound, errBody(CodeNotFound, "!csResourceNotFound", "Not Found", ""))
	}
}

// newID is a GUID as OCM writes them: F (folder) or D (file), 23 hex
// digits, T and 19 digits (doc: D34A657B8723A96097F80926T0000000000100000001).
// mu held (or the server not yet shared).
func (s *Server) newID(folder bool) string {
	var b [12]byte
	rand.Read(b[:])
	prefix := "D"
	if folder {
		prefix = "F"
	}
	s.seq++
	return prefix + strings.ToUpper(hex.EncodeToString(b[:]))[:23] + fmt.Sprintf("T%019d", 100000000+s.seq)
}

// now is the fake's clock, to the second (as the API writes it).
func (s *Server) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

// userNamed is the user of a login name, made on first use. mu held.
func (s *Server) userNamed(login string) *user {
	if u := s.users[login]; u != nil {
		return u
	}
	var b [12]byte
	rand.Read(b[:])
	u := &user{id: "U" + strings.ToUpper(hex.EncodeToString(b[:])), login: login, display: login}
	if at := strings.IndexByte(login, '@'); at > 0 {
		u.display = login[:at]
	}
	s.users[login] = u
	return u
}

// publicID is the id the API writes for n: "self" for the home folder
// (doc examples), its GUID under home-guid.
func (s *Server) publicID(n *node) string {
	if n == s.home && !s.quirks.has(QuirkHomeGUID) {
		return "self"
	}
	return n.id
}

// lookup is the node of an id as a request names it ("self": the home
// folder), trashed or not; nil when there is none.
func (s *Server) lookup(id string) *node {
	if id == "self" {
		return s.home
	}
	if n := s.nodes[id]; n != nil && !n.purged {
		return n
	}
	return nil
}

// inTrash reports whether n, or a folder above it, is in the trash.
func inTrash(n *node) bool {
	for ; n != nil; n = n.parent {
		if n.trashed {
			return true
		}
	}
	return false
}

// children is a folder's items outside the trash, in no order. mu held.
func (s *Server) children(f *node) []*node {
	var out []*node
	for n := range f.kids {
		if !n.trashed {
			out = append(out, n)
		}
	}
	return out
}

// taken is the item of folder f whose name is name ignoring case (other
// than except), outside the trash. mu held.
func (s *Server) taken(f *node, name string, except *node) *node {
	for _, n := range s.children(f) {
		if n != except && strings.EqualFold(n.name, name) {
			return n
		}
	}
	return nil
}

// freeName is name, or the first of name(2), name(3)... free in f (a
// file's number goes before its extension). mu held.
func (s *Server) freeName(f *node, name string, folder bool, except *node) string {
	if s.taken(f, name, except) == nil {
		return name
	}
	stem, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); !folder && i > 0 {
		stem, ext = name[:i], name[i:]
	}
	for i := 2; ; i++ {
		if c := fmt.Sprintf("%s(%d)%s", stem, i, ext); s.taken(f, c, except) == nil {
			return c
		}
	}
}

// below reports whether n is f or inside it.
func below(n, f *node) bool {
	for ; n != nil; n = n.parent {
		if n == f {
			return true
		}
	}
	return false
}

// add stores a new item in parent (by nil: a public link's visitor). mu
// held.
func (s *Server) add(parent *node, name string, folder bool, by *user) *node {
	by = cmp.Or(by, s.userNamed(linkUser))
	n := &node{id: s.newID(folder), folder: folder, name: name, seq: s.seq, created: s.now(),
		createdBy: by, modifiedBy: by}
	n.modified = n.created
	s.nodes[n.id] = n
	n.setParent(parent)
	return n
}

// setParent puts n in folder p, out of the one it was in. mu held.
func (n *node) setParent(p *node) {
	if n.parent != nil {
		delete(n.parent.kids, n)
	}
	if p.kids == nil {
		p.kids = map[*node]bool{}
	}
	n.parent, p.kids[n] = p, true
}

// addVersion makes data n's current version, and keeps the version cap
// (the oldest deleted). mu held.
func (s *Server) addVersion(n *node, data []byte, mime string, by *user) *version {
	by = cmp.Or(by, s.userNamed(linkUser))
	n.nextVersion++
	v := &version{num: n.nextVersion, data: data, mime: mime, created: s.now(), by: by, name: n.name}
	v.modified = v.created
	n.versions = append(n.versions, v)
	n.modified, n.modifiedBy = v.created, by
	if c := s.versionCap(); c > 0 && len(n.versions) > c {
		n.versions = append([]*version(nil), n.versions[len(n.versions)-c:]...)
	}
	return v
}

// versionCap is the cap on versions per file now (0: none). mu held.
func (s *Server) versionCap() int {
	if s.quirks.versionCap > 0 {
		return s.quirks.versionCap
	}
	return max(s.opts.VersionCap, 0)
}
