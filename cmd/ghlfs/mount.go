package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/fs"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ghlfs/ghlfs/remote/ghl"
)

type mountFlags struct {
	config       string
	tokenFile    string
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
}

func newMountCmd() *cobra.Command {
	m := &mountFlags{}
	cmd := &cobra.Command{
		Use:   "mount [flags] MOUNTPOINT",
		Short: "Mount a location's Media Storage and serve it until unmounted",
		Long: `Mounts a HighLevel location's Media Storage on MOUNTPOINT and serves it in the
foreground until Ctrl-C, SIGTERM or "ghlfs unmount MOUNTPOINT".

The API token is read from GHL_TOKEN, from --token-file, or from the config
file; never from the command line.`,
		Args:              oneMountpoint,
		ValidArgsFunction: completeDirs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := m.check(); err != nil {
				return err
			}
			return runMount(m, args[0])
		},
	}
	m.register(cmd.Flags())
	return cmd
}

// register defines the mount flags on fl.
func (m *mountFlags) register(fl *pflag.FlagSet) {
	fl.SortFlags = false
	fl.StringVar(&m.config, "config", "", "config file of KEY=VALUE lines (default "+defaultConfigPath()+")")
	fl.StringVar(&m.tokenFile, "token-file", "", "read the API token from this file (else $GHL_TOKEN)")
	fl.StringVar(&m.location, "location", "", "location (sub-account) id (else $GHL_LOCATION_ID)")
	fl.StringVar(&m.apiURL, "api-url", "", "API base URL (else $GHL_API_URL, else "+ghl.DefaultBaseURL+")")
	fl.BoolVar(&m.readOnly, "read-only", false, "mount read-only: every change fails with EROFS")
	fl.DurationVar(&m.dirCacheTime, "dir-cache-time", time.Minute, "how long folder listings are trusted before being asked again")
	fl.StringVar(&m.cacheDir, "cache-dir", "", "where files waiting for upload and local file times are kept (default: user cache dir/ghlfs/LOCATION)")
	fl.StringVar(&m.deleteMode, "delete-mode", "trash", "what rm does: trash (recoverable) or delete")
	m.memCache = 256 << 20
	fl.Var(&m.memCache, "cache-mem", "file content kept in memory")
	fl.Var(&m.diskCache, "cache-max-size", "file content kept on disk under --cache-dir (0: none)")
	m.maxUpload = ghl.MaxUploadSize
	fl.Var(&m.maxUpload, "max-upload-size", "largest image or other file uploaded (the API's \"25 MB\", read the conservative way); a bigger write fails with EFBIG. Videos may be up to 500MB (sent with Version v3)")
	fl.DurationVar(&m.opTimeout, "op-timeout", 2*time.Minute, "longest an operation (or one page of a listing) may wait on the API before failing")
	fl.DurationVar(&m.uploadRetry, "upload-retry", 30*time.Second, "first wait before a failed upload is tried again in the background (it doubles, up to 10m)")
	fl.DurationVar(&m.writeBack, "write-back-delay", 5*time.Second, "how long a closed file stays quiet before it is uploaded (0: upload at close, and close reports the result)")
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
	if m.writeBack < 0 || m.grace < 0 {
		return errors.New("--write-back-delay and --unmount-grace must not be negative")
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
	return nil
}

// invocation is the command line that ran this mount (less the program
// name): a --daemon parent runs it again for its child.
var invocation = os.Args[1:]

func runMount(m *mountFlags, mountpoint string) error {
	n := newNotifier()
	if m.daemon && !n.daemonChild() {
		return startDaemon(invocation, m.logFile)
	}
	// A signal unmounts (one that comes while the mount is being made,
	// once it is made); the uploads that are due then go up within the
	// grace period, and further signals do not cut that short (SIGKILL
	// does: what is left goes up at the next mount). SIGHUP too: a
	// terminal closed under a foreground mount must not leave it dead.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	err := serve(m, mountpoint, n, sigs)
	if err != nil {
		n.failed(err)
	}
	return err
}

// serve mounts and serves until unmounted; n hears when the mount is
// ready, or why it could not be made.
func serve(m *mountFlags, mountpoint string, n *notifier, sigs <-chan os.Signal) (err error) {
	// For profiling (go tool pprof): GHLFS_CPUPROFILE=FILE writes a CPU
	// profile of the whole mount, until it exits.
	if p := os.Getenv("GHLFS_CPUPROFILE"); p != "" {
		f, err := createPrivate(p, true)
		if err != nil {
			return fmt.Errorf("GHLFS_CPUPROFILE: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("GHLFS_CPUPROFILE: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	confPath, explicit := m.config, m.config != ""
	if !explicit {
		confPath = defaultConfigPath()
	}
	conf, err := readConfig(confPath, explicit)
	if err != nil {
		return err
	}
	apiURL := setting(m.apiURL, "GHL_API_URL", conf)
	creds, err := readCredentials(m.tokenFile, conf, rcBase(apiURL))
	if err != nil {
		return err
	}
	location := setting(m.location, "GHL_LOCATION_ID", conf)
	if location == "" {
		location = creds.location()
	}
	agency := location == "" && creds.company()
	if location == "" && !agency {
		return errors.New("no location: pass --location or set GHL_LOCATION_ID")
	}
	if mountpoint, err = filepath.Abs(mountpoint); err != nil {
		return err
	}
	if fi, err := os.Stat(mountpoint); err != nil || !fi.IsDir() {
		return fmt.Errorf("mountpoint %s is not a directory", mountpoint)
	}

	cacheDir := m.cacheDir
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		switch {
		case err != nil && os.Geteuid() == 0:
			// A mount at boot (fstab, a unit) may run with no $HOME.
			base = "/var/cache"
		case err != nil:
			return fmt.Errorf("no cache dir (pass --cache-dir): %w", err)
		}
		name := location
		if agency {
			name = "agency-" + creds.set.CompanyID
		}
		cacheDir = filepath.Join(base, "ghlfs", name)
	}
	if cacheDir, err = filepath.Abs(cacheDir); err != nil {
		return err
	}
	if err := checkCacheDir(cacheDir); err != nil {
		return err
	}
	log, logCloser, err := newLogger(m.logLevel, m.logFile, n.daemonChild(), cacheDir)
	if err != nil {
		return err
	}
	defer logCloser.Close()
	var metrics *metricsServer
	if m.metricsAddr != "" {
		if metrics, err = startMetrics(m.metricsAddr, log.With("layer", "metrics")); err != nil {
			return err
		}
		defer metrics.Close()
		log.Info("serving metrics", "url", "http://"+metrics.addr+"/metrics")
	}
	s := &session{m: m, conf: conf, apiURL: apiURL, creds: creds, log: log}

	// The kernel may keep names and attributes as long as the listings are
	// trusted here; names that do not exist only briefly, so that a file
	// made elsewhere shows up soon after the listing is asked again.
	fsOpts := fs.Options{
		ReadOnly:        m.readOnly,
		AttrTimeout:     m.dirCacheTime,
		EntryTimeout:    m.dirCacheTime,
		NegativeTimeout: min(m.dirCacheTime, 5*time.Second),
		UID:             uint32(m.uid),
		GID:             uint32(m.gid),
		Umask:           uint32(m.umask),
		AllowOther:      m.allowOther,
		Logger:          log.With("layer", "fs"),
		Debug:           m.debugFUSE,
		NoPassthrough:   !m.pass,
	}
	var libs []*library
	defer func() {
		for _, l := range libs {
			l.store.Close()
		}
	}()
	// As root, the mount is made, and unmounted, through handles on the
	// mountpoint and its folder (mountguard_linux.go).
	guard, err := newMountGuard(mountpoint)
	if err != nil {
		return err
	}
	defer guard.close()
	var server *fuse.Server
	if agency {
		libs, server, err = s.mountAgency(mountpoint, guard, cacheDir, fsOpts)
	} else {
		var lib *library
		if lib, err = s.openLibrary(location, cacheDir, true); err == nil {
			libs = []*library{lib}
			if server, err = guard.mount(fs.New(lib.store, fsOpts).MountVia); err != nil {
				err = fmt.Errorf("mount %s: %w", mountpoint, err)
			}
		}
	}
	if err != nil {
		return err
	}
	// ghlfs status and ghlfs unmount ask this process on its control
	// socket (control.go), named in the pid file.
	var draining atomic.Bool
	forced, force := context.WithCancel(context.Background())
	defer force()
	unmountAsked := make(chan struct{}, 1)
	rep := &reporter{mountpoint: mountpoint, cacheDir: cacheDir, agency: agency, libs: libs, draining: draining.Load}
	sock := socketPath(cacheDir, mountpoint)
	ctl, err := startControl(sock, rep.report, func(f bool) {
		if f {
			force() // the uploads wait for the next mount
		}
		select {
		case unmountAsked <- struct{}{}:
		default:
		}
	}, log)
	if err != nil {
		log.Warn("no control socket: ghlfs status will not see this mount", "err", err)
		sock = ""
	} else {
		defer ctl.Close()
	}
	if metrics != nil {
		metrics.setLibraries(libs, creds.app.Counts)
	}
	// ghlfs unmount finds this process here, to let it finish its uploads.
	if pf, err := writePidFile(mountpoint, sock); err != nil {
		log.Warn("could not write a pid file; ghlfs unmount will not wait for the uploads", "err", err)
	} else {
		defer os.Remove(pf)
	}
	pending := 0
	for _, l := range libs {
		pending += l.store.PendingCount()
	}
	what := []any{"location", location}
	if agency {
		what = []any{"company", creds.set.CompanyID, "locations", len(libs)}
	}
	log.Info("mounted", append([]any{"mountpoint", mountpoint}, append(what, "api", apiIdentity(rcBase(apiURL)), "cache", cacheDir, "pending_uploads", pending)...)...)

	n.ready("serving " + mountpoint)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			var why string
			select {
			case <-done:
				return
			case sig := <-sigs:
				why = sig.String()
			case <-unmountAsked:
				why = "ghlfs unmount"
			}
			if draining.Load() {
				log.Info("already unmounted; finishing the uploads that are due", "signal", why, "grace", m.grace)
				continue
			}
			log.Info("unmounting", "signal", why)
			n.stopping("unmounting " + mountpoint)
			if forced.Err() != nil {
				// ghlfs unmount --force: the uploads under way stop now
				// (they stay queued for the next mount), and a close
				// waiting on one hears so, which lets the kernel end the
				// mount at once.
				for _, l := range libs {
					l.store.Close()
				}
			}
			if err := guard.unmount(server, false); err != nil {
				log.Warn("unmount failed (files still open?); detaching lazily", "err", err)
				if err := guard.unmount(server, true); err != nil {
					log.Error("lazy unmount failed", "err", err)
				}
			}
		}
	}()
	server.Wait()
	draining.Store(true)
	n.stopping("unmounted; finishing the uploads that are due")
	// What is due goes up before ghlfs exits, within the grace period
	// (unless ghlfs unmount --force said not to wait).
	ctx, cancel := context.WithTimeout(forced, m.grace)
	defer cancel()
	left, writing := drainAll(ctx, libs)
	refused := 0
	for _, l := range libs {
		refused += l.store.Refused()
	}
	switch {
	case left > 0 && refused > 0:
		log.Warn(fmt.Sprintf("unmounted with %d files whose changes still wait for the API (an upload, or an old copy to trash; %d of them refused by the service, as logged when it refused them, and not waited for); they are kept in %s and tried at the next mount", left, refused, cacheDir),
			"mountpoint", mountpoint, "pending_uploads", left, "refused_uploads", refused)
	case left > 0:
		log.Warn(fmt.Sprintf("unmounted with %d files whose changes still wait for the API (an upload, or an old copy to trash); they are kept in %s and done at the next mount", left, cacheDir), "mountpoint", mountpoint, "pending_uploads", left)
	default:
		log.Info("unmounted", "mountpoint", mountpoint, "pending_uploads", 0)
	}
	if writing > 0 {
		aside := filepath.Join(cacheDir, "recovered")
		if agency {
			aside = filepath.Join(cacheDir, "LOCATION", "recovered")
		}
		log.Warn(fmt.Sprintf("%d files were still open for writing; they were not uploaded, and the next mount keeps them aside in %s", writing, aside))
	}
	return nil
}

// mounter makes a mount: mount(2) is given target; reach, once it is
// made, returns a path to its root, or fails having undone it. With
// reach nil, target is the mountpoint (fs.FS.MountVia).
type mounter func(target string, reach func() (string, error)) (*fuse.Server, error)

// session is what a mount's libraries are opened with.
type session struct {
	m      *mountFlags
	conf   map[string]string
	apiURL string
	creds  *credentials
	log    *slog.Logger
}

// library is one location's library: what its backend sent (status and
// metrics read it), and its store.
type library struct {
	id, name string
	obs      remote.Observer
	store    *cache.Store
}

// openLibrary checks the token and location with one call, and opens the
// location's store in cacheDir. An API out of reach is no reason not to
// mount when the listings of an earlier mount are there to show (they are
// checked once it is back).
func (s *session) openLibrary(location, cacheDir string, first bool) (*library, error) {
	m, log := s.m, s.log
	if !first {
		log = log.With("location", location)
	}
	rate := m.rateLimit
	if rate == 0 {
		rate = -1
	}
	rcConf := ghl.Config{
		BaseURL:      s.apiURL,
		LocationID:   location,
		UserAgent:    "ghlfs/" + version,
		PageSize:     m.pageSize,
		MaxListItems: m.listMax,
		RateLimit:    rate,
		RetryTimeout: m.opTimeout,
		// Storage hosts beyond the built-in ones: flags, else environment,
		// else config file.
		StorageHosts:  storageHosts(m.storageHosts, s.conf),
		MaxRetryAfter: m.maxWait,
		MaxUploadSize: int64(m.maxUpload),
		Logger:        log.With("layer", "remote"),
	}
	if err := s.creds.config(&rcConf, location, log.With("layer", "remote")); err != nil {
		return nil, err
	}
	client, err := ghl.New(rcConf)
	if err != nil {
		return nil, err
	}
	rc := client.Backend()
	api := apiIdentity(rcBase(s.apiURL))
	earlier := earlierAPIIdentity(rcBase(s.apiURL))
	warm := cache.HasSavedListings(cacheDir, location, api) || earlier != "" && cache.HasSavedListings(cacheDir, location, earlier)
	wait := 30 * time.Second
	if warm {
		wait = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	err = rc.Check(remote.Background(ctx)) // no user waits on it: it leaves them the reserve
	cancel()
	if err != nil && !(warm && unreachable(err)) {
		return nil, fmt.Errorf("checking the token and location: %w", err)
	}
	if err != nil {
		log.Warn("the API is out of reach: showing the listings saved by the last mount, and checking them once it is back", "err", err)
	}
	store, err := cache.New(rc, cache.Options{
		DirTTL:           m.dirCacheTime,
		OpTimeout:        m.opTimeout,
		MemoryBytes:      int64(m.memCache),
		DiskBytes:        int64(m.diskCache),
		Logger:           log.With("layer", "cache"),
		CacheDir:         cacheDir,
		Delete:           m.deleteMode == "delete",
		ReadOnly:         m.readOnly,
		RetryBase:        m.uploadRetry,
		ListAll:          m.listAll,
		PollInterval:     m.pollInterval,
		FullSyncInterval: m.fullSync,
		WriteBackDelay:   m.writeBack,
		Location:         location,
		API:              api,
		LegacyAPI:        legacyAPIIdentity(rcBase(s.apiURL)),
		EarlierAPI:       earlier,
	})
	if err != nil {
		return nil, err
	}
	return &library{id: location, obs: rc, store: store}, nil
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

// apiIdentity names the service behind an API URL: the library's
// identity, with the location, in its saved listings, the write-back
// queue's records (never uploaded to another service) and the cache dir's
// owner. It is the URL's scheme, host, port and path: two services on one
// host (two fakes on loopback, say) are two libraries. It is normalised
// as a URL's authority is compared: the host in lower case, a default
// port (443 for https, 80 for http) left out, so that https://HOST:443
// and https://host are one library. Credentials and a query stay out: it
// is logged.
func apiIdentity(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return "(unparsable API URL)" // ghl.New refuses it first
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		port = ""
	}
	switch {
	case port != "":
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"):
		host = "[" + host + "]" // an IPv6 address
	}
	return strings.TrimRight(u.Scheme+"://"+host+u.Path, "/")
}

// earlierAPIIdentity is the identity the previous ghlfs gave this very
// API URL, before identities were normalised (its host as written, a
// default port kept), when it differs from apiIdentity's; "" otherwise.
// It names the same service: what a cache dir holds under it is this
// library's.
func earlierAPIIdentity(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return ""
	}
	if id := strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"); id != apiIdentity(apiURL) {
		return id
	}
	return ""
}

// legacyAPIIdentity is the identity ghlfs gave a service on loopback
// before it kept the port (issue 16): its scheme and host alone; "" for
// any other service, whose identity did not change. What a cache dir
// holds under it may be another server's: records are set aside, never
// uploaded, and saved listings are not shown.
func legacyAPIIdentity(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
		return u.Scheme + "://" + u.Hostname()
	}
	return ""
}

func rcBase(u string) string {
	if u == "" {
		return ghl.DefaultBaseURL
	}
	return u
}

func fusermount(args ...string) error {
	bin := "fusermount3"
	if _, err := exec.LookPath(bin); err != nil {
		bin = "fusermount"
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
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
