package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"

	"github.com/ghlfs/ghlfs/cache/internal/content"
	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/cache/internal/removal"
	"github.com/ghlfs/ghlfs/cache/internal/snapshot"
	"github.com/ghlfs/ghlfs/cache/internal/times"
	"github.com/ghlfs/ghlfs/cache/internal/writeback"
	"github.com/ghlfs/ghlfs/remote"
)

// Options tune a Store.
type Options struct {
	// DirTTL is how long a folder listing is trusted (default 1m).
	DirTTL time.Duration
	// OpTimeout bounds every operation that reaches the API (default 2m);
	// for a listing, each of its pages (see listing.Folders.listingContext).
	OpTimeout time.Duration
	// MemoryBytes caps the in-memory cache of file contents (default 256 MiB).
	MemoryBytes int64
	// WarmMemory makes the spare buffers of file contents ready as the
	// Store opens, in the background, so that the first large read does
	// not pay for fresh memory (content.Config.Warm): for a mount.
	WarmMemory bool
	// SpareFiles is how many empty files for new pending files are made
	// ahead in the cache directory, in the background, so that a create
	// does not wait for the disk to make one (writeback.Config.Spares).
	// 0: none.
	SpareFiles int
	Logger     *slog.Logger
	// Clock is the one clock of every TTL, delay and backoff (default the
	// real one); tests move it instead of sleeping.
	Clock clockwork.Clock
	// CacheDir holds the write-back queue (spool/), bytes set aside
	// (recovered/), the file times users set, and the content cache. ""
	// keeps them in a temporary directory.
	CacheDir string
	// Location and API name the library: records of pending files carry
	// them, and a cache dir holding another library's records is refused;
	// so do the saved listings (another library's are not shown) and
	// cacheDir/owner.json (a cache dir taken over from another library
	// drops that library's cached contents and file times).
	Location, API string
	// LegacyAPI, when set, is the name an earlier ghlfs gave API (for a
	// service on loopback, its host without the port): a record written
	// under it may be another server's, and is set aside (its bytes kept
	// in recovered/, one log line), never uploaded.
	LegacyAPI string
	// EarlierAPI, when set, is the name the previous ghlfs gave this very
	// API (before identities were normalised: https://HOST:443 for
	// https://host): what the cache dir holds under it is this library's,
	// taken over as it is, and claimed under API.
	EarlierAPI string
	// Delete makes removals permanent; by default they go to the trash.
	Delete   bool
	ReadOnly bool
	// ListAll lists the whole library with fetchAll (two listings, paged)
	// instead of two listings per folder. The API's fetchAll is known from
	// one report only, so ghlfs checks once that the server honours it, and
	// falls back to per-folder listings if not.
	ListAll bool
	// ListWait is how long after a pass over the library (ListAll) began
	// a look-up of a folder not listed yet waits for it to end; after
	// that, a look-up lists its folder on its own (default 1s), unless
	// it is part of a walk of the tree, which waits for the pass
	// (listing's awaitPass).
	ListWait time.Duration
	// FullSyncInterval is how often, with ListAll and PollInterval, a
	// whole pass over the library runs (default 1h): the polls in between
	// see what changed, but not what was removed.
	FullSyncInterval time.Duration
	// PollInterval, when positive, re-lists the folders in use that often
	// and reports changes made elsewhere to OnChange.
	PollInterval time.Duration
	// DiskBytes, when positive, keeps file contents on disk under
	// CacheDir/content, up to this many bytes, least recently used out
	// first: re-reading a file, even after a restart, costs no download.
	DiskBytes int64
	// RetryBase is the first delay before a failed upload (or trash, or
	// rename) is tried again in the background (default 30s); it doubles
	// up to 10 minutes.
	RetryBase time.Duration
	// WriteBackDelay is how long a closed file waits, quiet, before it is
	// uploaded: a file written and then renamed uploads once, under its
	// final name. Zero uploads at close, and close reports the result.
	WriteBackDelay time.Duration
	// SocialCSV shows the social planner's CSV imports, where the backend
	// has them (Store.SocialCSV, socialcsv.go).
	SocialCSV bool
}

