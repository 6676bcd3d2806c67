// Package writeback is the cache's write-back queue: every pending change
// to a file's bytes, as records with explicit states written to the spool
// before they are acted on (internal/pending has the table of states and
// what a restart does with each), carried to the API in the background by the
// workers (worker.go), and taken up again at the next start (recover.go).
// It also keeps the changes users make to files with pending bytes
// (changes.go), the renames the API refuses (recopy.go), the upload
// limits (limits.go), and its side of the uploads whose answer's id no
// listing has shown yet (claims.go).
//
// Four parts of it are packages of their own, below it:
//
//	pending what one record knows of its file, which the record holds
//	        (pending.Facts, under Record.mu), and the decisions made from
//	        it: its states, its bytes in the spool and their open files
//	        (pending.Bytes, with a lock of its own), the fsyncs waiting,
//	        the next step a worker takes, what a restart does with it,
//	        its status; the crash points
//	spool   what it keeps on disk: the record file's format, its atomic
//	        and durable writes, the spool read back at start (records of
//	        another library, of an earlier ghlfs, bytes no record holds),
//	        recovered/ and owner.json
//	index   what its records share under one lock: the records by key
//	        and spool id, each folder's overlay, the keys of the API
//	        copies and the copy that holds each key now (what a file is
//	        across uploads), the work list
//	locate  its look-ups in the library: the listed file an upload's
//	        answer stands for, where its bytes are, whether a copy is
//	        still listed, a file's bytes copied down
//
// It imports those four, and listing, content, times, entry and remote:
// it notes its changes in the listings, copies a file's bytes in through
// the content part, and moves the times users set. Those never call it
// back but through the functions passed them at construction: the
// front's (listing.Config.Adopted and Known go to AdoptedAs and Knows),
// and the queue's own to locate (Config.Exclusions, RemoteName). The
// index never calls it: it holds the records, and hands them back.
// Everything a Queue is made with comes in Config; nothing is set on it
// after.
//
// # Lock order
//
// A goroutine that holds several of these locks took them in this order
// (an arrow: may be taken while the one above is held), and none is held
// across a call to the API or the storage host:
//
//	Record.mu     one record at a time, never two at once; guards the
//	  │           record's pending.Facts
//	  │  ├→ pending.Bytes.mu (a leaf: the record's bytes and their open
//	  │  │        files, read and changed through Facts.Bytes)
//	  │  ├→ times.Log.mu (a leaf: a time set on a pending file, an
//	  │  │        upload that landed)
//	  │  └→ the listing part's locks (an upload noted as it lands, a
//	  │           claim kept, a removed file's copies found together:
//	  │           Folders.NotePut, Folders.Claim, Folders.Adopt)
//	  ↓
//	index.Index.mu  the records' index, keys and copies, overlays, the
//	  │           work list, and the records' busy, queued and again
//	  └→ the listing part's locks (a view takes its listing and its
//	              aliases at the instant it takes the overlay:
//	              Folders.Refresh, Folders.Aliases)
//
// The front's Handle.mu is above Record.mu (an open file looks its record
// up holding it). The content part's locks are taken with none of these
// held (a record's bytes are copied in with its lock let go: Record.away,
// Record.back). The listing part calls AdoptedAs and Knows with none of
// its own locks held, and they take Index.mu, then times.Log.mu after it
// is let go. spool.Spares.mu (the spares made ahead) is a leaf, taken
// before a new record exists (Create, Scratch, and recordOf for a copy
// to change) and at Close, with none of these held. The
// rest of the spool, locate and pending.Facts have no lock: a
// record's files are written holding its Record.mu (Facts.Save); locate calls the queue back (Exclusions,
// RemoteName: Index.mu, let go, then each record's Record.mu) with no
// lock held.
//
// Waiting for a record's upload to end (a write into a file whose bytes
// are being sent) is a wait on Record.cond, which releases Record.mu; a
// worker waiting for work, or a drain for progress, waits on a condition
// of Index.mu, which releases it.
//
// # Goroutines
//
// The workers (Start) and the records' timers; Close stops them and waits
// for the workers.
package writeback
