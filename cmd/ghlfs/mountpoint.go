package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/backends"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/metrics"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/mounts"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/pidfile"
	"github.com/ghlfs/ghlfs/fs"
	"github.com/ghlfs/ghlfs/remote"
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
	conf     map[string]string          // the config file's settings
	apiURL   string                     // "" for ghl.DefaultBaseURL
	creds    *backends.Credentials      // HighLevel's; nil for ImageKit and OCM
	ik       *backends.ImageKitSettings // ImageKit's; nil for the others
	ocm      *backends.OCMSettings      // OCM's; nil for the others
	location string                     // "" for an agency's mount; ImageKit: backends.ImageKitLibrary; OCM: ocm.Library
	agency   bool
	libCount int // the libraries opened: their stores share the spare files
	cacheDir string
	log      *slog.Logger
	metrics  *metrics.Server // nil without --metrics-addr
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
// and OCM, their own (readImageKitSettings, readOCMSettings), each as
// package backends reads them.
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
	case backends.ImageKit:
		return mp.readImageKitSettings()
	case backends.OCM:
		return mp.readOCMSettings()
	}
	mp.apiURL = backends.Setting(mp.opts.apiURL, "GHL_API_URL", conf)
	if mp.creds, err = backends.ReadCredentials(mp.opts.tokenFile, conf, backends.GHLBase(mp.apiURL)); err != nil {
		return err
	}
	mp.location = backends.Setting(mp.opts.location, "GHL_LOCATION_ID", conf)
	if mp.location == "" {
		mp.location = mp.creds.Location()
	}
	mp.agency = mp.location == "" && mp.creds.Company()
	if mp.location == "" && !mp.agency {
		return errors.New("no location: pass --location or set GHL_LOCATION_ID")
	}
	// Storage hosts beyond the built-in ones: flags, else environment,
	// else config file.
	mp.opts.remote.StorageHosts = backends.StorageHosts(mp.opts.storageHosts, conf)
	if !mp.opts.socialCSVSet {
		if mp.opts.cache.SocialCSV, err = backends.SocialCSVSetting(conf); err != nil {
			return err
		}
	}
	return nil
}

// readImageKitSettings settles an ImageKit mount's key, hosts and url
// endpoint.
func (mp *mountPoint) readImageKitSettings() (err error) {
	o := mp.opts
	f := backends.ImageKitFlags{APIURL: o.apiURL, UploadURL: o.uploadURL, URLEndpoint: o.urlEndpoint, KeyFile: o.keyFile}
	if mp.ik, err = backends.ReadImageKit(f, mp.conf); err != nil {
		return err
	}
	mp.apiURL = mp.ik.APIURL
	mp.location = backends.ImageKitLibrary(mp.ik.Endpoint)
	return nil
}

