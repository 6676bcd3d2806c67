// Package integration drives ghlfs on a real kernel mount with real Unix
// tools, against the fake API on loopback.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

const (
	testToken    = "test-token-not-secret"
	testLocation = "loc-integration"
)

var binDir string // where TestMain built ghlfs and ghlfake

// plainDir holds ghlfs built without the race detector (binDir itself
// when the tests run without it).
var plainDir string

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "ghlfs-bin-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // a test runs ghlfs as a normal user too
	binDir = dir
	// Built with the crash points on: GHLFS_CRASH_AT, read only by such
	// builds, stops ghlfs at a named step of the write path (crash_test.go).
	// Under -race, ghlfs is built twice: with the race detector, for
	// every test, and without, in plainDir, for the tables whose length
	// is in their number of cases (mountOpt.plain), which the detector
	// would make twice as long. The two builds run at once.
	plainDir = dir
	builds := [][]string{{"-o", dir}}
	if raceEnabled {
		plainDir = filepath.Join(dir, "plain")
		if err := os.Mkdir(plainDir, 0o755); err != nil {
			return 0, err
		}
		builds = [][]string{{"-race", "-o", dir}, {"-o", plainDir}}
	}
	errs := make(chan error, len(builds))
	for _, b := range builds {
		go func() {
			args := append(append([]string{"build", "-tags", "ghlfscrash"}, b...), "../cmd/ghlfs", "../cmd/ghlfake")
			cmd := exec.Command("go", args...)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			errs <- cmd.Run()
		}()
	}
	for range builds {
		if err := <-errs; err != nil {
			return 0, fmt.Errorf("building the binaries: %w", err)
		}
	}
	return m.Run(), nil
}

// needFUSE skips a test when this machine cannot mount FUSE, except under
// CI=true, where that is a failure.
func needFUSE(t testing.TB) {
	t.Helper()
	_, err := os.Stat("/dev/fuse")
	if err == nil && os.Geteuid() != 0 {
		if _, lerr := exec.LookPath("fusermount3"); lerr != nil {
			err = lerr
		}
	}
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("FUSE is needed and missing: %v", err)
	}
	t.Skipf("no FUSE here: %v", err)
}

// fake starts the fake API in this process.
func fake(t testing.TB, opts ghltest.Options) *ghltest.Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.LocationID == "" {
		opts.LocationID = testLocation
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = -1 // the pacer has its own tests; most tests want speed
	}
	s, err := ghltest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// mount is one running ghlfs.
type mount struct {
	t        testing.TB
	dir      string
	view     string // where the test reaches the mount, when not at dir (a private mount namespace)
	cacheDir string
	cmd      *exec.Cmd
	log      *logFile
	exited   chan struct{}
	exitErr  error
	listed   chan struct{} // closed once ghlfs logs that it listed the library
}

