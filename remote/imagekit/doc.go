// Package imagekit is ImageKit's media library as a remote.Backend
// (../shared/imagekit-api.md is the reference; API.md beside this file
// the wire format used, each field with its source). Its fake is
// remote/imagekit/iktest.
//
// Requests go through the shared request core (remote.Core): one core
// for the API (https://api.imagekit.io, paced: 20 calls a second of its
// own, and a 429's X-RateLimit-Reset, in ms, pauses every call), one for
// the upload host (https://upload.imagekit.io: uploads are not rate
// limited). Both send HTTP Basic with the private key as the user and an
// empty password; the key is in no url, no error, no log line. File
// bytes come from the account's url endpoint (https://ik.imagekit.io/<id>)
// alone, without credentials: the storage allow-list is its host, and a
// listed url not under it is not taken.
//
// What the backend does, and why:
//
//   - Listings: GET /v1/files?type=all&path=/dir/ (Caps.OneListing),
//     paged by skip. Pages overlap by four items, which must come back in
//     the same order; a pass that does not line up (an item deleted
//     while the listing ran) is read again, and no clean pass in four is
//     remote.ErrListUnstable, never a folder shown with a gap. A page
//     shorter than asked for is the last (the API gives no total).
//   - Folders are handed on by folderId, but every folder call takes a
//     path and none finds a folder by id: the backend keeps each folder's
//     path as listed, and looks for an id it has not seen from the root.
//     A folder seen at a path under another id than the first (a service
//     that renumbers a folder a job renamed) keeps the first. An upload or
//     a folder's creation into a folder first checks that its folder
//     still lists it (at most every 5s): the service would make a deleted
//     folder anew.
//   - Reads: the listed url with tr=orig-true (the default may be an
//     optimised copy) and ik-obj-version=<Rev> (that version's bytes, a
//     url no stale copy of an older version answers), by ranges; a 200
//     to a ranged GET is skipped to the offset. The answer's total length
//     must be the version's listed size (remote.Core.ReadAtvSized): a
//     copy of another length (a CDN's, after an overwrite) is asked again
//     a few times, then remote.ErrStaleCopy, never served. A stale copy
//     of the same length cannot be told from the file; the version in the
//     url is what keeps it away.
//   - Uploads: one multipart POST with useUniqueFileName=false (the
//     service's default would add a random suffix) and overwriteFile=true:
//     onto a taken name, a new version of the same fileId
//     (Caps.NewIDPerUpload false, Item.Rev = versionInfo.id). A name the
//     service would rewrite is refused first (ValidName, remote.ErrInvalid);
//     an answer naming another name or path than sent is an error, never
//     shown under the wrong name. A lost answer (a 5xx, a cut) is looked
//     into by the exact name before anything is sent again: a.Into at a
//     version other than a.BaseRev, of the size sent, is the upload
//     (FindLanded, and Upload with Upload.Into, BaseRev); no file there,
//     or Into at BaseRev, proves it did not land, and Upload sends it
//     again (four attempts in all); else it is remote.ErrAmbiguous.
//   - Renames: PUT /v1/files/rename (409 is remote.ErrExists); a folder's
//     by the renameFolder job. Moves: POST /v1/files/move, after a look
//     at the destination: the service would append the moved file's
//     versions to a file holding the name there (doc move-file.md), so a
//     taken name is remote.ErrExists. That look is no lock: another
//     client may take the name between it and the move, and the service
//     then merges the two histories; the cache must not take the check
//     for a guarantee (nor make the race likelier: rename onto a name by
//     removing the target first, as the README says). A folder moves by
//     the moveFolder job; the service moves no empty folder
//     (NO_FILES_FOLDER): remote.ErrNotSupported, and mv copies. A file
//     moved under a new name goes through a third name of its own
//     (NAME.ghlfs-move-XXXXXXXX): renamed to it, moved, renamed to the
//     new name, so that no name of the destination (its old one, or one
//     a new upload there takes as the move goes) ever meets it there; a
//     crash between leaves the file under that name, id and versions
//     kept. A folder under a new name is a move and a rename, the rename
//     first where the destination holds the old name; where the source
//     holds the new name too, remote.ErrNotSupported, with nothing
//     changed (swapped).
//   - Jobs (moveFolder, renameFolder) are polled at GET
//     /v1/bulkJobs/{jobId} until Completed, from 250ms to 5s apart on the
//     backend's clock, Config.JobTimeout in all (then ErrAmbiguous). They
//     are documented as POST and rclone sends PUT: a route the service
//     does not have for one method is tried with the other, once. A
//     start whose answer is lost is sent again while a look shows the
//     folder where it was and nothing at its new path; a rename or a move
//     of a file, while its details show it where it was (doChecked).
//   - Removal is for good (Caps.Permanent; ImageKit has no trash): files
//     by POST /v1/files/batch/deleteByFileIds, 100 ids a call at most
//     (seed 003): 200 all gone; 207 the ids of errors[] stay; 404 with
//     missingFileIds deleted nothing: the missing ones are gone already,
//     the others are sent again. A *remote.NotDoneError names every id
//     not removed, with the service's message for each (Reasons), and
//     those it does not hold in Missing. A folder goes by DELETE
//     /v1/folder, with everything in it: the caller removes only a folder
//     a fresh listing shows empty.
//   - Versions (the mount's .versions view): GET
//     /v1/files/{id}/versions, then the file's details, whose
//     versionInfo.id is the current version (a restore in the web UI
//     makes an earlier one current: not always the newest); numbered by
//     versionInfo.name ("Version N"), else by their place in the list.
//     One is removed by DELETE /v1/files/{id}/versions/{versionId}, never
//     the current one (remote.ErrBusy, before any DELETE; the service's
//     400 for it too); a lost answer is looked into by the version's
//     details, as a rename's is.
//   - Everything a server sends is bounded and checked: ids (letters,
//     digits, '-', '_', at most remote.MaxIDBytes), names (UTF-8, no '/',
//     no control character), a file's path (its folder's and its name),
//     urls (under the url endpoint), sizes (remote.MaxFileSize), a
//     listing's length (Config.MaxListItems), messages (cut, control
//     characters dropped).
//
// Caps are memtest.ImageKit()'s: unique, case-sensitive names; versions;
// moves of files and folders; folder renames; removal for good, 100 a
// call; one listing of a folder; no whole-library or recent-changes
// listing; ranged reads not claimed (unknown).
//
// # Lock order
//
// Backend.mu is a leaf: never held across a request, nor while a
// caller's function runs. No goroutine is started.
package imagekit
