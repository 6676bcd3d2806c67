package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/internal/wire"
)

// Defaults of the real service.
const (
	DefaultBaseURL = wire.DefaultBaseURL
	APIVersion     = wire.APIVersion
)

// DefaultStorageHosts are the hosts HighLevel serves file bytes from.
var DefaultStorageHosts = []string{
	"storage.googleapis.com",
	"assets.cdn.filesafe.space",
	"firebasestorage.googleapis.com",
}

// Config configures a Client. Token and LocationID are required.
type Config struct {
	BaseURL    string // default DefaultBaseURL
	Token      string // a Private Integration Token or an OAuth access token
	LocationID string
	UserAgent  string       // default "ghlfs"
	HTTPClient *http.Client // default: a client with sane transport timeouts
	// PageSize is the limit asked for on each list page (default 100).
	PageSize int
	// RateLimit requests per RateWindow is the budget the client keeps to on
	// its own (default 100 per 10s, the published burst limit); negative
	// turns client-side pacing off.
	RateLimit  int
	RateWindow time.Duration
	// RetryTimeout bounds the time spent retrying one call (default 2m),
	// and the wait for each page of a listing. A context deadline, when
	// shorter, wins.
	RetryTimeout time.Duration
	// MaxRetryAfter caps the pause a server's Retry-After or
	// X-RateLimit-* headers can impose (default 60s): no single answer
	// stalls every call for long.
	MaxRetryAfter time.Duration
	// StorageHosts are hosts ("host" or "host:port") file bytes may come
	// from, besides DefaultStorageHosts.
	StorageHosts []string
	// TokenSource, when set, gives the token again after the API answered
	// 401 (a token file rewritten with a rotated token): a call is then
	// sent once more with the new token.
	TokenSource func() (string, error)
	// Auth, when set, gives the tokens instead of Token and TokenSource
	// (an OAuth TokenFile, refreshed; a location token minted from an
	// agency's).
	Auth remote.Authorizer
	// MaxUploadSize is the largest image or other file uploaded (default
	// MaxUploadSize); a video may be larger (see UploadLimit).
	MaxUploadSize int64
	// MaxListItems bounds one listing (default remote.DefaultMaxListItems).
	MaxListItems int
	// MaxListAnswer bounds the body of one whole-library listing's answer
	// (fetchAll; default remote.MaxListAnswerBytes).
	MaxListAnswer int64
	Logger        *slog.Logger
	// Clock is the time the pacer and the retries go by (default the real
	// one): tests inject a fake one.
	Clock clockwork.Clock
}

// Client talks to one location's Media Storage. Its requests go through
// the request core (remote.Core): pacing, retries, stats, storage reads.
type Client struct {
	core     *remote.Core
	location string
	maxItems int
	maxList  int64 // Config.MaxListAnswer
	retryFor time.Duration
	maxSize  int64
	log      *slog.Logger
	clk      clockwork.Clock
	place    placement

	mu       sync.Mutex
	pageSize int // the limit List asks for; lowered when a server refuses it
	// pageFloor is, for each kind of listing, the largest page the server
	// has returned: a page shorter than that is surely the last one.
	pageFloor map[string]int
	// sortHints is, for a listing that needed another order than the
	// first to read cleanly, the index of that order in listOrders.
	sortHints map[string]int
	// refusedOrders are the indexes in listOrders the server refused.
	refusedOrders map[int]bool
	// missingRoutes are the routes the service answered as unknown paths
	// (routes.go), by route.
	missingRoutes map[string]*RouteError
	// bulkGate lets one removal at a time through to the bulk route until
	// the service has answered one (routes.go, firstCall); bulkKnown is
	// set, under mu, once it has.
	bulkGate  chan struct{}
	bulkKnown bool
	// trashByDelete says once, at the first trash sent as DELETE
	// /medias/{id} (routes.go), what that may do.
	trashByDelete sync.Once
	// unpaged are the kinds of listing (ListQuery.kind) the server was
	// seen to answer whole, ignoring offset and limit.
	unpaged map[string]bool
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" && cfg.Auth == nil {
		return nil, errors.New("remote: no API token")
	}
	if cfg.LocationID == "" {
		return nil, errors.New("remote: no location id")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("remote: bad API base URL %q", remote.RedactURL(cfg.BaseURL))
	}
	if err := remote.CheckAPIURL(base); err != nil {
		return nil, err
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 100
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = 10 * time.Second
	}
	if cfg.MaxListItems <= 0 {
		cfg.MaxListItems = remote.DefaultMaxListItems
	}
	if cfg.MaxListAnswer <= 0 {
		cfg.MaxListAnswer = remote.MaxListAnswerBytes
	}
	if cfg.RetryTimeout <= 0 {
		cfg.RetryTimeout = 2 * time.Minute
	}
	if cfg.MaxUploadSize <= 0 {
		cfg.MaxUploadSize = MaxUploadSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Auth == nil {
		cfg.Auth = remote.StaticToken(cfg.Token, cfg.TokenSource, cfg.Logger)
	}
	location := cfg.LocationID
	core, err := remote.NewCore(remote.CoreConfig{
		Base:          base,
		UserAgent:     cfg.UserAgent,
		HTTPClient:    cfg.HTTPClient,
		RateLimit:     cfg.RateLimit,
		RateWindow:    cfg.RateWindow,
		RetryTimeout:  cfg.RetryTimeout,
		MaxRetryAfter: cfg.MaxRetryAfter,
		StorageHosts:  append(slices.Clone(DefaultStorageHosts), cfg.StorageHosts...),
		Auth:          cfg.Auth,
		Published:     remote.PublishedLimits{Burst: PublishedBurstLimit, Window: PublishedBurstWindow, Daily: PublishedDailyLimit},
		Hooks: remote.Hooks{
			Authorize:  func(h http.Header, token string) { h.Set("Authorization", "Bearer "+token) },
			Header:     http.Header{"Version": {APIVersion}, "Accept": {"application/json"}},
			ParseError: wire.ParseError,
			Window:     wire.RateWindow,
			Limits:     wire.ServerLimits,
			Incurable:  func(e *remote.Error) string { return incurableAdvice(e, location) },
		},
		Logger: cfg.Logger,
		Clock:  cfg.Clock,
	})
	if err != nil {
		return nil, err
	}
	return &Client{
		core:          core,
		location:      location,
		pageSize:      cfg.PageSize,
		maxItems:      cfg.MaxListItems,
		maxList:       cfg.MaxListAnswer,
		retryFor:      cfg.RetryTimeout,
		maxSize:       cfg.MaxUploadSize,
		log:           cfg.Logger,
		clk:           cfg.Clock,
		pageFloor:     make(map[string]int),
		sortHints:     make(map[string]int),
		refusedOrders: make(map[int]bool),
		unpaged:       make(map[string]bool),
		missingRoutes: make(map[string]*RouteError),
		bulkGate:      make(chan struct{}, 1),
	}, nil
}

