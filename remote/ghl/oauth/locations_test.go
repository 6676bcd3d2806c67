package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// installedLocations under a server that caps its pages at 20, whatever
// limit is asked: every location of 45, in three pages.
func TestInstalledLocationsPagedByWhatTheServerGives(t *testing.T) {
	locs := ghltest.DemoLocations(45)
	srv, err := ghltest.NewServer(ghltest.Options{Locations: locs, Approve: ghltest.UserTypeCompany, Quirks: []string{"locations-page-cap=20"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	code, err := srv.AuthCode("http://127.0.0.1:1/cb")
	if err != nil {
		t.Fatal(err)
	}
	counts := &remote.CallCounts{}
	app := App{ClientID: srv.ClientID(), ClientSecret: ghltest.DefaultClientSecret, BaseURL: srv.URL, Counts: counts}
	set, err := app.Exchange(context.Background(), code, "http://127.0.0.1:1/cb", ghltest.UserTypeCompany, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, appID := range []string{srv.AppID(), ""} { // installedLocations, then /locations/search (no count)
		got, err := app.InstalledLocations(context.Background(), set.AccessToken, srv.CompanyID(), appID)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, l := range got {
			seen[l.ID] = true
		}
		if len(got) != len(locs) || len(seen) != len(locs) {
			t.Errorf("appId %q: %d locations (%d distinct), want %d", appID, len(got), len(seen), len(locs))
		}
	}
	pages := 0
	for k, n := range counts.Stats().Calls {
		if strings.Contains(k.Endpoint, "/oauth/installedLocations") {
			pages += int(n)
		}
	}
	if pages != 3 {
		t.Errorf("%d pages of installedLocations for 45 locations in pages of 20, want 3 (the count ends it)", pages)
	}
}

// A server that lies: a count it never reaches, pages that repeat or
// bring one new location each time. The paging ends, within bounds.
func TestInstalledLocationsBoundedAgainstLies(t *testing.T) {
	for _, c := range []struct {
		name string
		page func(skip int) string
		ok   bool
	}{
		{"repeats the first page", func(int) string {
			return `{"locations":[{"_id":"a","name":"A"},{"_id":"b","name":"B"}],"count":1000000000}`
		}, true},
		{"empty pages under a huge count", func(skip int) string {
			if skip > 0 {
				return `{"locations":[],"count":1000000000}`
			}
			return `{"locations":[{"_id":"a","name":"A"}],"count":1000000000}`
		}, true},
		{"one new location a page, for ever", func(skip int) string {
			return `{"locations":[{"_id":"l` + strconv.Itoa(skip) + `","name":"L"}],"count":1000000000}`
		}, false},
		{"a negative count", func(skip int) string {
			if skip > 0 {
				return `{"locations":[],"count":-5}`
			}
			return `{"locations":[{"_id":"a","name":"A"}],"count":-5}`
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				mu.Unlock()
				skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(c.page(skip)))
			}))
			t.Cleanup(ts.Close)
			app := App{ClientID: "app-x", ClientSecret: "s", BaseURL: ts.URL}
			got, err := app.InstalledLocations(context.Background(), "tok", "co", "app")
			if c.ok && err != nil {
				t.Fatalf("%v", err)
			}
			if !c.ok && err == nil {
				t.Fatalf("no error after %d locations", len(got))
			}
			if calls > 10002 {
				t.Errorf("%d pages asked", calls)
			}
		})
	}
}