// readOCMSettings settles an OCM mount's instance, root folder and
// credentials. A link's mount is read-only unless --read-only was given.
func (mp *mountPoint) readOCMSettings() (err error) {
	if mp.ocm, err = backends.ReadOCM(mp.opts.ocmFlags, mp.opts.apiURL, mp.opts.tokenFile, mp.conf); err != nil {
		return err
	}
	if mp.ocm.ByLink() && !mp.opts.readOnlySet {
		mp.opts.cache.ReadOnly, mp.opts.fs.ReadOnly = true, true
	}
	mp.apiURL = mp.ocm.APIURL
	mp.location = mp.ocm.Library()
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
// imagekit-ENDPOINT: backends.ImageKitCacheName, for OCM
// ocm-INSTANCE/ROOT: backends.OCMCacheName), and checks that it is safe.
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
			name = backends.ImageKitCacheName(mp.ik.Endpoint)
		case mp.ocm != nil:
			name = backends.OCMCacheName(mp.ocm.APIURL, mp.ocm.Root)
		case mp.agency:
			name = "agency-" + mp.creds.Set.CompanyID
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
	if mp.metrics, err = metrics.Start(mp.opts.metricsAddr, mp.log.With("layer", "metrics")); err != nil {
		return err
	}
	mp.then(mp.metrics.Close)
	mp.log.Info("serving metrics", "url", "http://"+mp.metrics.Addr+"/metrics")
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
			oauth = mp.creds.App.Counts
		}
		mp.metrics.SetSources(metricsSources(mp.libs, oauth))
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
		what = []any{"backend", backends.ImageKit, "library", mp.location}
	case mp.ocm != nil:
		what = []any{"backend", backends.OCM, "library", mp.location, "by", mp.ocm.Mode, "read_only", mp.opts.fs.ReadOnly}
	case mp.agency:
		what = []any{"company", mp.creds.Set.CompanyID, "locations", len(mp.libs)}
	}
	mp.log.Info("mounted", append([]any{"mountpoint", mp.path}, append(what, "api", backends.APIIdentity(backends.GHLBase(mp.apiURL)), "cache", mp.cacheDir, "pending_uploads", pending)...)...)
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
func (mp *mountPoint) openLibrary(location, cacheDir string, first bool) (_ *library, err error) {
	log := mp.log
	if !first {
		log = log.With("location", location)
	}
	rc, id, err := mp.backend(location, log.With("layer", "remote"))
	if err != nil {
		return nil, err
	}
	defer func() {
		// No Store took the backend (which closes it): its own
		// goroutines stop here (OCM's token grant).
		if c, ok := rc.(io.Closer); ok && err != nil {
			c.Close()
		}
	}()
	warm := cache.HasSavedListings(cacheDir, id.Location, id.API) || id.Earlier != "" && cache.HasSavedListings(cacheDir, id.Location, id.Earlier)
	wait := 30 * time.Second
	if warm {
		wait = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	err = rc.Check(remote.Background(ctx)) // no user waits on it: it leaves them the reserve
	cancel()
	if err != nil && !(warm && unreachable(err)) {
		return nil, fmt.Errorf("checking the %s: %w", id.Checked, err)
	}
	if err != nil {
		log.Warn("the API is out of reach: showing the listings saved by the last mount, and checking them once it is back", "err", err)
	}
	cacheOpts := mp.opts.cache
	cacheOpts.Logger = log.With("layer", "cache")
	cacheOpts.CacheDir = cacheDir
	cacheOpts.Location = id.Location
	cacheOpts.API = id.API
	cacheOpts.LegacyAPI = id.Legacy
	cacheOpts.EarlierAPI = id.Earlier
	cacheOpts.SpareFiles /= max(mp.libCount, 1)
	if cacheOpts.ReadOnly {
		cacheOpts.SpareFiles = 0 // no file is ever made
	}
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
	return &library{id: id.Location, obs: rc, store: store}, nil
}

// backend makes the mount's backend for location (HighLevel's; ImageKit's
// and OCM's library is the mount's), and says how its library is named.
func (mp *mountPoint) backend(location string, log *slog.Logger) (remote.Backend, backends.ID, error) {
	switch {
	case mp.ocm != nil:
		return mp.ocm.Open(mp.opts.ocm, log)
	case mp.ik != nil:
		return mp.ik.Open(mp.opts.imagekit, log)
	}
	client, id, err := mp.creds.Open(mp.opts.remote, mp.apiURL, location, log)
	if err != nil {
		return nil, id, err
	}
	return client.Backend(), id, nil
}

// metricsSources are the counters of libs, and of the OAuth app's
// requests as counted by oauth (nil: a token without an app).
func metricsSources(libs []*library, oauth *remote.CallCounts) []metrics.Source {
	out := make([]metrics.Source, 0, len(libs)+1)
	for _, l := range libs {
		out = append(out, metrics.Source{Remote: l.obs.Stats, Cache: l.store.Stats})
	}
	if oauth != nil {
		out = append(out, metrics.Source{Remote: oauth.Stats, Cache: func() cache.Stats { return cache.Stats{} }})
	}
	return out
}
