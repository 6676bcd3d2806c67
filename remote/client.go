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
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// The request core: what every backend's client shares. A backend
// describes its service with Hooks (how to authorise a request, how to
// read its error bodies and rate-limit headers, which hosts file bytes
// may come from) and sends its calls with Core.Do; the core paces them
// (pacer.go), retries what may be retried, renews a refused token once
// (Authorizer), counts everything (stats.go, usage.go), learns the
// server's clock (clock.go), and reads file bytes from their urls
// (storage.go) within the storage policy (policy.go).

// Bounds on what a server may send; past them its data is refused or cut,
// so that a broken or hostile server cannot make ghlfs hold unbounded
// memory or wait for ever.
const (
	// DefaultMaxListItems is how many items one listing (one folder's
	// files, or its folders; or the whole library) may bring before it is
	// stopped with ErrListTooLong.
	DefaultMaxListItems = 1_000_000
	// MaxAnswerBytes bounds the body of one API answer (a list page of a
	// thousand items is well under 1 MiB); a larger one fails with
	// ErrAnswerTooLarge.
	MaxAnswerBytes = 16 << 20
	// MaxListAnswerBytes bounds the body of one whole-library listing's
	// answer: a server may answer it at once, unpaged, and 100,000 items
	// take 45 MB from the fake (about 450 bytes each); this leaves room
	// for items twice that size. A larger answer fails with
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

// Hooks are what a backend tells the request core of its service. A nil
// hook does the default each names.
type Hooks struct {
	// Authorize sets a request's credentials from the token the
	// Authorizer gave (default: "Authorization: Bearer <token>").
	Authorize func(h http.Header, token string)
	// Header holds the headers every API request carries (a version,
	// Accept); a Call's own Header overrides them.
	Header http.Header
	// ParseError reads a failed answer, API or storage host (body is nil
	// for the storage host's, whose body may echo a signed url). Default
	// ErrorOf.
	ParseError func(method, endpoint string, resp *http.Response, body []byte) *Error
	// AnswerError reads a 2xx answer for a failure the service reports
	// inside it (OCM's negative errorCode in a 200): non-nil is that
	// failure, handled as a non-2xx answer of its Status would be
	// (retried, a token renewed ...). Default: a 2xx is a success.
	AnswerError func(method, endpoint string, resp *http.Response, body []byte) *Error
	// Window reads an answer's rate-limit headers for the pacer: ok when
	// they say how much of the server's window is left (default: none).
	Window func(h http.Header) (w RateWindow, ok bool)
	// Limits reads an answer's rate-limit headers for a status display:
	// ok when it has any (default: none).
	Limits func(h http.Header) (l ServerLimits, ok bool)
	// Incurable is the log line of a 401 no new token cures (an *Error
	// with a Cause): what it means and what to do (default e.Error()).
	// "" logs nothing: the call's caller says what the refusal means for
	// it (a part of the mount that is left out without the scope).
	Incurable func(e *Error) string
}

// RateWindow is what an answer's rate-limit headers say of the server's
// current window: Max requests per IntervalMS milliseconds, Remaining of
// them left (for every client of the account, not this one alone). The
// interval stays in milliseconds: a hostile value would overflow a
// time.Duration.
type RateWindow struct {
	Remaining, Max int
	IntervalMS     int64
}

// PublishedLimits are the limits a service publishes for a client: Burst
// requests per Window, Daily a day (0: none published).
type PublishedLimits struct {
	Burst  int
	Window time.Duration
	Daily  int64
}

// CoreConfig configures a Core. Base and Auth are required; the backend
// fills in its own defaults before.
type CoreConfig struct {
	// Base is the API's base url: a Call's Path is appended to it. Its
	// scheme and host are the only ones API requests (and redirects) go
	// to.
	Base       *url.URL
	UserAgent  string       // default "ghlfs"
	HTTPClient *http.Client // default: a client with sane transport timeouts
	// RateLimit requests per RateWindow is the budget the core keeps to
	// on its own; 0 or less turns client-side pacing off.
	RateLimit  int
	RateWindow time.Duration
	// RetryTimeout bounds the time spent retrying one call (default 2m).
	RetryTimeout time.Duration
	// MaxRetryAfter caps the pause a server's Retry-After or rate-limit
	// headers can impose (default 60s).
	MaxRetryAfter time.Duration
	// StorageHosts are the hosts ("host" or "host:port") file bytes may
	// come from: the service's own and the user's (policy.go).
	StorageHosts []string
	Auth         Authorizer
	// Published are the service's published limits, for Usage.
	Published PublishedLimits
	Hooks     Hooks
	Logger    *slog.Logger
	// Clock is the time the pacer and the retries go by (default the real
	// one): tests inject a fake one.
	Clock clockwork.Clock
}

// Core sends one backend's requests: see the top of this file.
type Core struct {
	base      *url.URL
	ua        string
	http      *http.Client // API calls: redirects only within the API's origin
	storage   *http.Client // file bytes: redirects only within the allow-list
	policy    *storagePolicy
	retryFor  time.Duration
	maxWait   time.Duration // cap on a server-imposed wait
	auth      Authorizer
	hooks     Hooks
	published PublishedLimits
	log       *slog.Logger
	clk       clockwork.Clock
	pacer     *pacer
	usage     *usage // usage.go
	clock     serverClock
	stats     clientStats // counters for Stats (stats.go)

	mu          sync.Mutex
	quotaLogged bool // guarded by mu
	// incurable holds the 401s of a cause no new token cures that were
	// logged, by cause and endpoint: each is logged once. Guarded by mu.
	incurable map[incurableKey]bool
}

type incurableKey struct {
	cause            error
	method, endpoint string
}

// NewCore returns the request core of cfg.
func NewCore(cfg CoreConfig) (*Core, error) {
	if cfg.Base == nil || cfg.Base.Host == "" {
		return nil, errors.New("remote: no API base URL")
	}
	if cfg.Auth == nil {
		return nil, errors.New("remote: no API token")
	}
	if err := CheckAPIURL(cfg.Base); err != nil {
		return nil, err
	}
	policy, err := newStoragePolicy(cfg.Base, cfg.StorageHosts)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "ghlfs"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: NewTransport()}
	}
	if cfg.RetryTimeout <= 0 {
		cfg.RetryTimeout = 2 * time.Minute
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Hooks.Authorize == nil {
		cfg.Hooks.Authorize = func(h http.Header, token string) { h.Set("Authorization", "Bearer "+token) }
	}
	if cfg.Hooks.ParseError == nil {
		cfg.Hooks.ParseError = ErrorOf
	}
	if cfg.Hooks.Incurable == nil {
		cfg.Hooks.Incurable = func(e *Error) string { return e.Error() }
	}
	api, storage := *cfg.HTTPClient, *cfg.HTTPClient
	api.CheckRedirect = APIRedirect
	storage.CheckRedirect = policy.storageRedirect
	return &Core{
		base:      cfg.Base,
		ua:        cfg.UserAgent,
		http:      &api,
		storage:   &storage,
		policy:    policy,
		retryFor:  cfg.RetryTimeout,
		maxWait:   cfg.MaxRetryAfter,
		auth:      cfg.Auth,
		hooks:     cfg.Hooks,
		published: cfg.Published,
		log:       cfg.Logger,
		clk:       cfg.Clock,
		pacer:     newPacer(cfg.Clock, cfg.RateLimit, cfg.RateWindow, cfg.MaxRetryAfter),
		usage:     newUsage(cfg.RateLimit, cfg.RateWindow, cfg.Published.Window),
		incurable: make(map[incurableKey]bool),
	}, nil
}

