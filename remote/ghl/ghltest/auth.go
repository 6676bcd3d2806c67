package ghltest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Scopes the fake enforces. A token's scopes are what it was granted (an
// OAuth token) or configured with (Options.TokenScopes for Token; every
// scope for the other Private Integration Tokens).
const (
	ScopeMediasReadonly    = "medias.readonly"    // GET /medias/files
	ScopeMediasWrite       = "medias.write"       // upload, folder, rename, update-files, delete-files, delete
	ScopeOAuthReadonly     = "oauth.readonly"     // GET /oauth/installedLocations
	ScopeOAuthWrite        = "oauth.write"        // POST /oauth/locationToken
	ScopeLocationsReadonly = "locations.readonly" // GET /locations/search
	// The social planner's CSV scopes: ScopeCSVReadonly, ScopeCSVWrite
	// (handlers_socialcsv.go).
)

// KnownScopes lists the scopes the fake's endpoints need; the app has them
// all unless Options.AppScopes says otherwise.
func KnownScopes() []string {
	return []string{ScopeMediasReadonly, ScopeMediasWrite, ScopeOAuthReadonly, ScopeOAuthWrite, ScopeLocationsReadonly, ScopeCSVReadonly, ScopeCSVWrite}
}

// parseScopes checks a list of scope names. nil stays nil (every scope)
// when nilAll is set.
func parseScopes(list []string, nilAll bool) ([]string, error) {
	if list == nil && nilAll {
		return nil, nil
	}
	out := []string{}
	for _, sc := range list {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n") {
			return nil, fmt.Errorf("ghltest: bad scope %q", sc)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// principal is who a request's token speaks for.
type principal struct {
	loc    *Location // the location; nil: the agency (company)
	oauth  bool      // an OAuth access token, not a Private Integration Token
	scopes []string  // nil: every scope
	grant  *grant    // of an OAuth token
}

func (p principal) hasScope(sc string) bool {
	return p.scopes == nil || slices.Contains(p.scopes, sc)
}

// allowed reports whether the token may call the route: the right kind of
// token, with the scope the route needs.
func (p principal) allowed(rt route) bool {
	switch rt.auth {
	case authLocation:
		if p.loc == nil {
			return false
		}
	case authAgencyOAuth:
		if p.loc != nil || !p.oauth {
			return false
		}
	}
	return rt.scope == "" || p.hasScope(rt.scope)
}

// authenticate finds who the bearer token of r speaks for: a location's
// Private Integration Token, the agency's, or a live OAuth access token.
func (s *Server) authenticate(r *http.Request) (principal, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return principal{}, false
	}
	if tok == s.currentToken() {
		return principal{loc: s.primary, scopes: s.scopes}, true
	}
	for _, l := range s.locs[1:] {
		if l.pit != "" && tok == l.pit {
			return principal{loc: l}, true
		}
	}
	if s.oauth.companyPIT != "" && tok == s.oauth.companyPIT {
		return principal{}, true
	}
	return s.oauth.lookup(tok)
}

// errScope answers a token that may not call the endpoint: no such scope,
// or the wrong kind of token (an agency's on a location's endpoint, a
// Private Integration Token on an OAuth-only one).
func errScope(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized, "The token is not authorized for this scope.", "Unauthorized")
}