// Store is the cached view of one location's Media Storage: the one front
// the filesystem talks to (see the package comment for what is behind it).
type Store struct {
	rc   remote.Backend
	caps remote.Caps // rc's, read once (caps.go)
	opts Options
	log  *slog.Logger

	folders *listing.Folders
	content *content.Cache
	times   *times.Log
	q       *writeback.Queue
	rm      *removal.Queue // unlinks of settled files, sent in batches
	social  *SocialCSV     // nil: no CSV imports shown (socialcsv.go)

	closing  context.Context // done when Close begins: content's fetches end
	stop     context.CancelFunc
	closeOne sync.Once
	lock     *os.File // holds the cache directory's lock

	mu       sync.Mutex
	views    map[string]*view                              // guarded by mu: folder id -> the view last built
	onChange func(folderID string, before, after *Listing) // guarded by mu
	// versions are files' versions as last listed, by file id, and
	// versionsGen counts the removals made since the mount began
	// (fileversions.go); guarded by mu.
	versions    map[string]versionsSeen
	versionsGen uint64
	vflights    singleflight.Group // coalesces listings of a file's versions
}

// view is a folder's listing as shown, built from a stored listing and
// the write-back queue's overlay of that folder at one generation.
type view struct {
	st   *listing.State
	gen  writeback.ViewGen
	rm   uint64 // the removal queue's generation of the folder
	list *Listing
}

// New returns a Store over the backend rc. It takes up the files a
// previous run left in the write-back queue and starts on them.
func New(rc remote.Backend, opts Options) (*Store, error) {
	if opts.DirTTL <= 0 {
		opts.DirTTL = time.Minute
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = 2 * time.Minute
	}
	if opts.MemoryBytes <= 0 {
		opts.MemoryBytes = 256 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 30 * time.Second
	}
	if opts.ListWait <= 0 {
		opts.ListWait = time.Second
	}
	if opts.FullSyncInterval <= 0 {
		opts.FullSyncInterval = time.Hour
	}
	opts = followCaps(opts, rc.Caps())
	dir := opts.CacheDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ghlfs-cache-"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	// One ghlfs per cache directory: two would upload one spool twice.
	lock, err := LockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{rc: rc, caps: rc.Caps(), opts: opts, log: opts.Logger, lock: lock, views: make(map[string]*view),
		versions: make(map[string]versionsSeen)}
	s.closing, s.stop = context.WithCancel(context.Background())
	fail := func(err error) (*Store, error) {
		s.stop()
		lock.Close()
		return nil, err
	}
	var disk *content.Disk
	if opts.DiskBytes > 0 {
		if disk, err = content.OpenDisk(filepath.Join(dir, "content"), opts.DiskBytes); err != nil {
			return fail(fmt.Errorf("cache dir: %w", err))
		}
	}
	if s.times, err = times.Open(filepath.Join(dir, "times.log")); err != nil {
		return fail(fmt.Errorf("cache dir: %w", err))
	}
	// The parts, each once those it calls are made: the links between
	// them are methods of the Store (see the package comment).
	s.content = content.New(rc, content.Config{Timeout: opts.OpTimeout, MemoryBytes: opts.MemoryBytes, Logger: opts.Logger,
		Closing: s.closing, Disk: disk, Relist: s.relisted, Warm: opts.WarmMemory})
	s.folders = listing.New(rc, listing.Config{
		TTL: opts.DirTTL, Clock: opts.Clock, Logger: opts.Logger, Delete: opts.Delete,
		ListAll: opts.ListAll, ListWait: opts.ListWait,
		PollInterval: opts.PollInterval, FullSyncInterval: opts.FullSyncInterval, RetryBase: opts.RetryBase,
		Dir: dir, Location: opts.Location, API: opts.API, EarlierAPI: opts.EarlierAPI,
		Fetched: s.content.LearnSizes, Changed: s.changed, Adopted: s.adopted, Known: s.knows,
	})
	if s.q, err = writeback.New(rc, writeback.Config{
		Folders: s.folders, Content: s.content, Times: s.times,
		Dir: dir, Clock: opts.Clock, Logger: opts.Logger,
		Location: opts.Location, API: opts.API, LegacyAPI: opts.LegacyAPI, EarlierAPI: opts.EarlierAPI,
		WriteBackDelay: opts.WriteBackDelay, RetryBase: opts.RetryBase, OpTimeout: opts.OpTimeout, Spares: opts.SpareFiles,
	}); err != nil {
		s.times.Close()
		s.folders.Close()
		return fail(err)
	}
	if prev, ok := s.q.TakenOver(); ok {
		// The dir is this library's now: another library's cached
		// contents and file times are keyed by its ids, and must not show
		// in this one.
		s.log.Info(fmt.Sprintf("the cache dir %s was the cache of location %q at %s: its cached file contents and file times are dropped", dir, prev.Location, prev.API))
		if disk != nil {
			disk.Clear()
		}
		if err := s.times.Clear(); err != nil {
			s.log.Warn("could not drop the file times of the cache dir's former library", "err", err)
		}
	}
	if s.rm, err = removal.New(rc, removal.Config{Dir: dir, Location: opts.Location, API: opts.API,
		Clock: opts.Clock, Logger: opts.Logger, Permanent: opts.Delete, RetryBase: opts.RetryBase,
		OpTimeout: opts.OpTimeout, Folders: s.folders, Forget: s.forgetTimes}); err != nil {
		s.q.Close()
		s.times.Close()
		s.folders.Close()
		return fail(err)
	}
	s.social = newSocialCSV(rc, opts)
	s.q.Start()
	s.rm.Start()
	s.folders.Start()
	return s, nil
}

