package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// A short-lived location token (shorter than the refresh margin) is used
// for most of its life, as a TokenFile's is, not minted again before
// every call.
func TestLocationAuthShortLivedToken(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	var mints atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := mints.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"access_token": "loc-" + string(rune('0'+n)), "expires_in": 60, "locationId": "L"})
	}))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "token.json")
	if err := SaveTokenSet(path, TokenSet{AccessToken: "co", RefreshToken: "r", ExpiresAt: clk.Now().Add(24 * time.Hour), UserType: "Company", CompanyID: "C"}); err != nil {
		t.Fatal(err)
	}
	app := App{ClientID: "app", ClientSecret: "secret", BaseURL: srv.URL, Clock: clk}
	tf, err := OpenTokenFile(path, app, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := NewLocationAuth(app, tf, "C", "L")
	first, err := a.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	for range 5 {
		if tok, err := a.Token(context.Background()); err != nil || tok != first {
			t.Fatalf("Token = %q, %v; want %q again", tok, err, first)
		}
	}
	if n := mints.Load(); n != 1 {
		t.Fatalf("%d location tokens minted for 6 calls within the first sixth of its life; want 1", n)
	}
	clk.Advance(40 * time.Second) // within the last quarter
	if tok, err := a.Token(context.Background()); err != nil || tok == first {
		t.Fatalf("near its expiry: Token = %q, %v; want a new one", tok, err)
	}
}

// A location token is checked to be for the location asked: an answer
// naming another location is refused (its calls would act on that
// library); one that names none is taken (the spec does not require it).
func TestLocationTokenForTheLocationAsked(t *testing.T) {
	var says atomic.Value // the location the answer names ("": none)
	says.Store("OTHER")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer := map[string]any{"access_token": "loc-token", "expires_in": 86399}
		if loc := says.Load().(string); loc != "" {
			answer["locationId"] = loc
		}
		json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(srv.Close)
	app := App{ClientID: "app", ClientSecret: "secret", BaseURL: srv.URL}
	if _, err := app.LocationToken(context.Background(), "co", "C", "L"); err == nil || !strings.Contains(err.Error(), "OTHER") {
		t.Errorf("a token of another location: %v", err)
	}
	path := filepath.Join(t.TempDir(), "token.json")
	if err := SaveTokenSet(path, TokenSet{AccessToken: "co", RefreshToken: "r", ExpiresAt: time.Now().Add(24 * time.Hour), UserType: "Company", CompanyID: "C"}); err != nil {
		t.Fatal(err)
	}
	tf, err := OpenTokenFile(path, app, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := NewLocationAuth(app, tf, "C", "L").Token(context.Background()); err == nil {
		t.Errorf("LocationAuth took a token of another location: %q", tok)
	}
	says.Store("L")
	if set, err := app.LocationToken(context.Background(), "co", "C", "L"); err != nil || set.AccessToken != "loc-token" {
		t.Errorf("the location's own token: %v", err)
	}
	says.Store("")
	if set, err := app.LocationToken(context.Background(), "co", "C", "L"); err != nil || set.AccessToken != "loc-token" {
		t.Errorf("a token whose answer names no location: %v", err)
	}
}
