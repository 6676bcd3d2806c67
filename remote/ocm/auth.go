package ocm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"

	"github.com/ghlfs/ghlfs/remote"
)

// ErrCredentials is the cause of a 401 no new token cures: the identity
// domain refused the client's id or secret (or scope). It matches
// remote.ErrUnauthorized and remote.ErrIncurable.
var ErrCredentials = errors.New("the identity domain refused the client credentials")

// Bounds of the token grant.
const (
	// tokenTimeout bounds one grant, whoever waits for it.
	tokenTimeout = 30 * time.Second
	// grantAttempts is how often a grant that failed for a passing
	// reason (the network, a 5xx, a 429) is sent in all.
	grantAttempts = 3
	// refusedPause is how long a refused grant is answered from memory:
	// the token endpoint allows 10-65 requests a second for a whole
	// domain, and every call of a mount would ask again.
	refusedPause = 30 * time.Second
	// maxRenewMargin is the most, before expires_in, that a token is
	// renewed; a fifth of its life when that is less.
	maxRenewMargin = 5 * time.Minute
	maxTokenAnswer = 64 << 10
)

// ccAuth is the client-credentials grant of an identity domain (doc
// Authorization.html): POST TokenURL, Authorization: Basic
// base64(id:secret), form grant_type=client_credentials&scope=Scope. Its
// token is kept until a fifth of its life (5 minutes at most) before
// expires_in, then renewed; a 401 of the API renews it once (Refused).
// Grants are one at a time (a single flight), bounded by tokenTimeout,
// not by the call that started one, and stopped by Close, which waits
// for the one under way; no lock is held across one.
type ccAuth struct {
	tokenURL string
	basic    string // the Authorization header's value: the secret
	scope    string
	hc       *http.Client
	clk      clockwork.Clock
	log      *slog.Logger
	counts   *remote.CallCounts
	sf       singleflight.Group

	// base bounds every grant; stop ends it (Close). grants counts the
	// one under way, added to under mu while not closed.
	base   context.Context
	stop   context.CancelFunc
	grants sync.WaitGroup

	mu      sync.Mutex
	closed  bool      // guarded by mu
	token   string    // guarded by mu
	renewAt time.Time // guarded by mu; zero: at a 401 only
	refused error     // guarded by mu: the last refusal, until refusedUntil
	until   time.Time // guarded by mu
}

func newCCAuth(cfg Config) (*ccAuth, error) {
	u, err := url.Parse(cfg.TokenURL)
	if err != nil || cfg.TokenURL == "" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("ocm: token url %q: give the identity domain's https://<idcs>/oauth2/v1/token", remote.RedactURL(cfg.TokenURL))
	}
	if err := remote.CheckAPIURL(u); err != nil {
		return nil, fmt.Errorf("ocm: token url: %w", err)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" || strings.ContainsAny(cfg.ClientID, ":\r\n") {
		return nil, errors.New("ocm: client credentials need a client id (without ':') and a client secret")
	}
	hc := &http.Client{Transport: remote.NewTransport()}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	hc.CheckRedirect = remote.APIRedirect // the secret goes to the token host alone
	base, stop := context.WithCancel(context.Background())
	return &ccAuth{tokenURL: cfg.TokenURL, scope: cfg.Scope, hc: hc, clk: cfg.Clock, log: cfg.Logger, counts: &remote.CallCounts{},
		base: base, stop: stop,
		basic: "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.ClientID+":"+cfg.ClientSecret))}, nil
}

// errAuthClosed is a grant asked for once the backend was closed.
var errAuthClosed = errors.New("ocm: the client is closed")

// Close stops a grant under way and waits for it to end; none begins
// after.
func (a *ccAuth) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.stop()
	a.grants.Wait()
}

// Token is the token held, renewed first when it is near its end.
func (a *ccAuth) Token(ctx context.Context) (string, error) {
	a.mu.Lock()
	tok, at := a.token, a.renewAt
	a.mu.Unlock()
	if tok != "" && (at.IsZero() || a.clk.Now().Before(at)) {
		return tok, nil
	}
	return a.renew(ctx, tok)
}

// Refused is told the API answered 401 to sent: a token renewed since
// is tried, else a new one is asked for.
func (a *ccAuth) Refused(ctx context.Context, sent string) (bool, error) {
	a.mu.Lock()
	cur := a.token
	a.mu.Unlock()
	if cur != "" && cur != sent {
		return true, nil
	}
	if _, err := a.renew(ctx, sent); err != nil {
		return false, err
	}
	return true, nil
}