// LockDir takes an exclusive lock on dir/lock, the lock of a cache
// directory, or says that another ghlfs holds it: one ghlfs per cache
// directory (New takes it; an agency's mount takes it on the directory
// that holds its locations'). The lock lasts until the file is closed, or
// the process ends.
func LockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("cache dir %s is in use by another ghlfs (%v): give each mount its own --cache-dir", dir, err)
	}
	return f, nil
}

// Drain uploads every file waiting for upload now, ignoring the
// write-back delay, and waits until they are done or ctx ends. It returns
// how many still wait, and how many were still being written (those are
// set aside at the next start, never uploaded).
func (s *Store) Drain(ctx context.Context) (left, writing int) {
	n := s.rm.Drain(ctx)
	left, writing = s.q.Drain(ctx)
	return left + n, writing
}

// Refused counts the files whose upload the service refused: they wait
// in the spool for a change to the file (or the next mount), and Drain
// does not wait for them.
func (s *Store) Refused() int {
	return s.q.RefusedCount()
}

// Close stops everything running in the background and waits for it;
// what is still pending stays in the queue for the next start.
func (s *Store) Close() error {
	var err error
	s.closeOne.Do(func() {
		s.folders.Stop()
		s.stop()
		s.rm.Close()
		s.q.Close()
		if serr := s.folders.Close(); serr != nil {
			s.log.Warn("could not save the listings for the next mount", "err", serr)
		} else {
			s.folders.MarkClean()
		}
		s.content.Wait()
		err = s.times.Close()
		s.lock.Close()
		if c, ok := s.rc.(io.Closer); ok {
			// The backend's own goroutines (OCM's token grant), once
			// nothing here calls it.
			c.Close()
		}
	})
	return err
}

// OnChange sets fn to be told of each folder whose listing a poll found
// changed, with the listings before and after. fn runs on the poller's
// goroutine, never inside a call to the Store.
func (s *Store) OnChange(fn func(folderID string, before, after *Listing)) {
	s.mu.Lock()
	s.onChange = fn
	s.mu.Unlock()
}

// changed is listing's Changed: a folder whose stored listing a pass, a
// poll or a revalidation found changed goes to OnChange's function, as
// the mount shows it before and after.
func (s *Store) changed(folderID string, before, after *listing.State) {
	s.mu.Lock()
	fn := s.onChange
	s.mu.Unlock()
	if fn != nil {
		fn(folderID, s.viewOf(folderID, before), s.viewOf(folderID, after))
	}
}

