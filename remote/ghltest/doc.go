// Package ghltest is a faithful fake of the HighLevel (GoHighLevel) Media
// Storage API, in the spirit of net/http/httptest. One Server serves
//
//   - the API endpoints, at URL+"/medias/...", with the wire format of
//     /work/shared/ghl-api.md (the API base URL is Server.URL);
//   - the public storage host, at URL+"/storage/msgsndr/<location>/media/<id><ext>";
//   - control endpoints for tests, at URL+"/_ghlfake/...": GET stats,
//     POST stats/reset, GET faults, POST faults.
//
// It serves one location (sub-account) with one bearer token, keeps its
// library in memory (optionally on disk, see Options.DataDir), limits the
// request rate like the real service, and injects faults on demand
// (Faults). Tests can read and change the library directly through Items,
// Item, Content, AddFolder and AddFile (and AddFileWithID, for ids of any
// form, as a hostile server might send), which neither go through HTTP
// nor count in Stats.
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
// Items: timestamps have millisecond precision. A file's url and path are
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
// guessed with mime.TypeByExtension from the name, else
// application/octet-stream. An unknown or non-folder parentId gives 404. A
// body that is not multipart/form-data gives 422 (no file); a malformed
// multipart body gives 400. hosted=true with fileUrl copies one of the
// fake's own active storage URLs (same host, same path) into a new file
// named after the URL's last path segment unless name is given; any other
// URL gives 400 "Unable to fetch the file from fileUrl". The 25 MB limit is
// 25*1024*1024 bytes; the rest of a too large body is read before the 413 is
// sent so that the client sees the answer. Faults.RejectUploads answers
// after the body is read and checked for size, before validation.
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
// even when the limit is off. Injected 429s have Retry-After: 1.
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
// Defaults: token DefaultToken, location DefaultLocationID. Item.URL is
// absolute once the server is started; for a Handler served elsewhere the
// API builds URLs from the request's Host, and Item.URL is a path.
package ghltest
