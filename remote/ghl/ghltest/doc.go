// Package ghltest is a faithful fake of the HighLevel (GoHighLevel) Media
// Storage API, in the spirit of net/http/httptest. One Server serves
//
//   - the API endpoints, at URL+"/medias/...", with the wire format of
//     remote/API.md (the API base URL is Server.URL);
//   - the OAuth endpoints, at URL+"/oauth/token", "/oauth/locationToken",
//     "/oauth/installedLocations" and "/locations/search", and a stand-in
//     for the authorize page at URL+"/v2/oauth/chooselocation" (the docs'
//     address since 2026-05) and URL+"/oauth/chooselocation" (the older
//     one, which the official SDK still opens) (see OAuth below);
//   - the social planner's CSV import endpoints, at
//     URL+"/social-media-posting/{locationId}/..." (see Social planner CSV
//     imports below);
//   - the public storage host, at URL+"/storage/msgsndr/<location>/media/<id><ext>";
//   - control endpoints for tests, at URL+"/_ghlfake/...": GET stats,
//     POST stats/reset, GET faults, POST faults, GET quirks, POST quirks,
//     POST token, POST restore, GET social-csv, POST social-csv, GET
//     locations, POST locations/{id}, POST oauth/expire, POST
//     oauth/revoke, GET oauth/approval, POST oauth/approval.
//
// It serves one or several locations (sub-accounts, Options.Locations) of
// one agency (company), each with its own library, tokens and rate limit;
// keeps the libraries in memory (optionally on disk, see Options.DataDir),
// limits the request rate like the real service, and injects faults on
// demand (Faults). Tests can read and change a library directly through
// Items, Item, Content, AddFolder, AddFile, AddFileWithID (for ids of any
// form, as a hostile server might send) and SetFileURL, which neither go
// through HTTP nor count in Stats; Server's act on the first location,
// Server.Location(id)'s on any.
//
// Token rotation: SetToken, or POST /_ghlfake/token {"token": "..."}
// (answered {"rotated": true}; no endpoint shows a token), makes the API
// accept the new token only, from the next request on, as a Private
// Integration Token rotated in HighLevel's settings does. It is the
// first location's token (Options.Token).
//
// Trash: the trash keeps an item TrashRetention (30 days, as the media
// library's does). Restore(id), or POST /_ghlfake/restore {"id": "...",
// "location": "..." (optional: the first)}, takes a trashed item out of it
// as the web UI does (the API has no call for it): active again, with its
// id, in its folder (the trashed folders above it come back too, without
// the rest of what they held), with what was trashed along with it (the
// items of a folder trashed as one); updatedAt becomes now unless
// restore-keeps-updated. Answered 200 {"restored": [ids]}; 404 for an
// item not in the trash (unknown, deleted, trashed too long ago, or whose
// folder was deleted); 400 for an active one.
//
// System folders: under the essential-folders quirk a new library gets
// root folders flagged isEssential and/or appFolder, as FolderDTO has
// them (EssentialFolder, AppFolder).
//
// Hostile urls: SetFileURL(id, url) makes listings give that url for the
// file (another host, a local service, a query holding a signature), as a
// compromised or confused server could; the fake's own storage still serves
// the file at its path. Not kept in DataDir.
//
// # Locations
//
// Options.Locations lists the locations; empty means one, LocationID,
// seeded with Seed (the fake as it always was). DemoLocations(n) gives
// DefaultLocationID, "demo-location-2" ... "demo-location-N", named "Demo
// Location 1" ... "Demo Location N", seeded "demo". The first location's
// demo library is the classic one (the same ids, times and bytes as a
// fake of one location); every other location's is derived from its id:
// the same tree and bytes, its own ids, times shifted by 1 to 60 days, a
// README.txt that names the location, and one more root file "About
// <name>.txt" with its name, id and address. Names default to "Location
// N", addresses to a made-up street.
//
// Each location has its own Private Integration Token (Options.Token for
// the first, LocationOptions.Token for the others; "" none, and every
// scope unless Options.TokenScopes says otherwise for the first), its own
// OAuth tokens, its own rate limiter (RateLimit, RateWindow and DailyLimit
// apply to each: the limit is per app per location) and its counters
// (Stats.Locations). A token is for one location: altId naming another
// gives 403. Storage URLs hold the location's id.
//
// Location.SetInstalled(false), or POST /_ghlfake/locations/{id}
// {"installed": false}, uninstalls the app: every OAuth token of the
// location is refused from then on (access and refresh tokens of its
// Location grants, tokens minted for it), /oauth/locationToken refuses it
// (400) and installedLocations?isInstalled=true leaves it out; its
// Private Integration Token still works. Installing again (true) revives
// no token. Location.SetDown(true), or {"down": true}, answers the
// location's API calls 503 after the token check, while the others serve.
// GET /_ghlfake/locations answers {"locations": [{"id", "name",
// "installed", "down"}]}; POST locations/{id} answers the one changed.
//
// With DataDir, the first location's library is kept in DataDir itself
// (as a fake of one location keeps it) and each other's in
// DataDir/locations/<id, path-escaped>; with Options.Locations set,
// DataDir/locations.json lists the locations (id, name, address,
// installed at start; no token), and LoadLocations reads it back, so that
// ghlfake given the directory alone serves them all again. Installation
// changes, tokens and grants are not kept.
//
// # OAuth
//
// The fake is one Marketplace app (ClientID, ClientSecret; AppID the
// client id's part before "-") installed by one agency (CompanyID, the
// user UserID) that owns every location. remote/API.md ("OAuth and
// agencies") gives the wire format; in short:
//
//   - GET /v2/oauth/chooselocation?response_type=code&client_id=&redirect_uri=&scope=&state=
//     (or /oauth/chooselocation) approves at once, as Approval says (Options.Approve and
//     ApproveLocation, SetApproval, POST /_ghlfake/oauth/approval
//     {"user_type": "Location"|"Company", "location_id": "", "deny":
//     false}), and answers 302 to redirect_uri with code (and state). A
//     Location approval installs the app in that location. AuthCode does
//     the same without HTTP. Codes are single use and live CodeTTL. A
//     code_challenge (PKCE, RFC 7636; code_challenge_method S256, or
//     plain when left out) is kept with the code: its exchange must send
//     the matching code_verifier (else 400 invalid_request when left out,
//     invalid_grant when wrong). A code asked for without one takes any.
//   - POST /oauth/token (form) serves grant_type authorization_code and
//     refresh_token. Access tokens live TokenTTL (expires_in is it in
//     whole seconds); refresh tokens RefreshTTL, and are single use: a
//     used one gets 400 {"error": "invalid_grant", ...}. Wrong client
//     credentials get 401 invalid_client.
//   - POST /oauth/locationToken (agency OAuth token with oauth.write)
//     mints a location's access token, without refresh token.
//   - GET /oauth/installedLocations (agency OAuth token, oauth.readonly)
//     and GET /locations/search (locations.readonly) list the locations,
//     paged with skip and limit (at most PageCap a page, or the
//     locations-page-cap quirk's N).
//   - Scopes: GET /medias/files needs medias.readonly, every media write
//     medias.write; the CSV imports' reads socialplanner/csv.readonly,
//     their changes socialplanner/csv.write; an agency's token on a media
//     or CSV endpoint, or a token without the scope, gets 401 "The token
//     is not authorized for this scope.". Options.AppScopes are the scopes the app may be granted
//     (default KnownScopes); the authorize page grants those asked (none
//     asked: all of them).
//   - An expired, revoked or unknown access token gets the usual 401
//     "Invalid token: access token is invalid". ExpireAccessTokens (POST
//     /_ghlfake/oauth/expire, answered {"expired": n}) ends every live
//     access token now; RevokeGrants (POST /_ghlfake/oauth/revoke,
//     {"revoked": n}) revokes every grant, as a user who removes the app.
//   - Options.CompanyToken is an agency Private Integration Token: it may
//     search locations, and is refused (401) by the OAuth-only endpoints
//     and the media ones.
//
// Time is Options.Now (expiry of codes and tokens included). Stats.OAuth
// counts grants: CodeGrants, Refreshes, RefreshReused (a client that
// never uses a refresh token twice keeps it 0), RefreshRefused,
// LocationTokens, ExpiredTokenCalls (calls with an expired access token:
// a client that refreshes before expiry keeps it 0), and more.
//
// # Request processing
//
// An API request goes through these steps; the first that answers ends it:
//
//  1. Faults.Down: 503 {"statusCode":503,"message":"Service Unavailable"}.
//  2. Faults.Latency is waited.
//  3. Faults.Fault500, then Faults.Fault429, by random draw. Then the
//     Faults.FaultCut draw (or a CutNext waiting for the endpoint): a cut
//     request is carried out in full, and its connection is closed
//     instead of answered.
//  4. No User-Agent: 403. No route for the method and path: 404
//     "Cannot GET /x" (before the token is looked at, as in NestJS).
//     POST /oauth/token goes to its handler here (it takes no bearer
//     token, no Version, and is not rate limited).
//  5. Authorization other than "Bearer <token>" of a token the fake
//     takes (a Private Integration Token, a live OAuth access token): 401.
//     The request now counts for its location (or the agency).
//  6. The token's location is down (Location.SetDown): 503.
//  7. The wrong kind of token, or no scope for the endpoint: 401.
//  8. Version other than "2021-07-28" or "v3" (any, with
//     Faults.RefuseVersion, as a service that retired the one sent):
//     400, or 401 under the version-401 quirk.
//  9. The rate limiter of the token's location (or of the agency): 429
//     (see below).
//  10. Validation: 422 with a message array; then altId against the
//     location: 403 (401 under location-401); then unknown (or trashed,
//     or deleted) ids: 404.
//
// Every answer from step 8 on carries the X-RateLimit-* headers. Faults
// apply to the OAuth endpoints too (a refresh whose answer is lost is a
// real hazard), unless Faults.SpareOAuth keeps Latency and the random
// draws off them.
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
// limit (unless fetchall-unpaged); query is matched within the folder (or everywhere with fetchAll);
// sortBy=name compares bytes (case-sensitive); ties are broken by ascending
// id whatever sortOrder is.
//
// Items: timestamps have millisecond precision. updatedAt is set, as a
// Mongoose document's is, by every change of the item: its creation (an
// upload, a folder), a rename (either call), a trash or delete (of the item
// or of a folder above it), a restore (unless restore-keeps-updated), and
// SetFileURL; nothing else changes it (the API
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
// deleted: for good, not trashed (a guess: the spec says only "Deletes";
// the trash is what delete-files offers). altType and altId are required
// query parameters (as the spec marks them), so a DELETE without them
// fails validation (422). PUT /medias/delete-files with status trashed or deleted does the
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
// text/plain, as multer's parser (busboy) types a part that names none,
// never from its name. The form's fields are name, parentId, altId,
// altType, hosted, fileUrl and folderId; any other gives 422. altId and
// altType may be left out (the spec names neither); sent, altType must be
// "location" (422) and altId the token's location (403), as elsewhere.
// folderId is taken and ignored: the file lands in the root (a public
// client saw that, with success); a query parameter folderId places the
// file as parentId does (the same client saw that work), when the form
// has no parentId. An unknown or non-folder parentId gives 404. A JSON
// body gives 400 "Unsupported content type" (seen); any other body that
// is not multipart/form-data gives 422 (no file). A multipart body that
// ends before its closing boundary gives 400 "Unexpected end of form"
// (seen: the service's parser, busboy, is strict about framing; the fake
// reads with Go's mime/multipart, as strict about it); any other
// malformed one 400 "Bad Request". hosted=true with fileUrl copies one of the
// fake's own active storage URLs (same host, same path) into a new file
// named after the URL's last path segment unless name is given; any other
// URL gives 400 "Unable to fetch the file from fileUrl". Size limits are
// read the conservative way, in decimal bytes: with Version 2021-07-28
// every file may hold up to 25 MB (MaxUploadSize, 25,000,000 bytes); with
// Version v3 a video (a content type video/*) up to 500 MB
// (MaxVideoUploadSize, 500,000,000 bytes) and any other file 25 MB. The
// type is judged when the file part begins: its Content-Type, else
// text/plain (for fileUrl, the type of the copied file). A larger file gives 413 "File
// size exceeds the 25 MB limit" (or "500 MB"); the rest of the body is
// read before the 413 is sent so that the client sees the answer. The
// file's bytes are held in memory (in one buffer sized from the
// Content-Length), and with DataDir also written to disk.
// Stats.UploadVersions counts upload requests by Version.
// Faults.RejectUploads answers after the body is read and checked for
// size (and type, under type-allowlist), before validation: 400, or
// Faults.RejectUploadsStatus. Faults.UploadRate paces the reading of an
// upload's body (a slow uplink), in slices of about 50ms.
// Faults.FailDeletes answers both delete calls 503 before anything else,
// and removes nothing.
//
// Rate limits: one sliding window and one daily count per location, and
// one pair for the agency's own calls. Requests refused by the limiter take no slot; the
// header, route and token checks come before the limiter, so those failures
// take none either, while validation failures do. The daily count resets
// at midnight UTC; X-RateLimit-Daily-Reset is that instant in Unix
// milliseconds. A limit that is off (negative) sends none of its headers.
// Stats.MaxInWindow counts requests the limiter let through (the largest
// of the locations' and the agency's; each location's is in
// Stats.Locations), and is kept even when the limit is off. Injected 429s have Retry-After: 1, or
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
// # Social planner CSV imports
//
// Each location has its imports of CSV files of posts (socialcsv.go;
// remote/API.md, "Social planner CSV imports", gives the wire format),
// kept in memory only (not in DataDir: the demo seed gives each demo
// location three at every start). Every answer is wrapped, {"success":
// true, "statusCode", "message", "results"}; errors are NestJS's. The
// path's locationId must be the token's location (403, or 401 under
// location-401), judged after validation, as altId is.
//
//   - GET csv?skip=&limit=&includeUsers=&userId=: skip and limit are
//     number strings (defaults "0" and "10"; limit "0" is no limit, as
//     MongoDB's); the imports newest first (createdAt, then _id,
//     descending), deleted ones among them with "status": "deleted" (a
//     guess: the client must hide them either way); results:{csvs, count},
//     csvs an array of CSVImportSchema records (_id, locationId, fileName,
//     accountIds, file, status, count, createdBy, traceId, originId,
//     approver when set, createdAt), count every import listed. userId
//     keeps those it created.
//   - GET csv/{id}?skip=&limit=: results:{csv, count, posts}, posts paged
//     as above, count all of them. A deleted or unknown import: 404
//     {"message": "CSV not found"}.
//   - DELETE csv/{id}: the status becomes deleted; answered 200 "Deleted
//     Post" with results:{csv} the record as it was (Mongoose's
//     findOneAndUpdate returns the document before the change), less _id
//     and createdAt (CsvResponse). Deleted or unknown: 404. An import
//     still importing is deleted too, unless csv-delete-422-importing.
//   - POST csv (multipart/form-data, the CSV in the part "file" with a
//     filename, no other field: 422): staged at filePath
//     "<locationId>/social-import/<uuid>.csv"; 201 "Uploaded CSV"
//     results:{filePath, rowsCount, fileName}, rowsCount the rows after
//     the header, blank ones left out. No file: 400 "File is required";
//     not CSV: 400 "Invalid CSV file"; over 25 MB: 413.
//   - POST set-accounts {accountIds, filePath, rowsCount, fileName,
//     approver?, userId?} (422 as class-validator words it when a field is
//     missing or of the wrong type; 400 for a filePath nothing was staged
//     at, or a rowsCount outside 1 to the CSV's rows): makes the import,
//     pending, of the first rowsCount rows, each a post (its columns
//     postAtSpecificTime, content, link, imageUrls, videoUrl,
//     followUpComment); its file is filePath; 201 "Accounts Set
//     Successfully", without results (the answer names no import).
//   - PATCH csv/{id} {userId?}: a pending import becomes importing, and
//     completed CSVImportTime later (DefaultCSVImportTime, 2 s;
//     SetCSVImportTime), on the fake's clock (Options.Now); any other is
//     left as it is, with the same 200 "Updated Successfully".
//
// Statuses move on their own: an importing or in_progress import whose
// time has come is completed whenever the imports are read. Tests seed
// imports with AddCSVImport (any status, posts, time, and when it
// completes) and read them with CSVImports and CSVImport (the record as
// listed, and every post), on Server (the first location) or Location;
// SetCSVStatus changes one. The control endpoints do the same over HTTP:
// POST /_ghlfake/social-csv {"location": "ID" (default the first),
// "imports": [{"fileName", "status", "accountIds", "createdAt", "posts",
// "rows", "doneIn": "2s"}]} answers {"ids": [...]}; GET
// /_ghlfake/social-csv?location=ID answers {"imports": [{"csv": <record
// as listed>, "posts": [...]}]}, deleted ones too, newest first.
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
//   - upload-needs-alt: an upload's parentId (or folderId query) places
//     the file only when the form also has altId and altType; without
//     them the file lands in the root, answered with success (a public
//     client sends both; a server that needs them would misplace every
//     upload of a client that does not).
//   - type-allowlist: an upload whose file part's content type is not in
//     a list (UploadTypeAllowed) is refused with 400 {"statusCode": 400,
//     "message": "INVALID_FILE_TYPE", "error": "Bad Request"}, judged when
//     the part begins (before its size), and nothing is stored. A part
//     without a Content-Type is text/plain there too (accepted). Seen
//     refused: application/octet-stream, audio/mp4, image/avif; seen
//     accepted: image/png, image/jpeg, video/mp4, audio/mpeg,
//     application/pdf; the rest of the list is a guess (see
//     UploadTypeAllowed's table).
//   - oauth-nest-errors: /oauth/token's errors come as the API's others,
//     {"statusCode", "message", "error"}, with the same statuses.
//   - refresh-revokes-access: a refresh revokes the access tokens the
//     grant issued before it.
//   - refresh-reuse-revokes: reusing a refresh token revokes its whole
//     grant (every access and refresh token of that login).
//   - upload-id-differs: an upload's storage object is named by a random
//     UUID of its own (its url ends in /media/<uuid><ext>), and the
//     answer gives that UUID as fileId, while listings show the item's
//     24-hex _id (and that url). The API knows no item by the UUID: POST
//     and DELETE /medias/<uuid> answer 404, delete-files reports it
//     {"deleted": false} and update-files {"updated": false}, as for any
//     unknown id (a guess: what the service does with such an id is not
//     known), and nothing is changed.
//   - uuid-ids: every item made from then on (folders, uploads, AddFile)
//     gets a UUID (version 4, lowercase) as its id: no time can be read
//     from it. The demo seed keeps its ids. A library of UUIDs is kept in
//     DataDir and read back.
//   - update-404: POST /medias/{id} and PUT /medias/update-files answer
//     as routes the service does not have: 404 {"statusCode":404,
//     "message":"Cannot POST /medias/<id>","error":"Not Found"} (NestJS's
//     answer to an unknown path, given before the token is looked at), as
//     a field report says every rename route it tried answered a Private
//     Integration Token.
//   - no-bulk-routes: PUT /medias/delete-files and PUT
//     /medias/update-files answer the same route-not-found 404; DELETE
//     /medias/{id} still works (and deletes for good).
//   - delete-needs-alt: DELETE /medias/{id} without altId or altType is a
//     400 {"statusCode":400,"message":"altId and altType are required",
//     "error":"Bad Request"} (by default it fails validation, 422).
//   - essential-folders: folders carry "appFolder" and "isEssential" (in
//     listings and in the folder creation's answer); a new library (seeded
//     or empty, not one loaded from DataDir) gets two system folders at
//     its root, EssentialFolder (isEssential, empty) and AppFolder
//     (appFolder, holding AppFolderFile); removing (DELETE, delete-files)
//     or renaming (POST /medias/{id}, update-files) a request naming a
//     system folder answers 400 {"statusCode":400,"message":"System
//     folders cannot be deleted"|"... renamed","error":"Bad Request"} and
//     changes nothing. What is inside them is ordinary.
//   - restore-keeps-updated: a restore leaves updatedAt as it was (the
//     trash set it), so a listing by updatedAt does not bring the item up.
//   - fetchall-unpaged: fetchAll=true answers every item of the type at
//     once, ignoring offset, limit and the page cap (a folder's own
//     listing still pages).
//   - fetchall-lag=D (a positive Go duration): fetchAll and sortBy=updatedAt
//     answers show the library as it was D ago (creates, renames,
//     removals and restores show D late; an item's updatedAt and name are
//     its old ones meanwhile), as a search index fed behind the primary
//     store would; a folder's own listing (createdAt or name order) shows
//     it at once. History is kept from when the lag is on: items created,
//     and states replaced, before that are shown to every answer.
//     Stats.LaggedLists counts the answers that showed an earlier library.
//   - version-401: a missing Version header is answered 401 "Version
//     header was not found", one the API does not take (or any, with
//     Faults.RefuseVersion) 401 "Version header is invalid", with "error":
//     "Unauthorized", instead of 400 (a live probe saw 401).
//   - location-401: an altId that is not the token's location is answered
//     401 "Your token grants access to location X but you're requesting
//     Y" (X the token's, Y the altId sent), "error": "Unauthorized",
//     instead of 403 (as public clients report).
//   - locations-page-cap=N (N from 1 to 1,000,000): /oauth/installedLocations
//     and /locations/search give at most N locations a page, whatever
//     limit asks (the spec's default is 20, its maximum undocumented);
//     installedLocations' count is still every match.
//   - pkce-ignored: the authorize page ignores code_challenge, as a
//     server without PKCE does: the code's exchange takes any
//     code_verifier, or none (HighLevel's docs say nothing of PKCE).
//   - csvs-object: GET csv's csvs is an object holding the page's imports
//     keyed by their index ("0", "1", ...), as the spec types csvs as an
//     object (clients and examples have an array).
//   - count-is-page: the count of GET csv and GET csv/{id} is the page's
//     length, not the total (which the spec leaves unsaid).
//   - csv-limit-cap=N (N from 1 to 1,000,000): GET csv and GET csv/{id}
//     give at most N items a page, whatever limit asks (the largest limit
//     the service takes is not documented).
//   - csv-delete-422-importing: DELETE csv/{id} of an import still
//     importing or in_progress is refused, 422 {"message": ["CSV import is
//     in progress and cannot be deleted"], "error": "Unprocessable
//     Entity"}, and nothing changes.
//   - pkce-refused: as pkce-ignored, and POST /oauth/token holds its body
//     to the published schema (GetAccessCodebodyDto: client_id,
//     client_secret, grant_type, code, refresh_token, user_type,
//     redirect_uri), as NestJS's forbidNonWhitelisted validation does,
//     before anything else: any other field, code_verifier among them,
//     is answered 422 {"statusCode": 422, "message": ["property
//     code_verifier should not exist"], "error": "Unprocessable
//     Entity"}, and the code is not used up.
//
// Defaults: token DefaultToken, location DefaultLocationID, company
// DefaultCompanyID, client DefaultClientID and DefaultClientSecret. Item.URL is
// absolute once the server is started; for a Handler served elsewhere the
// API builds URLs from the request's Host, and Item.URL is a path.
//
// # What it owns
//
// The HighLevel backend's fake, as remote/ghl is its client: the wire
// format (handlers_*.go, respond.go), the libraries (store.go, trash.go,
// lag.go, listindex.go, persist.go), the OAuth app and an agency's
// locations (oauth*.go, location.go), the social planner's CSV imports
// (socialcsv.go), rate limits (ratelimit.go), faults and quirks
// (faults.go, quirks.go), and the demo library (demo*.go). It
// imports nothing of the client (remote, remote/ghl): a fake that shared
// the client's code could share its mistakes.
//
// # Lock order
//
// A goroutine that holds several of these locks took them in this order
// (each indented lock only under the one above it):
//
//	store.mu         one location's library (never two at once); held
//	                 across its state file's write (DataDir)
//	  listIndex.mu   the sorted listings of its generation
//	  quirksMu       read: the clock skew, the lag, uuid ids
//	  idGen.mu, lockedRand.mu
//	oauthState.mu    the app's grants, codes and tokens
//	  lockedRand.mu  random codes and tokens
//
// Server.mu, faultsMu, limiter.mu, stats.mu and socialCSV.mu (the CSV
// imports: the quirks, the time and new ids are had before it is taken)
// are leaves, taken with none of the others held; so are quirksMu,
// idGen.mu and lockedRand.mu elsewhere.
package ghltest
