package iktest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/ghlfs/ghlfs/remote/internal/fakenet"
)

// DefaultKey is the private key a Server takes when Options gives none.
const DefaultKey = "private_iktest_0123456789abcdef"

// Defaults of the fake's behaviour.
const (
	DefaultEndpointID   = "ghlfs"
	DefaultJobPolls     = 2
	DefaultMaxVersions  = 100
	DefaultMaxUpload    = 25_000_000
	DefaultMaxVideo     = 100_000_000
	DefaultStaleReads   = 3
	DefaultRateInterval = time.Second
)

// Options configure a Server.
type Options struct {
	// PrivateKey is the account's private API key (default DefaultKey).
	PrivateKey string
	// EndpointID is the url endpoint's path segment: files are served
	// at URL/EndpointID/<filePath> (default DefaultEndpointID).
	EndpointID string
	// Quirks are the named behaviours of quirks.go to turn on.
	Quirks []string
	// RateLimit is how many requests one API endpoint takes per
	// RateInterval (uploads are not limited); 0 or less: no limit.
	RateLimit    int
	RateInterval time.Duration
	// JobPolls is how many polls a folder job answers Pending before it
	// is done (default DefaultJobPolls; negative: none).
	JobPolls int
	// MaxVersions bounds a file's versions (default 100, as documented).
	MaxVersions int
	// MaxUpload and MaxVideo are the largest upload of a file and of a
	// video (default the free plan's: 25 MB and 100 MB).
	MaxUpload, MaxVideo int64
	// StaleReads is how many reads of a url the CDN answers with its old
	// copy after the file changed, under the cdn-stale quirk (default 3).
	StaleReads int
	// Now is the fake's clock (default time.Now).
	Now func() time.Time
}

// Server is the fake: the API, the upload host and the CDN on one
// address (URL).
type Server struct {
	// URL is the base of the API (URL/v1/...), of the upload host
	// (URL/api/v1/files/upload) and of the CDN (Endpoint).
	URL string
	// Endpoint is the url endpoint: URL + "/" + EndpointID.
	Endpoint string

	opts Options
	hs   *httptest.Server

	mu      sync.Mutex
	quirks  quirkSet
	nodes   map[string]*node
	seq     uint64
	jobs    map[string]*job
	cdn     map[string]*cdnEntry // cdn-stale: the CDN's copies, by url (path and query)
	refuse  map[string]string    // file ids a bulk delete refuses, with the error
	faults  Faults
	net     *fakenet.Plumbing // CutNext's, FailNext's and Calls' (guarded by mu)
	windows map[string]*window
	shifted map[string]bool // skip-shifts: the paths whose listing was shifted once
}

// node is a file or a folder.
type node struct {
	id, firstID string
	folder      bool
	name        string
	dir         string // the folder's path: "" the root, "/a/b"
	deleted     bool
	created     time.Time
	updated     time.Time
	seq         uint64
	versions    []version // files: the current one last
	nums        int       // files: versions numbered so far
}

type version struct {
	id   string
	num  int // "Version <num>": 1 for the first, never taken again
	data []byte
	mime string
	at   time.Time
}

func (n *node) path() string { return n.dir + "/" + n.name }

func (n *node) current() *version { return &n.versions[len(n.versions)-1] }

// NewServer starts a fake on a loopback port.
func NewServer(o Options) (*Server, error) {
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	s.hs = httptest.NewServer(s)
	s.setURL(s.hs.URL)
	return s, nil
}

// New returns a fake not yet serving: an http.Handler, served by the
// caller (SetAddr then says where).
func New(o Options) (*Server, error) {
	if o.PrivateKey == "" {
		o.PrivateKey = DefaultKey
	}
	if o.EndpointID == "" {
		o.EndpointID = DefaultEndpointID
	}
	if strings.ContainsAny(o.EndpointID, "/?#% ") || o.EndpointID == "v1" || o.EndpointID == "api" {
		return nil, fmt.Errorf("iktest: endpoint id %q: a single path segment other than v1 and api", o.EndpointID)
	}
	if o.JobPolls == 0 {
		o.JobPolls = DefaultJobPolls
	}
	o.JobPolls = max(o.JobPolls, 0)
	if o.MaxVersions <= 0 {
		o.MaxVersions = DefaultMaxVersions
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = DefaultMaxUpload
	}
	if o.MaxVideo <= 0 {
		o.MaxVideo = DefaultMaxVideo
	}
	if o.StaleReads <= 0 {
		o.StaleReads = DefaultStaleReads
	}
	if o.RateInterval <= 0 {
		o.RateInterval = DefaultRateInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	q, err := parseQuirks(o.Quirks)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, quirks: q, nodes: map[string]*node{}, jobs: map[string]*job{}, cdn: map[string]*cdnEntry{},
		refuse: map[string]string{}, windows: map[string]*window{}, shifted: map[string]bool{}}
	s.net = fakenet.NewPlumbing(&s.mu)
	return s, nil
}