// relisted is content's Relist: a file as its folder's listing shows it
// once checked against the server (listing.Folders.Relisted).
func (s *Store) relisted(ctx context.Context, e Entry) (Entry, bool) {
	return s.folders.Relisted(ctx, e)
}

// adopted is listing's Adopted: the queue re-keys an upload found listed
// under another id than its answer gave (claims.go).
func (s *Store) adopted(answerID string, listed Entry) {
	s.q.AdoptedAs(answerID, listed)
}

// knows is listing's Known: whether the queue knows an API id as a copy
// of a file (made, changed or retired in this mount).
func (s *Store) knows(id string) bool {
	return s.q.Knows(id)
}

// DirTTL is how long listings are trusted.
func (s *Store) DirTTL() time.Duration { return s.opts.DirTTL }

// PendingCount is how many files have work left in the API: changes to
// their bytes, and removals queued.
func (s *Store) PendingCount() int {
	n, _ := s.q.Pending()
	return n + s.rm.Len()
}

// ListDir returns a folder's entries as the mount shows them: the API's,
// with the pending changes of the write-back queue over them.
func (s *Store) ListDir(ctx context.Context, folderID string) (*Listing, error) {
	st, err := s.folders.Get(ctx, folderID)
	if err != nil {
		return nil, err
	}
	return s.viewOf(folderID, st), nil
}

// MayShow reports whether the folder's view (ListDir) may hold an entry
// named name; false is sure. It builds no view: a tool that makes many
// files in a folder looks each new name up first, and a view built again
// at each (the records changed since the last) cost a look-up as much as
// the whole folder. The records are asked first, then the listing, as
// View takes them: a record that lands has its upload in the listing
// before it stops showing its own entry.
func (s *Store) MayShow(ctx context.Context, folderID, name string) (bool, error) {
	st, err := s.folders.Get(ctx, folderID)
	if err != nil {
		return false, err
	}
	if s.q.ShowsName(folderID, name) {
		return true, nil
	}
	return s.folders.Refresh(folderID, st).Has(name), nil
}

// viewOf builds (or finds built) the view of a stored listing.
func (s *Store) viewOf(folderID string, st *listing.State) *Listing {
	gen, rmGen := s.q.Gen(folderID), s.rm.Gen(folderID)
	s.mu.Lock()
	v := s.views[folderID]
	s.mu.Unlock()
	if v != nil && v.st == st && v.gen == gen && v.rm == rmGen {
		return v.list
	}
	entries, st, gen := s.q.View(folderID, st)
	entries = s.rm.Filter(folderID, entries) // removals queued: gone from the mount
	if shown := st.Entries(); len(entries) == 0 || len(shown) == 0 || &entries[0] != &shown[0] {
		entry.Sort(entries) // a new slice; the stored one is sorted already and shared
	}
	list := &Listing{FolderID: folderID, Entries: entries, Fetched: st.Fetched()}
	s.mu.Lock()
	s.views[folderID] = &view{st: st, gen: gen, rm: rmGen, list: list}
	s.mu.Unlock()
	return list
}

// Invalidate forgets the cached listing of a folder; the next ListDir
// fetches it again.
func (s *Store) Invalidate(folderID string) {
	s.folders.Invalidate(folderID)
}

// resolve returns e as it stands now, and its record when it has one:
// the entry of a file uploaded since it was listed is its upload's. The
// record is looked up first: a record leaves the queue (or stops showing
// its bytes) only after its upload was recorded, so a caller that finds
// the record gone or hidden and resolves again finds the upload.
func (s *Store) resolve(e Entry) (Entry, *writeback.Record) {
	r := s.q.Lookup(e.Key)
	return s.latest(e), r
}

// latest returns the upload that now holds e's key, if one was uploaded
// under it in this mount since e was listed (a new id, or a new version
// of e's: Queue.Newer), else e.
func (s *Store) latest(e Entry) Entry {
	if latest, ok := s.q.Newer(e); ok {
		return latest
	}
	return e
}