// NewTransport is the transport of a client made without an http.Client
// of its own: sane timeouts, connections kept for reuse.
func NewTransport() *http.Transport {
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

// Call describes one API request.
type Call struct {
	Method   string
	Endpoint string // pattern for errors, logs and stats, e.g. "/medias/{id}"
	Path     string // escaped, appended to the base url's path
	Query    url.Values
	// Body returns a fresh request body and its content type for each
	// attempt; nil means no body.
	Body func() (io.Reader, string, error)
	// Length is the body's length when Body gives a reader whose length
	// net/http cannot tell (else it is sent chunked).
	Length int64
	// Header holds headers of this call, over Hooks.Header.
	Header http.Header
	// MaxBody bounds the answer's body; 0 = MaxAnswerBytes.
	MaxBody int64
	// Idempotent requests are retried after 5xx answers and broken
	// connections; others only when the server surely did not act (429,
	// a connection that never opened).
	Idempotent bool
}

// ErrAmbiguous marks a failed non-idempotent request that may have taken
// effect on the server all the same.
var ErrAmbiguous = errors.New("the request may have been carried out")

// Do sends cl with pacing and retries, and returns the 2xx body.
func (c *Core) Do(ctx context.Context, cl Call) ([]byte, error) {
	deadline := c.clk.Now().Add(c.retryFor)
	target, err := c.callURL(cl)
	if err != nil {
		return nil, err
	}
	reauthed := false
	for attempt := 0; ; attempt++ {
		if err := c.pacer.wait(ctx); err != nil {
			return nil, err
		}
		token, err := c.auth.Token(ctx)
		if err != nil {
			c.reportIfIncurable(err) // a location token the agency's may not mint
			return nil, fmt.Errorf("%s %s: %w", cl.Method, cl.Endpoint, err)
		}
		body, status, err := c.send(ctx, cl, target, token)
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
			return nil, fmt.Errorf("%s %s: %w", cl.Method, cl.Endpoint, ctx.Err())
		}
		if errors.Is(err, ErrRefused) {
			return nil, fmt.Errorf("%s %s: %w", cl.Method, cl.Endpoint, err) // can never succeed
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
			// A 401 was not acted on. A token rotated in the service and
			// rewritten in the token file, or an OAuth token refreshed,
			// needs no remount: send once more with the new one.
			if reauthed {
				return nil, apiErr
			}
			if renewed, rerr := c.auth.Refused(ctx, token); rerr != nil {
				c.reportIfIncurable(rerr)
				return nil, fmt.Errorf("%s %s: %w", cl.Method, cl.Endpoint, rerr)
			} else if !renewed {
				return nil, apiErr
			}
			reauthed = true
			attempt--
			c.stats.retry(cl.Method, cl.Endpoint)
			continue
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests:
			if apiErr.Daily {
				c.reportQuota(apiErr)
				return nil, apiErr
			}
			// The server did not act on a 429: retry whatever the method.
			wait = min(apiErr.RetryAfter, c.maxWait)
			if wait <= 0 {
				wait = Backoff(attempt, time.Second, 20*time.Second)
			}
			c.pacer.pause(wait)
		case errors.As(err, &apiErr):
			if !apiErr.retryable() {
				return nil, apiErr
			}
			if !cl.Idempotent {
				return nil, fmt.Errorf("%w: %w", ErrAmbiguous, apiErr)
			}
			wait = max(min(apiErr.RetryAfter, c.maxWait), Backoff(attempt, 250*time.Millisecond, 10*time.Second))
		default: // the connection failed
			if !cl.Idempotent && (status != 0 || !neverSent(err)) {
				return nil, fmt.Errorf("%w: %w", ErrAmbiguous, err)
			}
			wait = Backoff(attempt, 250*time.Millisecond, 10*time.Second)
		}
		if c.clk.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return nil, fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		c.log.Debug("retrying", "method", cl.Method, "endpoint", cl.Endpoint, "attempt", attempt+1, "wait", wait, "err", err)
		if err := Sleep(ctx, c.clk, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w", cl.Method, cl.Endpoint, err)
		}
		c.stats.retry(cl.Method, cl.Endpoint)
	}
}

