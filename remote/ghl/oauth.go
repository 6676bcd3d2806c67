package ghl

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"
	"golang.org/x/sys/unix"

	"github.com/ghlfs/ghlfs/remote"
)

// OAuth 2.0 for a HighLevel Marketplace app (../shared/ghl-api.md, OAuth):
// an authorization code, or a refresh token, is exchanged at POST
// /oauth/token for a token set. Access tokens last about a day; refresh
// tokens are single use: every refresh answers a new pair, and the old
// refresh token is refused from then on. A TokenFile keeps a set on disk
// and refreshes it so that it is never lost:
//
//   - refreshes are serialised: in this process by a single flight, and
//     between processes sharing the file by a lock on FILE.lock, after
//     which the file is read again: whoever comes second uses what the
//     first stored;
//   - the new set is written to the file atomically (and synced) before
//     its access token is used, so that a crash after a refresh leaves the
//     new refresh token on disk;
//   - a refresh the server refuses (the refresh token is no longer valid)
//     fails every call with remote.ErrLoginNeeded, and is not tried again until
//     the file changes (ghlfs login writes it, under the same lock:
//     StoreTokenSet).
//
// Lock order: TokenFile.mu is never held across I/O; the file lock is the
// one lock held across a network call (the refresh), by design: it is what
// makes a refresh token be used once across processes. The refresh is
// bounded by refreshTimeout, not by the caller that started it.

// TokenSet is a grant's answer as ghlfs stores it (mode 0600).
type TokenSet struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	ExpiresAt    time.Time `json:"expires_at"`
	IssuedAt     time.Time `json:"issued_at,omitzero"`
	Scope        string    `json:"scope,omitempty"`
	UserType     string    `json:"user_type,omitempty"` // "Company" or "Location"
	CompanyID    string    `json:"company_id,omitempty"`
	LocationID   string    `json:"location_id,omitempty"`
	UserID       string    `json:"user_id,omitempty"`
}

// OAuthApp is a Marketplace app's client credentials, and where to ask.
type OAuthApp struct {
	ClientID, ClientSecret string
	BaseURL                string       // default DefaultBaseURL
	HTTP                   *http.Client // default: a client with sane timeouts
	Clock                  clockwork.Clock
	// Counts counts the requests the app sends (token grants, location
	// tokens, the lists of an agency's locations), as a Client counts its
	// own; nil counts none.
	Counts *CallCounts
}

// base is where the app's requests go: BaseURL (default DefaultBaseURL),
// which must be https, as the API client's (plain http only on loopback):
// they carry the client secret, codes and tokens.
func (a OAuthApp) base() (string, error) {
	base := cmpOr(a.BaseURL, DefaultBaseURL)
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("remote: bad OAuth base URL %q", redactURL(base))
	}
	if err := checkAPIURL(u); err != nil {
		return "", err
	}
	return base, nil
}

func (a OAuthApp) clock() clockwork.Clock {
	if a.Clock == nil {
		return clockwork.NewRealClock()
	}
	return a.Clock
}

// Exchange trades an authorization code for a token set (userType
// "Location" or "Company", as the app was installed). verifier is the
// PKCE code_verifier whose challenge the authorize page was given ("" for
// none); a server that refuses the field itself (pkceFieldRefused) is
// asked once more without it.
func (a OAuthApp) Exchange(ctx context.Context, code, redirectURI, userType, verifier string) (TokenSet, error) {
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {redirectURI},
		"user_type":    {userType},
	}
	if verifier == "" {
		return a.grant(ctx, "/oauth/token", "", form)
	}
	form.Set("code_verifier", verifier)
	set, err := a.grant(ctx, "/oauth/token", "", form)
	if pkceFieldRefused(err) {
		// A server that knows no PKCE: the code was not read, nor used
		// up. Once more, without the field.
		form.Del("code_verifier")
		return a.grant(ctx, "/oauth/token", "", form)
	}
	return set, err
}

