package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/mounts"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/pidfile"
	"github.com/ghlfs/ghlfs/fs"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
)

// A mountPoint is one mount from its start to its end, as rclone's
// mountlib.MountPoint: run makes it in named steps (start), each of which
// leaves what undoes it to close, serves it until a signal or ghlfs
// unmount ends it (serve), uploads what is due (drain), and undoes the
// steps, the last first.
type mountPoint struct {
	opts mountOptions
	path string    // the mountpoint, absolute once checkMountpoint ran
	note *notifier // hears when the mount is ready, or why it failed

	// What the steps make, in their order.
	conf     map[string]string // the config file's settings
	apiURL   string            // "" for ghl.DefaultBaseURL
	creds    *credentials      // HighLevel's; nil for ImageKit and OCM
	ik       *ikSettings       // ImageKit's; nil for the others
	ocm      *ocmSettings      // OCM's; nil for the others
	location string            // "" for an agency's mount; ImageKit: imageKitLibrary; OCM: ocm.Library
	agency   bool
	cacheDir string
	log      *slog.Logger
	metrics  *metricsServer // nil without --metrics-addr
	guard    *mounts.Guard
	libs     []*library
	server   *fuse.Server
	socket   string // the control socket; "" when there is none

	// forced is cancelled by ghlfs unmount --force: the uploads under
	// way stop, and wait for the next mount.
	forced       context.Context
	force        context.CancelFunc
	unmountAsked chan struct{}
	draining     atomic.Bool // unmounted: the uploads that are due go up

	undo []func() // what close does, the last first
}

// run mounts, serves until unmounted, and uploads what is due.
func (mp *mountPoint) run(sigs <-chan os.Signal) error {
	defer mp.close()
	if err := mp.start(); err != nil {
		return err
	}
	stop := mp.serve(sigs)
	defer stop()
	mp.server.Wait()
	mp.drain()
	return nil
}

// start makes the mount, step by step.
func (mp *mountPoint) start() error {
	for _, step := range []func() error{
		mp.startProfile,
		mp.readSettings,
		mp.checkMountpoint,
		mp.openCacheDir,
		mp.openLog,
		mp.startMetrics,
		mp.mount,
		mp.startControl,
		mp.writePidFile,
	} {
		if err := step(); err != nil {
			return err
		}
	}
	mp.logMounted()
	return nil
}

// close undoes what the steps did, the last first.
func (mp *mountPoint) close() {
	for i := len(mp.undo) - 1; i >= 0; i-- {
		mp.undo[i]()
	}
}

// then has close run undo.
func (mp *mountPoint) then(undo func()) { mp.undo = append(mp.undo, undo) }

