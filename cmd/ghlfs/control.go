package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/peercred"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/pidfile"
	"github.com/ghlfs/ghlfs/fs"
)

// The control socket: a mount's serving ghlfs answers "ghlfs status" and
// "ghlfs unmount" on a unix socket, with HTTP and JSON:
//
//	GET  /v1/status                  the statusReport below
//	POST /v1/unmount?force=true      unmount now; force: do not wait for the
//	                                 uploads (they stay queued for the next mount)
//
// The socket is control.sock in the cache dir (or, when that path is too
// long for a unix socket, a file beside the pid file), created with mode
// 0600 in a private directory and renamed into place, so that there is no
// moment at which another user could connect. On Linux the peer's uid is
// also checked (SO_PEERCRED): only this user and root are answered. The
// pid file (unmount.go) names the socket on its third line.

// statusReport is what GET /v1/status answers; its field names are
// stable (README: "ghlfs status --json").
type statusReport struct {
	Mountpoint string         `json:"mountpoint"`
	CacheDir   string         `json:"cache_dir"`
	PID        int            `json:"pid"`
	State      string         `json:"state"` // "mounted", or "unmounting" while the uploads due are finished
	Time       time.Time      `json:"time"`
	Uploads    []uploadStatus `json:"uploads"`
	API        []apiStatus    `json:"api"`
	Cache      cacheStatus    `json:"cache"`
}

type uploadStatus struct {
	Path     string  `json:"path"`               // as the mount shows it, from its root
	Location string  `json:"location,omitempty"` // an agency's mount: the location
	State    string  `json:"state"`              // writing, waiting, checking, uploading, failed, renaming, retiring, removing
	Size     int64   `json:"size"`               // bytes
	Sent     int64   `json:"sent"`               // bytes sent by the upload under way (size once it landed)
	Rate     float64 `json:"rate"`               // bytes per second over the last few seconds; uploading only
	// ETASeconds is the time left at that rate; absent when unknown.
	ETASeconds *float64   `json:"eta_seconds,omitempty"`
	Error      string     `json:"error,omitempty"` // why the last attempt failed: the API's message
	Tries      int        `json:"tries,omitempty"` // failed attempts in a row
	Next       *time.Time `json:"next,omitempty"`  // failed: the next try; waiting: when it is due
	// Refused is set on a failed one the service refused (its type, say):
	// not tried again until the file is changed or renamed, or at the next
	// mount; an unmount does not wait for it.
	Refused bool `json:"refused,omitempty"`
}

type apiStatus struct {
	Location string `json:"location"`
	// Requests this mount sent in the last 10 s and today (UTC), against
	// the published limits, and the pacing ghlfs keeps to itself (0: off).
	Calls10s    int   `json:"calls_10s"`
	Limit10s    int   `json:"limit_10s"`
	Pacing10s   int   `json:"pacing_10s"`
	CallsToday  int64 `json:"calls_today"`
	LimitDaily  int64 `json:"limit_daily"`
	CallsTotal  int64 `json:"calls_total"`
	RateLimited int64 `json:"rate_limited"` // answers 429
	Waiting     int   `json:"waiting"`      // calls waiting for the pacer now
	// PausedUntil is set while the server's headers or a 429 hold every
	// call back.
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	// Server is what the rate-limit headers of the last answer said (the
	// location's counts, all clients together); absent before any.
	Server *serverLimits `json:"server,omitempty"`
}

type serverLimits struct {
	At             time.Time  `json:"at"`
	Max            int64      `json:"max"`
	Remaining      int64      `json:"remaining"`
	IntervalMS     int64      `json:"interval_ms"`
	DailyLimit     int64      `json:"daily_limit"`
	DailyRemaining int64      `json:"daily_remaining"`
	DailyReset     *time.Time `json:"daily_reset,omitempty"`
}

type cacheStatus struct {
	MemoryBytes    int64 `json:"memory_bytes"`
	MemoryMaxBytes int64 `json:"memory_max_bytes"`
	DiskBytes      int64 `json:"disk_bytes"`
	DiskMaxBytes   int64 `json:"disk_max_bytes"` // 0: no disk cache
	SpoolBytes     int64 `json:"spool_bytes"`    // files waiting in the write-back queue
	SpoolFiles     int   `json:"spool_files"`
}

// maxErrorLen bounds an error as reported: the API's message is its
// data, not ours.
const maxErrorLen = 500

// socketPath is where a mount's control socket goes: control.sock in the
// cache dir, unless that path is too long for a unix socket (108 bytes on
// Linux, 104 on macOS, with the terminating NUL): then beside the pid
// file, which is private to the user too.
func socketPath(cacheDir, mountpoint string) string {
	p := filepath.Join(cacheDir, "control.sock")
	if len(p) <= 100 {
		return p
	}
	dir, err := pidfile.Dir()
	if err != nil {
		return p // too long: listening fails, and says so
	}
	sum := sha256.Sum256([]byte(mountpoint))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".sock")
}

// control serves the control socket until Close.
type control struct {
	path   string
	ln     net.Listener
	srv    *http.Server
	served chan struct{} // closed when Serve returned
}

