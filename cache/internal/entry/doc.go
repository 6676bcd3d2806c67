// Package entry is the leaf of the cache: a file or folder as the
// filesystem sees it (Entry), a folder's listing (Listing), and the kinds
// of failure the filesystem maps to errno values, with Translate, which
// gives an error of the remote layer its kind. Every other part of the
// cache imports it; it imports none of them, only remote.
//
// An Entry is a value: it is copied, never shared, and a Listing is never
// changed once made. Fields the filesystem has no business with (where
// the bytes are, the marks a saved or an unconfirmed entry carries) are
// unexported, with methods for the parts of the cache that keep them.
//
// # Lock order
//
// The package holds no lock of its own: Intern's table is a sync.Map,
// taken and let go inside each call.
package entry
