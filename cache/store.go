// Package cache is the cached remote layer between the filesystem and the
// API client: folder listings kept for a while and fetched once however
// many callers ask, file contents by ranges, and changes made through the
// mount (folders, renames, deletes, uploads), applied to the API and to the
// cached view together.
package cache

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"

	"github.com/ghlfs/ghlfs/remote"
)

// Remote is what the cache needs of the API client; *remote.Client has it.
type Remote interface {
	List(ctx context.Context, q remote.ListQuery) ([]remote.Item, error)
	CreateFolder(ctx context.Context, parentID, name string) (remote.Item, error)
	UploadFile(ctx context.Context, up remote.Upload) (remote.Item, error)
	Rename(ctx context.Context, id, name string) error
	Delete(ctx context.Context, id string) error
	DeleteMany(ctx context.Context, ids []string, status remote.DeleteStatus) error
	ReadAtv(ctx context.Context, fileURL string, bufs [][]byte, off int64) (int, error)
	StatURL(ctx context.Context, fileURL string) (remote.FileInfo, error)
	FindCreated(ctx context.Context, parentID, typ, name string, size int64, since time.Time, exclude []string) (remote.Item, bool, error)
}

var _ Remote = (*remote.Client)(nil)

// Options tune a Store.
type Options struct {
	// DirTTL is how long a folder listing is trusted (default 1m).
	DirTTL time.Duration
	// OpTimeout bounds every operation that reaches the API (default 2m).
	OpTimeout time.Duration
	// MemoryBytes caps the in-memory cache of file contents (default 256 MiB).
	MemoryBytes int64
	Logger      *slog.Logger
	// Now is the clock (default time.Now); tests move it to expire listings.
	Now func() time.Time
	// CacheDir holds the spool of files waiting for upload and the file
	// times users set. "" keeps both in a temporary directory.
	CacheDir string
	// Delete makes removals permanent; by default they go to the trash.
	Delete   bool
	ReadOnly bool
	// ListAll lists the whole library with fetchAll (two listings, paged)
	// instead of two listings per folder. The API's fetchAll is known from
	// one report only, so ghlfs checks once that the server honours it, and
	// falls back to per-folder listings if not.
	ListAll bool
	// PollInterval, when positive, re-lists the folders in use that often
	// and reports changes made elsewhere to OnChange.
	PollInterval time.Duration
	// DiskBytes, when positive, keeps file contents on disk under
	// CacheDir/content, up to this many bytes, least recently used out
	// first: re-reading a file, even after a restart, costs no download.
	DiskBytes int64
	// RetryBase is the first delay before a failed upload is tried again
	// in the background (default 30s); it doubles up to 10 minutes.
	RetryBase time.Duration
}

// Store is the cached view of one location's Media Storage.
//
// Lock order: Store.mu before blockCache.mu. Neither is held across a call
// to the remote.
type Store struct {
	rc   Remote
	opts Options
	log  *slog.Logger

	listings *gocache.Cache     // folder id -> *Listing
	flights  singleflight.Group // coalesces listing fetches and size look-ups

	mu sync.Mutex
	// epoch counts changes made to each folder's listing through the
	// Store, so that a fetch that raced with a change is not kept.
	epoch map[string]uint64 // guarded by mu
	// used is when each folder was last listed through ListDir, so the
	// poller knows which folders are in use.
	used map[string]time.Time // guarded by mu
	// allOff is set once the server was seen to ignore fetchAll, and
	// allChecked once that was looked at.
	allOff     bool                                          // guarded by mu
	allChecked bool                                          // guarded by mu
	onChange   func(folderID string, before, after *Listing) // guarded by mu
	// sizes holds sizes learnt from the storage host, by file id. A file's
	// bytes never change under one id, so they never go stale.
	sizes map[string]remote.FileInfo // guarded by mu

	blocks  *blockCache
	disk    *diskCache // nil when off
	fetches *fetchGroup

	spoolDir string
	times    *timeStore
	uploads  chan *Pending
	done     chan struct{}
	closing  context.Context // done when Close begins
	stopAll  context.CancelFunc
	workers  sync.WaitGroup
	fetching sync.WaitGroup // content fetches under way, and their disk copies
	closeOne sync.Once
	lock     *os.File // holds the cache directory's lock

	pmu sync.Mutex
	// pending holds the files waiting for upload, by spool key, and hidden
	// the API ids they supersede (not shown while they wait).
	pending map[string]*Pending // guarded by pmu
	hidden  map[string]*Pending // guarded by pmu
	// successors maps the id of a pending file that left the spool to the
	// entry of its upload, for nodes that still hold the old entry.
	successors *gocache.Cache
	// predecessors maps the id of an upload to the pending file it came
	// from, so that the filesystem keeps its inode number.
	predecessors *gocache.Cache
}

