// Package webdav serves a library over WebDAV: golang.org/x/net/webdav's
// FileSystem and File over the cache layer's one front (cache.Store, and
// cache.Handle for open files), as fs/ serves it over FUSE. It knows no
// service and keeps no state of the library's own: every change goes
// through the Store, with the same semantics as the mount (write-back
// queue, trash, names the service refuses), and every failure comes back
// as a syscall.Errno in an *os.PathError (fs.Errno), which x/net/webdav
// turns into a status (ENOENT 404 or 409, EEXIST 405 or 412, EACCES and
// EPERM 403).
//
// What is the server's own:
//
//   - Paths are walked from the root, one folder listing a step
//     (Store.ListDir). Names are those the mount shows (fs.View, built
//     once per listing and kept by folder under FS.mu): escaped (a '/'
//     in a name is '／'), cut to fit, tagged where items share a name;
//     a new item's name is the API's for the name given (fs.DecodeName).
//   - Finder's "._*" files and ".DS_Store" are kept in a local folder
//     (Options.LocalDir) under the same path and never uploaded, unless
//     Options.UploadDotfiles; a listing shows them beside the library's
//     items (local.go).
//   - A PUT writes a new file under a name of its own (".ghlfs-put-...",
//     never listed) that takes the file's name once the whole body has
//     come, in the write-back queue, before the upload: a PUT cut short
//     leaves the file as it was and uploads nothing (put.go).
//   - A MOVE across folders the service cannot move (HighLevel), or of a
//     file whose bytes wait in the write-back queue, copies the file
//     through the queue and removes the source (fs.go: Rename).
//   - Handler wraps x/net/webdav's: a COPY or MOVE without Overwrite is
//     taken as Overwrite: T; a PROPFIND of depth infinity (or without a
//     Depth header, which means infinity) is refused with 403 and
//     DAV:propfind-finite-depth; an ETag names a file's content (its id,
//     version and size, or a pending file's key, size and time), so it
//     changes when the content does (info.go); Basic authentication,
//     when set, is checked against bcrypt hashes (auth.go).
//   - An agency's locations are one tree (agency.go: Agency, a
//     webdav.FileSystem over one FS per location, as fs.NewAgency over
//     one fs.FS each): the root lists a folder per location under the
//     names the mount gives them (fs.LocationsView) and takes no change
//     (403); a MOVE or COPY from one location to another is answered
//     502. One lock system serves the whole tree.
//
// Locks: FS.mu (the views) and deadProps.mu (props.go) are leaves;
// an open file's position is guarded by file.mu, a PUT's count of bytes
// by putBody.mu, and the agency root's listing by rootFile.mu, leaves
// too, none held across a call into the cache; Agency has no lock (it is
// not changed once made). Open files keep their state in cache.Handle,
// which has its own lock. No goroutine is started.
package webdav