// awaitListed waits until ghlfs has listed the whole library in the
// background (--list-all, the default): from then on the API sees only
// what the test does.
func (m *mount) awaitListed(t testing.TB) {
	t.Helper()
	select {
	case <-m.listed:
	case <-m.exited:
		t.Fatalf("ghlfs exited before listing the library:\n%s", m.log)
	case <-time.After(60 * time.Second):
		t.Fatalf("ghlfs did not list the library within 60s:\n%s", m.log)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logFile is ghlfs's stderr, a file ghlfs writes to directly: a line
// ghlfs logged before it answered the kernel is in the file by the time
// the tool's call returns (through a pipe, the line could still be on its
// way when the test looked: TestQuirkParentIgnored, under load).
type logFile struct {
	mu   sync.Mutex
	w, r *os.File
	b    bytes.Buffer
}

func newLogFile(t testing.TB) *logFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ghlfs.log")
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l := &logFile{w: w, r: r}
	t.Cleanup(func() { w.Close(); r.Close() })
	return l
}

// String returns the whole lines ghlfs has logged so far.
func (l *logFile) String() string {
	s, _ := l.from(0)
	return s
}

// from returns the whole lines logged after offset off of the log, and
// the offset they end at.
func (l *logFile) from(off int) (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.Copy(&l.b, l.r) // from where the last read ended
	b := l.b.Bytes()
	end := bytes.LastIndexByte(b, '\n') + 1
	if end <= off {
		return "", off
	}
	return string(b[off:end]), end
}

type mountOpt struct {
	args     []string
	cacheDir string // "" = a new temporary one
	token    string
	env      []string // extra environment (GHLFS_CRASH_AT=...)
	// agency leaves --location out: an agency's token mounts every
	// location.
	agency bool
	// hideMimeTables runs ghlfs in a private mount namespace (unshare)
	// where the machine's tables of content types (/etc/mime.types and the
	// others Go reads) are covered by this empty file. The mount is then
	// in that namespace alone: the test reaches it through ghlfs's
	// /proc/PID/root (mount.path does).
	hideMimeTables string
	// dir is the mountpoint, made if missing; "" = a new temporary one.
	dir string
	// plain runs ghlfs built without the race detector (plainDir): for
	// the tables of many cases (fsrand's plain and write-back modes, the
	// quirk matrix, the crash table). fsrand's faults mode, the most
	// concurrent, and every other test run the race build.
	plain bool
}

// mimeTables are the files Go's mime package reads on Linux.
var mimeTables = []string{"/etc/mime.types", "/etc/apache2/mime.types", "/etc/apache/mime.types",
	"/etc/httpd/conf/mime.types", "/usr/share/mime/globs2", "/usr/local/share/mime/globs2"}

// mountFS runs ghlfs mount against srv and returns once the mount is up.
func mountFS(t testing.TB, srv *ghltest.Server, o mountOpt) *mount {
	t.Helper()
	token := o.token
	if token == "" {
		token = testToken
	}
	args := []string{"--location", testLocation}
	if o.agency {
		args = nil
	}
	return mountWith(t, append(args, "--api-url", srv.URL), []string{"GHL_TOKEN=" + token}, o)
}

// mountService runs ghlfs mount on a backend's fake (backend_test.go)
// and returns once the mount is up.
func mountService(t testing.TB, svc service, o mountOpt) *mount {
	t.Helper()
	return mountWith(t, svc.mountArgs(), svc.mountEnv(), o)
}

// mountWith runs ghlfs mount with the flags and environment that name the
// service (svcArgs, svcEnv: where it is, the library, credentials) and
// returns once the mount is up.
func mountWith(t testing.TB, svcArgs, svcEnv []string, o mountOpt) *mount {
	t.Helper()
	needFUSE(t)
	m := &mount{t: t, dir: o.dir, cacheDir: o.cacheDir, log: newLogFile(t), exited: make(chan struct{}), listed: make(chan struct{})}
	if m.dir == "" {
		m.dir = t.TempDir()
	} else if err := os.MkdirAll(m.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if m.cacheDir == "" {
		m.cacheDir = t.TempDir()
	}
	// The fake's rate limit is off unless a test turns it on, and so is
	// ghlfs's pacing (a later --rate-limit in o.args wins): the pacer has
	// its own tests, and the rest run faster without it. Uploads happen at
	// close (--write-back-delay 0), so that a tool's exit means its files
	// are in the library; the tests of the write-back delay set their own.
	//
	// Tests keep 8 spare files (--spare-files) where a mount keeps 2,048:
	// each of the run's hundreds of mounts would make 2,048 files as it
	// starts, at half a millisecond of kernel time a file on this disk.
	// Benchmarks keep the default.
	args := append([]string{"mount"}, svcArgs...)
	args = append(args, "--cache-dir", m.cacheDir, "--log-level", "debug", "--rate-limit", "0", "--write-back-delay", "0")
	if _, bench := t.(*testing.B); !bench {
		args = append(args, "--spare-files", "8")
	}
	args = append(append(args, o.args...), m.dir)
	bin := filepath.Join(binDir, "ghlfs")
	if o.plain {
		bin = filepath.Join(plainDir, "ghlfs")
	}
	m.cmd = exec.Command(bin, args...)
	if o.hideMimeTables != "" {
		// Each table that exists is covered, and must then read empty;
		// the shell then becomes ghlfs (exec), so the pid is ghlfs's.
		const script = `empty=$1; shift; for f in ` + "$MIME_TABLES" + `; do
			if [ -e "$f" ]; then mount --bind "$empty" "$f" && ! [ -s "$f" ] || exit 70; fi
		done; exec "$@"`
		m.cmd = exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", o.hideMimeTables, bin}, args...)...)
		o.env = append(o.env, "MIME_TABLES="+strings.Join(mimeTables, " "))
	}
	m.cmd.Env = append(append(append(os.Environ(), svcEnv...), "XDG_CONFIG_HOME="+t.TempDir()), o.env...)
	m.cmd.Stderr = m.log.w
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		m.exitErr = m.cmd.Wait()
		close(m.exited)
	}()
	go m.unstickCrash()
	// Ready when ghlfs says so (it logs after the kernel accepted the mount).
	ready := make(chan bool, 1)
	go func() {
		said, listed, off := false, false, 0
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for !said || !listed {
			exited := false
			select {
			case <-m.exited:
				exited = true
			case <-tick.C:
			}
			var log string
			log, off = m.log.from(off)
			if !said && strings.Contains(log, "msg=mounted") {
				said = true
				ready <- true
			}
			if !listed && strings.Contains(log, `msg="library listed"`) {
				listed = true
				close(m.listed)
			}
			if exited {
				break
			}
		}
		if !said {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("ghlfs exited before mounting: %v\n%s", m.exitErr, m.log)
		}
		if o.hideMimeTables != "" {
			m.view = filepath.Join("/proc", strconv.Itoa(m.cmd.Process.Pid), "root", m.dir)
		}
	case <-time.After(30 * time.Second):
		m.cmd.Process.Kill()
		t.Fatalf("ghlfs did not mount within 30s:\n%s", m.log)
	}
	t.Cleanup(func() {
		m.stop()
		if t.Failed() {
			t.Logf("ghlfs on %s logged:\n%s", m.dir, m.log)
		}
	})
	return m
}

// stop unmounts with SIGTERM and waits for ghlfs to exit.
func (m *mount) stop() error {
	select {
	case <-m.exited:
		return m.exitErr
	default:
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(30 * time.Second):
		m.cmd.Process.Kill()
		<-m.exited
		syscall.Unmount(m.dir, syscall.MNT_DETACH)
		return fmt.Errorf("ghlfs did not exit within 30s of SIGTERM")
	}
	if isMounted(m.dir) {
		syscall.Unmount(m.dir, syscall.MNT_DETACH)
		return fmt.Errorf("%s still mounted after ghlfs exited", m.dir)
	}
	return m.exitErr
}

// kill kills ghlfs with SIGKILL, as a crash would, and clears the dead mount.
func (m *mount) kill() {
	m.cmd.Process.Kill()
	m.reap()
}

// reap waits for a ghlfs that died (or was killed) and clears its mount.
func (m *mount) reap() {
	<-m.exited
	syscall.Unmount(m.dir, syscall.MNT_DETACH)
}

func (m *mount) path(p ...string) string {
	root := m.dir
	if m.view != "" {
		root = m.view
	}
	return filepath.Join(append([]string{root}, p...)...)
}

func isMounted(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// sh runs a command and returns its stdout; it fails the test on error.
func sh(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := shErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// shErr runs a command and returns its combined output and error. The
// command is killed after 3 minutes.
func shErr(name string, args ...string) (string, error) {
	return shErrWithin(3*time.Minute, name, args...)
}

// shWithin is sh with a bound of d on the command.
func shWithin(t testing.TB, d time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := shErrWithin(d, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// shErrWithin is shErr with a bound of d on the command.
func shErrWithin(d time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// stats reads the fake's counters through its HTTP endpoint.
type stats struct {
	APIRequests     int            `json:"api_requests"`
	ByEndpoint      map[string]int `json:"by_endpoint"`
	StorageRequests int            `json:"storage_requests"`
	StorageBytes    int64          `json:"storage_bytes"`
	RateLimited     int            `json:"rate_limited"`
	MaxInWindow     int            `json:"max_in_window"`
	LaggedLists     int            `json:"lagged_lists"`
}

func getStats(t testing.TB, srv *ghltest.Server) stats {
	t.Helper()
	resp, err := http.Get(srv.URL + "/_ghlfake/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func resetStats(t testing.TB, srv *ghltest.Server) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/_ghlfake/stats/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// apiList lists a folder through the fake's real API (not its Go state),
// as any client would.
func apiList(t testing.TB, srv *ghltest.Server, parentID, typ string) []map[string]any {
	t.Helper()
	var all []map[string]any
	for off := 0; ; {
		u := fmt.Sprintf("%s/medias/files?altType=location&altId=%s&type=%s&sortBy=createdAt&sortOrder=asc&offset=%d&limit=100&parentId=%s",
			srv.URL, testLocation, typ, off, parentID)
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Version", "2021-07-28")
		req.Header.Set("User-Agent", "ghlfs-integration-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Files []map[string]any `json:"files"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("list: %d %v", resp.StatusCode, err)
		}
		if len(body.Files) == 0 {
			return all
		}
		all = append(all, body.Files...)
		off += len(body.Files)
	}
}

// unstickCrash aborts the FUSE connection of a ghlfs that stopped itself
// at a crash point (kill -9) but does not exit: killed while one of its
// own threads waited on its mount (go-fuse's poll of the mount as it
// comes up), the process cannot end until the kernel answers that
// request, which only the dead process could. An operator would do the
// same (fusectl's abort); the state on disk is what the kill left.
func (m *mount) unstickCrash() {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var since time.Time
	for {
		select {
		case <-m.exited:
			return
		case <-tick.C:
		}
		if since.IsZero() {
			if strings.Contains(m.log.String(), "ghlfs: crash point ") {
				since = time.Now()
			}
			continue
		}
		if time.Since(since) > 5*time.Second {
			abortFUSE(m.dir)
			return
		}
	}
}

// abortFUSE aborts the FUSE connection mounted on dir, through fusectl
// (mounted at /sys/fs/fuse/connections if it is not yet).
func abortFUSE(dir string) {
	const ctl = "/sys/fs/fuse/connections"
	if ents, _ := os.ReadDir(ctl); len(ents) == 0 {
		exec.Command("mount", "-t", "fusectl", "none", ctl).Run()
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(info), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[4] != dir {
			continue
		}
		if _, minor, ok := strings.Cut(f[2], ":"); ok {
			os.WriteFile(filepath.Join(ctl, minor, "abort"), []byte("1"), 0)
		}
	}
}
