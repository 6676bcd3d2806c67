package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/mounts"
	"github.com/ghlfs/ghlfs/fs/webdav"
)

// webdavFlags are serve webdav's own flags; the mount's (mountFlags)
// come with them, made into each layer's options by the same code.
type webdavFlags struct {
	addr           string
	user           string
	passwordFile   string
	htpasswd       string
	cert, key      string
	insecureNoTLS  bool
	uploadDotfiles bool
}

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a library over a network protocol instead of mounting it",
	}
	cmd.AddCommand(newServeWebDAVCmd())
	return cmd
}

func newServeWebDAVCmd() *cobra.Command {
	m := &mountFlags{}
	w := &webdavFlags{}
	cmd := &cobra.Command{
		Use:   "webdav [flags]",
		Short: "Serve a library over WebDAV (Finder, Windows Explorer, davfs2, rclone)",
		Long: `Serves a library over WebDAV, with the same cache, write-back queue and
backends as "ghlfs mount", until Ctrl-C, SIGTERM or "ghlfs unmount URL".
With an agency's token and no --location it serves every location, as
an agency's mount does: a folder per location at the root.

It listens on --addr (default 127.0.0.1:8080). Off loopback it needs
authentication (--user with --password-file, or --htpasswd with bcrypt
entries) and TLS (--cert and --key), or --insecure-no-tls, which the log
warns about. Finder's "._*" and ".DS_Store" files are kept in the cache dir,
never uploaded, unless --upload-dotfiles.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := m.options()
			if err != nil {
				return err
			}
			if err := w.check(); err != nil {
				return err
			}
			return runServeWebDAV(opts, w)
		},
	}
	m.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&w.addr, "addr", "127.0.0.1:8080", "address to listen on, HOST:PORT; off loopback it needs authentication and TLS (or --insecure-no-tls)")
	fl.StringVar(&w.user, "user", "", "the user name clients log in with (the password from --password-file)")
	fl.StringVar(&w.passwordFile, "password-file", "", "read --user's password from this file (never from the command line)")
	fl.StringVar(&w.htpasswd, "htpasswd", "", "an htpasswd file of users with bcrypt hashes (htpasswd -B)")
	fl.StringVar(&w.cert, "cert", "", "TLS certificate file (PEM), with --key: serve https")
	fl.StringVar(&w.key, "key", "", "TLS private key file (PEM)")
	fl.BoolVar(&w.insecureNoTLS, "insecure-no-tls", false, "serve plain http off loopback: passwords and files cross the network readable")
	fl.BoolVar(&w.uploadDotfiles, "upload-dotfiles", false, `upload Finder's "._*" and ".DS_Store" files like any other (default: kept in the cache dir)`)
	return cmd
}

// check refuses flags that make no sense, or an unsafe address.
func (w *webdavFlags) check() error {
	if (w.user != "") != (w.passwordFile != "") {
		return errors.New("--user and --password-file go together")
	}
	if w.user != "" && w.htpasswd != "" {
		return errors.New("--user and --htpasswd: one or the other")
	}
	if (w.cert != "") != (w.key != "") {
		return errors.New("--cert and --key go together")
	}
	host, _, err := net.SplitHostPort(w.addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if loopback(host) {
		return nil
	}
	if w.user == "" && w.htpasswd == "" {
		return fmt.Errorf("--addr %s is not loopback: authentication is needed (--user with --password-file, or --htpasswd)", w.addr)
	}
	if w.cert == "" && !w.insecureNoTLS {
		return fmt.Errorf("--addr %s is not loopback: TLS is needed (--cert and --key), or --insecure-no-tls", w.addr)
	}
	return nil
}

// loopback reports whether host is this machine alone.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// auth reads the credentials the flags name.
func (w *webdavFlags) auth() (*webdav.Auth, error) {
	switch {
	case w.htpasswd != "":
		f, err := os.Open(w.htpasswd)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return webdav.ReadHtpasswd(f)
	case w.user != "":
		b, err := os.ReadFile(w.passwordFile)
		if err != nil {
			return nil, err
		}
		return webdav.NewAuth(w.user, strings.TrimRight(string(b), "\r\n"))
	}
	return nil, nil
}

func runServeWebDAV(opts mountOptions, w *webdavFlags) error {
	n := newNotifier()
	if opts.daemon && !n.daemonChild() {
		return startDaemon(invocation, opts.logFile)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	mp := &mountPoint{opts: opts, note: n}
	err := mp.serveWebDAV(w, sigs)
	if err != nil {
		n.failed(err)
	}
	return err
}

// serveWebDAV is mountPoint.run with an HTTP server where the mount
// would be: the same steps before and after.
func (mp *mountPoint) serveWebDAV(w *webdavFlags, sigs <-chan os.Signal) error {
	defer mp.close()
	auth, err := w.auth()
	if err != nil {
		return err
	}
	var srv *http.Server
	var ln net.Listener
	listen := func() error {
		mp.then(func() {
			for _, l := range mp.libs {
				l.store.Close()
			}
		})
		handler, err := mp.webdavHandler(w, auth)
		if err != nil {
			return err
		}
		if ln, err = net.Listen("tcp", w.addr); err != nil {
			return err
		}
		scheme := "http"
		if w.cert != "" {
			scheme = "https"
		}
		mp.path = scheme + "://" + ln.Addr().String() + "/"
		srv = &http.Server{Handler: handler, ReadHeaderTimeout: time.Minute, ErrorLog: nil}
		if !loopback(hostOf(w.addr)) && w.cert == "" {
			mp.log.Warn("serving WebDAV over plain http off loopback (--insecure-no-tls): passwords and files cross the network readable", "addr", ln.Addr().String())
		}
		return nil
	}
	for _, step := range []func() error{mp.startProfile, mp.readSettings, mp.openCacheDir, mp.openLog, mp.startMetrics, listen, mp.startControl, mp.writePidFile} {
		if err := step(); err != nil {
			return err
		}
	}
	served := make(chan error, 1)
	go func() {
		if w.cert != "" {
			served <- srv.ServeTLS(ln, w.cert, w.key)
		} else {
			served <- srv.Serve(ln)
		}
	}()
	pending := 0
	for _, l := range mp.libs {
		pending += l.store.PendingCount()
	}
	what := []any{"location", mp.location}
	if mp.agency {
		what = []any{"company", mp.creds.Set.CompanyID, "locations", len(mp.libs)}
	}
	mp.log.Info("serving WebDAV", append(append([]any{"url", mp.path}, what...), "cache", mp.cacheDir, "pending_uploads", pending)...)
	mp.note.ready("serving " + mp.path)
	var why string
	select {
	case sig := <-sigs:
		why = sig.String()
	case <-mp.unmountAsked:
		why = "ghlfs unmount"
	case err := <-served:
		return fmt.Errorf("serving WebDAV: %w", err)
	}
	mp.log.Info("stopping the WebDAV server", "signal", why)
	mp.note.stopping("stopping " + mp.path)
	if mp.forced.Err() != nil {
		for _, l := range mp.libs {
			l.store.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	srv.Shutdown(ctx)
	cancel()
	srv.Close()
	mp.drain()
	return nil
}

// webdavHandler opens the library, or an agency's locations (as an
// agency's mount does: openAgency, each location a folder at the root),
// and serves it.
func (mp *mountPoint) webdavHandler(w *webdavFlags, auth *webdav.Auth) (http.Handler, error) {
	opts := webdav.Options{UploadDotfiles: w.uploadDotfiles, ReadOnly: mp.opts.cache.ReadOnly, Logger: mp.log.With("layer", "webdav")}
	if !mp.agency {
		lib, err := mp.openLibrary(mp.location, mp.cacheDir, true)
		if err != nil {
			return nil, err
		}
		mp.libs = []*library{lib}
		opts.LocalDir = filepath.Join(mp.cacheDir, "webdav-local")
		return webdav.New(lib.store, opts).Handler(auth), nil
	}
	libs, locs, err := mp.openAgency(mp.cacheDir)
	mp.libs = libs
	if err != nil {
		return nil, err
	}
	served := make([]webdav.Location, len(locs))
	for i, l := range locs {
		served[i] = webdav.Location{Location: l, LocalDir: filepath.Join(locationCacheDir(mp.cacheDir, l.ID), "webdav-local")}
	}
	return webdav.NewAgency(served, opts).Handler(auth), nil
}

func hostOf(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

// mountpointArg is the mountpoint a command names, absolute; or the URL
// of a served library (ghlfs status URL, ghlfs unmount URL), as it is.
func mountpointArg(arg string) (string, error) {
	if servedURL(arg) {
		return arg, nil
	}
	return filepath.Abs(arg)
}

// isGhlfsMount reports whether mp is a ghlfs mount; a served library's
// URL is none (its pid file says whether it is served).
func isGhlfsMount(mp string) (bool, error) {
	if servedURL(mp) {
		return false, nil
	}
	return mounts.IsGhlfs(mp)
}

// servedURL reports whether a mountpoint is a served library's URL.
func servedURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}
