package remote

import (
	"context"
	"log/slog"
	"sync"
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

// StaticToken is an Authorizer of a token given whole (a Private
// Integration Token, an API key), read again from src, when there is one,
// after a 401: a token rotated in the service and rewritten in its file
// needs no remount.
func StaticToken(token string, src func() (string, error), log *slog.Logger) Authorizer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &staticAuth{token: token, src: src, log: log}
}

// staticAuth is StaticToken's Authorizer.
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