// pkceFieldRefused reports whether err is a token endpoint refusing the
// code_verifier field itself, as a body that does not fit its schema
// (400 or 422; NestJS's whitelist validation says "property
// code_verifier should not exist"): HighLevel's published schema of the
// exchange has no code_verifier. A refusal of its value (it does not
// match the challenge) is not one: a server that checks PKCE is never
// sent the code without it, or a code another login injected (issued
// without a challenge) would be taken.
func pkceFieldRefused(err error) bool {
	var e *Error
	if !errors.As(err, &e) || (e.Status != http.StatusBadRequest && e.Status != http.StatusUnprocessableEntity) {
		return false
	}
	for _, m := range append([]string{e.Message}, e.Messages...) {
		m = strings.ToLower(m)
		if !strings.Contains(m, "code_verifier") {
			continue
		}
		for _, refusal := range []string{"should not exist", "not allowed", "unknown", "unexpected"} {
			if strings.Contains(m, refusal) {
				return true
			}
		}
	}
	return false
}

// PKCE (RFC 7636): a login sends the authorize page the challenge of a
// secret verifier, and the token endpoint the verifier itself with the
// code; a code stolen on its way back (another program on the redirect's
// port, a browser extension) cannot be exchanged without it. A server
// that ignores both still gives the code, and takes the exchange.

// NewPKCEVerifier returns a new code_verifier: 32 random bytes, 43
// characters of base64url.
func NewPKCEVerifier() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// PKCEChallenge is verifier's code_challenge for code_challenge_method
// S256: BASE64URL(SHA256(verifier)), unpadded.
func PKCEChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Refresh trades a refresh token for a new set. The refresh token is used
// up by the call, whatever becomes of the answer.
func (a OAuthApp) Refresh(ctx context.Context, refreshToken, userType string) (TokenSet, error) {
	return a.grant(ctx, "/oauth/token", "", url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
		"user_type":     {userType},
	})
}

// LocationToken mints an access token for one location with an agency's
// (Company) token. It has no refresh token: mint another when it expires.
// An answer that says it is another location's token is refused: its
// calls would read and write that location's library in this one's name.
// (The spec does not require locationId in the answer: one without it is
// taken.)
func (a OAuthApp) LocationToken(ctx context.Context, companyToken, companyID, locationID string) (TokenSet, error) {
	set, err := a.grant(ctx, "/oauth/locationToken", companyToken, url.Values{
		"companyId":  {companyID},
		"locationId": {locationID},
	})
	if err == nil && set.LocationID != "" && set.LocationID != locationID {
		return TokenSet{}, fmt.Errorf("POST /oauth/locationToken: the answer is a token of location %s, not of %s as asked: refused", set.LocationID, locationID)
	}
	return set, err
}

// maxGrantAnswer bounds a token endpoint's answer.
const maxGrantAnswer = 64 << 10

