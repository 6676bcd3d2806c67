package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/backends"
	"github.com/ghlfs/ghlfs/fs"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/imagekit"
	"github.com/ghlfs/ghlfs/remote/ocm"
)

// mountFlags are the mount command's flags, as given: options makes them
// into each layer's options, and nothing else reads them.
type mountFlags struct {
	backend      string // --backend: ghl (HighLevel), imagekit or ocm
	config       string
	tokenFile    string // HighLevel's token, or OCM's bearer token
	keyFile      string // --key-file (imagekit)
	uploadURL    string // --upload-url (imagekit)
	urlEndpoint  string // --url-endpoint (imagekit)
	ocm          backends.OCMFlags
	location     string
	apiURL       string
	readOnly     bool
	dirCacheTime time.Duration
	cacheDir     string
	deleteMode   string
	memCache     sizeFlag
	diskCache    sizeFlag
	maxUpload    sizeFlag
	opTimeout    time.Duration
	uploadRetry  time.Duration
	writeBack    time.Duration
	grace        time.Duration
	fullSync     time.Duration
	pollInterval time.Duration
	listAll      bool
	pageSize     int
	listMax      int
	spareFiles   int
	rateLimit    int
	allowOther   bool
	uid, gid     int
	umask        umaskFlag
	logLevel     string
	logFile      string
	daemon       bool
	debugFUSE    bool
	pass         bool          // --passthrough
	storageHosts []string      // --storage-host, repeatable
	maxWait      time.Duration // --max-retry-after
	metricsAddr  string        // --metrics-addr
	socialCSV    bool          // --social-csv

	// flags are the flags as parsed: Changed tells a value given from a
	// default (whose meaning is the backend's).
	flags *pflag.FlagSet
}

func newMountCmd() *cobra.Command {
	m := &mountFlags{}
	cmd := &cobra.Command{
		Use:   "mount [flags] MOUNTPOINT",
		Short: "Mount a location's Media Storage (or an ImageKit or OCM library) and serve it until unmounted",
		Long: `Mounts a HighLevel location's Media Storage on MOUNTPOINT and serves it in the
foreground until Ctrl-C, SIGTERM or "ghlfs unmount MOUNTPOINT".

The API token is read from GHL_TOKEN, from --token-file, or from the config
file; never from the command line.

With --backend imagekit it mounts an ImageKit media library instead: the
private key is read from IMAGEKIT_PRIVATE_KEY, from --key-file, or from the
config file (never from the command line), --url-endpoint names the
account's https://ik.imagekit.io/<id>, and since ImageKit has no trash a
read-write mount needs --delete-mode delete.

With --backend ocm it mounts a folder of an Oracle Content Management
instance (--api-url https://<instance>, --root FOLDER_ID, default the home
folder): through an identity domain's client credentials (--token-url;
OCM_CLIENT_ID and OCM_CLIENT_SECRET from the environment or the config
file), a bearer token file (--token-file), a shared link (--link-id, its
access code from OCM_ACCESS_CODE or --access-code-file; read-only unless
--read-only=false) or an applink (--applink-id, OCM_APPLINK_TOKEN).`,
		Args:              oneMountpoint,
		ValidArgsFunction: completeDirs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := m.options()
			if err != nil {
				return err
			}
			return runMount(opts, args[0])
		},
	}
	m.register(cmd.Flags())
	return cmd
}