// Stat completes e as it stands now: a file with pending bytes has their
// size, and a size the listing did not give is asked of the storage host
// once per file.
func (s *Store) Stat(ctx context.Context, e Entry) (Entry, error) {
	if r := s.q.Lookup(e.Key); r != nil {
		if st, ok := r.StatShown(); ok {
			return st, nil
		}
	}
	e = s.latest(e)
	if e.Pending {
		return e, ErrNotFound
	}
	if t, ok := s.times.Get(e.ID); ok {
		e.ModTime = t
	}
	return s.content.Sized(ctx, e)
}

// withTimeout bounds a change that reaches the API. It is not cut short
// when the caller gives up (a signal interrupts the tool): a change half
// sent leaves the library in doubt, so it runs to its answer, or to its
// deadline.
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.opts.OpTimeout)
}

// Mkdir creates a folder named name in parentID.
func (s *Store) Mkdir(ctx context.Context, parentID, name string) (Entry, error) {
	if s.opts.ReadOnly {
		return Entry{}, ErrReadOnly
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.checkName(ctx, parentID, name, true, "", ""); err != nil {
		return Entry{}, err
	}
	return s.folders.Mkdir(ctx, parentID, name)
}

// Rename gives e the name newName in its folder. If replace is set, that
// entry (of the same folder) is replaced: e is renamed first and the old
// entry removed after, so that a failure never leaves neither; where the
// service refuses a taken name (Caps.UniqueNames), the old entry goes
// first, its removal answered before e is renamed (caps.go). A folder
// can only replace an empty folder. A file with pending bytes is renamed
// in the write-back queue: its copy in the API follows. A system folder
// neither is renamed nor replaced.
func (s *Store) Rename(ctx context.Context, e Entry, newName string, replace *Entry) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if e.System || (replace != nil && replace.System) {
		return ErrSystemFolder
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	// The new name is judged in the folder the file is shown in. Resolved,
	// a file with changes the queue holds is its latest upload, which
	// follows a move or a rename only once the changes are sent: until
	// then it is in the folder the file left, under its old name.
	folderID := e.ParentID
	e, src := s.resolve(e)
	var target *writeback.Record
	var rep *Entry
	if replace != nil {
		r, t := s.resolve(*replace)
		rep, target = &r, t
		if rep.Key == e.Key {
			return nil
		}
		if rep.IsDir {
			if !e.IsDir {
				return fmt.Errorf("%w: a file cannot replace a folder", ErrExists)
			}
			if err := s.checkEmpty(ctx, *rep); err != nil {
				return err
			}
		}
	}
	if err := s.checkName(ctx, folderID, newName, e.IsDir, e.Key, keyOf(rep)); err != nil {
		return err
	}
	if target != nil {
		// Its copy goes to the trash from its folder: it must be there.
		if err := s.q.Follow(ctx, target); err != nil {
			return err
		}
	}
	var api *Entry
	if target == nil {
		api = rep
	}
	e, idle, handled, err := s.queued(e, src, func() error { return s.q.Rename(src, newName, api, target) })
	if handled {
		return err
	}
	if e.Pending {
		return ErrNotFound
	}
	if s.caps.UniqueNames && rep != nil && target == nil {
		// The service refuses a taken name: what is replaced goes first
		// (caps.go), and a failure between leaves e under its old name.
		// Also when e had a record as it was looked up: it left the
		// queue, or rests, since (its upload landed meanwhile), and the
		// queue, which retires what it replaces first, renames nothing.
		if err := s.removeReplaced(ctx, *rep); err != nil {
			return err
		}
		rep = nil
	}
	// Never by an id that no listing has shown (claims.go): a file whose
	// id is not known yet is renamed by the queue, which looks it up first
	// (the tool does not wait for that).
	x, ok := s.q.Known(e)
	if !ok || (s.caps.UniqueNames && target != nil) {
		// Or the file replaced has changes the queue holds, and its copy
		// in the API holds the name, which the service will not share:
		// the queue renames e once that copy is gone (caps.go).
		var api *Entry
		if target == nil {
			api = rep
		}
		r, err := s.q.RenameVia(e, newName, api, target)
		return s.settled(ctx, r, err, s.opts.WriteBackDelay == 0)
	}
	e = x
	// A route refused once is refused again without a call (remote).
	err = s.folders.Rename(ctx, e.ParentID, e.ID, newName)
	if errors.Is(err, remote.ErrRouteMissing) {
		return s.renameRefused(e, newName, rep, target, err)
	}
	if err != nil {
		return err
	}
	s.q.Renamed(e.ID, newName)
	if idle {
		src.APIRenamed(e.ID, newName)
	}
	if rep == nil {
		return nil
	}
	if target != nil {
		err = s.q.Remove(target)
	}
	if target == nil || errors.Is(err, writeback.ErrNoRecord) || errors.Is(err, writeback.ErrIdle) {
		// A file of the API (perhaps only since the look-up: its upload
		// landed meanwhile).
		if r := s.latest(*rep); !r.Pending {
			if r, err = s.confirm(ctx, r, target); err == nil {
				if err = s.removeAPI(ctx, r); err == nil && target != nil {
					target.APIRemoved(r.ID)
				}
			}
		} else {
			err = nil // it never reached the API, and is gone
		}
	}
	if err != nil {
		return fmt.Errorf("renamed, but the file it replaced is still there: %w", err)
	}
	return nil
}

// Remove removes a file: to the trash by default. A file with pending
// bytes leaves the write-back queue, and its copies in the API go too.
func (s *Store) Remove(ctx context.Context, e Entry) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return s.remove(ctx, e, false)
}

