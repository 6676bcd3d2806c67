package oauth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl/internal/wire"
	"github.com/ghlfs/ghlfs/remote/internal/loosejson"
)

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
func (a App) InstalledLocations(ctx context.Context, companyToken, companyID, appID string) ([]InstalledLocation, error) {
	if appID != "" {
		locs, err := a.pagedLocations(ctx, companyToken, "/oauth/installedLocations", url.Values{"companyId": {companyID}, "appId": {appID}, "isInstalled": {"true"}})
		var refused *remote.Error
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
func (a App) pagedLocations(ctx context.Context, token, path string, q url.Values) ([]InstalledLocation, error) {
	base, err := a.base()
	if err != nil {
		return nil, err
	}
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Transport: remote.NewTransport(), Timeout: time.Minute, CheckRedirect: remote.APIRedirect}
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
			id := cmp.Or(l.ID, l.AltID)
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
			out = append(out, InstalledLocation{ID: id, Name: loosejson.CutName(l.Name)})
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
func (a App) locationsPage(ctx context.Context, hc *http.Client, base, token, path string, q url.Values) (locationsPage, error) {
	var page locationsPage
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path+"?"+q.Encode(), nil)
	if err != nil {
		return page, remote.RedactErr(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Version", wire.APIVersion)
	resp, err := hc.Do(req)
	a.Counts.Count(http.MethodGet, path, remote.StatusOf(resp))
	if err != nil {
		return page, fmt.Errorf("GET %s: %w", path, remote.RedactErr(err))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, remote.MaxAnswerBytes+1))
	resp.Body.Close()
	if err != nil {
		return page, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return page, wire.ParseError(http.MethodGet, path, resp, body)
	}
	if len(body) > remote.MaxAnswerBytes {
		return page, fmt.Errorf("GET %s: %w", path, remote.ErrAnswerTooLarge)
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return page, fmt.Errorf("GET %s: %w", path, err)
	}
	return page, nil
}
