// Package remote is the client of the HighLevel Media Storage API: requests,
// auth headers, pacing, retries and typed errors. It knows nothing of FUSE.
//
// Locks: Client.mu, pacer.mu, clientStats.mu and usage.mu are leaves, never
// held together nor across a request; a request's goroutine owns its own state.
//
// Where requests may go (policy.go): API calls to the API's own scheme,
// host and port only, the token never following a redirect elsewhere; file
// bytes over https from the storage allow-list only. No error of this
// package carries a url's query string or userinfo.
package remote

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Defaults of the real service.
const (
	DefaultBaseURL = "https://services.leadconnectorhq.com"
	APIVersion     = "2021-07-28"
)

// Bounds on what a server may send; past them its data is refused or cut,
// so that a broken or hostile server cannot make ghlfs hold unbounded
// memory or wait for ever.
const (
	// DefaultMaxListItems is how many items one listing (one folder's
	// files, or its folders; or the whole library with fetchAll) may bring
	// before it is stopped with ErrListTooLong.
	DefaultMaxListItems = 1_000_000
	// MaxAnswerBytes bounds the body of one API answer (a list page of a
	// thousand items is well under 1 MiB); a larger one fails with
	// ErrAnswerTooLarge.
	MaxAnswerBytes = 16 << 20
	// MaxListAnswerBytes bounds the body of one whole-library listing's
	// answer (fetchAll): a server may answer it at once, unpaged, and
	// 100,000 items take 45 MB from the fake (about 450 bytes each); this
	// leaves room for items twice that size. A larger answer fails with
	// ErrAnswerTooLarge, and the cache then lists folder by folder. A
	// page of one folder's listing is held to MaxAnswerBytes.
	MaxListAnswerBytes = 96 << 20
	// MaxIDBytes bounds an item's id; a listed item with a longer one is
	// skipped (and counted in one log line).
	MaxIDBytes = 256
	// MaxNameBytes bounds an item's name: a longer one is cut at a
	// character boundary.
	MaxNameBytes = 1024
	// MaxFileSize bounds a file's size as listed; a larger one is taken as
	// unknown (and asked of the storage host).
	MaxFileSize = 1 << 40
)

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
	Auth Authorizer
	// MaxUploadSize is the largest image or other file uploaded (default
	// MaxUploadSize); a video may be larger (see UploadLimit).
	MaxUploadSize int64
	// MaxListItems bounds one listing (default DefaultMaxListItems).
	MaxListItems int
	// MaxListAnswer bounds the body of one whole-library listing's answer
	// (fetchAll; default MaxListAnswerBytes).
	MaxListAnswer int64
	Logger        *slog.Logger
	// Clock is the time the pacer and the retries go by (default the real
	// one): tests inject a fake one.
	Clock clockwork.Clock
}

// Client talks to one location's Media Storage.
type Client struct {
	base     *url.URL
	location string
	ua       string
	http     *http.Client // API calls: redirects only within the API's origin
	storage  *http.Client // file bytes: redirects only within the allow-list
	policy   *storagePolicy
	maxItems int
	maxList  int64 // Config.MaxListAnswer
	retryFor time.Duration
	maxWait  time.Duration // cap on a server-imposed wait
	auth     Authorizer
	maxSize  int64
	log      *slog.Logger
	clk      clockwork.Clock
	pacer    *pacer
	usage    *usage // usage.go
	clock    serverClock
	place    placement
	stats    clientStats // counters for Stats (stats.go)

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
	quotaLogged   bool
	// missingRoutes are the routes the service answered as unknown paths
	// (routes.go), by route.
	missingRoutes map[string]*RouteError
	// trashByDelete says once, at the first trash sent as DELETE
	// /medias/{id} (routes.go), what that may do.
	trashByDelete sync.Once
	// unpaged are the kinds of listing (ListQuery.kind) the server was
	// seen to answer whole, ignoring offset and limit.
	unpaged map[string]bool
	// incurable holds the 401s of a cause no new token cures that were
	// logged, by cause and endpoint: each is logged once.
	incurable map[incurableKey]bool
}

