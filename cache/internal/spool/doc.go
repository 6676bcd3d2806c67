// Package spool is what the write-back queue keeps on disk, in the cache
// directory: each pending change to a file is a record, its file
// (spool/ID.json: RecordFile, written atomically and durably before the
// change is acted on) and its bytes (spool/ID.data). A user's create, time
// set or close is only noted, atomically but not durably: as an extended
// attribute of the bytes where the filesystem takes one (NoteOn,
// note_linux.go), else as the record's file (Note); of the two, the one
// with the higher RecordFile.Seq is the record. Bytes that must not
// be uploaded go to recovered/, under a name that says when and which
// file; owner.json names the library the directory is the cache of.
// Spares (spares.go) are empty bytes made ahead, under new ids, for the
// records of new files: a create takes one rather than wait for the disk
// to make a file.
//
// It owns the record file's format (a spool an earlier ghlfs left must
// still be read: Format counts its versions), the names of the files,
// their fsyncs, the checksum of complete bytes, and the reading of the
// spool at start (Recover): records half written, of another library, of
// an earlier ghlfs, and bytes no record holds. What a record's state
// means, and what a restart does with it, is the queue's
// (internal/pending, facts.go): here a state is a string that is
// saved and read back.
//
// It imports listing (the claims a record keeps are listing.Claim) and
// fsync, and is imported by writeback alone.
//
// # Lock order
//
// A Spool has no lock: it is not changed after New, and the files of one
// record are written by their record's owner, which holds that record's
// lock (writeback.Record.mu) across each call. Spares.mu guards the
// spares made ahead; it is a leaf, never held across a file system call,
// and taken with no other lock held.
package spool
