package remote

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// newTestCore is a Core of the API served by h, with the default hooks and
// the token "secret-token", unpaced.
func newTestCore(t *testing.T, h http.Handler, mod ...func(*CoreConfig)) (*Core, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := CoreConfig{Base: base, Auth: StaticToken("secret-token", nil, nil), RetryTimeout: 20 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := NewCore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// get sends one idempotent GET of /medias/files.
func get(ctx context.Context, c *Core) ([]byte, error) {
	return c.Do(ctx, Call{Method: http.MethodGet, Endpoint: "/medias/files", Path: "/medias/files", Idempotent: true})
}