// startControl listens on path and serves report and unmount there.
func startControl(path string, report func() statusReport, unmount func(force bool), log *slog.Logger) (*control, error) {
	ln, err := listenPrivate(path)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(report())
	})
	mux.HandleFunc("POST /v1/unmount", func(w http.ResponseWriter, r *http.Request) {
		force := r.URL.Query().Get("force") == "true"
		log.Info("unmount asked on the control socket", "force", force)
		unmount(force)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"ok":true}`)
	})
	c := &control{path: path, ln: ln, served: make(chan struct{}),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}}
	go func() {
		defer close(c.served)
		c.srv.Serve(&peerListener{Listener: ln, log: log})
	}()
	return c, nil
}

// Close stops serving: requests under way get a moment to finish, then
// every connection closes; the socket is removed.
func (c *control) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if c.srv.Shutdown(ctx) != nil {
		c.srv.Close()
	}
	cancel()
	<-c.served
	os.Remove(c.path)
}

// listenPrivate listens on a unix socket at path, of mode 0600 from the
// moment it can be reached: it is made in a private directory beside
// path, then renamed there.
func listenPrivate(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".control-")
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	made := filepath.Join(tmp, "s")
	ln, err := net.Listen("unix", made)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false) // it is renamed: Close removes the name itself
	if err := os.Chmod(made, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// A socket left by a mount that was killed goes; none is in use (the
	// cache dir's lock is ours).
	if err := os.Rename(made, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}

// peerListener turns away connections from other users (where the system
// tells who the peer is).
type peerListener struct {
	net.Listener
	log *slog.Logger
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, known := peercred.UID(c)
		if !known || uid == os.Geteuid() || uid == 0 {
			return c, nil
		}
		l.log.Warn("control socket: a connection from another user turned away", "uid", uid)
		c.Close()
	}
}

// reporter builds the status of a mount from its libraries.
type reporter struct {
	mountpoint string
	cacheDir   string
	agency     bool
	libs       []*library
	draining   func() bool
	mu         sync.Mutex // one report at a time: a watcher per second is the expected load
}

func (r *reporter) report() statusReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	rep := statusReport{Mountpoint: r.mountpoint, CacheDir: r.cacheDir, PID: os.Getpid(), State: "mounted", Time: now.UTC(),
		Uploads: []uploadStatus{}, API: []apiStatus{}}
	if r.draining() {
		rep.State = "unmounting"
	}
	for _, l := range r.libs {
		for _, u := range l.store.Uploads() {
			rep.Uploads = append(rep.Uploads, uploadOf(u, l, r.agency))
		}
		rep.API = append(rep.API, apiOf(l))
		c := l.store.CacheUsage()
		rep.Cache.MemoryBytes += c.Memory
		rep.Cache.MemoryMaxBytes += c.MemoryMax
		rep.Cache.DiskBytes += c.Disk
		rep.Cache.DiskMaxBytes += c.DiskMax
		rep.Cache.SpoolBytes += c.Spool
		rep.Cache.SpoolFiles += c.SpoolFiles
	}
	return rep
}

func uploadOf(u cache.Upload, l *library, agency bool) uploadStatus {
	names := u.Folder
	if !u.FolderKnown {
		names = append([]string{"…"}, names...)
	}
	if agency {
		names = append([]string{l.name}, names...)
	}
	out := uploadStatus{Path: fs.ShownPath(append(names, u.Name)), State: u.State, Size: u.Size, Sent: u.Sent,
		Rate: u.Rate, Error: bounded(u.Error, maxErrorLen), Tries: u.Tries, Refused: u.Refused}
	if agency {
		out.Location = l.id
	}
	if !u.Next.IsZero() {
		t := u.Next.UTC()
		out.Next = &t
	}
	if u.State == cache.UploadUploading && u.Rate > 0 && u.Size >= u.Sent {
		eta := float64(u.Size-u.Sent) / u.Rate
		out.ETASeconds = &eta
	}
	return out
}

func apiOf(l *library) apiStatus {
	u := l.obs.Usage()
	a := apiStatus{Location: l.id, Calls10s: u.InWindow, Limit10s: u.Published.Burst, Pacing10s: u.Limit,
		CallsToday: u.Today, LimitDaily: u.Published.Daily, CallsTotal: u.Total, RateLimited: u.RateLimited, Waiting: u.Waiting}
	if !u.PausedUntil.IsZero() {
		t := u.PausedUntil.UTC()
		a.PausedUntil = &t
	}
	if s := u.Server; !s.At.IsZero() {
		a.Server = &serverLimits{At: s.At.UTC(), Max: s.Max, Remaining: s.Remaining, IntervalMS: s.Interval.Milliseconds(),
			DailyLimit: s.DailyLimit, DailyRemaining: s.DailyRemaining}
		if !s.DailyReset.IsZero() {
			t := s.DailyReset.UTC()
			a.Server.DailyReset = &t
		}
	}
	return a
}

// bounded cuts s to at most n bytes, at a character boundary.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