// renew asks for a token to replace old (one grant at a time): a caller
// that comes while one is under way takes its answer.
func (a *ccAuth) renew(ctx context.Context, old string) (string, error) {
	ch := a.sf.DoChan("grant", func() (any, error) {
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			return nil, errAuthClosed
		}
		a.grants.Add(1)
		defer a.grants.Done()
		tok, at, refused, until := a.token, a.renewAt, a.refused, a.until
		a.mu.Unlock()
		now := a.clk.Now()
		if tok != "" && tok != old && (at.IsZero() || now.Before(at)) {
			return tok, nil // renewed by the grant before
		}
		if refused != nil && now.Before(until) {
			return nil, refused
		}
		gctx, cancel := context.WithTimeout(a.base, tokenTimeout)
		defer cancel()
		return a.grant(gctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// grant sends the grant, again after a passing failure, and keeps its
// token.
func (a *ccAuth) grant(ctx context.Context) (string, error) {
	var err error
	for attempt := range grantAttempts {
		if attempt > 0 {
			if werr := remote.Sleep(ctx, a.clk, remote.Backoff(attempt-1, 500*time.Millisecond, 5*time.Second)); werr != nil {
				return "", err
			}
		}
		sent := a.clk.Now()
		var tok string
		var life time.Duration
		tok, life, err = a.grantOnce(ctx)
		var e *remote.Error
		switch {
		case err == nil:
			a.mu.Lock()
			a.token, a.refused, a.renewAt = tok, nil, time.Time{}
			if life > 0 {
				a.renewAt = sent.Add(life - min(life/5, maxRenewMargin))
			}
			a.mu.Unlock()
			a.log.Debug("ocm: a token granted by the identity domain", "lifetime", life)
			return tok, nil
		case errors.As(err, &e) && e.Cause != nil:
			a.mu.Lock()
			a.refused, a.until = err, a.clk.Now().Add(refusedPause)
			a.mu.Unlock()
			return "", err
		case errors.As(err, &e) && e.Status/100 == 4 && e.Status != http.StatusTooManyRequests && e.Status != http.StatusRequestTimeout:
			return "", err
		}
	}
	return "", err
}

// tokenAnswer is the grant's answer (RFC 6749 5.1; IDCS): expires_in
// seconds, a number (a string taken too).
type tokenAnswer struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
}

// grantOnce sends the grant once: the token and its lifetime (0 when
// the answer gives none).
func (a *ccAuth) grantOnce(ctx context.Context) (string, time.Duration, error) {
	const route = "/oauth2/v1/token"
	form := url.Values{"grant_type": {"client_credentials"}}
	if a.scope != "" {
		form.Set("scope", a.scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, remote.RedactErr(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", a.basic)
	resp, err := a.hc.Do(req)
	a.counts.Count(http.MethodPost, route, remote.StatusOf(resp))
	if err != nil {
		return "", 0, fmt.Errorf("POST %s: %w", route, remote.RedactErr(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer+1))
	if err != nil {
		return "", 0, fmt.Errorf("POST %s: reading the answer: %w", route, err)
	}
	if len(body) > maxTokenAnswer {
		return "", 0, fmt.Errorf("POST %s: %w", route, remote.ErrAnswerTooLarge)
	}
	if resp.StatusCode/100 != 2 {
		return "", 0, grantError(route, resp, body)
	}
	var t tokenAnswer
	if err := json.Unmarshal(body, &t); err != nil || !validSecret(t.AccessToken) {
		return "", 0, fmt.Errorf("POST %s: the answer holds no usable access_token", route)
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		return "", 0, fmt.Errorf("POST %s: a token of type %q, not a bearer token", route, remote.CleanText(t.TokenType, 32))
	}
	var life time.Duration
	if len(t.ExpiresIn) > 0 && string(t.ExpiresIn) != "null" {
		s := strings.Trim(string(t.ExpiresIn), `"`)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > 10*365*86400 {
			return "", 0, fmt.Errorf("POST %s: expires_in %q is not a number of seconds", route, remote.CleanText(s, 32))
		}
		life = time.Duration(n) * time.Second
	}
	return t.AccessToken, life, nil
}

// grantError is a refused grant: OAuth's {"error", "error_description"}
// read; a 400 or 401 (invalid_client, invalid_scope ...) is a 401 of
// cause ErrCredentials, which no new grant cures.
func grantError(route string, resp *http.Response, body []byte) error {
	e := remote.ErrorOf(http.MethodPost, route, resp, nil)
	var o struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &o) == nil && o.Error != "" {
		e.Kind = remote.CleanText(o.Error, 64)
		e.Message = remote.CleanText(strings.TrimSuffix(o.Error+": "+o.Description, ": "), maxMessage)
	}
	if e.Status == http.StatusBadRequest || e.Status == http.StatusUnauthorized {
		e.Status, e.Cause = http.StatusUnauthorized, ErrCredentials
	}
	return e
}