// callURL is the url of cl: the base's, cl.Path appended, cl.Query.
func (c *Core) callURL(cl Call) (string, error) {
	// cl.Path is escaped (an id in it may hold a '/'): keep it as it is.
	u := *c.base
	u.RawPath = c.base.EscapedPath() + cl.Path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", cl.Method, cl.Endpoint, err)
	}
	u.Path = p
	u.RawQuery = cl.Query.Encode()
	return u.String(), nil
}

// send makes one attempt. status is the HTTP status when an answer began.
func (c *Core) send(ctx context.Context, cl Call, target, token string) ([]byte, int, error) {
	var rd io.Reader
	var ctype string
	if cl.Body != nil {
		var err error
		if rd, ctype, err = cl.Body(); err != nil {
			return nil, 0, &localError{err}
		}
	}
	req, err := http.NewRequestWithContext(ctx, cl.Method, target, rd)
	if err != nil {
		return nil, 0, &localError{RedactErr(err)}
	}
	for k, v := range c.hooks.Header {
		req.Header[k] = slices.Clone(v)
	}
	for k, v := range cl.Header {
		req.Header[http.CanonicalHeaderKey(k)] = slices.Clone(v)
	}
	c.hooks.Authorize(req.Header, token)
	if cl.Length > 0 {
		req.ContentLength = cl.Length
	}
	req.Header.Set("User-Agent", c.ua)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	c.usage.sent(c.clk.Now())
	resp, err := c.http.Do(req)
	c.stats.call(cl.Method, cl.Endpoint, StatusOf(resp))
	if err != nil {
		return nil, 0, RedactErr(err)
	}
	defer resp.Body.Close()
	if c.hooks.Window != nil {
		if w, ok := c.hooks.Window(resp.Header); ok {
			c.pacer.observe(w)
		}
	}
	var limits ServerLimits
	var seen bool
	if c.hooks.Limits != nil {
		limits, seen = c.hooks.Limits(resp.Header)
	}
	c.usage.observe(limits, seen, resp.StatusCode, c.clk.Now())
	c.clock.observe(resp.Header.Get("Date"), c.clk.Now())
	limit := cmp.Or(cl.MaxBody, MaxAnswerBytes)
	if resp.ContentLength > limit {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: %w: the server announced %d bytes, more than %d", cl.Method, cl.Endpoint, ErrAnswerTooLarge, resp.ContentLength, limit)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead) // one allocation for a large listing
	}
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	body := buf.Bytes()
	if err == nil && int64(len(body)) > limit {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: %w: more than %d bytes", cl.Method, cl.Endpoint, ErrAnswerTooLarge, limit)
	}
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: reading the answer: %w", cl.Method, cl.Endpoint, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, resp.StatusCode, c.hooks.ParseError(cl.Method, cl.Endpoint, resp, body)
	}
	if c.hooks.AnswerError != nil {
		if e := c.hooks.AnswerError(cl.Method, cl.Endpoint, resp, body); e != nil {
			return nil, resp.StatusCode, e
		}
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
func (c *Core) reportIncurable(e *Error) {
	k := incurableKey{e.Cause, e.Method, e.Endpoint}
	c.mu.Lock()
	first := !c.incurable[k]
	c.incurable[k] = true
	c.mu.Unlock()
	if !first {
		return
	}
	if msg := c.hooks.Incurable(e); msg != "" {
		c.log.Error(msg, "method", e.Method, "endpoint", e.Endpoint, "status", e.Status, "message", e.Message)
	}
}

// reportIfIncurable reports the 401 of no curable cause that err holds,
// if any (a token the Authorizer could not give: a location token the
// agency's token may not mint, say).
func (c *Core) reportIfIncurable(err error) {
	var e *Error
	if errors.As(err, &e) && e.Cause != nil {
		c.reportIncurable(e)
	}
}

func (c *Core) reportQuota(e *Error) {
	c.mu.Lock()
	first := !c.quotaLogged
	c.quotaLogged = true
	c.mu.Unlock()
	if first {
		c.log.Error("the location's daily API quota is used up; calls fail until it resets", "message", e.Message)
	}
}

// CountRetry counts a request the backend sends again on its own (an
// upload looked for and sent once more), as Do counts its retries.
func (c *Core) CountRetry(method, endpoint string) { c.stats.retry(method, endpoint) }

// ServerTime converts a time of this machine to the server's clock, as
// learnt from the Date headers of its answers (clock.go).
func (c *Core) ServerTime(t time.Time) time.Time { return c.clock.toServer(t) }
