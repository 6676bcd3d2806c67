package ghltest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultToken      = "demo-token"
	DefaultLocationID = "demo-location"
	DefaultPageCap    = 100
	DefaultRateLimit  = 100
	DefaultRateWindow = 10 * time.Second
	DefaultDailyLimit = 200000
)

// Upload limits, read the conservative way (decimal MB): upload-file takes
// files up to MaxUploadSize, and, with Version v3, videos up to
// MaxVideoUploadSize.
const (
	MaxUploadSize      = 25_000_000
	MaxVideoUploadSize = 500_000_000
)

// Options configure a Server. The zero value is usable.
type Options struct {
	Token      string // bearer token the API accepts; default DefaultToken
	LocationID string // the one location (sub-account) served; default DefaultLocationID
	Seed       string // "" (empty library) or "demo"
	// DataDir, when set, keeps the library on disk there and reloads it on
	// start. The seed is applied only when the directory holds no state.
	DataDir string
	// PageCap is the most items one list page returns; default 100.
	PageCap int
	// MinimalFields leaves size, contentType, createdAt and updatedAt out of
	// items, and parentId out of root items.
	MinimalFields bool
	// RateLimit is how many requests one location may make per RateWindow;
	// default 100, negative turns the limit off.
	RateLimit  int
	RateWindow time.Duration // default 10s
	// DailyLimit is how many requests one location may make per UTC day;
	// default 200000, negative turns the limit off.
	DailyLimit int
	Faults     Faults // initial faults
	// Quirks turns on behaviours the real service may have (see
	// KnownQuirks); none by default.
	Quirks []string
	Logger *slog.Logger // nil discards logs
	Now    func() time.Time
	// Rand, when set, drives every random choice (fault draws, ids,
	// traceIds) so that a run can be repeated. It is used under a lock.
	Rand *mrand.Rand

	// Locations lists the locations served, each with its own library,
	// tokens and rate limiter (the limit is per app per location). The
	// first is the one Token, Items, AddFile and the other library methods
	// of Server act on, and LocationID, when set, must be its id. Empty:
	// one location, LocationID, seeded with Seed. DemoLocations(n) gives n
	// demo locations.
	Locations []LocationOptions
	// TokenScopes are the scopes of Token (a Private Integration Token);
	// nil gives it every scope (KnownScopes).
	TokenScopes []string

	// OAuth (see the package documentation). The fake is one Marketplace
	// app of one agency (company) that owns every location served.

	// ClientID and ClientSecret are the app's credentials; defaults
	// DefaultClientID and DefaultClientSecret. AppID is the app's id, what
	// /oauth/installedLocations takes as appId; default the part of
	// ClientID before its first "-".
	ClientID, ClientSecret, AppID string
	// CompanyID is the agency's id; default DefaultCompanyID. UserID is the
	// user who installs the app; default DefaultUserID.
	CompanyID, UserID string
	// CompanyToken is an agency Private Integration Token ("" none): it
	// may call /locations/search, but not the OAuth-only endpoints nor the
	// media endpoints.
	CompanyToken string
	// AppScopes are the scopes the app may be granted; default KnownScopes.
	AppScopes []string
	// TokenTTL is how long an OAuth access token lives; default 86399s
	// (DefaultTokenTTL). expires_in gives it in whole seconds.
	TokenTTL time.Duration
	// RefreshTTL is how long an unused refresh token lives; default a year.
	RefreshTTL time.Duration
	// CodeTTL is how long an authorization code lives; default 10 minutes.
	CodeTTL time.Duration
	// Approve is what the authorize page approves: "Location" (default)
	// or "Company". ApproveLocation is the location approved; default the
	// first. RedirectURIs are the app's redirect URIs; empty allows any
	// http or https URI.
	Approve, ApproveLocation string
	RedirectURIs             []string
}

