// Package remote is what every media store behind ghlfs shares: the
// shared types (Item, Upload, FileInfo), the errors the layers above tell
// apart (ErrNotFound, ErrRouteMissing, *Error ...), and the request core
// (Core) each backend's client sends its calls through. It knows nothing
// of FUSE, nor of any one service: a backend (remote/ghl for HighLevel)
// describes its service with Hooks. What one service has beside its
// library is an interface of its own that the cache finds with a type
// assertion, not a method of Backend: SocialCSV (socialcsv.go). remote/memtest is an in-memory
// Backend for tests, and remote/remotetest the contract every Backend
// keeps against its own fake.
//
// What the core owns:
//
//   - client.go: Core.Do, one API call with pacing and retries: a 429 is
//     retried whatever the method, a 5xx or a broken connection only for
//     an idempotent call (else ErrAmbiguous), a 401 once with a renewed
//     token (Authorizer, authorizer.go), never for a cause no new token
//     cures (Error.Cause);
//   - options.go: the options every backend built on the core takes the
//     same way (ClientOptions, which ImageKit's and OCM's Config embed),
//     their defaults, and the core's config of them;
//   - form.go: request bodies (a multipart upload, JSON) and the cleaning
//     of a server's text;
//   - pacer.go: the client's own rate limit, foreground calls before
//     background ones (Background), pauses the server asks for;
//   - stats.go, usage.go: what was sent, by endpoint and status; the
//     requests over the window and the day against the service's
//     published limits (PublishedLimits) and its rate-limit headers;
//   - clock.go: the server's clock, from its Date headers (ServerTime);
//   - storage.go, policy.go: file bytes read by ranges from their urls,
//     on the storage allow-list only, and where API requests may go;
//   - progress.go: an upload's bytes sent, for a status display;
//   - types.go: the content type a file is uploaded with (ghlfs's own
//     table).
//
// Where requests may go (policy.go): API calls to the API's own scheme,
// host and port only, the token never following a redirect elsewhere; file
// bytes over https from the storage allow-list only. No error of this
// package carries a url's query string or userinfo.
//
// # Lock order
//
// Core.mu, pacer.mu, clientStats.mu, usage.mu, serverClock.mu,
// Progress.mu and the static token's mu are leaves: never held together,
// nor across a request, nor while a hook or an Authorizer runs; a
// request's goroutine owns its own state.
package remote