// register defines the mount flags on fl.
func (m *mountFlags) register(fl *pflag.FlagSet) {
	fl.SortFlags = false
	m.flags = fl
	fl.StringVar(&m.backend, "backend", backends.GHL, "the media store: "+backends.GHL+" (HighLevel Media Storage), "+backends.ImageKit+" (an ImageKit media library) or "+backends.OCM+" (an Oracle Content Management folder)")
	fl.StringVar(&m.config, "config", "", "config file of KEY=VALUE lines (default "+defaultConfigPath()+")")
	fl.StringVar(&m.tokenFile, "token-file", "", "read the API token from this file (else $GHL_TOKEN; ocm: a bearer token, else $OCM_TOKEN_FILE)")
	fl.StringVar(&m.location, "location", "", "location (sub-account) id (else $GHL_LOCATION_ID)")
	fl.StringVar(&m.apiURL, "api-url", "", "API base URL (else $GHL_API_URL, else "+ghl.DefaultBaseURL+"; imagekit: $IMAGEKIT_API_URL, else "+imagekit.DefaultAPIURL+"; ocm: the instance, https://<instance>, else $OCM_API_URL)")
	fl.StringVar(&m.keyFile, "key-file", "", "imagekit: read the private API key from this file (else $IMAGEKIT_PRIVATE_KEY)")
	fl.StringVar(&m.uploadURL, "upload-url", "", "imagekit: upload host's base URL (else $IMAGEKIT_UPLOAD_URL, else "+imagekit.DefaultUploadURL+")")
	fl.StringVar(&m.urlEndpoint, "url-endpoint", "", "imagekit: the account's url endpoint, https://ik.imagekit.io/<id> (else $IMAGEKIT_URL_ENDPOINT); file bytes are read from it alone")
	m.ocm.Register(fl)
	fl.BoolVar(&m.readOnly, "read-only", false, "mount read-only: every change fails with EROFS (ocm: the default through a shared link or an applink)")
	fl.DurationVar(&m.dirCacheTime, "dir-cache-time", time.Minute, "how long folder listings are trusted before being asked again")
	fl.StringVar(&m.cacheDir, "cache-dir", "", "where files waiting for upload and local file times are kept (default: user cache dir/ghlfs/LOCATION)")
	fl.StringVar(&m.deleteMode, "delete-mode", "trash", "what rm does: trash (recoverable) or delete (for good; the only way on imagekit, which has no trash; ocm has the trash only)")
	m.memCache = 256 << 20
	fl.Var(&m.memCache, "cache-mem", "file content kept in memory")
	fl.Var(&m.diskCache, "cache-max-size", "file content kept on disk under --cache-dir (0: none)")
	m.maxUpload = ghl.MaxUploadSize
	fl.Var(&m.maxUpload, "max-upload-size", "largest image or other file uploaded (the API's \"25 MB\", read the conservative way); a bigger write fails with EFBIG. Videos may be up to 500MB (sent with Version v3)")
	fl.DurationVar(&m.opTimeout, "op-timeout", 2*time.Minute, "longest an operation (or one page of a listing) may wait on the API before failing")
	fl.DurationVar(&m.uploadRetry, "upload-retry", 30*time.Second, "first wait before a failed upload is tried again in the background (it doubles, up to 10m)")
	fl.DurationVar(&m.writeBack, "write-back-delay", 5*time.Second, "how long a closed file stays quiet before it is uploaded (0: upload at close, and close reports the result)")
	fl.IntVar(&m.spareFiles, "spare-files", 2048, "empty spool files made ahead in --cache-dir, so that a new file does not wait for the disk to make one (0: none); an agency's mount shares them among its locations")
	fl.DurationVar(&m.grace, "unmount-grace", time.Minute, "at unmount, how long to wait for the uploads that are due")
	fl.IntVar(&m.pageSize, "page-size", 100, "items asked for per list page")
	fl.IntVar(&m.listMax, "list-max-items", remote.DefaultMaxListItems, "most items one listing (a folder's files, or its folders) may bring; past it the listing fails with EIO")
	fl.DurationVar(&m.pollInterval, "poll-interval", 0, "look for changes made elsewhere this often: the items changed most recently (one call per type when nothing changed), or without --list-all the folders in use (0: off)")
	fl.BoolVar(&m.listAll, "list-all", true, "list the whole library in the background at mount (fetchAll, paged; a user's calls go first), and keep it in sync with --poll-interval; --list-all=false lists each folder when it is opened")
	fl.DurationVar(&m.fullSync, "full-sync-interval", time.Hour, "with --poll-interval, how often the whole library is listed again (what a poll cannot see: removals made elsewhere)")
	fl.IntVar(&m.rateLimit, "rate-limit", 100, "API requests per 10 seconds to keep under (the published burst limit); 0 turns pacing off")
	fl.BoolVar(&m.allowOther, "allow-other", false, "let other users reach the mount, with the access the owner and modes shown give them (needs user_allow_other in /etc/fuse.conf for non-root)")
	fl.IntVar(&m.uid, "uid", os.Getuid(), "owner uid of every file and folder: yours unless set")
	fl.IntVar(&m.gid, "gid", os.Getgid(), "owner gid of every file and folder: yours unless set")
	m.umask = umaskFlag(processUmask())
	fl.Var(&m.umask, "umask", "permission bits cleared from the modes shown (0777 for folders, 0666 for files); the umask ghlfs runs under unless set")
	fl.StringVar(&m.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&m.logFile, "log-file", "", "append the log to this file (default: stderr; with --daemon, syslog, or ghlfs.log in --cache-dir where there is none)")
	fl.BoolVar(&m.daemon, "daemon", false, "return once the mount is ready (exit 0) or has failed (non-zero, with the reason), and serve it in the background")
	fl.BoolVar(&m.debugFUSE, "debug-fuse", false, "log every FUSE request")
	fl.BoolVar(&m.pass, "passthrough", false, "let the kernel read a file wholly in the disk cache (--cache-max-size) straight from disk (FUSE passthrough, Linux 6.9+, as root); while such a reader holds a file open, opening it to write fails with ETXTBSY. Off with --allow-other")
	fl.StringArrayVar(&m.storageHosts, "storage-host", nil, "also fetch file bytes from this host (host or host:port, over https); repeatable (else $GHL_STORAGE_HOSTS, comma-separated)")
	fl.DurationVar(&m.maxWait, "max-retry-after", time.Minute, "longest pause a server's Retry-After or rate-limit headers can impose")
	fl.BoolVar(&m.socialCSV, "social-csv", false, "show the social planner's CSV imports in a read-only folder .social-csv-imports at the root (in each location's folder in an agency's mount); rm of one deletes the import (else $GHL_SOCIAL_CSV). Needs the token's scope socialplanner/csv.readonly, and csv.write for rm")
	fl.StringVar(&m.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9464 (off when empty); an address other than loopback serves them to the network (counts only: no token, url or file name)")
}

// oneMountpoint accepts exactly one argument, the mountpoint.
func oneMountpoint(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s needs exactly one MOUNTPOINT (see ghlfs %s --help)", cmd.Name(), cmd.Name())
	}
	return nil
}