// startProfile writes a CPU profile of the whole mount to
// GHLFS_CPUPROFILE, when set, until it ends.
func (mp *mountPoint) startProfile() error {
	if mp.opts.cpuProfile == "" {
		return nil
	}
	f, err := perms.CreatePrivate(mp.opts.cpuProfile, true)
	if err != nil {
		return fmt.Errorf("GHLFS_CPUPROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("GHLFS_CPUPROFILE: %w", err)
	}
	mp.then(func() {
		pprof.StopCPUProfile()
		f.Close()
	})
	return nil
}

// readSettings reads the config file, and settles from the flags, the
// environment and the config file the API URL, the credentials, the
// location (or an agency's mount) and the storage hosts; for ImageKit
// and OCM, their own (readImageKitSettings, readOCMSettings).
func (mp *mountPoint) readSettings() error {
	confPath, explicit := mp.opts.config, mp.opts.config != ""
	if !explicit {
		confPath = defaultConfigPath()
	}
	conf, err := readConfig(confPath, explicit)
	if err != nil {
		return err
	}
	mp.conf = conf
	switch mp.opts.backend {
	case backendImageKit:
		return mp.readImageKitSettings()
	case backendOCM:
		return mp.readOCMSettings()
	}
	mp.apiURL = setting(mp.opts.apiURL, "GHL_API_URL", conf)
	if mp.creds, err = readCredentials(mp.opts.tokenFile, conf, rcBase(mp.apiURL)); err != nil {
		return err
	}
	mp.location = setting(mp.opts.location, "GHL_LOCATION_ID", conf)
	if mp.location == "" {
		mp.location = mp.creds.location()
	}
	mp.agency = mp.location == "" && mp.creds.company()
	if mp.location == "" && !mp.agency {
		return errors.New("no location: pass --location or set GHL_LOCATION_ID")
	}
	// Storage hosts beyond the built-in ones: flags, else environment,
	// else config file.
	mp.opts.remote.StorageHosts = storageHosts(mp.opts.storageHosts, conf)
	if !mp.opts.socialCSVSet {
		if mp.opts.cache.SocialCSV, err = socialCSVSetting(conf); err != nil {
			return err
		}
	}
	return nil
}

// checkMountpoint makes the mountpoint absolute, and checks that it is a
// folder.
func (mp *mountPoint) checkMountpoint() (err error) {
	if mp.path, err = filepath.Abs(mp.path); err != nil {
		return err
	}
	if fi, err := os.Stat(mp.path); err != nil || !fi.IsDir() {
		return fmt.Errorf("mountpoint %s is not a directory", mp.path)
	}
	return nil
}

// openCacheDir settles the cache dir (--cache-dir, else the user's cache
// dir/ghlfs/LOCATION, or agency-COMPANY, or for ImageKit
// imagekit-ENDPOINT: imageKitCacheName, for OCM ocm-INSTANCE/ROOT:
// ocmCacheName), and checks that it is safe.
func (mp *mountPoint) openCacheDir() (err error) {
	cacheDir := mp.opts.cacheDir
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		switch {
		case err != nil && os.Geteuid() == 0:
			// A mount at boot (fstab, a unit) may run with no $HOME.
			base = "/var/cache"
		case err != nil:
			return fmt.Errorf("no cache dir (pass --cache-dir): %w", err)
		}
		name := mp.location
		switch {
		case mp.ik != nil:
			name = imageKitCacheName(mp.ik.endpoint)
		case mp.ocm != nil:
			name = ocmCacheName(mp.ocm.apiURL, mp.ocm.root)
		case mp.agency:
			name = "agency-" + mp.creds.set.CompanyID
		}
		cacheDir = filepath.Join(base, "ghlfs", name)
	}
	if mp.cacheDir, err = filepath.Abs(cacheDir); err != nil {
		return err
	}
	return perms.CheckCacheDir(mp.cacheDir)
}

// openLog opens the log (--log-file, stderr, or a daemon's syslog or
// file in the cache dir).
func (mp *mountPoint) openLog() error {
	log, closer, err := newLogger(mp.opts.logLevel, mp.opts.logFile, mp.note.daemonChild(), mp.cacheDir)
	if err != nil {
		return err
	}
	mp.log = log
	mp.then(func() { closer.Close() })
	mp.opts.fs.Logger = log.With("layer", "fs")
	return nil
}

// startMetrics serves the metrics at --metrics-addr, when set.
func (mp *mountPoint) startMetrics() (err error) {
	if mp.opts.metricsAddr == "" {
		return nil
	}
	if mp.metrics, err = startMetrics(mp.opts.metricsAddr, mp.log.With("layer", "metrics")); err != nil {
		return err
	}
	mp.then(mp.metrics.Close)
	mp.log.Info("serving metrics", "url", "http://"+mp.metrics.addr+"/metrics")
	return nil
}

// mount opens the libraries (one, or an agency's) and mounts them. As
// root, the mount is made, and unmounted, through handles on the
// mountpoint and its folder (internal/mounts).
func (mp *mountPoint) mount() (err error) {
	mp.then(func() {
		for _, l := range mp.libs {
			l.store.Close()
		}
	})
	if mp.guard, err = mounts.NewGuard(mp.path); err != nil {
		return err
	}
	mp.then(mp.guard.Close)
	if mp.agency {
		mp.libs, mp.server, err = mp.mountAgency(mp.path, mp.guard, mp.cacheDir, mp.opts.fs)
	} else {
		var lib *library
		if lib, err = mp.openLibrary(mp.location, mp.cacheDir, true); err == nil {
			mp.libs = []*library{lib}
			if mp.server, err = mp.guard.Mount(fs.New(lib.store, mp.opts.fs).MountVia); err != nil {
				err = fmt.Errorf("mount %s: %w", mp.path, err)
			}
		}
	}
	return err
}

