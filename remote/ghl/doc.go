// Package ghl is the HighLevel (GoHighLevel) Media Storage backend: its
// client (Client). The OAuth grants of a Marketplace app, the token file
// they keep, an agency's location tokens and list of locations are
// package oauth's (remote/ghl/oauth); a Client takes one of its
// Authorizers in its Config. Its requests go through the request core of
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
// while the core runs. An Authorizer's locks are package oauth's, below
// these: the core asks it for a token with none of these held.
package ghl
