package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"
)

// Authorizer gives a client the access token to send, and a new one when
// the API refuses it.
type Authorizer interface {
	// Token returns the token to send now.
	Token(ctx context.Context) (string, error)
	// Refused is told that the API answered 401 to sent; it reports
	// whether there is another token to try (once), or why there cannot be.
	Refused(ctx context.Context, sent string) (bool, error)
}

// staticAuth is a Private Integration Token (or any token given whole),
// read again from its source, when there is one, after a 401.
type staticAuth struct {
	src func() (string, error)
	log *slog.Logger

	mu    sync.Mutex
	token string // guarded by mu
}

func (a *staticAuth) Token(context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.token, nil
}

func (a *staticAuth) Refused(_ context.Context, sent string) (bool, error) {
	if a.src == nil {
		return false, nil
	}
	tok, err := a.src()
	if err != nil {
		a.log.Warn("the API refused the token, and reading it again failed", "err", err)
		return false, nil
	}
	if tok == "" || tok == sent {
		return false, nil
	}
	a.mu.Lock()
	changed := a.token != tok
	a.token = tok
	a.mu.Unlock()
	if changed {
		a.log.Info("the API refused the token; using the new one from the token file")
	}
	return true, nil
}

// LocationAuth mints access tokens for one location from an agency's
// (Company) token, at POST /oauth/locationToken. They come without refresh
// token: a new one is minted when one nears its expiry or is refused.
type LocationAuth struct {
	app        OAuthApp
	company    Authorizer
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
func NewLocationAuth(app OAuthApp, company Authorizer, companyID, locationID string) *LocationAuth {
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
		if errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrIncurable) {
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
