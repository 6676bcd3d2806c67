// Package ghl is the HighLevel (GoHighLevel) Media Storage backend: its
// client (Client), the OAuth grants of a Marketplace app (OAuthApp,
// oauth.go) and the token file they keep (TokenFile, tokenfile.go), and
// an agency's location tokens (LocationAuth, locationauth.go) and list of
// locations (locations.go). Its requests go through the request core of
// package remote; what it tells the core of HighLevel (its hooks) is its
// auth header and Version header, its NestJS error bodies and
// X-RateLimit-* headers (errors.go), its storage hosts and published
// limits.
//
// What it owns: the listings, paged by offset over a sort key and read
// again in another order when pages do not line up (list.go); uploads,
// with the 25 MB / 500 MB limits and the Version v3 header of a large
// video (upload.go, limits.go); a lost answer found by a new id created
// since the send (FindCreated), and an answer's id confirmed in a
// listing (Confirm) (confirm.go); folders made and items renamed
// (write.go), and deleted, one or many, to the trash or for good
// (delete.go); the check that a create landed in the folder asked for
// (placement.go); routes the service does not have, remembered
// (routes.go); the whole library by last change (updated.go); the item
// parser, which reads a Mongo ObjectID's time as the item's creation
// time when createdAt is missing (item.go); the social planner's CSV
// imports, a remote.SocialCSV beside the Backend, and the calls that make
// one (socialcsv.go, socialcsv_import.go). ghltest is its fake.
//
// Where requests may go, and the bounds on what a server may send, are the
// core's (package remote).
//
// # Lock order
//
// Client.mu and placement.mu are leaves, never held across a request nor
// while the core runs. LocationAuth.mu is a leaf; a location token is
// minted with none held. A TokenFile's refresh holds the token file's lock
// (FILE.lock, an flock) across the grant, by design (it is what makes a
// refresh token be used once across processes), and takes TokenFile.mu,
// a leaf, inside it, never across I/O; see tokenfile.go.
package ghl