// startControl answers ghlfs status and ghlfs unmount on the control
// socket (control.go), which the pid file names. Without one the mount
// goes on, unseen by ghlfs status.
func (mp *mountPoint) startControl() error {
	mp.forced, mp.force = context.WithCancel(context.Background())
	mp.then(mp.force)
	mp.unmountAsked = make(chan struct{}, 1)
	rep := &reporter{mountpoint: mp.path, cacheDir: mp.cacheDir, agency: mp.agency, libs: mp.libs, draining: mp.draining.Load}
	mp.socket = socketPath(mp.cacheDir, mp.path)
	ctl, err := startControl(mp.socket, rep.report, func(f bool) {
		if f {
			mp.force() // the uploads wait for the next mount
		}
		select {
		case mp.unmountAsked <- struct{}{}:
		default:
		}
	}, mp.log)
	if err != nil {
		mp.log.Warn("no control socket: ghlfs status will not see this mount", "err", err)
		mp.socket = ""
	} else {
		mp.then(ctl.Close)
	}
	if mp.metrics != nil {
		var oauth *remote.CallCounts
		if mp.creds != nil {
			oauth = mp.creds.app.Counts
		}
		mp.metrics.setLibraries(mp.libs, oauth)
	}
	return nil
}

// writePidFile writes the pid file, where ghlfs unmount finds this
// process, to let it finish its uploads. Without one the mount goes on.
func (mp *mountPoint) writePidFile() error {
	if path, err := pidfile.Write(mp.path, mp.socket); err != nil {
		mp.log.Warn("could not write a pid file; ghlfs unmount will not wait for the uploads", "err", err)
	} else {
		mp.then(func() { os.Remove(path) })
	}
	return nil
}

// logMounted says what is mounted, from where, and what waits to go up.
func (mp *mountPoint) logMounted() {
	pending := 0
	for _, l := range mp.libs {
		pending += l.store.PendingCount()
	}
	what := []any{"location", mp.location}
	switch {
	case mp.ik != nil:
		what = []any{"backend", backendImageKit, "library", mp.location}
	case mp.ocm != nil:
		what = []any{"backend", backendOCM, "library", mp.location, "by", mp.ocm.mode, "read_only", mp.opts.fs.ReadOnly}
	case mp.agency:
		what = []any{"company", mp.creds.set.CompanyID, "locations", len(mp.libs)}
	}
	mp.log.Info("mounted", append([]any{"mountpoint", mp.path}, append(what, "api", apiIdentity(rcBase(mp.apiURL)), "cache", mp.cacheDir, "pending_uploads", pending)...)...)
}

// serve tells the notifier the mount is ready, and unmounts it when a
// signal or ghlfs unmount asks, until stop is called.
func (mp *mountPoint) serve(sigs <-chan os.Signal) (stop func()) {
	mp.note.ready("serving " + mp.path)
	done := make(chan struct{})
	go func() {
		for {
			var why string
			select {
			case <-done:
				return
			case sig := <-sigs:
				why = sig.String()
			case <-mp.unmountAsked:
				why = "ghlfs unmount"
			}
			if mp.draining.Load() {
				mp.log.Info("already unmounted; finishing the uploads that are due", "signal", why, "grace", mp.opts.grace)
				continue
			}
			mp.unmount(why)
		}
	}()
	return func() { close(done) }
}

// unmount unmounts, asked to for why; lazily when files are still open.
func (mp *mountPoint) unmount(why string) {
	mp.log.Info("unmounting", "signal", why)
	mp.note.stopping("unmounting " + mp.path)
	if mp.forced.Err() != nil {
		// ghlfs unmount --force: the uploads under way stop now (they
		// stay queued for the next mount), and a close waiting on one
		// hears so, which lets the kernel end the mount at once.
		for _, l := range mp.libs {
			l.store.Close()
		}
	}
	if err := mp.guard.Unmount(mp.server, false); err != nil {
		mp.log.Warn("unmount failed (files still open?); detaching lazily", "err", err)
		if err := mp.guard.Unmount(mp.server, true); err != nil {
			mp.log.Error("lazy unmount failed", "err", err)
		}
	}
}