// New returns a Store over rc. It takes up the files a previous run left
// in the spool and starts uploading them.
func New(rc Remote, opts Options) (*Store, error) {
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 30 * time.Second
	}
	s := &Store{
		rc:           rc,
		opts:         opts,
		log:          opts.Logger,
		listings:     gocache.New(opts.DirTTL, 2*opts.DirTTL),
		epoch:        make(map[string]uint64),
		used:         make(map[string]time.Time),
		sizes:        make(map[string]remote.FileInfo),
		blocks:       newBlockCache(opts.MemoryBytes),
		fetches:      newFetchGroup(),
		uploads:      make(chan *Pending),
		done:         make(chan struct{}),
		pending:      make(map[string]*Pending),
		hidden:       make(map[string]*Pending),
		successors:   gocache.New(10*time.Minute, 10*time.Minute),
		predecessors: gocache.New(10*time.Minute, 10*time.Minute),
	}
	dir := opts.CacheDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ghlfs-cache-"); err != nil {
			return nil, err
		}
	}
	s.spoolDir = filepath.Join(dir, "spool")
	if err := os.MkdirAll(s.spoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	// One ghlfs per cache directory: two would upload one spool twice.
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	s.closing, s.stopAll = context.WithCancel(context.Background())
	if opts.DiskBytes > 0 {
		if s.disk, err = openDiskCache(filepath.Join(dir, "content"), opts.DiskBytes); err != nil {
			lock.Close()
			return nil, fmt.Errorf("cache dir: %w", err)
		}
	}
	if s.times, err = openTimeStore(filepath.Join(dir, "times.log")); err != nil {
		lock.Close()
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	if err := s.recoverSpool(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.workers.Add(1)
	go s.uploader()
	if opts.PollInterval > 0 {
		s.workers.Add(1)
		go s.poller()
	}
	return s, nil
}

// lockDir takes an exclusive lock on dir/lock, or says who holds it.
func lockDir(dir string) (*os.File, error) {
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

// Close stops background uploads and waits for them to stop; what is still
// pending stays in the spool for the next start.
func (s *Store) Close() error {
	var err error
	s.closeOne.Do(func() {
		close(s.done)
		s.stopAll()
		s.workers.Wait()
		s.fetching.Wait()
		// What waits for upload must outlive the machine, not just ghlfs.
		s.pmu.Lock()
		left := make([]*Pending, 0, len(s.pending))
		for _, p := range s.pending {
			left = append(left, p)
		}
		s.pmu.Unlock()
		for _, p := range left {
			if derr := p.makeDurable(); derr != nil {
				s.log.Error(fmt.Sprintf("spool: could not flush %s to disk: %v", p.Name(), derr), "name", p.Name())
			}
		}
		err = s.times.close()
		s.lock.Close()
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

// DirTTL is how long listings are trusted.
func (s *Store) DirTTL() time.Duration { return s.opts.DirTTL }

// withTimeout bounds an operation that reaches the API.
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.OpTimeout)
}

// Entry is a file or folder as the filesystem sees it.
type Entry struct {
	ID       string
	Name     string // the name in the API, unescaped
	ParentID string // "" = root
	// The download URL is urlHead + ID + urlTail when the URL holds the id
	// (as storage URLs do), else urlHead alone: the head and tail are then
	// shared by every file of a location, which matters in listings of
	// hundreds of thousands of files.
	urlHead, urlTail string
	urlHasID         bool
	Size             int64 // -1 until known; see Store.Stat
	ModTime          time.Time
	IsDir            bool
	// Pending marks a file whose bytes wait in the spool for upload.
	Pending bool
}

func entryOf(it remote.Item) Entry {
	e := Entry{
		ID:       it.ID,
		Name:     it.Name,
		ParentID: it.ParentID,
		IsDir:    it.IsFolder(),
		Size:     it.Size,
		ModTime:  it.ModTime(),
	}
	e.setURL(it.URL)
	return e
}

// URL is where the file's bytes are; "" for folders.
func (e Entry) URL() string {
	if e.urlHasID {
		return e.urlHead + e.ID + e.urlTail
	}
	return e.urlHead
}

func (e *Entry) setURL(u string) {
	if i := strings.Index(u, e.ID); e.ID != "" && i >= 0 {
		e.urlHead, e.urlTail, e.urlHasID = intern(u[:i]), intern(u[i+len(e.ID):]), true
		return
	}
	e.urlHead, e.urlTail, e.urlHasID = u, "", false
}

var interned sync.Map // string -> string

func intern(s string) string {
	if v, ok := interned.Load(s); ok {
		return v.(string)
	}
	c := strings.Clone(s)
	v, _ := interned.LoadOrStore(c, c)
	return v.(string)
}

// Stat completes e with what the listing left out: a size the listing
// did not give is asked of the storage host once per file.
func (s *Store) Stat(ctx context.Context, e Entry) (Entry, error) {
	e, p := s.resolve(e)
	if p != nil {
		e.Size, e.ModTime = p.Size(), p.ModTime()
		return e, nil
	}
	if e.Pending {
		return e, ErrNotFound
	}
	if t, ok := s.times.get(e.ID); ok {
		e.ModTime = t
	}
	if e.IsDir || e.Size >= 0 {
		return e, nil
	}
	fi, err := s.fileInfo(ctx, e)
	if err != nil {
		return e, err
	}
	e.Size = fi.Size
	if e.ModTime.IsZero() {
		e.ModTime = fi.ModTime
	}
	return e, nil
}

func (s *Store) fileInfo(ctx context.Context, e Entry) (remote.FileInfo, error) {
	s.mu.Lock()
	fi, ok := s.sizes[e.ID]
	s.mu.Unlock()
	if ok {
		return fi, nil
	}
	if e.URL() == "" {
		return remote.FileInfo{}, ErrNotFound
	}
	v, err, _ := s.flights.Do("stat\x00"+e.ID, func() (any, error) {
		ctx, cancel := s.withTimeout(context.WithoutCancel(ctx))
		defer cancel()
		fi, err := s.rc.StatURL(ctx, e.URL())
		if err != nil {
			return nil, translate(err)
		}
		s.mu.Lock()
		s.sizes[e.ID] = fi
		s.mu.Unlock()
		return fi, nil
	})
	if err != nil {
		return remote.FileInfo{}, err
	}
	return v.(remote.FileInfo), nil
}

// learnSizes asks the storage host, a few at a time in the background, for
// the sizes a fresh listing did not carry, so that the look-ups that follow
// a directory read find them ready.
func (s *Store) learnSizes(entries []Entry) {
	var todo []Entry
	for _, e := range entries {
		if !e.IsDir && e.Size < 0 && e.URL() != "" {
			todo = append(todo, e)
		}
	}
	if len(todo) == 0 {
		return
	}
	go func() {
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for _, e := range todo {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if _, err := s.fileInfo(context.Background(), e); err != nil {
					s.log.Debug("could not learn a size", "name", e.Name, "err", err)
				}
			}()
		}
		wg.Wait()
	}()
}
