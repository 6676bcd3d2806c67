// Package ghltest is a faithful fake of the HighLevel (GoHighLevel) Media
// Storage API, in the spirit of net/http/httptest. One Server serves
//
//   - the API endpoints, at URL+"/medias/...", with the wire format of
//     remote/API.md (the API base URL is Server.URL);
//   - the public storage host, at URL+"/storage/msgsndr/<location>/media/<id><ext>";
//   - control endpoints for tests, at URL+"/_ghlfake/...": GET stats,
//     POST stats/reset, GET faults, POST faults, GET quirks, POST quirks,
//     POST token.
//
// It serves one location (sub-account) with one bearer token, keeps its
// library in memory (optionally on disk, see Options.DataDir), limits the
// request rate like the real service, and injects faults on demand
// (Faults). Tests can read and change the library directly through Items,
// Item, Content, AddFolder, AddFile, AddFileWithID (for ids of any form,
// as a hostile server might send) and SetFileURL, which neither go through
// HTTP nor count in Stats.
//
// Token rotation: SetToken, or POST /_ghlfake/token {"token": "..."}
// (answered {"rotated": true}; no endpoint shows a token), makes the API
// accept the new token only, from the next request on, as a Private
// Integration Token rotated in HighLevel's settings does.
//
// Hostile urls: SetFileURL(id, url) makes listings give that url for the
// file (another host, a local service, a query holding a signature), as a
// compromised or confused server could; the fake's own storage still serves
// the file at its path. Not kept in DataDir.
//
// # Request processing
//
// An API request goes through these steps; the first that answers ends it:
//
//  1. Faults.Down: 503 {"statusCode":503,"message":"Service Unavailable"}.
//  2. Faults.Latency is waited.
//  3. Faults.Fault500, then Faults.Fault429, by random draw. Then the
//     Faults.FaultCut draw: a cut request is carried out in full, and its
//     connection is closed instead of answered.
//  4. No User-Agent: 403. No route for the method and path: 404
//     "Cannot GET /x" (before the token is looked at, as in NestJS).
//  5. Authorization other than "Bearer <token>": 401.
//  6. Version other than "2021-07-28" or "v3": 400.
//  7. The rate limiter: 429 (see below).
//  8. Validation: 422 with a message array; then altId against the
//     location: 403; then unknown (or trashed, or deleted) ids: 404.
//
// Every answer after step 5 carries the X-RateLimit-* headers.
//
// # Choices where the real service is undocumented
//
// Validation follows class-validator with forbidNonWhitelisted, as the
// service's NestJS stack would: a missing or empty required field gives
// "<field> should not be empty", a value outside its set "<field> must be
// one of the following values: a, b", a non-string "<field> must be a
// string", a non-numeric offset or limit "<field> must be a number string",
// and any field or query parameter the endpoint does not know "property
// <field> should not exist" (so a misspelt parameter such as parentID is an
// error, not silently ignored). Nested fields are prefixed with their path:
// "filesToBeDeleted.0._id should not be empty". The name of each entry of
// update-files is required too (the spec only requires its id).
//
// JSON bodies: a body whose Content-Type is not JSON is read as {} (like
// Express's body parser), which then fails validation with 422; malformed
// JSON, or JSON that is not an object, gives 400 {"statusCode":400,
// "message":"Bad Request"}; bodies above 1 MiB give 413.
//
// Listing: default limit 10; limit 0 means "no limit" (as in MongoDB) and so
// gives a page of PageCap; offset past the end gives an empty page; a
// parentId that is no active folder gives an empty list, not an error;
// fetchAll=true drops the parentId filter but still pages with offset and
// limit; query is matched within the folder (or everywhere with fetchAll);
// sortBy=name compares bytes (case-sensitive); ties are broken by ascending
// id whatever sortOrder is.
//
// Items: timestamps have millisecond precision. updatedAt is set, as a
// Mongoose document's is, by every change of the item: its creation (an
// upload, a folder), a rename (either call), a trash or delete (of the item
// or of a folder above it), and SetFileURL; nothing else changes it (the API
// cannot move an item, and a folder is not changed by what is put in it).
// sortBy=updatedAt, with or without fetchAll, so lists the most recently
// changed items first with sortOrder=desc. A file's url and path are
// fixed when it is created and keep the extension of the name it had then:
// a rename changes neither. The extension is the name's last ".xxx" after
// its last "/" when xxx is 1 to 16 letters or digits, else none. A folder
// has no url, path, size or contentType. deleted is always false in
// listings, which show active items only.
//
// Deletion: DELETE /medias/{id} marks the item and everything below it
// deleted. PUT /medias/delete-files with status trashed or deleted does the
// same with that status. Active items may be trashed or deleted; trashed
// items may still be deleted ("empty the trash": reported deleted:true);
// anything else (unknown, already deleted, or trashing a trashed item) is
// reported {"deleted":false}. Eligibility is judged before any change, so a
// file listed after its folder is reported deleted too. Items already
// deleted stay deleted when their folder is trashed. Nothing can be
// restored through the API.
//
// Upload: a file is a part named "file" that has a filename (multer's
// rule); a "file" part without filename counts as no file. The name is the
// "name" field, else the part's filename, else "file". The content type is
// the part's Content-Type header (even application/octet-stream), else
// guessed from the name's extension (the common video extensions as
// video/*, then mime.TypeByExtension), else application/octet-stream. An unknown or non-folder parentId gives 404. A
// body that is not multipart/form-data gives 422 (no file); a malformed
// multipart body gives 400. hosted=true with fileUrl copies one of the
// fake's own active storage URLs (same host, same path) into a new file
// named after the URL's last path segment unless name is given; any other
// URL gives 400 "Unable to fetch the file from fileUrl". Size limits are
// read the conservative way, in decimal bytes: with Version 2021-07-28
// every file may hold up to 25 MB (MaxUploadSize, 25,000,000 bytes); with
// Version v3 a video (a content type video/*) up to 500 MB
// (MaxVideoUploadSize, 500,000,000 bytes) and any other file 25 MB. The
// type is judged when the file part begins: its Content-Type, else
// guessed from the name field sent before it, else from its filename (for
// fileUrl, the type of the copied file). A larger file gives 413 "File
// size exceeds the 25 MB limit" (or "500 MB"); the rest of the body is
// read before the 413 is sent so that the client sees the answer. The
// file's bytes are held in memory (in one buffer sized from the
// Content-Length), and with DataDir also written to disk.
// Stats.UploadVersions counts upload requests by Version.
// Faults.RejectUploads answers after the body is read and checked for
// size, before validation. Faults.UploadRate paces the reading of an
// upload's body (a slow uplink), in slices of about 50ms.
// Faults.FailDeletes answers both delete calls 503 before anything else,
// and removes nothing.
//
// Rate limits: one sliding window and one daily count per server (it
// serves one location). Requests refused by the limiter take no slot; the
// header, route and token checks come before the limiter, so those failures
// take none either, while validation failures do. The daily count resets
// at midnight UTC; X-RateLimit-Daily-Reset is that instant in Unix
// milliseconds. A limit that is off (negative) sends none of its headers.
// Stats.MaxInWindow counts requests the limiter let through, and is kept
// even when the limit is off. Injected 429s have Retry-After: 1, or
// Faults.Fault429RetryAfter rounded up to whole seconds (a server may ask
// for a day: "fault_429_retry_after": "24h").
//
// Errors: bodies carry no traceId except injected 500s; successful rename,
// delete and upload answers carry one (a random UUID).
//
// Storage: 404s (unknown, trashed, deleted, a folder's id, another
// location, or an extension that does not match) have a Cloud Storage style
// XML body with Code NoSuchKey; methods other than GET and HEAD get 405.
// A cut storage GET sends half of the body its Content-Length announces
// (of the range, for 206) and then closes the connection; a cut HEAD closes
// it without an answer. Faults.StorageRate paces each body in slices of
// about 50ms. Stats.StorageBytes counts every body byte storage responses
// wrote, error bodies included.
//
// Persistence: DataDir holds state.json (every item, including trashed and
// deleted ones, with the location it belongs to; New refuses a directory
// of another location) and blobs/<id>. Blobs of deleted files are kept. A
// failed write is logged, and the change stays in memory.
//
// # Quirks
//
// Where the real service's behaviour is unknown, the fake does the likely
// thing described above by default, and can be told to do another
// plausible thing instead: a quirk, off by default, set with
// Options.Quirks, Server.SetQuirks, ghlfake --quirk NAME (repeatable), or
// at run time POST /_ghlfake/quirks {"quirks": ["name", ...]} (an empty
// list turns all off; GET shows them). A client must work under each.
//
//   - trash-listed: listings also show trashed items, with "status":
//     "trashed" and "deleted": false (active items show "status":
//     "active"). Storage still answers 404 for them.
//   - unstable-ties: items whose sort key is equal come back in a different
//     order on every request (offset paging over a non-unique sort in
//     MongoDB). The demo seed then adds the folder BulkImportFolder with
//     BulkImportFiles files created in one millisecond; AddFiles makes such
//     a bulk import anywhere.
//   - upload-no-url: upload-file answers {"fileId": "..."} alone.
//   - create-200: folder creation and upload answer 200 instead of 201.
//   - folder-no-id: folder creation answers the folder without "_id".
//   - clock-skew=D (a Go duration, such as -5m): the service's clock is off
//     by D: createdAt, updatedAt, the time in new ids, and the Date header
//     of API answers follow it.
//   - rename-not-updated: POST /medias/{id} answers 200 {"updated": false}
//     and renames nothing; update-files answers "updated": false for every
//     entry.
//   - root-parent-location: root items carry "parentId": the location's
//     id; a parentId equal to the location's id means the root.
//   - root-lists-all: a listing without parentId returns every item of the
//     type in the library, as fetchAll does.
//   - limit-max-100: a listing's limit above 100 is refused with 422
//     "limit must not be greater than 100".
//   - query-prefix: query matches a name's start only (case-insensitive).
//   - query-exact: query matches whole names only (case-sensitive).
//   - query-regex: query is a case-insensitive regular expression, as a
//     MongoDB $regex built from it unescaped; one that does not compile
//     gives 500.
//   - parent-ignored: folders and uploads land in the root whatever
//     parentId says (an unknown parentId is still refused with 404).
//   - updated-order-ignored: sortBy=updatedAt is taken as createdAt (in
//     the sortOrder asked for), as a service that sorts by a whitelist of
//     keys and falls back to its default would: the answer looks sorted
//     until an item is changed after it was created.
//
// Defaults: token DefaultToken, location DefaultLocationID. Item.URL is
// absolute once the server is started; for a Handler served elsewhere the
// API builds URLs from the request's Host, and Item.URL is a path.
package ghltest