// completeDirs completes a mountpoint argument with directory names.
func completeDirs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// check refuses flag values that make no sense together or alone.
func (m *mountFlags) check() error {
	if m.maxWait <= 0 {
		return errors.New("--max-retry-after must be positive")
	}
	if m.writeBack < 0 || m.grace < 0 || m.spareFiles < 0 {
		return errors.New("--write-back-delay, --unmount-grace and --spare-files must not be negative")
	}
	if m.maxUpload <= 0 {
		return errors.New("--max-upload-size must be positive")
	}
	if m.uid < 0 || int64(m.uid) > 1<<32-2 || m.gid < 0 || int64(m.gid) > 1<<32-2 {
		return errors.New("--uid and --gid must be user and group ids")
	}
	if m.deleteMode != "trash" && m.deleteMode != "delete" {
		return fmt.Errorf("--delete-mode must be trash or delete, not %q", m.deleteMode)
	}
	b, err := backends.Check(m.backend, m.changed, m.readOnly, m.deleteMode)
	m.backend = b
	return err
}

// changed reports whether flag name was given (not left at its default).
func (m *mountFlags) changed(name string) bool { return m.flags != nil && m.flags.Changed(name) }

// mountOptions are a mount's settings: each layer's options, made from
// the flags once (mountFlags.options), and what the command does itself.
// What the environment or the config file may still give (the API URL,
// the location, the storage hosts, the credentials) is settled by the
// mount, which reads them (mountPoint.readSettings); no layer reads a
// flag or the environment.
type mountOptions struct {
	backend      string // backends.GHL, backends.ImageKit or backends.OCM
	config       string // the config file; "" for the default one, which may be missing
	tokenFile    string
	keyFile      string // imagekit: --key-file
	uploadURL    string // imagekit: --upload-url
	urlEndpoint  string // imagekit: --url-endpoint
	ocmFlags     backends.OCMFlags
	readOnlySet  bool // --read-only was given (ocm: a link's mount is read-only unless it says otherwise)
	location     string
	apiURL       string
	storageHosts []string // --storage-host; none: the environment's, else the config file's
	cacheDir     string   // "": the user's cache dir/ghlfs/LOCATION
	logLevel     string
	logFile      string
	daemon       bool
	metricsAddr  string
	grace        time.Duration // --unmount-grace
	cpuProfile   string        // GHLFS_CPUPROFILE
	// socialCSVSet: --social-csv was given; else GHL_SOCIAL_CSV says
	// (mountPoint.readSettings).
	socialCSVSet bool

	// Each layer's options, less what each library sets (its location,
	// credentials, cache dir, logger): the backend's (remote for
	// HighLevel, imagekit for ImageKit, ocm for OCM), the cache's and
	// fs's.
	remote   ghl.Config
	imagekit imagekit.Config
	ocm      ocm.Config
	cache    cache.Options
	fs       fs.Options
}