// drain uploads what is due, once unmounted, within the grace period
// (unless ghlfs unmount --force said not to wait), and says what is left.
func (mp *mountPoint) drain() {
	mp.draining.Store(true)
	mp.note.stopping("unmounted; finishing the uploads that are due")
	ctx, cancel := context.WithTimeout(mp.forced, mp.opts.grace)
	defer cancel()
	left, writing := drainAll(ctx, mp.libs)
	refused := 0
	for _, l := range mp.libs {
		refused += l.store.Refused()
	}
	switch {
	case left > 0 && refused > 0:
		mp.log.Warn(fmt.Sprintf("unmounted with %d files whose changes still wait for the API (an upload, or an old copy to trash; %d of them refused by the service, as logged when it refused them, and not waited for); they are kept in %s and tried at the next mount", left, refused, mp.cacheDir),
			"mountpoint", mp.path, "pending_uploads", left, "refused_uploads", refused)
	case left > 0:
		mp.log.Warn(fmt.Sprintf("unmounted with %d files whose changes still wait for the API (an upload, or an old copy to trash); they are kept in %s and done at the next mount", left, mp.cacheDir), "mountpoint", mp.path, "pending_uploads", left)
	default:
		mp.log.Info("unmounted", "mountpoint", mp.path, "pending_uploads", 0)
	}
	if writing > 0 {
		aside := filepath.Join(mp.cacheDir, "recovered")
		if mp.agency {
			aside = filepath.Join(mp.cacheDir, "LOCATION", "recovered")
		}
		mp.log.Warn(fmt.Sprintf("%d files were still open for writing; they were not uploaded, and the next mount keeps them aside in %s", writing, aside))
	}
}

// library is one location's library: what its backend sent (status and
// metrics read it), and its store.
type library struct {
	id, name string
	obs      remote.Observer
	store    *cache.Store
}

// openLibrary checks the credentials and the library with one call, and
// opens the library's store in cacheDir (location is HighLevel's; an
// ImageKit library is the mount's). An API out of reach is no reason not
// to mount when the listings of an earlier mount are there to show (they
// are checked once it is back).
func (mp *mountPoint) openLibrary(location, cacheDir string, first bool) (*library, error) {
	log := mp.log
	if !first {
		log = log.With("location", location)
	}
	rc, id, err := mp.backend(location, log.With("layer", "remote"))
	if err != nil {
		return nil, err
	}
	warm := cache.HasSavedListings(cacheDir, id.location, id.api) || id.earlier != "" && cache.HasSavedListings(cacheDir, id.location, id.earlier)
	wait := 30 * time.Second
	if warm {
		wait = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	err = rc.Check(remote.Background(ctx)) // no user waits on it: it leaves them the reserve
	cancel()
	if err != nil && !(warm && unreachable(err)) {
		return nil, fmt.Errorf("checking the %s: %w", id.checked, err)
	}
	if err != nil {
		log.Warn("the API is out of reach: showing the listings saved by the last mount, and checking them once it is back", "err", err)
	}
	cacheOpts := mp.opts.cache
	cacheOpts.Logger = log.With("layer", "cache")
	cacheOpts.CacheDir = cacheDir
	cacheOpts.Location = id.location
	cacheOpts.API = id.api
	cacheOpts.LegacyAPI = id.legacy
	cacheOpts.EarlierAPI = id.earlier
	store, err := cache.New(rc, cacheOpts)
	if err != nil {
		return nil, err
	}
	if sc := store.SocialCSV(); sc != nil {
		// Whether the token may read the CSV imports, before the mount
		// shows their folder (one INFO line when it may not).
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		sc.Probe(ctx)
		cancel()
	}
	return &library{id: id.location, obs: rc, store: store}, nil
}

// libraryID is what names a library in its cache dir (cache.Options'
// Location, API, LegacyAPI, EarlierAPI), and what the first call checks.
type libraryID struct {
	location, api, legacy, earlier string
	checked                        string // "token and location", ...
}

// backend makes the mount's backend for location (HighLevel's; ImageKit's
// and OCM's library is the mount's), and says how its library is named.
func (mp *mountPoint) backend(location string, log *slog.Logger) (remote.Backend, libraryID, error) {
	if mp.ocm != nil {
		return mp.openOCM(log)
	}
	if mp.ik != nil {
		b, err := mp.openImageKit(log)
		if err != nil {
			return nil, libraryID{}, err
		}
		return b, libraryID{location: mp.location, api: backendImageKit + ":" + apiIdentity(mp.ik.apiURL), checked: "private key and url endpoint"}, nil
	}
	rcConf := mp.opts.remote
	rcConf.BaseURL = mp.apiURL
	rcConf.LocationID = location
	rcConf.Logger = log
	if err := mp.creds.config(&rcConf, location, log); err != nil {
		return nil, libraryID{}, err
	}
	client, err := ghl.New(rcConf)
	if err != nil {
		return nil, libraryID{}, err
	}
	base := rcBase(mp.apiURL)
	return client.Backend(), libraryID{location: location, api: apiIdentity(base), legacy: legacyAPIIdentity(base),
		earlier: earlierAPIIdentity(base), checked: "token and location"}, nil
}
