// Package cache is the cached remote layer between the filesystem and the
// media store. It reaches the store through remote.Backend alone (cmd
// builds the backend; this package imports no backend's own package), and
// reads what the service does from its remote.Caps.
//
// # Layout
//
// The filesystem talks to one front, Store (and the Handle of an open
// file); behind it each concern is a package of its own under internal/,
// which only this package can import, so that "fs talks to the front
// alone" is a rule the compiler keeps:
//
//	cache (store.go, handle.go, fileversions.go, passthrough.go, known.go,
//	      limits.go, status.go, stats.go, errors.go, entry.go, socialcsv.go)
//	      the front: views, Stat, changes, open files, a file's versions
//	      (listed, read, removed one by one); Options; status, stats and
//	      cache usage for cmd; the error kinds and Entry, re-exported from
//	      entry; the cache dir's lock (LockDir); the social planner's CSV
//	      imports, where the backend has them (remote.SocialCSV), apart
//	      from the rest
//	  └─ internal/writeback   the write-back queue: every pending change
//	     │        to a file's bytes, as records; the workers that carry
//	     │        them to the API; what a restart does with each; renames
//	     │        by upload, upload limits
//	     ├─ internal/pending  one record's file: its explicit, persisted
//	     │        states, its bytes in the spool and their open files
//	     │        (Bytes), the fsyncs waiting, the decisions made from
//	     │        them (the next step, what a restart does), crash points
//	     ├─ internal/spool    what the queue keeps on disk: the record
//	     │        file's format, its durable writes, the spool read back
//	     │        at start, recovered/ and owner.json
//	     ├─ internal/index    what the records share under one lock: the
//	     │        records by key, each folder's overlay, what a file is
//	     │        across uploads (its key, its latest copy), the work list
//	     ├─ internal/locate   the queue's look-ups in the library: the
//	     │        listed file an upload's answer is, where its bytes are
//	     ├─ internal/listing  listings with TTLs, the journal of changes
//	     │   │    made through the mount, uploads whose id no listing has
//	     │   │    shown yet (claims), passes and polls
//	     │   └─ internal/snapshot  the listings saved for the next mount
//	     ├─ internal/content  file bytes: chunks in memory and on disk,
//	     │        read-ahead, whole files for FUSE passthrough, the sizes
//	     │        listings lack
//	     └─ internal/times    the modification times users set
//	internal/entry   Entry, Listing and the error kinds: the leaf every
//	                 part imports
//	internal/fsync   a directory synced (the spool, the snapshot's mark)
//	internal/testlog a logger's lines, for tests alone
//
// The front imports writeback, pending (an upload's status), listing,
// snapshot, content, times and entry (it calls each part directly where
// the queue has no say: a folder listed, made or removed, bytes read);
// writeback imports pending, spool, index, locate, listing, content,
// times and entry; pending imports spool, index, listing and entry, and
// never writeback (a record holds its pending.Facts and calls them
// down); spool imports listing and
// fsync, index listing and entry, locate listing, content and entry, and
// none of those three imports writeback or another of them (the queue
// hands locate the functions it calls back, and the index holds the
// queue's records without calling them); listing imports snapshot and
// entry, snapshot entry and fsync, content entry alone, and listing and
// content never import each other; entry imports nothing of the cache
// (times and fsync nothing at all). None imports a backend's own
// package: remote's interface and types are all they know of one.
//
// # The import rule
//
// A lock may be held while calling down, never up. A package cannot name
// what is above it, so the only way up is a function it was handed at
// construction, and it calls one with none of its own locks held. No
// part has a field set after it is made: each gets all it calls in its
// Config.
//
// The links that go up, or across between listing and content, are
// methods of the Store, which New makes before any part, so that they
// exist when the parts are made; each hands the call down to the part it
// is for (one goes straight to the part, made first):
//
//	content.Config.Relist   Store.relisted → listing.Folders.Relisted
//	                        (a url a saved listing gave was refused)
//	listing.Config.Fetched  content.Cache.LearnSizes (made before listing)
//	listing.Config.Changed  Store.changed → OnChange's function, with the
//	                        views before and after
//	listing.Config.Adopted  Store.adopted → writeback.Queue.AdoptedAs (an
//	                        upload found listed: the queue re-keys it)
//	listing.Config.Known    Store.knows → writeback.Queue.Knows
//
// The parts are made in that order (times, content, listing, writeback),
// and nothing calls a link before New returns but the queue's workers
// and the listings' passes, which New starts last.
//
// # Lock order
//
// A goroutine that holds several of these locks took them in this order
// (an arrow: may be taken while the one above is held), and none is held
// across a call to the API or the storage host:
//
//	Handle.mu           an open file: outermost, taken with nothing held;
//	  │                 held while its record is looked up (Queue.Read),
//	  │                 let go of before a read, a write or a call to
//	  │                 the API
//	  ↓
//	writeback.Record.mu one record at a time, never two at once; it
//	  │                 guards the record's pending.Facts
//	  │  ├→ pending.Bytes.mu (leaf: the record's bytes and open files)
//	  │  ├→ times.Log.mu (leaf: a time set on a pending file, an upload
//	  │  │              that landed)
//	  │  └→ listing's locks, below (an upload noted as it lands, a claim
//	  │                 kept)
//	  ↓
//	index.Index.mu      the records' index, keys and latest copies,
//	  │                 overlays, the work list, and the records' busy,
//	  │                 queued and again (the queue's, in a package of
//	  │                 its own below it; locate has no lock, and
//	  │                 spool's one is spool.Spares.mu, a leaf taken
//	  │                 with none of these held)
//	  ↓
//	listing.Folders.mu  the journal, claims and adoptions, the passes
//	  ├→ listing.Folders.lmu (leaf: the stored listings, a RWMutex)
//	  └→ snapshot.Snapshot.mu (leaf: a listing stored or dropped is
//	                    saved)
//
//	Store.mu            the views built, OnChange's function, and files'
//	                    versions as last listed (leaf: fileversions.go
//	                    takes it after asking the queue, never while)
//	SocialCSV.mu        the CSV imports listed and their contents (leaf)
//	content's locks     Reader.mu, then fetchGroup.mu, then
//	                    blockCache.mu or Disk.mu (internal/content/doc.go);
//	                    taken with none of the locks above held
//
// Waiting for a record's upload to end (a write into a file whose bytes
// are being sent) is a wait on Record.cond, which releases Record.mu; a
// worker waiting for work, or a drain for progress, waits on a condition
// of Index.mu, which releases it. A record's worker lets go of Record.mu
// across each call to the API (Record.away, Record.back). Each part's
// doc.go has its own order in more detail.
//
// # Goroutines
//
// Every goroutine the cache starts is stopped by Store.Close, which waits
// for it: the queue's workers and its timers (writeback), the passes over
// the library, polls and revalidations of saved listings, and the
// snapshot's writer (listing and snapshot: Folders.Close), and content
// fetches with their disk copies and the size look-ups (content:
// Cache.Wait). Last, it closes its backend when that is an io.Closer
// (OCM's stops a token grant under way).
//
// # Time
//
// Every TTL, delay and backoff reads one clock, Options.Clock, so tests
// move time instead of sleeping. The one span timed on the wall clock is
// how long a learnt size is kept (below): it decides when a size is
// asked again, never what a file shows or when a change is sent. (The
// disk cache's file times are real times on disk, for its LRU across
// restarts.)
//
// # What the cache reads from Caps
//
// The service's ways are read from remote.Caps (Store.Caps), never
// assumed; HighLevel's Caps give what ghlfs always did:
//
//	OneListing       a folder is one List call (ListQuery.Type ""), else
//	                 one per type of item, both at once (listing:
//	                 Folders.listBoth)
//	ListAll          Options.ListAll is dropped without it, one INFO line
//	                 (front: followCaps; listing.New too): listings then
//	                 follow each folder's TTL, and polls the folders in
//	                 use
//	ListRecent       polls by last change only with it; else the folders
//	                 in use are polled (listing.New: recentOff)
//	Trash, Permanent a removal goes to the trash unless Options.Delete;
//	                 for good where there is no trash, to the trash where
//	                 nothing is removed for good, one INFO line (front:
//	                 followCaps)
//	Rev (Item)       content is cached by id and version
//	                 (entry.Entry.ContentKey: chunks in memory and on
//	                 disk, whole files for passthrough, sizes learnt, the
//	                 kernel's page cache through Handle.ContentID); reads
//	                 name the version (Entry.FileRef); the snapshot keeps
//	                 it (snapRev); an entry of a version the mount's own
//	                 upload superseded stands for that upload
//	                 (index.Index.Newer, Store.latest)
//	PublicURL        an entry without a url is looked up in its folder's
//	                 listing before a read, or before its bytes are
//	                 copied in to change them, only where bytes come from
//	                 urls (locate.Locator.Locate, for the front and the
//	                 write-back queue)
//	ValidName        a create, mkdir, rename or move to a name the
//	                 service would rewrite is ErrInvalid, before any
//	                 call (front: Store.checkName)
//	UniqueNames,     a create, mkdir, rename or move onto a name another
//	CaseInsensitive  item holds (ignoring case, with CaseInsensitive) is
//	                 ErrExists (checkName); look-ups stay exact; with
//	                 UniqueNames a rename onto a file of the API removes
//	                 that file first, its removal answered whatever the
//	                 write-back delay, then renames (Store.Rename,
//	                 removeReplaced; also when the renamed file's record
//	                 left the queue during the rename); onto one whose
//	                 changes the queue holds, the queue renames once that
//	                 file's copy is gone (Queue.RenameVia). A name that
//	                 a copy still holds for a file renamed, moved or
//	                 removed with its change queued is freed first: the
//	                 record is made due, and the change waits for its
//	                 copy to leave (checkName, writeback Queue.Vacate). A
//	                 moved record renamed over keeps its copy left
//	                 behind, and trashes it from that folder (Hold,
//	                 supersede). A 409 left (a name the mount did not
//	                 show) is ErrExists (entry.Translate)
//	Move,            a rename across folders of a file, of a folder, is
//	MoveFolders      Backend.Move (Store.Move, which fs calls); else
//	                 ErrCrossFolder (EXDEV: mv copies). A file with
//	                 pending bytes moves in the write-back queue, whose
//	                 worker moves its copy (writeback: Queue.Move,
//	                 moveRemote); one uploaded in this mount moves on the
//	                 server, and the queue follows (Queue.Moved)
//	MaxUpload        the largest upload by type (writeback: limits.go)
//	NewIDPerUpload   what a replace does (writeback): a new copy, then the
//	                 old one retires; else a new version of the same id,
//	                 which never retires, a rename sent before the upload,
//	                 and a lost answer looked for as a later version of
//	                 the copy that held the name (Attempt.Into, BaseRev)
//	UniqueNames      (writeback) the copies a pending file supersedes go
//	                 before it takes their name; a copy that still holds
//	                 a name for a file renamed, moved or removed in the
//	                 queue is renamed, moved or trashed before a new item
//	                 takes the name (Queue.FreeName, from checkName; the
//	                 record's change goes at once: Facts.Hurry); a file
//	                 with pending bytes replaced by a rename or a move
//	                 has its copy follow it to its folder first
//	                 (Queue.Follow), whence it is trashed
//	Versions         a file's versions are listed (Store.Versions: the
//	                 service's versions of the file's copy in the API,
//	                 even where its newest bytes wait in the queue; kept
//	                 10s on the clock, less than Options.DirTTL, asked
//	                 again at once when the file's Rev changes or a
//	                 version is removed through the mount), read through
//	                 the content part by id and Rev (OpenVersion), and
//	                 removed one by one (RemoveVersion; never the
//	                 current one: ErrInUse, nothing sent). Without it,
//	                 ErrNotSupported
//	XattrPrefix      the xattr names fs shows (fs/xattr.go)
//
// # go-cache
//
// go-cache (github.com/patrickmn/go-cache) is a locked map whose items
// expire. It serves where an item may go after a while with nothing lost
// but a request: the sizes learnt from the storage host for listings
// that lack them (internal/content), each kept an hour, so that the memo
// does not grow with every file the mount ever looked at. Its expiry
// reads the wall clock, which no test can move; that is right there only
// because nothing but a request depends on it (a size never goes stale
// under an id). Its janitor is not used, as its goroutine would outlive
// Close: the content part drops the expired sizes itself, when it starts
// learning more.
//
// It does not serve the listings, which a plain map under the listing
// part's lock serves better (internal/listing/doc.go says why: nothing in
// them expires, their TTL reads Options.Clock, and a pass walks them
// all).
package cache