// options makes the flags into each layer's options, once, having
// refused values that make no sense.
func (m *mountFlags) options() (mountOptions, error) {
	if err := m.check(); err != nil {
		return mountOptions{}, err
	}
	rate := m.rateLimit
	if rate == 0 {
		rate = -1
	}
	return mountOptions{
		backend:      m.backend,
		config:       m.config,
		tokenFile:    m.tokenFile,
		keyFile:      m.keyFile,
		uploadURL:    m.uploadURL,
		urlEndpoint:  m.urlEndpoint,
		ocmFlags:     m.ocm,
		readOnlySet:  m.changed("read-only"),
		location:     m.location,
		apiURL:       m.apiURL,
		storageHosts: m.storageHosts,
		cacheDir:     m.cacheDir,
		logLevel:     m.logLevel,
		logFile:      m.logFile,
		daemon:       m.daemon,
		metricsAddr:  m.metricsAddr,
		grace:        m.grace,
		socialCSVSet: m.changed("social-csv"),
		// For profiling (go tool pprof): GHLFS_CPUPROFILE=FILE writes a
		// CPU profile of the whole mount, until it exits.
		cpuProfile: os.Getenv("GHLFS_CPUPROFILE"),
		remote: ghl.Config{
			UserAgent:     "ghlfs/" + version,
			PageSize:      m.pageSize,
			MaxListItems:  m.listMax,
			RateLimit:     rate,
			RetryTimeout:  m.opTimeout,
			MaxRetryAfter: m.maxWait,
			MaxUploadSize: int64(m.maxUpload),
		},
		imagekit: imagekit.Config{ClientOptions: m.clientOptions()},
		ocm:      ocm.Config{ClientOptions: m.clientOptions()},
		cache: cache.Options{
			DirTTL:           m.dirCacheTime,
			OpTimeout:        m.opTimeout,
			MemoryBytes:      int64(m.memCache),
			WarmMemory:       true,
			SpareFiles:       sparesWithin(m.spareFiles),
			DiskBytes:        int64(m.diskCache),
			Delete:           m.deleteMode == "delete",
			ReadOnly:         m.readOnly,
			RetryBase:        m.uploadRetry,
			ListAll:          m.listAll,
			PollInterval:     m.pollInterval,
			FullSyncInterval: m.fullSync,
			WriteBackDelay:   m.writeBack,
			SocialCSV:        m.socialCSV,
		},
		// The kernel may keep names and attributes as long as the
		// listings are trusted here; names that do not exist only
		// briefly, so that a file made elsewhere shows up soon after the
		// listing is asked again.
		fs: fs.Options{
			ReadOnly:        m.readOnly,
			AttrTimeout:     m.dirCacheTime,
			EntryTimeout:    m.dirCacheTime,
			NegativeTimeout: min(m.dirCacheTime, 5*time.Second),
			UID:             uint32(m.uid),
			GID:             uint32(m.gid),
			Umask:           uint32(m.umask),
			AllowOther:      m.allowOther,
			Debug:           m.debugFUSE,
			NoPassthrough:   !m.pass,
		},
	}, nil
}

