// Package memtest is an in-memory remote.Backend: one library, held in
// memory, for tests of the layers above remote (the cache) without HTTP.
// Its Caps are a Profile's, which a test may change: the library follows
// them (unique names or duplicates, a new id per upload or versions under
// one id, the trash or removal for good, moves, one listing per folder or
// one per type ...). Three profiles stand for the services ghlfs serves or
// will: HighLevel, ImageKit and OCM, faithful to what remote/API.md,
// ../shared/imagekit-api.md and ../shared/ocm-api.md say each service
// does (ids of their form, ImageKit's silent name rewriting and its
// folder made twice, OCM's names without case and its "name(2)").
//
// The backend is what a client and its service are together: a call's
// error is what the client would give (an *remote.Error of the status the
// service would answer, remote.ErrNotSupported for what Caps rule out,
// a *remote.NotDoneError naming the ids a removal left), and a call
// counts once (a listing once per page of Options.PageSize items).
//
// What a test uses besides the remote.Backend:
//
//   - the library, read and changed without calls (no fault applies):
//     AddFolder, AddFile, SetName, Delete (as another client would),
//     Items, Item, Content, Tree;
//   - faults: FailNext (the next calls fail before acting), LoseAnswer
//     (they act, and their answer is lost: remote.ErrAmbiguous),
//     RefuseRemoval (per-id results of a removal), Hold (a call waits
//     at a Gate until the test opens it: no sleeps);
//   - counts: Calls by Op, and the Observer's Stats and Usage.
//
// Where the profile keeps versions (Caps.Versions), a file's versions are
// numbered from 1 (Version.Num), a number never taken again once its
// version is removed; Versions lists them, RemoveVersion removes one but
// never the current one (remote.ErrBusy, as a 400).
//
// Times come from Options.Clock, so a test moves time rather than
// sleeping.
//
// # Lock order
//
// Backend.mu is the only lock, and a leaf: it is never held while a call
// waits at a Gate, nor while the caller's code runs (List's add and
// restart, ListUpdated's visit, an upload's Open and reads).
package memtest
