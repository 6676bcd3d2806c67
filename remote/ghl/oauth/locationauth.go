package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"

	"github.com/ghlfs/ghlfs/remote"
)

// LocationAuth mints access tokens for one location from an agency's
// (Company) token, at POST /oauth/locationToken. They come without refresh
// token: a new one is minted when one nears its expiry or is refused.
type LocationAuth struct {
	app        App
	company    remote.Authorizer
	companyID  string
	locationID string
	clk        clockwork.Clock
	flight     singleflight.Group

	mu     sync.Mutex
	tok    string    // guarded by mu
	exp    time.Time // guarded by mu
	issued time.Time // guarded by mu
}

// NewLocationAuth mints location tokens with company's tokens.
func NewLocationAuth(app App, company remote.Authorizer, companyID, locationID string) *LocationAuth {
	return &LocationAuth{app: app, company: company, companyID: companyID, locationID: locationID, clk: app.clock()}
}

func (a *LocationAuth) Token(ctx context.Context) (string, error) {
	a.mu.Lock()
	tok, exp, issued := a.tok, a.exp, a.issued
	a.mu.Unlock()
	// The margin, or a quarter of a short-lived token's life.
	margin := min(DefaultRefreshMargin, exp.Sub(issued)/4)
	if tok != "" && a.clk.Now().Before(exp.Add(-margin)) {
		return tok, nil
	}
	return a.mint(ctx, tok)
}

func (a *LocationAuth) Refused(ctx context.Context, sent string) (bool, error) {
	tok, err := a.mint(ctx, sent)
	if err != nil {
		return false, err
	}
	return tok != sent, nil
}

// mint replaces stale with a new token; concurrent calls share one,
// which outlives a caller that gives up (detachedFlight).
func (a *LocationAuth) mint(callerCtx context.Context, stale string) (string, error) {
	return detachedFlight(callerCtx, &a.flight, stale, func(ctx context.Context) (string, error) {
		a.mu.Lock()
		tok := a.tok
		a.mu.Unlock()
		if tok != stale && tok != "" {
			return tok, nil // minted meanwhile
		}
		ct, err := a.company.Token(ctx)
		if err != nil {
			return "", err
		}
		set, err := a.app.LocationToken(ctx, ct, a.companyID, a.locationID)
		if errors.Is(err, remote.ErrUnauthorized) && !errors.Is(err, remote.ErrIncurable) {
			// The agency's token itself was refused: renew it, once (not
			// for a cause no new token cures, such as a missing scope:
			// that would spend the agency's refresh token for nothing).
			if renewed, rerr := a.company.Refused(ctx, ct); rerr != nil {
				return "", rerr
			} else if renewed {
				if ct, err = a.company.Token(ctx); err == nil {
					set, err = a.app.LocationToken(ctx, ct, a.companyID, a.locationID)
				}
			}
		}
		if err != nil {
			return "", fmt.Errorf("a token for location %s: %w", a.locationID, err)
		}
		a.mu.Lock()
		a.tok, a.exp, a.issued = set.AccessToken, set.ExpiresAt, set.IssuedAt
		a.mu.Unlock()
		return set.AccessToken, nil
	})
}

// LocationToken mints an access token for one location with an agency's
// (Company) token. It has no refresh token: mint another when it expires.
// An answer that says it is another location's token is refused: its
// calls would read and write that location's library in this one's name.
// (The spec does not require locationId in the answer: one without it is
// taken.)
func (a App) LocationToken(ctx context.Context, companyToken, companyID, locationID string) (TokenSet, error) {
	set, err := a.grant(ctx, "/oauth/locationToken", companyToken, url.Values{
		"companyId":  {companyID},
		"locationId": {locationID},
	})
	if err == nil && set.LocationID != "" && set.LocationID != locationID {
		return TokenSet{}, fmt.Errorf("POST /oauth/locationToken: the answer is a token of location %s, not of %s as asked: refused", set.LocationID, locationID)
	}
	return set, err
}