// invocation is the command line that ran this mount (less the program
// name): a --daemon parent runs it again for its child.
var invocation = os.Args[1:]

// sparesWithin is the --spare-files a mount keeps, within what this
// process may open: a spare is an open descriptor, and they may take an
// eighth of them (spool.Spares).
func sparesWithin(n int) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return int(min(uint64(max(n, 0)), rl.Cur/8))
}

func runMount(opts mountOptions, mountpoint string) error {
	n := newNotifier()
	if opts.daemon && !n.daemonChild() {
		return startDaemon(invocation, opts.logFile)
	}
	// A signal unmounts (one that comes while the mount is being made,
	// once it is made); the uploads that are due then go up within the
	// grace period, and further signals do not cut that short (SIGKILL
	// does: what is left goes up at the next mount). SIGHUP too: a
	// terminal closed under a foreground mount must not leave it dead.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	mp := &mountPoint{opts: opts, path: mountpoint, note: n}
	err := mp.run(sigs)
	if err != nil {
		n.failed(err)
	}
	return err
}

// drainAll uploads what is due in every library, at once, within ctx.
func drainAll(ctx context.Context, libs []*library) (left, writing int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range libs {
		wg.Go(func() {
			a, b := l.store.Drain(ctx)
			mu.Lock()
			left, writing = left+a, writing+b
			mu.Unlock()
		})
	}
	wg.Wait()
	return left, writing
}

// unreachable tells a failure of the API to answer (down, overloaded,
// out of reach) from an answer that the token or location is wrong.
func unreachable(err error) bool {
	for _, refusal := range []error{remote.ErrUnauthorized, remote.ErrForbidden, remote.ErrNotFound, remote.ErrInvalid} {
		if errors.Is(err, refusal) {
			return false
		}
	}
	return true
}

// clientOptions are the options of the flags for a backend whose
// defaults are not HighLevel's (ImageKit, OCM). A flag left at its
// default leaves the backend's own default (its rate, its page size;
// its upload limits: ImageKit's plan's, none for OCM, whose instance's
// is an admin setting), which are not HighLevel's.
func (m *mountFlags) clientOptions() remote.ClientOptions {
	o := remote.ClientOptions{UserAgent: "ghlfs/" + version, RetryTimeout: m.opTimeout, MaxRetryAfter: m.maxWait, MaxListItems: m.listMax}
	if m.changed("rate-limit") {
		// --rate-limit counts requests per 10 seconds; 0 turns pacing off.
		o.RateLimit, o.RateWindow = m.rateLimit, 10*time.Second
		if m.rateLimit == 0 {
			o.RateLimit = -1
		}
	}
	if m.changed("page-size") {
		o.PageSize = m.pageSize
	}
	if m.changed("max-upload-size") {
		o.MaxUploadSize = int64(m.maxUpload)
	}
	return o
}
