// Package oauth is HighLevel's OAuth 2.0 for a Marketplace app: the
// grants (App: an authorization code or a refresh token exchanged for a
// TokenSet, with PKCE; oauth.go), the token file that keeps a set on disk
// and refreshes it once across processes (TokenFile, tokenfile.go), an
// agency's location tokens minted from its Company token (LocationAuth,
// locationauth.go) and the list of an agency's locations where the app is
// installed (InstalledLocations, locations.go). A TokenFile and a
// LocationAuth are remote.Authorizers: package ghl's Client takes one in
// its Config. It knows nothing of the media endpoints; what it reads of
// the service's answers (its errors, its Version) is package wire's, as
// the Client's is.
//
// # Lock order
//
// LocationAuth.mu is a leaf; a location token is minted with none held. A
// TokenFile's refresh holds the token file's lock (FILE.lock, an flock)
// across the grant, by design (it is what makes a refresh token be used
// once across processes), and takes TokenFile.mu, a leaf, inside it,
// never across I/O; see tokenfile.go.
package oauth