type incurableKey struct {
	cause            error
	method, endpoint string
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
		return nil, fmt.Errorf("remote: bad API base URL %q", redactURL(cfg.BaseURL))
	}
	if err := checkAPIURL(base); err != nil {
		return nil, err
	}
	policy, err := newStoragePolicy(base, cfg.StorageHosts)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "ghlfs"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: newTransport()}
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
		cfg.MaxListItems = DefaultMaxListItems
	}
	if cfg.MaxListAnswer <= 0 {
		cfg.MaxListAnswer = MaxListAnswerBytes
	}
	if cfg.RetryTimeout <= 0 {
		cfg.RetryTimeout = 2 * time.Minute
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 60 * time.Second
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
		cfg.Auth = &staticAuth{token: cfg.Token, src: cfg.TokenSource, log: cfg.Logger}
	}
	api, storage := *cfg.HTTPClient, *cfg.HTTPClient
	api.CheckRedirect = apiRedirect
	storage.CheckRedirect = policy.storageRedirect
	return &Client{
		base:          base,
		location:      cfg.LocationID,
		ua:            cfg.UserAgent,
		http:          &api,
		storage:       &storage,
		policy:        policy,
		pageSize:      cfg.PageSize,
		maxItems:      cfg.MaxListItems,
		maxList:       cfg.MaxListAnswer,
		retryFor:      cfg.RetryTimeout,
		maxWait:       cfg.MaxRetryAfter,
		auth:          cfg.Auth,
		maxSize:       cfg.MaxUploadSize,
		log:           cfg.Logger,
		clk:           cfg.Clock,
		pacer:         newPacer(cfg.Clock, cfg.RateLimit, cfg.RateWindow, cfg.MaxRetryAfter),
		usage:         newUsage(cfg.RateLimit, cfg.RateWindow),
		pageFloor:     make(map[string]int),
		sortHints:     make(map[string]int),
		refusedOrders: make(map[int]bool),
		incurable:     make(map[incurableKey]bool),
		unpaged:       make(map[string]bool),
		missingRoutes: make(map[string]*RouteError),
	}, nil
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	// Small: a read of a body into a chunk buffer at least this large goes
	// straight from the socket, where a buffer as large as the chunk was
	// filled and then copied out.
	t.ReadBufferSize = 16 << 10
	t.ResponseHeaderTimeout = 60 * time.Second
	t.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// LocationID is the location this client works on.
func (c *Client) LocationID() string { return c.location }

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
	// maxBody bounds the answer's body; 0 = MaxAnswerBytes.
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
var errAmbiguous = errors.New("the request may have been carried out")

// do sends c with pacing and retries, and returns the 2xx body.
func (c *Client) do(ctx context.Context, cl call) ([]byte, error) {
	deadline := c.clk.Now().Add(c.retryFor)
	// cl.path is escaped (an id in it may hold a '/'): keep it as it is.
	u := *c.base
	u.RawPath = c.base.EscapedPath() + cl.path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", cl.method, cl.endpoint, err)
	}
	u.Path = p
	u.RawQuery = cl.query.Encode()
	reauthed := false
	for attempt := 0; ; attempt++ {
		if err := c.pacer.wait(ctx); err != nil {
			return nil, err
		}
		token, err := c.auth.Token(ctx)
		if err != nil {
			c.reportIfIncurable(err) // a location token the agency's may not mint
			return nil, fmt.Errorf("%s %s: %w", cl.method, cl.endpoint, err)
		}
		body, status, err := c.send(ctx, cl, u.String(), token)
		if err == nil {
			return body, nil
		}
		var local *localError
		if errors.As(err, &local) {
			return nil, local.err // nothing was sent: nothing to retry
		}
		if errors.Is(err, ErrAnswerTooLarge) {
			return nil, err // it would be as large again
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", cl.method, cl.endpoint, ctx.Err())
		}
		if errors.Is(err, ErrRefused) {
			return nil, fmt.Errorf("%s %s: %w", cl.method, cl.endpoint, err) // can never succeed
		}
		var wait time.Duration
		var apiErr *Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Cause != nil:
			// A 401 whose cause no new token cures (the scope, the
			// location, the Version header): no refresh is spent on it
			// (refresh tokens are single use), no token file read again.
			c.reportIncurable(apiErr)
			return nil, apiErr
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
			// A 401 was not acted on. A token rotated in HighLevel and
			// rewritten in the token file, or an OAuth token refreshed,
			// needs no remount: send once more with the new one.
			if reauthed {
				return nil, apiErr
			}
			if renewed, rerr := c.auth.Refused(ctx, token); rerr != nil {
				c.reportIfIncurable(rerr)
				return nil, fmt.Errorf("%s %s: %w", cl.method, cl.endpoint, rerr)
			} else if !renewed {
				return nil, apiErr
			}
			reauthed = true
			attempt--
			c.stats.retry(cl.method, cl.endpoint)
			continue
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests:
			if apiErr.Daily {
				c.reportQuota(apiErr)
				return nil, apiErr
			}
			// The server did not act on a 429: retry whatever the method.
			wait = min(apiErr.RetryAfter, c.maxWait)
			if wait <= 0 {
				wait = backoff(attempt, time.Second, 20*time.Second)
			}
			c.pacer.pause(wait)
		case errors.As(err, &apiErr):
			if !apiErr.retryable() {
				return nil, apiErr
			}
			if !cl.idempotent {
				return nil, fmt.Errorf("%w: %w", errAmbiguous, apiErr)
			}
			wait = max(min(apiErr.RetryAfter, c.maxWait), backoff(attempt, 250*time.Millisecond, 10*time.Second))
		default: // the connection failed
			if !cl.idempotent && (status != 0 || !neverSent(err)) {
				return nil, fmt.Errorf("%w: %w", errAmbiguous, err)
			}
			wait = backoff(attempt, 250*time.Millisecond, 10*time.Second)
		}
		if c.clk.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return nil, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		c.log.Debug("retrying", "method", cl.method, "endpoint", cl.endpoint, "attempt", attempt+1, "wait", wait, "err", err)
		if err := sleepCtx(ctx, c.clk, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w", cl.method, cl.endpoint, err)
		}
		c.stats.retry(cl.method, cl.endpoint)
	}
}

