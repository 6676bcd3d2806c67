// Package authcode gets the code of an OAuth 2.0 authorization-code
// approval ("ghlfs login"): it builds the authorize address (state and a
// PKCE challenge), sends the browser there through a one-time start page
// of its own, and takes the code back on the app's loopback redirect URI,
// or pasted by the user. Only an answer carrying this approval's state is
// taken from the loopback; the start page is served once, and, where the
// kernel tells who is at the other end (Linux), to this user alone.
// Exchanging the code and storing the tokens are the caller's.
//
// Locks: startPage.mu alone, a leaf. The loopback listener is shut down
// before Get returns; the goroutine reading a pasted code reads Request.In
// until it ends (the process's stdin, for ghlfs login).
package authcode