// Server is a fake HighLevel Media Storage service.
type Server struct {
	// URL is the base URL of the started server, "http://HOST:PORT". The API
	// base URL is the same: endpoints are at URL+"/medias/...".
	URL string

	token   string
	rotated atomic.Pointer[string] // the token since SetToken; nil: token
	scopes  []string               // of token; nil: every scope
	loc     string                 // the first location's id
	seed    string
	pageCap int
	minimal bool
	now     func() time.Time
	log     *slog.Logger
	rand    *lockedRand
	store   *store     // the first location's
	disk    *persister // the first location's; nil: memory only
	limiter *limiter   // the first location's
	stats   *stats

	locs    []*Location // every location, the first first
	primary *Location   // locs[0]
	oauth   *oauthState
	company *limiter // the agency's calls (location listing, location tokens)

	faultsMu sync.RWMutex
	faults   Faults
	cuts     [][]string // CutNext's endpoints, the next cut first

	quirksMu sync.RWMutex
	quirks   quirks

	csv socialCSV // the social planner's CSV imports (socialcsv.go)

	mu       sync.Mutex // guards the fields below
	base     string     // URL, for handlers
	srv      *http.Server
	closed   bool
	handlers sync.WaitGroup

	hooks testHooks
}

// testHooks let this package's tests follow a request without sleeping.
// They are set before the first request and never changed.
type testHooks struct {
	uploadWaiting func()            // an upload starts waiting UploadDelay
	uploadDone    func(stored bool) // an upload that passed validation ends
}

// New builds a server and its library (loaded from DataDir, or seeded) but
// does not listen: use Start, or serve Handler yourself.
func New(opts Options) (*Server, error) {
	s := &Server{
		token:   cmp.Or(opts.Token, DefaultToken),
		loc:     cmp.Or(opts.LocationID, DefaultLocationID),
		seed:    opts.Seed,
		pageCap: opts.PageCap,
		minimal: opts.MinimalFields,
		now:     opts.Now,
		log:     opts.Logger,
		rand:    &lockedRand{r: opts.Rand},
		stats:   newStats(),
	}
	if s.pageCap <= 0 {
		s.pageCap = DefaultPageCap
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	err := opts.Faults.validate()
	if err != nil {
		return nil, err
	}
	s.faults = opts.Faults
	if s.quirks, err = parseQuirks(opts.Quirks); err != nil {
		return nil, fmt.Errorf("ghltest: %w", err)
	}

	limit := opts.RateLimit
	if limit == 0 {
		limit = DefaultRateLimit
	}
	los, err := locationOptions(opts)
	if err != nil {
		return nil, err
	}
	if s.scopes, err = parseScopes(opts.TokenScopes, true); err != nil {
		return nil, err
	}
	for i, lo := range los {
		l, err := s.newLocation(i, lo, opts, limit)
		if err != nil {
			return nil, err
		}
		s.locs = append(s.locs, l)
	}
	s.primary = s.locs[0]
	s.loc, s.store, s.disk, s.limiter = s.primary.id, s.primary.store, s.primary.disk, s.primary.limiter
	if opts.DataDir != "" && len(opts.Locations) > 0 {
		if err := saveLocations(opts.DataDir, s.locs); err != nil {
			return nil, fmt.Errorf("ghltest: writing %s: %w", opts.DataDir, err)
		}
	}
	window, daily := opts.RateWindow, opts.DailyLimit
	if window <= 0 {
		window = DefaultRateWindow
	}
	if daily == 0 {
		daily = DefaultDailyLimit
	}
	s.company = newLimiter(s.now, limit, window, daily)
	if s.oauth, err = newOAuthState(s, opts); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) applySeed(l *Location, seed string) error {
	switch seed {
	case "":
		return nil
	case "demo":
		if l.index == 0 {
			seedDemo(l.store)
		} else {
			seedDemoFor(l.store, l.name, l.address)
		}
		if s.quirks.has(QuirkUnstableTies) {
			seedBulkImport(l.store)
		}
		return nil
	}
	return fmt.Errorf("ghltest: unknown seed %q (want \"\" or \"demo\")", seed)
}

// NewServer is New followed by Start("127.0.0.1:0").
func NewServer(opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return s, nil
}

// Start listens on addr ("" = "127.0.0.1:0"), serves in the background and
// sets URL.
func (s *Server) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil || s.closed {
		return errors.New("ghltest: server already started or closed")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ghltest: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()
	s.base = s.URL
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("ghlfake: serve", "err", err)
		}
	}()
	s.log.Info("ghlfake: listening", "url", s.URL, "location", s.loc, "seed", s.seed)
	return nil
}

// Close stops the server at once: it closes the listener and every
// connection, and waits for running handlers to return. The library stays
// readable through Items, Item and Content.
func (s *Server) Close() {
	srv := s.stop()
	if srv != nil {
		_ = srv.Close()
	}
	s.handlers.Wait()
}

