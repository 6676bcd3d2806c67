// Package ocmtest is a fake of Oracle Content Management's Documents API
// 1.2 (../shared/ocm-api.md), like httptest: the API under
// /documents/api/1.2/ and the identity domain's token endpoint
// (POST /oauth2/v1/token) on ONE address, plain http (the real service
// is HTTPS only, and its identity domain another host). cmd/ghlfake runs
// it as a program (ghlfake --service ocm).
//
// # Exported API (kept stable: remote/ocm's tests are built on it)
//
//	NewServer(Options) (*Server, error)   serving on a loopback port; Close
//	New(Options) (*Server, error)         an http.Handler; SetAddr(host:port)
//	Options{ClientID, ClientSecret, User, Password, StaticToken, TokenLife,
//	        Quirks, VersionCap, Now}
//	Server.URL                            API at URL+BasePath, tokens at URL+TokenPath
//	ClientID(), ClientSecret(), Scope()   credentials the token endpoint takes
//	HomeID() ("self", or the GUID under home-guid), HomeGUID()
//	Items() []Item, Item(id), Tree() map[path]Item, ByPath("a/b.txt"),
//	Content(id, rev)                      rev "" the current version, else its number "2"
//	AddFolder(parentID, name), AddFile(parentID, name, data)  ("" = home)
//	Remove(id) (to the trash), Restore(id) error, Purge(id)
//	Reserve(id, login)                    as another user ("" ends it)
//	AddLink(folderID, role, accessCode) linkID; AddAppLink(folderID, role)
//	(appLinkID, accessToken); RemoveLink(id); ExpireTokens()
//	SetFaults(Faults), CurrentFaults(), CutNext(endpoints...),
//	FailNext(endpoints...), Calls(endpoint), AllCalls(), ResetCalls()
//	SetQuirks([]string) error, Quirks(), KnownQuirks(), Endpoints()
//	ContractFake{*Server}                 remotetest.Fake; ContractEndpoints
//	SeedDemo() Demo{SharedID, LinkID}     the demo library (ghlfake --demo), its
//	                                      link's access code DemoAccessCode
//	Item{ID, Name, ParentID, Folder, Trashed, Purged, Size, Version, Rev,
//	     Mime, Versions []int, ReservedBy, Created, Modified}
//	Constants: BasePath, TokenPath, Default*, ScopeSuffix, Role*,
//	Code* (errorCode strings), ReservedKey, Endpoint*, UploadsReceived,
//	Unauthorized, RateLimited, Quirk*.
//
// # What it does (reference: doc, seed 004, [Tk])
//
//   - Tokens: HTTP Basic client id and secret, grant_type
//     client_credentials or password, a scope ending in urn:opc:cec:all;
//     {access_token, token_type "Bearer", expires_in (a number, seconds)}.
//     A token lives Options.TokenLife (default an hour; tests make it
//     short), then the API answers 401. OAuth errors are
//     {"error", "error_description"}: invalid_client (401), invalid_scope,
//     invalid_grant, unsupported_grant_type (400). Options.StaticToken is
//     a bearer that never expires (a token file).
//   - Links: a public link (linkID or LinkID, in the query or a header)
//     over a folder with a role, and an access code sent as the cookie
//     dAccessCode-<linkID>: missing or wrong, 403 errorCode -18 (seed 004).
//     An applink: appLinkID and accessToken (the doc lists them as
//     headers; the query is taken too, as a browser's download url
//     would carry them; either spelling). A link or applink the fake
//     does not hold (never made, or ended: RemoveLink, which stands for
//     an expiry too) or whose folder is in the trash: 400 -26, "the link
//     is invalid or expired" (doc Error-Messages; its errorKey
//     !csFldUnableToProcess!csLinkInvalidOrExpired a guess); a wrong
//     applink token: 401. Items outside the linked folder: 403 -20; the linked
//     folder itself cannot be renamed, moved or deleted through it. A
//     viewer lists and reads item information; a downloader also reads
//     bytes; a contributor (and an applink's manager) also writes. A
//     request that names a link is the link's, whatever Authorization it
//     carries. The link's folder id comes with the link (its url); no
//     route to read a link is served.
//   - Items: GUIDs (F... folders, D... files, 44 characters as the doc's
//     D34A657B8723A96097F80926T0000000000100000001); the home folder is
//     "self" (doc examples: its items' parentID is "self"). Names are
//     unique per folder ignoring case, files and folders together.
//     Numbers are strings ("size":"13", "hasMore":"0", "count",
//     "totalResults", "offset", "limit", "version", "childItemsCount",
//     "errorCode":"0"); users are {displayName, id, loginName, type}; times
//     are 2006-01-02T15:04:05Z.
//   - Listings GET folders/{id}/items: limit default 50, at most 10000
//     (a larger one is taken as 10000: unknown), offset, orderby
//     name|createdTime|modifiedTime[:asc|:desc] (names compared ignoring
//     case), filterName exact (count and totalResults of the matches).
//     GET folders/items: the home folder's items (ownerFolderID "self"),
//     to a token only. GET folders/{id}: the folder.
//   - Files: GET files/{id}?version=N (reservedBy, reservationTime when
//     reserved); GET files/{id}/data?version=N with Range (bytes=a-b, a-,
//     -n: 206 and Content-Range; past the end 416 and bytes */size;
//     several ranges or a malformed one: 200, the whole file), ETag
//     "<id>-<version>"; GET files/{id}/versions (every version, the oldest
//     first, no paging).
//   - Uploads (multipart): POST files/data with jsonInputParameters
//     {"parentID"} and primaryFile (its filename the name, as sent): a new
//     file, or, onto a name the folder holds ignoring case, a new version
//     of that file, its name kept (doc); onto a folder's name 409 -17.
//     POST files/{id}/data: the next version, same GUID, name kept (the
//     doc note about my_file(2) there is not followed: upload-dup-suffix
//     covers it for POST files/data).
//   - PUT files/{id}, PUT folders/{id} {"name", "description"}: a rename;
//     a name another item of the folder holds, ignoring case: 409 -17
//     (guess). A case-only rename is allowed (unknown: case-rename-refused).
//     Dates are kept by a rename (unknown).
//   - POST files/{id}/move, POST folders/{id}/move {"destinationID"}: id,
//     versions, dates kept (doc); a folder into itself 400; a name taken
//     at the destination 409 -17 (unknown: move-clash-suffix).
//   - POST files/{id}/copy {"destinationID", "duplicateResolution"}: a
//     new file of the current version; a name taken 409, unless
//     TimeStampSuffix (name_HHMMSS.ext). POST folders/{id}/copy, deep.
//   - POST folders/{parent} {"name", "description"}: the folder; a name
//     taken gives name(2), name(3)... silently (doc). A file's number goes
//     before its extension (a(2).txt: unknown).
//   - DELETE files/{id}: the version from the JSON body {"version":"2"}
//     (every example; a number taken too) and ?version= ignored (quirk
//     delete-version-in-query for the reverse: a client must send both).
//     With a version: that version is gone (the only one: the file goes
//     to the trash). Without: the whole file goes to the trash (Example 6;
//     delete-latest-only for the text's "latest version"). Answer
//     {"errorCode":"0","idList":"<id>","type":"file"} (doc).
//     DELETE folders/{id}: to the trash with what it holds ({"type":
//     "folder"}). A version deleted is gone for good (no trash of
//     versions is known).
//   - Trash: items in it (and below a folder in it) are hidden from every
//     call (404 -16; trash-visible shows them to reads of their
//     details); their names are free again. No REST route is known:
//     the test API (Items' Trashed, Restore, Purge) and /_ocmfake/ see it.
//   - Reservations: POST files/{id}/reserve (doc: {id, reservationDate,
//     reservedBy, type}), POST files/{id}/unreserve {"reservedByUserID"}
//     (doc; the holder, or the library's owner naming the holder). A new
//     version, rename, move or delete of a file another user reserved:
//     403, errorCode -1 and the errorKey
//     !csFldUnableToProcess!csItemReservedByOtherUser,<user>,<id>
//     (ReservedKey; status, code and key a guess: the reference does not
//     know; -1 is the doc's code when no specific one exists).
//     Server.Reserve reserves as another user.
//   - Admin version cap (Options.VersionCap, quirk version-cap=N): an
//     upload past N versions deletes the oldest.
//   - Errors: {"errorCode", "errorKey", "errorMessage", "errorType":
//     "file", "title", "idList", "type"} (seed 004) with 400, 403, 404,
//     409, 416. Codes (doc Error-Messages): 0 success; -1 general
//     failure (a bad parameter, 400; a reservation, 403; a range, 416:
//     those statuses guesses); -16 not found (404); -17 name taken (the
//     doc gives no status: 409 a guess); -20 insufficient privilege
//     (403, seed too); -26 link invalid or expired (400); and -18 access
//     code required (seed 004, 403). A 401 is answered to missing,
//     unknown or expired credentials (WWW-Authenticate: Bearer).
//   - No rate limit is documented: no rate-limit header is sent, and a
//     429 is only Fault429's (with Retry-After).
//   - JSON only: an Accept of application/xml (the doc offers XML too) is
//     answered JSON; the fake has no HEAD route.
//
// # Quirks
//
// The reference's unknowns, each a named behaviour (Options.Quirks,
// Server.SetQuirks, ghlfake --quirk NAME). The client must pass under
// every one.
//
//   - delete-latest-only: DELETE files/{id} without a version removes only
//     the latest version (the previous becomes current); the default
//     removes the whole file. The doc contradicts itself (parameter
//     table "the latest version is used" vs Example 6 "all versions",
//     seed 004).
//   - delete-version-in-query: the version of a DELETE is read from
//     ?version=N only (the parameter table), the body ignored; the default
//     reads the body only (every example).
//   - error-in-200: every failure answers HTTP 200 with its negative
//     errorCode ("whether every failure also has a non-2xx status:
//     unknown", reference Errors).
//   - upload-dup-suffix: POST files/data onto a name taken makes a new
//     file name(2) (doc files-fileid-data-post's note), not a version (doc
//     Upload File: the default).
//   - move-clash-suffix: a move onto a name taken lands as name(2), as
//     create folder does (reference: "name clash at the destination:
//     unknown"); the default refuses (409 -17).
//   - case-rename-refused: a rename changing only case is refused as a
//     clash with itself (reference FUSE mapping: "case-only rename:
//     unknown").
//   - version-cap=N: keep N versions per file, deleting the oldest ([Adm]
//     set-user-quotas-and-manage-storage-space: the cap's value is the
//     instance's).
//   - hasmore-zero: hasMore is "0" on every page, totalResults honest (doc
//     describes hasMore as "The number of users found": its meaning in
//     practice unverified; a client pages by totalResults too).
//   - page-cap=N: a listing answers at most N items whatever limit asks
//     (the doc's max of 10000 unverified), "limit" in the answer saying N.
//   - filter-ignores-case: filterName matches ignoring case (doc: exact;
//     names being case-insensitive, unverified).
//   - filter-ignored: filterName is not applied at all: the listing is
//     the whole folder, paged as any listing, count, totalResults and
//     hasMore of the whole (the third reading of an unverified "exact";
//     a service that took the parameter for another name, or an older
//     version without it, answers so).
//   - home-guid: the home folder is written by its GUID (items' parentID,
//     GET folders/self's id) instead of "self" (doc examples show "self";
//     one instance may differ).
//   - strict-names: names with \ / : * ? " < > | are refused (400 -1)
//     ("name character rules: unknown"); by default only / and \, "", "."
//     and "..", control characters and names over 255 bytes.
//   - trash-visible: GET files/{id} (?version=N too), GET
//     files/{id}/versions and GET folders/{id} answer an item in the
//     trash, or below a folder in it, as if it were not: 200, its fields
//     and its old parentID, no marker of the trash (the reference names
//     none). Listings (the trashed folder's own too), the bytes (GET
//     files/{id}/data) and every change (rename, move, copy, upload,
//     delete, reserve) still answer 404 -16. The reference says nothing
//     of REST and the trash ("Trash listing/restore/purge over REST:
//     unknown"); the UI restores an item from the trash, so something
//     reads a trashed item by its id: whether GET files/{id} does is the
//     guess. A client that checks a removal, or an item's life, by its
//     id alone is wrong under it.
//
// # Faults
//
// Faults (Fault500, Fault429 with Retry-After, FaultCut: carried out then
// the connection cut, UploadDelay, Down) as the other fakes', drawn per
// API request; the token endpoint takes Down, FailNext and CutNext only.
// CutNext: the next request of an endpoint is carried out and its
// connection cut before any answer; FailNext: answered 500, nothing done.
//
// # Control API
//
// /_ocmfake/... (control.go) serves the test API over HTTP for ghlfake:
// items, content, calls, faults, quirks, folders, files, remove, restore,
// purge, reserve, tokens/expire, links, links/remove, applinks.
//
// # Lock order
//
// Server.mu is the only lock, a leaf: never held while a request's body
// is read or an answer written. It guards the fault queues and the
// counts too (a fakenet.Plumbing, whose methods take it).
package ocmtest
