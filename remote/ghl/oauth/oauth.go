package oauth

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/internal/wire"
)

// OAuth 2.0 for a HighLevel Marketplace app (../shared/ghl-api.md, OAuth):
// an authorization code, or a refresh token, is exchanged at POST
// /oauth/token for a token set. Access tokens last about a day; refresh
// tokens are single use: every refresh answers a new pair, and the old
// refresh token is refused from then on. A TokenFile (tokenfile.go) keeps
// a set on disk.

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

// App is a Marketplace app's client credentials, and where to ask.
type App struct {
	ClientID, ClientSecret string
	BaseURL                string       // default wire.DefaultBaseURL
	HTTP                   *http.Client // default: a client with sane timeouts
	Clock                  clockwork.Clock
	// Counts counts the requests the app sends (token grants, location
	// tokens, the lists of an agency's locations), as a Client counts its
	// own; nil counts none.
	Counts *remote.CallCounts
}

// base is where the app's requests go: BaseURL (default wire.DefaultBaseURL),
// which must be https, as the API client's (plain http only on loopback):
// they carry the client secret, codes and tokens.
func (a App) base() (string, error) {
	base := cmp.Or(a.BaseURL, wire.DefaultBaseURL)
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("remote: bad OAuth base URL %q", remote.RedactURL(base))
	}
	if err := remote.CheckAPIURL(u); err != nil {
		return "", err
	}
	return base, nil
}

func (a App) clock() clockwork.Clock {
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
func (a App) Exchange(ctx context.Context, code, redirectURI, userType, verifier string) (TokenSet, error) {
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
	var e *remote.Error
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
func (a App) Refresh(ctx context.Context, refreshToken, userType string) (TokenSet, error) {
	return a.grant(ctx, "/oauth/token", "", url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
		"user_type":     {userType},
	})
}

// maxGrantAnswer bounds a token endpoint's answer.
const maxGrantAnswer = 64 << 10

func (a App) grant(ctx context.Context, path, bearer string, form url.Values) (TokenSet, error) {
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
		return TokenSet{}, remote.RedactErr(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Version", wire.APIVersion)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Transport: remote.NewTransport(), Timeout: time.Minute, CheckRedirect: remote.APIRedirect}
	}
	started := a.clock().Now()
	resp, err := hc.Do(req)
	a.Counts.Count(http.MethodPost, path, remote.StatusOf(resp))
	if err != nil {
		return TokenSet{}, fmt.Errorf("POST %s: %w", path, remote.RedactErr(err))
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
	e := wire.ParseError(http.MethodPost, path, resp, body)
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
		e.Cause = wire.AuthCause(e.Status, e.Message)
	}
	return e
}

// refusedGrant reports whether err says the grant itself is dead (the
// refresh token used or revoked, the app's secret wrong), as opposed to a
// failure to reach the server, which may pass.
func refusedGrant(err error) bool {
	var e *remote.Error
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
