package ghl_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
	"github.com/ghlfs/ghlfs/remote/remotetest"
)

// The backend keeps the contract against its fake with no quirk on, and
// with each quirk on alone (those that take a value, with the value their
// documentation gives).

const contractPage = 10

// quirkValues are the values the quirks that need one are run with.
var quirkValues = map[string]string{
	ghltest.QuirkClockSkew:        "-5m",
	ghltest.QuirkFetchAllLag:      "2s",
	ghltest.QuirkLocationsPageCap: "20",
	ghltest.QuirkCSVLimitCap:      "3",
}

// fallbacks are, per quirk, the errors the backend documents for a call
// the quirk makes impossible: the contract checks that error, and that
// nothing changed, where it would check the call's effect.
var fallbacks = map[string]map[remotetest.Op][]error{
	// A create into a folder lands in the root: it is trashed again, and
	// every later create into a folder fails at once (placement.go).
	ghltest.QuirkParentIgnored: {
		remotetest.OpUpload:       {remote.ErrMisplaced},
		remotetest.OpCreateFolder: {remote.ErrMisplaced},
	},
	// {"updated": false}: the service did not act.
	ghltest.QuirkRenameNotUpdated: {remotetest.OpRename: {&remote.NotDoneError{}}},
	// No rename route for the token (routes.go).
	ghltest.QuirkUpdate404: {remotetest.OpRename: {remote.ErrRouteMissing}},
	// A listing by last change the service does not keep to, or answers
	// whole: the caller finds changes another way.
	ghltest.QuirkUpdatedOrderIgnored: {remotetest.OpListRecent: {remote.ErrOrderIgnored}},
	ghltest.QuirkFetchAllUnpaged:     {remotetest.OpListRecent: {remote.ErrUnpaged}},
	// Items of one updatedAt, more than a page of them, that the service
	// orders anew at each request cannot be read page by page in that
	// order (the case's files are made within a millisecond or two): the
	// listing says so rather than miss some (updated.go).
	ghltest.QuirkUnstableTies: {remotetest.OpListRecent: {remote.ErrListUnstable}},
}

// knownBugs are the cases the client fails under a quirk, by quirk.
var knownBugs = map[string]map[string]string{}

func TestContract(t *testing.T) {
	t.Run("no-quirk", func(t *testing.T) {
		t.Parallel()
		remotetest.Run(t, contractFixture(""))
	})
	for _, q := range ghltest.KnownQuirks() {
		t.Run(q, func(t *testing.T) {
			t.Parallel()
			remotetest.Run(t, contractFixture(q))
		})
	}
}

// contractFixture starts a fake with quirk on ("" none) and the client
// against it.
func contractFixture(quirk string) remotetest.Fixture {
	return func(t *testing.T) remotetest.Instance {
		var quirks []string
		if quirk != "" {
			quirks = []string{quirk}
			if v, ok := quirkValues[quirk]; ok {
				quirks[0] += "=" + v
			}
		}
		// The fake's clock: the real one, moved on by Settle.
		var ahead atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
		const loc = "loc-contract"
		srv, err := ghltest.NewServer(ghltest.Options{LocationID: loc, RateLimit: -1, Quirks: quirks, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		c, err := ghl.New(ghl.Config{BaseURL: srv.URL, Token: ghltest.DefaultToken, LocationID: loc, RateLimit: -1,
			PageSize: contractPage, RetryTimeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		inst := remotetest.Instance{Backend: c.Backend(), Fake: &contractFake{t: t, srv: srv, loc: loc},
			PageSize: contractPage, MayFail: fallbacks[quirk], Known: knownBugs[quirk]}
		// No bulk route: the trash goes through DELETE /medias/{id}, which
		// may delete for good (the fake's does; routes.go says so once).
		inst.TrashMayDelete = quirk == ghltest.QuirkNoBulkRoutes
		if quirk == ghltest.QuirkFetchAllLag {
			// The whole-library answers show the library as it was 2s
			// ago: the fake's clock moves on past that, without a wait.
			inst.Settle = func() { ahead.Add(int64(3 * time.Second)) }
		}
		return inst
	}
}

// contractFake is a ghltest.Server as the contract drives it.
type contractFake struct {
	t   *testing.T
	srv *ghltest.Server
	loc string
}

func (f *contractFake) Items() []remotetest.Item {
	var out []remotetest.Item
	for _, it := range f.srv.Items() {
		out = append(out, remotetest.Item{ID: it.ID, Name: it.Name, ParentID: it.ParentID, Folder: it.Type == ghltest.TypeFolder,
			Status: it.Status, Size: it.Size, Versions: 1})
	}
	return out
}

func (f *contractFake) Content(id, rev string) ([]byte, bool) {
	if rev != "" {
		return nil, false
	}
	return f.srv.Content(id)
}

func (f *contractFake) AddFolder(parentID, name string) string {
	return f.srv.AddFolder(parentID, name)
}

func (f *contractFake) AddFile(parentID, name string, data []byte) string {
	return f.srv.AddFile(parentID, name, "", data)
}

// Remove deletes the item for good as another client would: DELETE
// /medias/{id}, which every quirk leaves.
func (f *contractFake) Remove(id string) {
	f.t.Helper()
	q := url.Values{"altType": {"location"}, "altId": {f.loc}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, f.srv.URL+"/medias/"+url.PathEscape(id)+"?"+q.Encode(), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ghltest.DefaultToken)
	req.Header.Set("Version", ghl.APIVersion)
	req.Header.Set("User-Agent", "remotetest")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("DELETE %s: %v", id, err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		f.t.Fatalf("DELETE %s: %s", id, res.Status)
	}
}

// CutNext cuts the next request of the endpoints op is sent by.
func (f *contractFake) CutNext(op remotetest.Op) {
	eps, ok := map[remotetest.Op][]string{
		remotetest.OpUpload:       {ghltest.EndpointUpload},
		remotetest.OpCreateFolder: {ghltest.EndpointFolder},
		remotetest.OpRename:       {ghltest.EndpointRename, ghltest.EndpointUpdateMany},
		remotetest.OpRemove:       {ghltest.EndpointDeleteMany, ghltest.EndpointDelete},
		remotetest.OpListRecent:   {ghltest.EndpointList},
	}[op]
	if !ok {
		panic(fmt.Sprintf("contractFake: no endpoint for %s", op))
	}
	f.srv.CutNext(eps...)
}