// SetAddr sets URL and Endpoint from the address ("host:port") a
// server of New is served at (its caller's own http.Server).
func (s *Server) SetAddr(addr string) { s.setURL("http://" + addr) }

func (s *Server) setURL(u string) {
	s.URL = u
	s.Endpoint = u + "/" + s.opts.EndpointID
}

// Close stops a server NewServer started.
func (s *Server) Close() {
	if s.hs != nil {
		s.hs.Close()
	}
}

// Key is the private key the server takes.
func (s *Server) Key() string { return s.opts.PrivateKey }

// ServeHTTP routes a request: the CDN under the endpoint's path, the
// upload host's one route, the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/"+s.opts.EndpointID+"/"):
		s.serveCDN(w, r, strings.TrimPrefix(p, "/"+s.opts.EndpointID))
	case p == "/api/v1/files/upload":
		s.serveCall(w, r, false)
	case strings.HasPrefix(p, "/v1/"):
		s.serveCall(w, r, true)
	default:
		writeJSON(w, http.StatusNotFound, errBody("Not Found", ""))
	}
}

// newID is 24 hex digits, as ImageKit's ids are. mu held.
func (s *Server) newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// now is the fake's clock, to the millisecond (as the API writes it).
func (s *Server) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// folderAt is the active folder at path p ("" the root: nil, true). mu
// held.
func (s *Server) folderAt(p string) (*node, bool) {
	if p == "" {
		return nil, true
	}
	for _, n := range s.nodes {
		if n.folder && !n.deleted && n.path() == p {
			return n, true
		}
	}
	return nil, false
}

// fileAt is the active file at path p. mu held.
func (s *Server) fileAt(p string) *node {
	for _, n := range s.nodes {
		if !n.folder && !n.deleted && n.path() == p {
			return n
		}
	}
	return nil
}

// below is every active item under folder path p. mu held.
func (s *Server) below(p string) []*node {
	var out []*node
	for _, n := range s.nodes {
		if !n.deleted && (n.dir == p || strings.HasPrefix(n.dir, p+"/")) {
			out = append(out, n)
		}
	}
	return out
}

// ensureFolder makes every folder of path p that is missing (names as
// given: already rewritten). mu held.
func (s *Server) ensureFolder(p string) {
	if p == "" {
		return
	}
	dir, name := splitPath(p)
	s.ensureFolder(dir)
	if _, ok := s.folderAt(p); ok {
		return
	}
	s.add(&node{folder: true, name: name, dir: dir})
}

// add stores a new node. mu held.
func (s *Server) add(n *node) *node {
	s.seq++
	n.id = s.newID()
	n.firstID = n.id
	n.seq = s.seq
	n.created = s.now()
	n.updated = n.created
	s.nodes[n.id] = n
	return n
}

// addVersion makes data n's current version. mu held.
func (s *Server) addVersion(n *node, data []byte, mime string) {
	n.nums++
	v := version{id: s.newID(), num: n.nums, data: data, mime: mime, at: s.now()}
	n.versions = append(n.versions, v)
	n.updated = v.at
	s.changed(n.path())
}

// splitPath cuts "/a/b/c" into "/a/b" and "c".
func splitPath(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// cleanPath reads a path as the API takes it ("/a/b/", "a/b", "/"):
// "" for the root, else "/a/b". Empty segments, "." and ".." are
// refused.
func cleanPath(p string) (string, error) {
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" {
		return "", nil
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", errors.New("invalid path")
		}
	}
	return "/" + p, nil
}