// remove is Remove; with now, it returns once the API answered, whatever
// the write-back delay: nil when e is gone from the library (a rename
// onto its name, where names are unique, waits for that: removeReplaced).
func (s *Store) remove(ctx context.Context, e Entry, now bool) error {
	wait := now || s.opts.WriteBackDelay == 0
	e, r := s.resolve(e)
	idle := false
	if r != nil {
		err := s.q.Remove(r)
		switch {
		case errors.Is(err, writeback.ErrIdle):
			idle = true
		case err == nil && now:
			// Its copies go to the trash through the queue.
			return s.q.Await(ctx, r)
		case !errors.Is(err, writeback.ErrNoRecord):
			return err
		}
		e, _ = s.resolve(e)
	}
	if e.Pending {
		return ErrNotFound
	}
	// Never by an id that no listing has shown (claims.go): the queue
	// looks it up first, then trashes it.
	x, ok := s.q.Known(e)
	if !ok {
		r, err := s.q.RemoveVia(e)
		return s.settled(ctx, r, err, wait)
	}
	e = x
	if !idle && !e.IsDir {
		// Queued, and sent with others in one bulk call (removal's
		// doc.go); the tool waits for the answer only without a
		// write-back delay.
		return s.rm.Remove(ctx, e, s.opts.Delete, wait)
	}
	if err := s.removeAPI(ctx, e); err != nil {
		return err
	}
	if idle {
		r.APIRemoved(e.ID)
	}
	return nil
}

// settled returns err, or, when the caller waits for the API's answer
// (wait: --write-back-delay 0, as a rule), the outcome of what record r
// now does in the API.
func (s *Store) settled(ctx context.Context, r *writeback.Record, err error, wait bool) error {
	if err != nil || r == nil || !wait {
		return err
	}
	return s.q.Await(ctx, r)
}

// renameRefused renames e where the API has no rename route: a file is
// uploaded again under the new name (recopy.go); a folder cannot be, and
// is EXDEV, so that mv copies it and removes the old one, with one log
// line saying why.
func (s *Store) renameRefused(e Entry, newName string, rep *Entry, target *writeback.Record, err error) error {
	if e.IsDir {
		s.log.Warn(fmt.Sprintf("rename of folder %s to %s: the API cannot rename it (%v); answered EXDEV, so that mv copies the folder and removes the old one", e.Name, newName, err), "name", e.Name)
		return fmt.Errorf("%w: %w", ErrCrossFolder, err)
	}
	var api *Entry
	if target == nil {
		api = rep
	}
	return s.q.RenameByCopy(e, newName, api, target)
}

