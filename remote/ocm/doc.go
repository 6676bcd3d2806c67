// Package ocm is Oracle Content Management's Documents API 1.2 as a
// remote.Backend (../shared/ocm-api.md is the reference; remote/API.md
// the wire format used, each unknown with the quirk of the fake,
// remote/ocm/ocmtest, that covers it).
//
// Requests go through the shared request core (remote.Core), to
// https://<instance>/documents/api/1.2/ alone, paced at 20 calls a
// second of the client's own (no limit is published; a 429's
// Retry-After pauses every call). File bytes come from that host too,
// with the credentials (remote.Core.ReadAPIAtvSized): no url of a
// listing is ever fetched, and no credential goes to any other host
// than the API's and, for the client's secret, the token url's.
//
// Authentication is one of (Config; remote.Authorizer):
//
//   - an identity domain's client credentials (auth.go): POST TokenURL,
//     HTTP Basic id:secret, grant_type=client_credentials and the scope;
//     the token is kept until a fifth of its life (5 minutes at most)
//     before expires_in, renewed once on a 401; one grant at a time. A
//     refused grant (400, 401) is ErrCredentials, logged once, and not
//     asked again for 30s;
//   - a bearer token given whole, read again from its source on a 401;
//   - a public link: linkID in every call's query and the LinkID header,
//     the access code as the cookie dAccessCode-<linkID>, read again
//     from its source when refused (-18);
//   - an applink: the appLinkID and accessToken headers.
//
// What the backend does, and why:
//
//   - Errors are read from errorCode, a string ("0" success, negative a
//     failure), in a non-2xx answer and inside a 200 (error-in-200,
//     remote.Hooks.AnswerError, a whole JSON answer to a read too), and
//     mapped onto remote's kinds (errors.go): -16 not found, -17 name
//     taken, -18 access code (401), -20 privilege (403), -26 a link
//     invalid or expired (a 401 of cause ErrLinkInvalid: incurable,
//     logged once per endpoint), a reservation by another user (errorKey
//     ...Reserved..., whatever the code) remote.ErrBusy. The message is
//     title || errorMessage, cut and cleaned.
//   - Listings: GET folders/{id}/items?orderby=name:asc, paged by offset
//     while hasMore is "1" or totalResults says more (hasmore-zero),
//     pages of whatever length the server gives (page-cap). Pages overlap
//     by four items, which must repeat; a pass that does not is read
//     again, and no clean pass in four is remote.ErrListUnstable. One
//     listing gives files and folders (Caps.OneListing). Every item is
//     checked: a GUID (letters and digits, 128 at most), a name that can
//     be shown, its folder's id (the root by any of its ids: "self" and
//     the GUID GET folders/self answers, home-guid), a file's version and
//     size as strings of digits. Rev is the version number.
//   - Look-ups by name use filterName, and compare ignoring case
//     themselves (filter-ignores-case); an exact filter does not see a
//     name held in another case, which the service then meets as a
//     clash: every create's answer is checked for it (below). An answer
//     holding another name means the service ignores the filter
//     (filter-ignored): the look-up, and every one after (logged once),
//     reads the folder's whole listing, overlapped and bounded as a
//     listing is, and takes only a name equal ignoring case (the exact
//     one first). Else a look-up reads at most 10 pages.
//   - Reads: files/{id}/data?version=Rev by ranges, the current version
//     pinned by the file's details when no Rev is given; the answer's
//     total must be the version's size (an answer of another length is
//     asked again, then an error, its cause read from the file's
//     details).
//   - Uploads (write.go): the file holding the name (Upload.Into, else a
//     look-up) gets the bytes as a version, POST files/{id}/data (id and
//     name kept, Caps.NewIDPerUpload false); a free name a new file, POST
//     files/data. A new file answered under another name (name(2):
//     upload-dup-suffix, or a name held in another case) is removed and
//     the bytes go again as a version of the file a listing finds
//     holding the name; a version of another file than asked is removed.
//     A lost answer is looked into before the bytes go again: Into at a
//     later version than the one sent over, of the size sent, is the
//     upload (FindLanded too).
//   - Folders: POST folders/{parent} after a look-up (the service answers
//     name(2) for a taken name); an answer under another name is removed
//     and remote.ErrExists.
//   - Renames: PUT files/{id} / folders/{id} {"name"} after a look-up; an
//     answer under another name is named back and remote.ErrExists. A
//     change of case alone the service refuses or ignores
//     (case-rename-refused) goes through NAME.ghlfs-case-XXXXXXXX: a crash
//     between the two leaves the item under that name, id and versions
//     kept.
//   - Moves: POST files|folders/{id}/move {"destinationID"}, id, versions
//     and dates kept (Caps.Move, MoveFolders: no EXDEV), then a rename;
//     the destination is looked at first (remote.ErrExists), and the item
//     after: one landed under another name (move-clash-suffix) is moved
//     and named back, remote.ErrExists. Where the destination holds the
//     old name in any case (a listing of it: the exact filter cannot
//     tell), the item is renamed first, through NAME.ghlfs-move-XXXXXXXX
//     where the source holds the new name. A lost answer is looked into.
//   - Removals go to the trash (Caps.Trash; nothing is removed for good
//     over REST: Permanent is remote.ErrNotSupported), one DELETE an item
//     (BulkRemove 1). A file's DELETE is sent again while GET files/{id}
//     still finds it and its folder still lists it, at most once per
//     version it has (delete-latest-only: no older version is ever left
//     showing). Per-id results are a *remote.NotDoneError.
//   - The trash by id: whether GET files/{id} (and its versions, GET
//     folders/{id}) answers a trashed item is unknown (trash-visible:
//     as a live one, no marker). So a file is alive only when its
//     folder lists it: a removal's check, Stat and Confirm ask the
//     listing (by filterName) after the file's details; a version upload
//     to a file gone (404) looks the name up again and makes a new file
//     when none holds it. A rename, a move or a removal of a trashed
//     item is refused by the service (404), as it is by default.
//   - Versions: GET files/{id}/versions, the highest current.
//     RemoveVersion never removes the current one (remote.ErrBusy,
//     nothing sent), sends the version in the query and in the body
//     (delete-version-in-query), and lists the versions after: a service
//     that removed more than that version is an error, logged.
//   - Names (ValidName): the service's rules are unknown; refused are
//     those a document service may refuse or rewrite (\ / : * ? " < > |,
//     control characters, a space at either end, a trailing '.', over 255
//     bytes: strict-names).
//
// # Lock order
//
// Backend.mu and ccAuth.mu are leaves: never held across a request, nor
// while a caller's function runs. A token grant runs in one goroutine
// of a single flight, bounded by 30s, with no lock held; Backend.Close
// stops it and waits for it (the cache's Store closes its backend).
package ocm
