// Package locate finds files in the library for the write-back queue,
// through the listings: the listed file an upload's answer stands for
// when no listing has shown its id yet (Confirm, Known, the claims a
// record keeps: ClaimOf), where a file's bytes are when its answer gave
// no url (Locate), whether a copy is still listed (Gone), and a file's
// bytes copied down into the spool (Download).
//
// It imports listing, content and entry, and holds no lock of its own.
// Its links up to the queue (Config.Exclusions, Sending, RemoteName, Located) are
// functions passed at construction, and it calls them with no lock held
// (each takes the queue's locks: a record's, the index's).
package locate