// confirm returns e with the id a listing shows for it, when its id is an
// upload's answer that no listing has shown yet (claims.go); r, when not
// nil, is e's record, which learns the listed id too.
func (s *Store) confirm(ctx context.Context, e Entry, r *writeback.Record) (Entry, error) {
	if !e.Unconfirmed() {
		return e, nil
	}
	x, err := s.q.ConfirmEntry(ctx, e)
	if err != nil {
		return e, err
	}
	if r != nil {
		r.AdoptID(e.ID, x.ID)
	}
	return x, nil
}

func (s *Store) removeAPI(ctx context.Context, e Entry) error {
	if err := s.folders.Remove(ctx, e.ParentID, e.ID); err != nil {
		return err
	}
	if e.IsDir {
		s.folders.Invalidate(e.ID)
	}
	s.forgetTimes(e.ID)
	return nil
}

// forgetTimes drops the time kept for a removed item.
func (s *Store) forgetTimes(id string) {
	if err := s.times.Forget(id); err != nil {
		s.log.Warn("could not update the file times", "err", err)
	}
}

// Rmdir removes an empty folder. Emptiness is judged on a fresh listing:
// the API is never relied on to delete what a folder holds. A system
// folder is refused before anything is asked.
func (s *Store) Rmdir(ctx context.Context, e Entry) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if e.System {
		return ErrSystemFolder
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.checkEmpty(ctx, e); err != nil {
		return err
	}
	return s.removeAPI(ctx, e)
}

// checkEmpty lists the folder afresh, on its own (not from the cache, nor
// from a whole-library listing), and fails if it shows anything, files
// waiting for upload included. The removals of its files still queued
// go first (rmdir, and a rename over the folder, wait for them): one
// refused is listed again.
func (s *Store) checkEmpty(ctx context.Context, dir Entry) error {
	if err := s.rm.WaitFolder(ctx, dir.ID); err != nil {
		return err
	}
	st, err := s.folders.Load(ctx, dir.ID)
	if err != nil {
		return err
	}
	// A removal queued since is not sent yet: the folder holds its file.
	if n := len(s.viewOf(dir.ID, st).Entries) + s.rm.Holds(dir.ID); n > 0 {
		return fmt.Errorf("%w: %s holds %d items", ErrNotEmpty, dir.Name, n)
	}
	return nil
}

// SetModTime keeps t as e's modification time. The API has no field for
// it, so it is kept locally, beside the cache.
func (s *Store) SetModTime(e Entry, t time.Time) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	e, r := s.resolve(e)
	if r != nil {
		err := r.SetModTime(t)
		if !errors.Is(err, writeback.ErrNoRecord) {
			return err
		}
		e, _ = s.resolve(e)
	}
	if e.Pending {
		return ErrNotFound
	}
	return s.times.Set(e.ID, t)
}

// WithPath tells the listings fetched for ctx which path of the mount
// they are, for their log lines.
func WithPath(ctx context.Context, path string) context.Context {
	return listing.WithPath(ctx, path)
}

// HasSavedListings reports whether the cache directory dir holds the
// listings an earlier mount of the library at location through api saved,
// and ended cleanly (its header is read, not the whole).
func HasSavedListings(dir, location, api string) bool {
	return snapshot.HasSavedListings(dir, location, api)
}

// queued hands a rename or a move of e to the write-back queue when e has
// a record (src; send is the queue's call). handled: the queue took the
// change, or refused it with err, and nothing more is done here; idle:
// e's record rests, so the change is sent here and the record told after.
// e comes back as it stands now.
func (s *Store) queued(e Entry, src *writeback.Record, send func() error) (_ Entry, idle, handled bool, err error) {
	if src == nil {
		return e, false, false, nil
	}
	switch err := send(); {
	case errors.Is(err, writeback.ErrIdle):
		idle = true
	case !errors.Is(err, writeback.ErrNoRecord):
		return e, false, true, err
	}
	// A file of the API: nothing pending for it, or it left the queue
	// between the look and the change.
	e, _ = s.resolve(e)
	return e, idle, false, nil
}
