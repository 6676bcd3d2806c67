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
		if mp.agency {
			return errors.New("serve webdav serves one location: pass --location")
		}
		lib, err := mp.openLibrary(mp.location, mp.cacheDir, true)
		if err != nil {
			return err
		}
		mp.libs = []*library{lib}
		mp.then(func() { lib.store.Close() })
		if ln, err = net.Listen("tcp", w.addr); err != nil {
			return err
		}
		scheme := "http"
		if w.cert != "" {
			scheme = "https"
		}
		mp.path = scheme + "://" + ln.Addr().String() + "/"
		log := mp.log.With("layer", "webdav")
		fsys := webdav.New(lib.store, webdav.Options{LocalDir: filepath.Join(mp.cacheDir, "webdav-local"), UploadDotfiles: w.uploadDotfiles, ReadOnly: mp.opts.cache.ReadOnly, Logger: log})
		srv = &http.Server{Handler: fsys.Handler(auth), ReadHeaderTimeout: time.Minute, ErrorLog: nil}
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
	mp.log.Info("serving WebDAV", "url", mp.path, "location", mp.location, "cache", mp.cacheDir, "pending_uploads", mp.libs[0].store.PendingCount())
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
		mp.libs[0].store.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	srv.Shutdown(ctx)
	cancel()
	srv.Close()
	mp.drain()
	return nil
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
