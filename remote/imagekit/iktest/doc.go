// Package iktest is a fake of ImageKit (../shared/imagekit-api.md), like
// httptest: the API (/v1/...), the upload host (/api/v1/files/upload)
// and the CDN (/<endpoint id>/<filePath>) on one address, speaking the
// wire format remote/imagekit/API.md describes. cmd/ghlfake runs it as
// a program (ghlfake --service imagekit).
//
// It does what the service is documented to do, where that is
// inconvenient too:
//
//   - HTTP Basic with the private key as the user, an empty password
//     (doc authentication.md); 401 otherwise. The CDN takes no
//     credentials (and counts any sent: CDNWithCredentials).
//   - Names rewritten silently (doc upload fileName, rename-file.md, [G]
//     FolderNewParams): StoredName.
//   - An upload without useUniqueFileName=false gets a random suffix
//     (doc: default true); onto a taken name with overwriteFile (default
//     true), a new version of the same fileId, at most 100 (doc); with
//     overwriteFile=false, 400. The upload's folder, and a folder's
//     missing parents, are made (doc).
//   - Listings: a bare array, type file|folder|all, one level of path,
//     searchQuery for `name = "x"` and `type = "file"` (seen [R]), sort,
//     skip and limit 1–1000 (doc list-and-search-files.md).
//   - Bulk delete (seed 003): at most 100 ids; 404 {missingFileIds} and
//     nothing deleted when one is missing; 207 with errors[] for the ids
//     RefuseRemoval names; else 200.
//   - DELETE /v1/folder deletes everything below (doc). Folder jobs
//     answer {jobId} and are Pending for Options.JobPolls polls; their
//     effect happens when a poll finds them Completed. A moveFolder of a
//     folder with nothing in it is 404 NO_FILES_FOLDER (doc [D]).
//   - A file moved onto a name the destination holds joins that file's
//     history, its own fileId gone (doc move-file.md); its versions are
//     numbered on from that file's (the docs do not say).
//   - Versions (doc get-file-versions.md, delete-file-version.md,
//     restore-file-version.md): each named "Version N", N never taken
//     again; listed with the current one of type "file", the others
//     "file-version" with ik-obj-version in their url; DELETE of one 204,
//     of the current one 400 "You cannot delete current version of a
//     file.", of what it does not hold 404 "The requested asset does not
//     exist."; PUT .../restore makes an earlier one current, keeping its
//     id and name, listed last.
//   - The CDN serves an "optimised" copy (other bytes, "ikopt:" and the
//     file) unless tr holds orig-true (doc
//     automatic-image-format-conversion.md: images; the fake does it to
//     every file, so a read that forgets it shows on any), the version
//     ik-obj-version names (doc: versions' urls), and Range as 206.
//   - Rate limits per endpoint (Options.RateLimit per RateInterval),
//     uploads not limited; X-RateLimit-Limit, -Interval (ms) and -Reset
//     (ms to wait) on the answers of a limited endpoint, a 429 when the
//     window is spent (doc rate-limits.md).
//   - Errors {"message", "help", "reason"} (doc).
//
// # Quirks
//
// The reference's unknowns, each a named behaviour (Options.Quirks,
// Server.SetQuirks, ghlfake --quirk NAME). The backend passes the
// contract under each.
//
//   - range-ignored: the CDN answers a Range with 200 and the whole file
//     (206 support unknown; [R] skips bytes of a 200: one report).
//   - cdn-stale: after a change, the CDN serves each url it had served
//     its old copy for Options.StaleReads more reads (doc delete-file.md:
//     the CDN keeps old bytes until a purge; how long, and whether a
//     query string such as [R]'s updatedAt escapes it, unknown).
//   - move-merges (the documented default, doc move-file.md) and
//     move-409 (a move onto a taken name refused, 409: what a careful
//     service might do instead; the docs name no 409 for move).
//   - skip-shifts: the first listing of a folder that takes more than one
//     page gets its second page one item late, as an item deleted
//     meanwhile would make it ("skip stability under change": unknown).
//   - empty-refused: a 0-byte upload is 400 ([R] refuses empty files:
//     one report; the server's behaviour unknown).
//   - jobs-via-put: the folder jobs take PUT and answer POST 404 ([R]
//     sends PUT for moveFolder; the docs say POST).
//   - folderid-changes-on-rename: a folder a job renames or moves, and the
//     folders below it, get new folderIds (the docs say nothing of a
//     folder's id; every folder call takes a path).
//
// # Faults
//
// Faults (Fault500, Fault429, FaultCut, UploadDelay, Down) as ghltest's
// (a 429 with ImageKit's rate-limit headers, X-RateLimit-Reset in ms),
// CutNext: the next request of an endpoint is carried out and its
// connection cut before any answer; and FailNext: the next one is
// answered 500 before anything is done.
//
// # Test API
//
// Items, Item, ByPath, Content, VersionIDs, Tree read the library;
// AddFolder, AddFile, Remove change it as another client would;
// RefuseRemoval, SetFaults, CutNext, FailNext, SetQuirks inject; Calls counts
// requests by endpoint, and the 429s answered (RateLimited).
//
// # Lock order
//
// Server.mu is the only lock, a leaf: never held while a request's body
// is read or an answer written. It guards the fault queues and the
// counts too (a fakenet.Plumbing, whose methods take it).
package iktest
