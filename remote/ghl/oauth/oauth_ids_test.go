package oauth

import (
	"context"
	"errors"
	"fmt"
	"github.com/ghlfs/ghlfs/remote"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Location and company ids come from the server and name directories of
// the cache (CACHE/LOCATION_ID, CACHE/agency-COMPANY_ID): one that is not
// a plain id (a path, "..") is refused, so that no location's write-back
// queue lands outside its own directory or in another's.
func TestInstalledLocationsRefusesIDsThatAreNotPlain(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"locations":[{"_id":".."},{"_id":"../../etc"},{"_id":"a/b"},{"_id":"."},{"_id":"x\u0000y"},{"_id":"good-1","name":"Good"},{"_id":"Good_2"}]}`)
	}))
	t.Cleanup(srv.Close)
	locs, err := App{BaseURL: srv.URL}.InstalledLocations(context.Background(), "tok", "co", "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(locs) != 2 || locs[0].ID != "good-1" || locs[1].ID != "Good_2" {
		t.Fatalf("locations %+v; want good-1 and Good_2 only", locs)
	}
	for _, bad := range []string{`"companyId":"../x"`, `"locationId":".."`, `"companyId":"a/b"`} {
		if _, err := parseTokenSet([]byte(`{"access_token":"a","userType":"Company",`+bad+`}`), time.Now()); err == nil {
			t.Errorf("a token answer with %s was taken", bad)
		}
	}
}

// A full page of locations where the app is not installed is not taken
// for the end of the list (a server that ignores isInstalled=true).
func TestInstalledLocationsPagesPastUninstalled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		skip, limit := 0, 0
		fmt.Sscan(r.URL.Query().Get("skip"), &skip)
		fmt.Sscan(r.URL.Query().Get("limit"), &limit)
		fmt.Fprint(w, `{"locations":[`)
		for i := skip; i < min(skip+limit, 150); i++ {
			if i > skip {
				fmt.Fprint(w, ",")
			}
			fmt.Fprintf(w, `{"_id":"loc%d","name":"L%d","isInstalled":%v}`, i, i, i >= 100)
		}
		fmt.Fprint(w, `]}`)
	}))
	t.Cleanup(srv.Close)
	locs, err := App{BaseURL: srv.URL}.InstalledLocations(context.Background(), "tok", "co", "app")
	if err != nil || len(locs) != 50 || locs[0].ID != "loc100" {
		t.Fatalf("%d locations (%v), first %+v; want the 50 installed ones", len(locs), err, locs[:min(1, len(locs))])
	}
}

// The OAuth shape of a grant's refusal is read for its cause, as a media
// endpoint's 401 is (wire.AuthCause).
func TestGrantErrorOfScope(t *testing.T) {
	body := []byte(`{"error":"unauthorized","error_description":"The token is not authorized for this scope."}`)
	e := grantError("/oauth/locationToken", &http.Response{StatusCode: 401, Header: http.Header{}}, body)
	if !errors.Is(e, remote.ErrScope) {
		t.Errorf("a grant refused for its scope: %v", e)
	}
}