// call describes one API request.
type call struct {
	method   string
	endpoint string // pattern for errors and logs, e.g. "/medias/{id}"
	path     string
	query    url.Values
	// body returns a fresh request body and its content type for each
	// attempt; nil means no body.
	body func() (io.Reader, string, error)
	// length is the body's length when body gives a reader whose length
	// net/http cannot tell (else it is sent chunked).
	length int64
	// version is the Version header; "" = APIVersion.
	version string
	// maxBody bounds the answer's body; 0 = remote.MaxAnswerBytes.
	maxBody int64
	// idempotent requests are retried after 5xx answers and broken
	// connections; others only when the server surely did not act (429,
	// a connection that never opened).
	idempotent bool
}

func jsonBody(v []byte) func() (io.Reader, string, error) {
	return func() (io.Reader, string, error) {
		return bytes.NewReader(v), "application/json", nil
	}
}

// errAmbiguous marks a failed non-idempotent request that may have taken
// effect on the server all the same.
var errAmbiguous = remote.ErrAmbiguous

// do sends cl with pacing and retries (remote.Core.Do), and returns the
// 2xx body.
func (c *Client) do(ctx context.Context, cl call) ([]byte, error) {
	rc := remote.Call{Method: cl.method, Endpoint: cl.endpoint, Path: cl.path, Query: cl.query,
		Body: cl.body, Length: cl.length, MaxBody: cl.maxBody, Idempotent: cl.idempotent}
	if cl.version != "" {
		rc.Header = http.Header{"Version": {cl.version}}
	}
	return c.core.Do(ctx, rc)
}

// IncurableAdvice is the log line of a 401 that no new token cures:
// its cause, the API's words, and what to do; location is the one the
// call was for ("" if none).
func IncurableAdvice(e *remote.Error, location string) string {
	call := e.Method + " " + e.Endpoint
	switch e.Cause {
	case remote.ErrScope:
		return fmt.Sprintf("the API refuses the token's scope for %s (%q): a new token of the same login would be refused too, so ghlfs does not refresh it; grant the app or Private Integration the scope this needs (medias.readonly to read, medias.write to change; the agency's oauth.readonly, oauth.write, locations.readonly) and log in again or give a new token", call, e.Message)
	case remote.ErrWrongLocation:
		if location == "" {
			location = "the one asked for"
		}
		return fmt.Sprintf("the API says the token is for another location than %s (%s: %q): ghlfs does not refresh it; check --location and the token (file) the mount uses", location, call, e.Message)
	case remote.ErrVersion:
		return fmt.Sprintf("the API refuses the Version header ghlfs sends (%s: %q): no new token cures that; a newer ghlfs may be needed", call, e.Message)
	}
	return e.Error()
}

func (c *Client) values() url.Values {
	return url.Values{"altType": {"location"}, "altId": {c.location}}
}

func (c *Client) altBody(m map[string]any) []byte {
	m["altType"] = "location"
	m["altId"] = c.location
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // maps of strings and slices always marshal
	}
	return b
}

// escapeID makes an id one segment of a URL path, whatever it holds: a
// '/' or '?' is escaped, and so is an id "." or "..", which a server or a
// proxy would otherwise take as a step up the path.
func escapeID(id string) string {
	e := url.PathEscape(id)
	if strings.Trim(e, ".") == "" {
		e = strings.ReplaceAll(e, ".", "%2E")
	}
	return e
}
