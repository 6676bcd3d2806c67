// Package remotetest is the contract every remote.Backend keeps against
// its own fake. Run(t, fixture) runs each case as a subtest against a
// fresh fake the fixture starts (Fixture, Instance, Fake); a backend's
// test runs it once per profile (remote/memtest) or once per quirk of its
// fake (remote/ghl).
//
// A case checks what the backend's Caps claim, and that a call they rule
// out fails with remote.ErrNotSupported; it skips, saying so, only what
// is not claimed. Where a quirk of the fake makes a call impossible, the
// fixture names the error the backend documents for it
// (Instance.MayFail): the case checks that error, and that the library's
// active items did not change. A case the backend is known to fail
// (Instance.Known) is skipped with the bug named, never silently.
//
// The cases:
//
//   - List: a folder of more than two pages lists each item once, with
//     the service's name, type, folder, size and version; files and
//     folders apart, or together (Caps.OneListing); nothing of a
//     subfolder; the root's folders.
//   - ListAll: the whole library at once (Caps.ListAll), files and
//     folders, a removed file left out.
//   - ListRecent: the whole library by last change (Caps.ListRecent),
//     every file once, never a later change after an earlier one, and
//     no item more once visit says stop.
//   - StatRead: Stat's size; ReadAt of a whole file, a range, several
//     buffers, a range past the end (io.EOF with what there was), at the
//     end.
//   - CreateFolder: in the root and in a folder, as the service holds
//     it; made again onto its name: refused (remote.ErrExists) or a
//     folder the service holds under the name answered, one of that name
//     where names are unique.
//   - UploadNew: in the root and in a folder: one new item, its name,
//     size and bytes, read back.
//   - UploadReplace: onto a taken name: a new id, the old one's bytes
//     unchanged (Caps.NewIDPerUpload), or the same id at a new version,
//     one file of the name, the old version readable (Caps.Versions),
//     and the name in another case a version too (Caps.CaseInsensitive).
//   - UploadTooLarge: over Caps.MaxUpload: remote.ErrTooLarge, the bytes
//     never read, nothing made.
//   - NameRules: each of a set of names (spaces, accents, symbols, an
//     emoji) that Caps.ValidName passes is kept as sent, by an upload and
//     by a folder's creation; one it refuses is refused as
//     remote.ErrInvalid.
//   - Rename: a file, and a folder (Caps.RenameFolders, else
//     remote.ErrNotSupported) with what it holds, ids kept; onto a taken
//     name (in another case too, Caps.CaseInsensitive): remote.ErrExists
//     and nothing changed (Caps.UniqueNames), or two items of the name.
//   - Move: a file (Caps.Move) to another folder and back under a new
//     name; onto a taken name remote.ErrExists; a folder with what it
//     holds (Caps.MoveFolders), and never into itself; else
//     remote.ErrNotSupported and nothing changed.
//   - Remove: to the trash (Caps.Trash) and for good (Caps.Permanent),
//     a folder with what it holds, gone from listings; else
//     remote.ErrNotSupported; Caps.BulkRemove ids in one call.
//   - RemovePartial: a removal naming an item already removed removes the
//     others and names it alone in a *remote.NotDoneError; one the
//     service refuses (a Refuser fake) is named and kept.
//   - LostUpload, LostUploadFolder: an upload whose connection was cut
//     after the service stored it (Fake.CutNext), in the root and in a
//     folder: success or remote.ErrAmbiguous, one file made, FindLanded
//     finds it, and nothing once it is excluded or for a name never sent.
//   - LostReplace: the same onto a taken name: FindLanded finds the new
//     id (the old one excluded) or the file at a new version
//     (Attempt.Into, BaseRev), never the file as it was; nothing twice.
//   - LostFolder, LostRename, LostRemove: a folder's creation, a rename,
//     a removal whose answer was cut: done once, and the backend says so,
//     or remote.ErrAmbiguous, or a *remote.NotDoneError where a retry
//     found it done.
//   - ErrorKinds: reading, Stat of a removed file; a folder or an upload
//     into a removed folder: remote.ErrNotFound, as an *remote.Error, and
//     nothing made; a removed folder lists empty or not found; a rename
//     of a removed file: not found, or not done.
//   - Versions: three uploads of one name list three versions (two after
//     the second), the oldest first, each with its Rev, a number from 1
//     up, its size, the last alone current (Caps.Versions); an old one
//     reads by FileRef.Rev, whole and in a range; removing one removes
//     it alone, the others keeping their numbers; removing the current
//     one is remote.ErrBusy and changes nothing; a version or a file gone
//     is remote.ErrNotFound. Without Caps.Versions, both calls are
//     remote.ErrNotSupported.
package remotetest