// send makes one attempt. status is the HTTP status when an answer began.
func (c *Client) send(ctx context.Context, cl call, target, token string) ([]byte, int, error) {
	var rd io.Reader
	var ctype string
	if cl.body != nil {
		var err error
		if rd, ctype, err = cl.body(); err != nil {
			return nil, 0, &localError{err}
		}
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, rd)
	if err != nil {
		return nil, 0, &localError{redactErr(err)}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if cl.length > 0 {
		req.ContentLength = cl.length
	}
	req.Header.Set("Version", cmp.Or(cl.version, APIVersion))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	c.usage.sent(c.clk.Now())
	resp, err := c.http.Do(req)
	c.stats.call(cl.method, cl.endpoint, statusOf(resp))
	if err != nil {
		return nil, 0, redactErr(err)
	}
	defer resp.Body.Close()
	c.pacer.observe(resp.Header)
	c.usage.observe(resp.Header, resp.StatusCode, c.clk.Now())
	c.clock.observe(resp.Header.Get("Date"), c.clk.Now())
	limit := cmp.Or(cl.maxBody, MaxAnswerBytes)
	if resp.ContentLength > limit {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: %w: the server announced %d bytes, more than %d", cl.method, cl.endpoint, ErrAnswerTooLarge, resp.ContentLength, limit)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead) // one allocation for a large listing
	}
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	body := buf.Bytes()
	if err == nil && int64(len(body)) > limit {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: %w: more than %d bytes", cl.method, cl.endpoint, ErrAnswerTooLarge, limit)
	}
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: reading the answer: %w", cl.method, cl.endpoint, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, resp.StatusCode, parseError(cl.method, cl.endpoint, resp, body)
	}
	return body, resp.StatusCode, nil
}

// localError is a failure on this side before a request was sent, such
// as a file to upload that cannot be opened.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// neverSent reports whether a transport error happened before the request
// could reach the server (so that resending cannot duplicate its effect).
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// reportIncurable logs, once per cause and endpoint, a 401 that no new
// token cures, naming the cause and what the user can do; the failures
// that follow are the callers' to report, quietly (cache.ErrTokenUnfit).
func (c *Client) reportIncurable(e *Error) {
	k := incurableKey{e.Cause, e.Method, e.Endpoint}
	c.mu.Lock()
	first := !c.incurable[k]
	c.incurable[k] = true
	c.mu.Unlock()
	if first {
		c.log.Error(IncurableAdvice(e, c.location), "method", e.Method, "endpoint", e.Endpoint, "status", e.Status, "message", e.Message)
	}
}

// reportIfIncurable reports the 401 of no curable cause that err holds,
// if any (a token the Authorizer could not give: a location token the
// agency's token may not mint, say).
func (c *Client) reportIfIncurable(err error) {
	var e *Error
	if errors.As(err, &e) && e.Cause != nil {
		c.reportIncurable(e)
	}
}

// IncurableAdvice is the log line of a 401 that no new token cures:
// its cause, the API's words, and what to do; location is the one the
// call was for ("" if none).
func IncurableAdvice(e *Error, location string) string {
	call := e.Method + " " + e.Endpoint
	switch e.Cause {
	case ErrScope:
		return fmt.Sprintf("the API refuses the token's scope for %s (%q): a new token of the same login would be refused too, so ghlfs does not refresh it; grant the app or Private Integration the scope this needs (medias.readonly to read, medias.write to change; the agency's oauth.readonly, oauth.write, locations.readonly) and log in again or give a new token", call, e.Message)
	case ErrWrongLocation:
		if location == "" {
			location = "the one asked for"
		}
		return fmt.Sprintf("the API says the token is for another location than %s (%s: %q): ghlfs does not refresh it; check --location and the token (file) the mount uses", location, call, e.Message)
	case ErrVersion:
		return fmt.Sprintf("the API refuses the Version header ghlfs sends (%s: %q): no new token cures that; a newer ghlfs may be needed", call, e.Message)
	}
	return e.Error()
}

func (c *Client) reportQuota(e *Error) {
	c.mu.Lock()
	first := !c.quotaLogged
	c.quotaLogged = true
	c.mu.Unlock()
	if first {
		c.log.Error("the location's daily API quota is used up; calls fail until it resets", "message", e.Message)
	}
}