func (a OAuthApp) grant(ctx context.Context, path, bearer string, form url.Values) (TokenSet, error) {
	base, err := a.base()
	if err != nil {
		return TokenSet{}, err
	}
	if bearer == "" {
		form.Set("client_id", a.ClientID)
		form.Set("client_secret", a.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+path, strings.NewReader(form.Encode()))
	if err != nil {
		return TokenSet{}, redactErr(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Version", APIVersion)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Transport: newTransport(), Timeout: time.Minute, CheckRedirect: apiRedirect}
	}
	started := a.clock().Now()
	resp, err := hc.Do(req)
	a.Counts.Count(http.MethodPost, path, statusOf(resp))
	if err != nil {
		return TokenSet{}, fmt.Errorf("POST %s: %w", path, redactErr(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGrantAnswer+1))
	if err != nil {
		return TokenSet{}, fmt.Errorf("POST %s: reading the answer: %w", path, err)
	}
	if len(body) > maxGrantAnswer {
		return TokenSet{}, fmt.Errorf("POST %s: %w", path, remote.ErrAnswerTooLarge)
	}
	if resp.StatusCode/100 != 2 {
		return TokenSet{}, grantError(path, resp, body)
	}
	set, err := parseTokenSet(body, started)
	if err != nil {
		return TokenSet{}, fmt.Errorf("POST %s: %w", path, err)
	}
	return set, nil
}

// grantError describes a refused grant. OAuth errors come as
// {"error":"invalid_grant","error_description":"..."}; the API's own as
// {"statusCode":..,"message":..}: both are read.
func grantError(path string, resp *http.Response, body []byte) error {
	e := parseError(http.MethodPost, path, resp, body)
	var o struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &o) == nil && o.Error != "" {
		e.Kind = o.Error
		if o.Description != "" {
			e.Message = o.Error + ": " + o.Description
		} else if e.Message == "" {
			e.Message = o.Error
		}
		e.Cause = authCause(e.Status, e.Message)
	}
	return e
}

// refusedGrant reports whether err says the grant itself is dead (the
// refresh token used or revoked, the app's secret wrong), as opposed to a
// failure to reach the server, which may pass.
func refusedGrant(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusBadRequest || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
}

// parseTokenSet reads a grant's answer; expiry counts from when the
// request was sent.
func parseTokenSet(body []byte, sent time.Time) (TokenSet, error) {
	var a struct {
		AccessToken  string          `json:"access_token"`
		RefreshToken string          `json:"refresh_token"`
		ExpiresIn    json.RawMessage `json:"expires_in"`
		Scope        string          `json:"scope"`
		UserType     string          `json:"userType"`
		CompanyID    string          `json:"companyId"`
		LocationID   string          `json:"locationId"`
		UserID       string          `json:"userId"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return TokenSet{}, fmt.Errorf("reading the token answer: %w", err)
	}
	if a.AccessToken == "" || len(a.AccessToken) > 16<<10 || len(a.RefreshToken) > 16<<10 {
		return TokenSet{}, errors.New("the token answer has no usable access_token")
	}
	if !plainID(a.CompanyID) || !plainID(a.LocationID) {
		return TokenSet{}, errors.New("the token answer's companyId or locationId is not a plain id")
	}
	// expires_in: seconds, as a number or a string; absent means a day.
	secs := 86399.0
	if len(a.ExpiresIn) > 0 {
		v, err := strconv.ParseFloat(strings.Trim(string(a.ExpiresIn), `"`), 64)
		if err != nil || v <= 0 || v > 10*365*86400 {
			return TokenSet{}, fmt.Errorf("the token answer's expires_in %s is not a number of seconds", a.ExpiresIn)
		}
		secs = v
	}
	return TokenSet{
		AccessToken:  a.AccessToken,
		RefreshToken: a.RefreshToken,
		ExpiresAt:    sent.Add(time.Duration(secs * float64(time.Second))).UTC(),
		IssuedAt:     sent.UTC(),
		Scope:        a.Scope,
		UserType:     a.UserType,
		CompanyID:    a.CompanyID,
		LocationID:   a.LocationID,
		UserID:       a.UserID,
	}, nil
}

// SaveTokenSet writes set to path atomically (a temporary file synced and
// renamed over it), mode 0600, and syncs the directory: the rename itself
// must survive a power cut, or the file would come back with a refresh
// token already spent.
func SaveTokenSet(path string, set TokenSet) error {
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// StoreTokenSet is SaveTokenSet under the token file's lock (FILE.lock),
// which a mount holds while it refreshes: a new login (ghlfs login) is
// then never overwritten by a refresh of the old one that was under way.
// It waits for the lock until ctx ends.
func StoreTokenSet(ctx context.Context, path string, set TokenSet) error {
	unlock, err := lockFile(ctx, path+".lock")
	if err != nil {
		return fmt.Errorf("token file lock: %w", err)
	}
	defer unlock()
	return SaveTokenSet(path, set)
}

// saveTokenSet is SaveTokenSet; tests make it fail as a full disk would.
var saveTokenSet = SaveTokenSet

// ReadTokenSet reads a token file written by SaveTokenSet.
func ReadTokenSet(path string) (TokenSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return TokenSet{}, err
	}
	defer f.Close()
	var set TokenSet
	if err := json.NewDecoder(io.LimitReader(f, maxGrantAnswer)).Decode(&set); err != nil {
		return TokenSet{}, fmt.Errorf("token file %s: %w", path, err)
	}
	if set.AccessToken == "" {
		return TokenSet{}, fmt.Errorf("token file %s holds no access token", path)
	}
	if !plainID(set.CompanyID) || !plainID(set.LocationID) {
		return TokenSet{}, fmt.Errorf("token file %s: its company_id or location_id is not a plain id", path)
	}
	return set, nil
}

// DefaultRefreshMargin is how long before its expiry an access token is
// refreshed.
const DefaultRefreshMargin = 5 * time.Minute

// TokenFile is an OAuth token set kept in a file and refreshed before it
// expires, or once when the API refuses its access token.
type TokenFile struct {
	path   string
	app    OAuthApp
	clk    clockwork.Clock
	margin time.Duration
	log    *slog.Logger
	flight singleflight.Group

	mu   sync.Mutex
	set  TokenSet // guarded by mu
	dead error    // guarded by mu: the refresh refused for the set in set
	// unsaved: set is a refreshed set the file could not take (disk full,
	// say); its refresh token is the live one, the file's is spent.
	unsaved bool // guarded by mu
}

// OpenTokenFile reads the token set at path. margin 0 means
// DefaultRefreshMargin.
func OpenTokenFile(path string, app OAuthApp, margin time.Duration, log *slog.Logger) (*TokenFile, error) {
	set, err := ReadTokenSet(path)
	if err != nil {
		return nil, err
	}
	if margin <= 0 {
		margin = DefaultRefreshMargin
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &TokenFile{path: path, app: app, clk: app.clock(), margin: margin, log: log, set: set}, nil
}

// Set returns the token set in use.
func (t *TokenFile) Set() TokenSet {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.set
}

// fresh reports whether set's access token is good for a while yet: the
// margin, or a quarter of a short-lived token's life.
func (t *TokenFile) fresh(set TokenSet) bool {
	margin := t.margin
	if !set.IssuedAt.IsZero() {
		margin = min(margin, set.ExpiresAt.Sub(set.IssuedAt)/4)
	}
	return t.clk.Now().Before(set.ExpiresAt.Add(-margin))
}

// Token returns an access token good for a while yet, refreshing first
// when the one held is near its expiry.
func (t *TokenFile) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	set, dead := t.set, t.dead
	t.mu.Unlock()
	if t.fresh(set) {
		return set.AccessToken, nil
	}
	if dead != nil && !t.fileChanged(set) {
		return "", dead
	}
	return t.refresh(ctx, set.AccessToken)
}

// Refused is told that the API refused sent (401): it refreshes, unless
// the file or another call already holds a newer token, and reports
// whether there is a new token to try.
func (t *TokenFile) Refused(ctx context.Context, sent string) (bool, error) {
	tok, err := t.refresh(ctx, sent)
	if err != nil {
		return false, err
	}
	return tok != sent, nil
}

// fileChanged reports whether the file now holds another set than held.
func (t *TokenFile) fileChanged(held TokenSet) bool {
	set, err := ReadTokenSet(t.path)
	return err == nil && set.AccessToken != held.AccessToken
}

// refreshTimeout bounds a refresh (the wait for the file lock, the grant,
// storing the answer), which no caller can cut short.
const refreshTimeout = 2 * time.Minute

// StoreTimeout bounds a login's exchange of its code and the storing of
// the answer under the token file's lock (StoreTokenSet), which a
// refresh may hold for up to refreshTimeout: once the code is spent, the
// answer must not be lost to a shorter wait.
const StoreTimeout = refreshTimeout + 30*time.Second

// refresh replaces the access token stale (one expiring, or refused) and
// returns the new one. Concurrent calls share one refresh.
//
// The refresh runs on a context of its own: the caller that started it
// may give up (an interrupted FUSE request, an upload stopped by unmount
// --force), but once the refresh token is sent it is spent, and the
// answer must be stored, or the login is lost. The caller returns at once;
// the refresh ends within refreshTimeout.
func (t *TokenFile) refresh(ctx context.Context, stale string) (string, error) {
	return detachedFlight(ctx, &t.flight, stale, func(rctx context.Context) (string, error) {
		return t.refreshLocked(rctx, stale)
	})
}

// detachedFlight runs fn once for key however many callers ask at once,
// on a context of its own that outlives a caller who gives up (the others
// may wait on it, and a token sent is spent), bounded by refreshTimeout;
// each caller returns when fn does, or when its own ctx ends.
func detachedFlight(ctx context.Context, g *singleflight.Group, key string, fn func(context.Context) (string, error)) (string, error) {
	ch := g.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return fn(fctx)
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

func (t *TokenFile) refreshLocked(ctx context.Context, stale string) (string, error) {
	t.mu.Lock()
	held, dead, unsaved := t.set, t.dead, t.unsaved
	t.mu.Unlock()
	if held.AccessToken != stale && dead == nil {
		return held.AccessToken, nil // refreshed meanwhile
	}

	unlock, err := lockFile(ctx, t.path+".lock")
	if err != nil {
		return "", fmt.Errorf("token file lock: %w", err)
	}
	defer unlock()
	// Another process may have refreshed (or ghlfs login written a new
	// set): its set is the one to use, its refresh token the live one.
	onDisk, err := ReadTokenSet(t.path)
	if err != nil {
		return "", err
	}
	// (Unless the set held is one the file could not take: the file's is
	// older then, its refresh token spent, unless a new login wrote it.)
	if onDisk.AccessToken != stale && t.fresh(onDisk) && (!unsaved || onDisk.ExpiresAt.After(held.ExpiresAt)) {
		t.adopt(onDisk, nil)
		return onDisk.AccessToken, nil
	}
	if unsaved {
		// The set held is newer than the file's: store it now if the
		// file takes it, and refresh from it either way.
		if err := saveTokenSet(t.path, held); err == nil {
			t.mu.Lock()
			t.unsaved = false
			t.mu.Unlock()
		}
		onDisk = held
	}
	if dead != nil && onDisk.AccessToken == held.AccessToken {
		return "", dead // refused already; wait for ghlfs login
	}
	if onDisk.RefreshToken == "" {
		err := fmt.Errorf("%w (the token file has no refresh token)", remote.ErrLoginNeeded)
		t.adopt(onDisk, err)
		return "", err
	}
	fresh, err := t.app.Refresh(ctx, onDisk.RefreshToken, onDisk.UserType)
	if err != nil {
		if refusedGrant(err) {
			t.adopt(onDisk, remote.ErrLoginNeeded)
			t.log.Error("the OAuth refresh token was refused; run ghlfs login again", "token_file", t.path, "err", err)
			return "", remote.ErrLoginNeeded
		}
		return "", fmt.Errorf("refreshing the OAuth token: %w", err)
	}
	// What the answer leaves out stays as it was.
	if fresh.RefreshToken == "" {
		fresh.RefreshToken = onDisk.RefreshToken
	}
	fresh.UserType = cmpOr(fresh.UserType, onDisk.UserType)
	fresh.CompanyID = cmpOr(fresh.CompanyID, onDisk.CompanyID)
	fresh.LocationID = cmpOr(fresh.LocationID, onDisk.LocationID)
	fresh.UserID = cmpOr(fresh.UserID, onDisk.UserID)
	fresh.Scope = cmpOr(fresh.Scope, onDisk.Scope)
	// On disk before use: a crash from here on leaves the new refresh
	// token stored, the old one being spent.
	if err := saveTokenSet(t.path, fresh); err != nil {
		// The old refresh token is spent: the new set lives in memory
		// until the file takes it (tried again at each refresh).
		t.log.Error("the OAuth token was refreshed but could not be stored; ghlfs keeps it in memory, and a restart before it can be stored will need ghlfs login", "token_file", t.path, "err", err)
		t.mu.Lock()
		t.set, t.dead, t.unsaved = fresh, nil, true
		t.mu.Unlock()
		return fresh.AccessToken, nil
	}
	t.mu.Lock()
	t.unsaved = false
	t.mu.Unlock()
	t.adopt(fresh, nil)
	t.log.Info("refreshed the OAuth access token", "token_file", t.path, "expires", fresh.ExpiresAt.Format(time.RFC3339))
	return fresh.AccessToken, nil
}

func (t *TokenFile) adopt(set TokenSet, dead error) {
	t.mu.Lock()
	t.set, t.dead = set, dead
	t.mu.Unlock()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// lockFile takes an exclusive lock on path (made 0600 if missing), waiting
// at most until ctx ends, and returns its release.
//
// The lock file is beside the token file, which may be in a folder
// others may write to (a sticky one, such as /tmp): a symlink there is
// not followed, and a lock file of another user's (who could hold it
// for ever, or keep ghlfs from opening it) is refused, with the fix.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		if ferr := foreignLock(path); ferr != nil {
			return nil, ferr
		}
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || !ownLock(fi) {
		f.Close()
		if ferr := foreignLock(path); ferr != nil {
			return nil, ferr
		}
		return nil, fmt.Errorf("%s is not a regular file of yours: remove it (rm %q)", path, path)
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// ownLock reports whether a lock file belongs to this user (or root).
func ownLock(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid() || st.Uid == 0
}

// foreignLock says what is wrong with the lock file at path when it is a
// symlink or another user's, and how to fix it; nil otherwise.
func foreignLock(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return nil
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link, which ghlfs does not follow (another user may have put it there): remove it (rm %q), or keep the token file in a folder of your own", path, path)
	case !ownLock(fi):
		st, _ := fi.Sys().(*syscall.Stat_t)
		return fmt.Errorf("%s belongs to another user (uid %d), who could hold it and stall every refresh: remove it (rm %q, as root in a sticky folder such as /tmp), or keep the token file in a folder of your own", path, st.Uid, path)
	}
	return nil
}

// plainID reports whether id, a company's or location's id as the server
// gave it, is "" or a plain one (letters, digits, '-', '_'; at most 128):
// ids name directories of the cache, and a path or ".." must not.
func plainID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// InstalledLocation is a sub-account of an agency where the app is
// installed.
type InstalledLocation struct {
	ID, Name string
}

// maxLocations bounds an agency's list of locations; maxLocationPages
// the pages read for it (a server that gives one new location a page
// reads in maxLocations pages).
const (
	maxLocations     = 10000
	maxLocationPages = maxLocations + 1
)

// locationsPageSize is the limit asked for on each page of a location
// listing; a server may give fewer (installedLocations defaults to 20, and
// its maximum is undocumented).
const locationsPageSize = 100

// InstalledLocations lists the agency's locations where the app is
// installed (GET /oauth/installedLocations, paged), with a Company token.
// appID "" (or a server that refuses the call, other than for the token)
// lists them by GET /locations/search instead.
func (a OAuthApp) InstalledLocations(ctx context.Context, companyToken, companyID, appID string) ([]InstalledLocation, error) {
	if appID != "" {
		locs, err := a.pagedLocations(ctx, companyToken, "/oauth/installedLocations", url.Values{"companyId": {companyID}, "appId": {appID}, "isInstalled": {"true"}})
		var refused *Error
		if !errors.As(err, &refused) || errors.Is(err, remote.ErrUnauthorized) {
			return locs, err
		}
	}
	return a.pagedLocations(ctx, companyToken, "/locations/search", url.Values{"companyId": {companyID}})
}

// locationsPage is one page of a location listing. Count is the total
// the server says there is (installedLocations gives it; the search does
// not): untrusted, it ends the paging early but never makes it go on.
type locationsPage struct {
	Locations []struct {
		ID          string `json:"_id"`
		AltID       string `json:"id"`
		Name        string `json:"name"`
		IsInstalled *bool  `json:"isInstalled"`
	} `json:"locations"`
	Count *int64 `json:"count"`
}

// pagedLocations reads a location listing page after page. A page is
// asked from where the pages so far ended (skip counts what the server
// gave, whatever limit it honoured: a server that caps its pages below
// the limit asked still yields every location), until the server's count
// is reached, or a page brings nothing new (empty, or the same again: a
// server that ignores skip), or, without a count, a page is shorter than
// the longest so far. Bounds: maxLocations locations, maxLocationPages
// pages, whatever count says.
func (a OAuthApp) pagedLocations(ctx context.Context, token, path string, q url.Values) ([]InstalledLocation, error) {
	base, err := a.base()
	if err != nil {
		return nil, err
	}
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Transport: newTransport(), Timeout: time.Minute, CheckRedirect: apiRedirect}
	}
	var out []InstalledLocation
	seen := map[string]bool{}
	skip, longest := 0, 0
	for pages := 0; ; pages++ {
		if pages == maxLocationPages {
			return nil, fmt.Errorf("GET %s: more than %d pages of locations", path, maxLocationPages)
		}
		q.Set("skip", strconv.Itoa(skip))
		q.Set("limit", strconv.Itoa(locationsPageSize))
		page, err := a.locationsPage(ctx, hc, base, token, path, q)
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, l := range page.Locations {
			id := cmpOr(l.ID, l.AltID)
			if id == "" || !plainID(id) || seen[id] {
				continue
			}
			if len(seen) == maxLocations {
				return nil, fmt.Errorf("GET %s: more than %d locations", path, maxLocations)
			}
			seen[id] = true
			fresh++ // new to the list, installed or not
			if l.IsInstalled != nil && !*l.IsInstalled {
				continue
			}
			out = append(out, InstalledLocation{ID: id, Name: cutName(l.Name)})
		}
		n := len(page.Locations)
		skip += n
		longest = max(longest, n)
		switch {
		case n == 0 || fresh == 0:
			return out, nil // the end, or a server that ignores skip
		case page.Count != nil && *page.Count >= 0:
			if int64(skip) >= *page.Count {
				return out, nil
			}
		case n < longest:
			return out, nil // no count: a page short of the others is the last
		}
	}
}

// locationsPage asks for one page of a location listing.
func (a OAuthApp) locationsPage(ctx context.Context, hc *http.Client, base, token, path string, q url.Values) (locationsPage, error) {
	var page locationsPage
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path+"?"+q.Encode(), nil)
	if err != nil {
		return page, redactErr(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Version", APIVersion)
	resp, err := hc.Do(req)
	a.Counts.Count(http.MethodGet, path, statusOf(resp))
	if err != nil {
		return page, fmt.Errorf("GET %s: %w", path, redactErr(err))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, remote.MaxAnswerBytes+1))
	resp.Body.Close()
	if err != nil {
		return page, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return page, parseError(http.MethodGet, path, resp, body)
	}
	if len(body) > remote.MaxAnswerBytes {
		return page, fmt.Errorf("GET %s: %w", path, remote.ErrAnswerTooLarge)
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return page, fmt.Errorf("GET %s: %w", path, err)
	}
	return page, nil
}