// Shutdown stops the server gracefully: it stops accepting connections and
// waits for the running requests, or for ctx, whichever ends first; then it
// closes what is left as Close does.
func (s *Server) Shutdown(ctx context.Context) error {
	srv := s.stop()
	var err error
	if srv != nil {
		err = srv.Shutdown(ctx)
		_ = srv.Close()
	}
	s.handlers.Wait()
	return err
}

func (s *Server) stop() *http.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.srv
}

// enter registers a running handler, unless the server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.handlers.Add(1)
	return true
}

// Handler returns the fake's HTTP handler: API, storage and control paths.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		errDown(w)
		return
	}
	defer s.handlers.Done()
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	switch p := r.URL.Path; {
	case p == "/_ghlfake" || strings.HasPrefix(p, "/_ghlfake/"):
		s.serveControl(rec, r)
	case strings.HasPrefix(p, "/storage/"):
		s.serveStorage(rec, r)
	case p == "/oauth/chooselocation", p == "/v2/oauth/chooselocation":
		// The authorize page moved to /v2/... in the docs (2026-05); the
		// official SDK still opens the old one: both are served.
		s.serveAuthorize(rec, r)
	default:
		s.serveAPI(rec, r)
	}
	s.log.Debug("request", "method", r.Method, "uri", r.URL.RequestURI(),
		"status", rec.status, "bytes", rec.bytes, "duration", time.Since(start))
}

// baseURL is the URL storage links are made from: the started server's, or
// the one the request came in on when the handler is served elsewhere.
func (s *Server) baseURL(r *http.Request) string {
	s.mu.Lock()
	base := s.base
	s.mu.Unlock()
	if base != "" || r == nil {
		return base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// recorder notes the status and body bytes of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(p []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(p)
	rw.bytes += int64(n)
	return n, err
}

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// lockedRand is Options.Rand behind a lock, or the global generators.
type lockedRand struct {
	mu sync.Mutex
	r  *mrand.Rand
}

func (l *lockedRand) float64() float64 {
	if l.r == nil {
		return mrand.Float64()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func (l *lockedRand) uint64() uint64 {
	if l.r == nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return binary.LittleEndian.Uint64(b[:])
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64()
}

// traceID returns a random UUID (version 4), as the service puts in
// traceId.
func (s *Server) traceID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], s.rand.uint64())
	binary.LittleEndian.PutUint64(b[8:], s.rand.uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Items returns every item of the first location, including trashed and
// deleted ones, sorted by id.
func (s *Server) Items() []Item { return s.primary.Items() }

// Item returns one item of the first location, whatever its status.
func (s *Server) Item(id string) (Item, bool) { return s.primary.Item(id) }

// Content returns a copy of a file's bytes (of the first location),
// whatever its status.
func (s *Server) Content(id string) ([]byte, bool) { return s.primary.Content(id) }

// AddFolder creates a folder in the first location under parentID ("" =
// root) and returns its id. It panics when parentID is not an active
// folder.
func (s *Server) AddFolder(parentID, name string) string {
	return s.primary.AddFolder(parentID, name)
}

// AddFile creates a file in the first location under parentID ("" = root)
// and returns its id. An empty contentType is guessed from the name's
// extension. It panics when parentID is not an active folder or the bytes
// cannot be stored.
func (s *Server) AddFile(parentID, name, contentType string, data []byte) string {
	return s.primary.AddFile(parentID, name, contentType, data)
}

// AddFiles creates files in the first location under parentID ("" =
// root), all with one creation time, as a bulk import makes them, and
// returns their ids. data[i] is the content of names[i]; content types are
// guessed from the names.
func (s *Server) AddFiles(parentID string, names []string, data [][]byte) []string {
	return s.primary.AddFiles(parentID, names, data)
}

func (s *Server) publicItem(it item) Item {
	out := Item{
		ID:          it.id,
		Name:        it.name,
		Type:        it.typ,
		ParentID:    it.parentID,
		Status:      it.status,
		ContentType: it.contentType,
		Size:        it.size,
		CreatedAt:   it.createdAt,
		UpdatedAt:   it.updatedAt,
		Essential:   it.essential,
		AppFolder:   it.appFolder,
	}
	if it.typ == TypeFile {
		out.URL = it.urlFrom(s.baseURL(nil))
	}
	return out
}
