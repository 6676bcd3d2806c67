package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Issue 17: the local attack paths (another user of the machine against a
// mount, a login, or the files ghlfs keeps).

// A mount served by root below a folder another user owns (DIR/m/ghl):
// that user renames m away and puts at m/ghl a symlink to another mount.
// However ghlfs is told to stop (SIGTERM, ghlfs unmount, ghlfs unmount
// --force, SIGTERM with the mount in use, which only the lazy fallback
// can unmount), it unmounts its own mount, wherever the folder went, and
// never the one the symlink names.
func TestRootUnmountsOnlyItsOwnMount(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("root's mounts: mount(2) and umount(2)")
	}
	for _, how := range []string{"SIGTERM", "ghlfs unmount", "ghlfs unmount --force", "SIGTERM, in use"} {
		t.Run(how, func(t *testing.T) {
			srv := fake(t, ghltest.Options{Seed: "demo"})
			base := t.TempDir()
			other := otherMount(t, base)

			mp := filepath.Join(base, "m", "ghl")
			m := mountFS(t, srv, mountOpt{dir: mp})
			if !isMounted(mp) {
				t.Fatalf("%s is not mounted", mp)
			}
			var user *exec.Cmd
			if how == "SIGTERM, in use" {
				// A shell whose working folder is the mount's root.
				user = exec.Command("sleep", "600")
				user.Dir = mp
				if err := user.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { user.Process.Kill(); user.Wait() })
			}
			// The swap.
			moved := filepath.Join(base, "moved")
			own := filepath.Join(moved, "ghl")
			if err := os.Rename(filepath.Join(base, "m"), moved); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { syscall.Unmount(own, syscall.MNT_DETACH) })
			if err := os.Mkdir(filepath.Join(base, "m"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(other, mp); err != nil {
				t.Fatal(err)
			}

			switch how {
			case "SIGTERM":
				m.cmd.Process.Signal(syscall.SIGTERM)
			case "SIGTERM, in use":
				m.cmd.Process.Signal(syscall.SIGTERM)
				// Detached at once; served until its last user goes.
				waitFor(t, "the lazy unmount", func() bool { return !isMounted(own) })
				if !strings.Contains(m.log.String(), "detaching lazily") {
					t.Errorf("no lazy unmount logged:\n%s", m.log)
				}
				if !isMounted(other) {
					t.Errorf("the mount the symlink named (%s) was unmounted", other)
				}
				user.Process.Kill()
				user.Wait()
			case "ghlfs unmount":
				if out, err := shErr(filepath.Join(binDir, "ghlfs"), "unmount", "--wait", "20s", mp); err != nil {
					t.Errorf("ghlfs unmount: %v\n%s", err, out)
				}
			case "ghlfs unmount --force":
				if out, err := shErr(filepath.Join(binDir, "ghlfs"), "unmount", "--force", "--wait", "20s", mp); err != nil {
					t.Errorf("ghlfs unmount --force: %v\n%s", err, out)
				}
			}
			select {
			case <-m.exited:
			case <-time.After(30 * time.Second):
				t.Errorf("ghlfs did not exit")
				m.cmd.Process.Kill()
				<-m.exited
			}
			if !isMounted(other) {
				t.Errorf("the mount the symlink named (%s) was unmounted", other)
			}
			if isMounted(own) {
				t.Errorf("ghlfs's own mount (now at %s) is still there", own)
			}
		})
	}
}

// As root, a mountpoint swapped for a symlink while ghlfs starts (here
// while its first API call is held, before anything is mounted) is not
// followed: the mount is refused, the mount the symlink names is left as
// it was, and no ghlfs mount is left anywhere.
func TestRootMountNotTurnedBySwap(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	needRoot(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	// The API, behind a door that holds every request until the swap.
	arrived, release := make(chan struct{}), make(chan struct{})
	var arrive, open sync.Once
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrive.Do(func() { close(arrived) })
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	t.Cleanup(func() { open.Do(func() { close(release) }) })

	base := t.TempDir()
	other := otherMount(t, base)
	mp := filepath.Join(base, "m", "ghl")
	if err := os.MkdirAll(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(base, "m", "ghl.old")
	t.Cleanup(func() {
		for _, d := range []string{other, moved} {
			for slices.Contains(fsTypesAt(t, d), "fuse.ghlfs") {
				syscall.Unmount(d, syscall.MNT_DETACH)
			}
		}
	})

	cmd := exec.Command(filepath.Join(binDir, "ghlfs"), "mount", "--location", testLocation, "--api-url", api.URL,
		"--cache-dir", t.TempDir(), mp)
	cmd.Env = append(os.Environ(), "GHL_TOKEN="+testToken, "XDG_CONFIG_HOME="+t.TempDir())
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case <-arrived:
	case err := <-exited:
		t.Fatalf("ghlfs exited before its first API call: %v\n%s", err, out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no API call from ghlfs\n%s", out.String())
	}
	// The swap: the mountpoint renamed away in its folder, a symlink to
	// the tmpfs in its place.
	if err := os.Rename(mp, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, mp); err != nil {
		t.Fatal(err)
	}
	open.Do(func() { close(release) })
	select {
	case err := <-exited:
		if err == nil || !strings.Contains(out.String(), mp) {
			t.Errorf("ghlfs mount on a swapped mountpoint: %v\n%s", err, out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("ghlfs did not stop\n%s", out.String())
	}
	if got := fsTypesAt(t, other); !slices.Equal(got, []string{"tmpfs"}) {
		t.Errorf("mounted at the tmpfs the symlink names: %q, want only the tmpfs\n%s", got, out.String())
	}
	if got := fsTypesAt(t, moved); len(got) != 0 {
		t.Errorf("mounted at the mountpoint, renamed away: %q\n%s", got, out.String())
	}
	if got, err := os.ReadFile(filepath.Join(other, "kept")); err != nil || string(got) != "kept\n" {
		t.Errorf("the tmpfs's file reads %q, %v", got, err)
	}
}

// otherMount mounts a tmpfs (another file system than ghlfs's) at
// base/tmpfs, with a file "kept" in it, and returns its path.
func otherMount(t *testing.T, base string) string {
	t.Helper()
	other := filepath.Join(base, "tmpfs")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	sh(t, "mount", "-t", "tmpfs", "-o", "size=1m", "ghlfs-test", other)
	t.Cleanup(func() { syscall.Unmount(other, syscall.MNT_DETACH) })
	writeFile(t, filepath.Join(other, "kept"), []byte("kept\n"))
	return other
}

// fsTypesAt lists the file system types mounted at dir, first to last.
func fsTypesAt(t testing.TB, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if sep := slices.Index(f, "-"); sep > 4 && sep+1 < len(f) && f[4] == dir {
			types = append(types, f[sep+1])
		}
	}
	return types
}

// ghlfs login uses PKCE: the fake, which checks the verifier against the
// challenge, gives the tokens; and so does one that ignores them, and one
// whose token endpoint refuses the code_verifier field (422, the code
// not used up: the exchange is made again without it).
func TestLoginPKCE(t *testing.T) {
	t.Parallel()
	for _, quirk := range []string{"", ghltest.QuirkPKCEIgnored, ghltest.QuirkPKCERefused} {
		t.Run("quirk="+quirk, func(t *testing.T) {
			var opts ghltest.Options
			if quirk != "" {
				opts.Quirks = []string{quirk}
			}
			srv := fake(t, opts)
			set := readTokenSet(t, login(t, srv, "Location", false))
			if set.AccessToken == "" || set.LocationID != testLocation {
				t.Errorf("stored %+v", set)
			}
			if st := srv.Stats().OAuth; st.CodeGrants != 1 || st.CodeRefused != 0 {
				t.Errorf("the fake granted %d codes and refused %d, want 1 and 0", st.CodeGrants, st.CodeRefused)
			}
		})
	}
}

// When the redirect's port is held by another program (another user's,
// say), ghlfs login stops at once with a clear error: going on would
// have the browser hand that program the code. No address to open is
// printed.
func TestLoginRedirectPortTaken(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	redirect := "http://" + ln.Addr().String() + "/callback"
	cmd := exec.Command(filepath.Join(binDir, "ghlfs"), "login", "--no-browser", "--api-url", srv.URL,
		"--authorize-url", srv.URL+"/oauth/chooselocation", "--redirect", redirect,
		"--token-file", filepath.Join(t.TempDir(), "token.json"), "--timeout", "20s")
	cmd.Env = append(os.Environ(), appEnv(t, srv)...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cannot listen on "+ln.Addr().String()) || strings.Contains(string(out), "chooselocation?") {
		t.Errorf("ghlfs login with its redirect port taken: %v\n%s", err, out)
	}
	if st := srv.Stats().OAuth; st.Authorizations != 0 || st.CodeGrants != 0 {
		t.Errorf("the fake saw a login: %+v", st)
	}
}

// ghlfs login opens the browser without putting the authorize address
// (and its state) on a command line, which every user can read, nor in
// a file, which a sandboxed browser (snap, flatpak) cannot read: xdg-open
// is given a start page of the login's own loopback listener, at a
// random path, which sends the browser on. It is served once, and to
// this user only: another user is refused (the login goes on), and a
// second opening stops the login (whoever opened it first may have the
// state).
func TestLoginBrowserNotGivenTheAddress(t *testing.T) {
	t.Parallel()
	// startPage starts a login whose xdg-open notes what it was given,
	// and returns the start page it was given.
	startPage := func(t *testing.T, srv *ghltest.Server) (*loginRun, string, string) {
		bin := t.TempDir()
		argv := filepath.Join(t.TempDir(), "argv")
		writeFile(t, filepath.Join(bin, "xdg-open"), []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+argv+" && : > "+argv+".done\n"))
		chmod(t, filepath.Join(bin, "xdg-open"), 0o755)
		l := startLogin(t, srv, filepath.Join(t.TempDir(), "token.json"), false, "PATH="+bin+":"+os.Getenv("PATH"), "DISPLAY=:99")
		waitFor(t, "xdg-open to be run", func() bool {
			_, err := os.Stat(argv + ".done")
			return err == nil
		})
		authURL := l.authURL(t)
		state := authURLState(t, authURL)
		args := lines(string(readFile(t, argv)))
		redirect := l.redirect(t)
		if len(args) != 1 || !strings.HasPrefix(args[0], "http://"+redirect.Host+"/") || strings.Contains(args[0], state) ||
			strings.Contains(args[0], "chooselocation") || len(args[0]) < len("http://"+redirect.Host+"/")+32 {
			t.Fatalf("xdg-open was given %q: want a start page of the login's listener (%s), with no state (%s)", args, redirect.Host, state)
		}
		return l, args[0], authURL
	}
	// open plays a browser opening the start page (as user, or this
	// one): the status, and where it is sent.
	open := func(t *testing.T, page string, user ...string) (int, string) {
		args := append(user, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", page)
		out := strings.Fields(sh(t, args[0], args[1:]...))
		if len(out) == 0 {
			t.Fatalf("curl %s said nothing", page)
		}
		code, _ := strconv.Atoi(out[0])
		if len(out) == 1 {
			return code, ""
		}
		return code, out[1]
	}

	t.Run("opened once", func(t *testing.T) {
		t.Parallel()
		srv := fake(t, ghltest.Options{})
		l, page, authURL := startPage(t, srv)
		if code, to := open(t, page); code != http.StatusFound || to != authURL {
			t.Fatalf("the start page: %d to %q, want 302 to %s", code, to, authURL)
		}
		// The browser approves, and comes back: the login ends.
		l.approve(t, authURL)
		l.wait(t)
	})
	t.Run("opened twice", func(t *testing.T) {
		t.Parallel()
		srv := fake(t, ghltest.Options{})
		l, page, _ := startPage(t, srv)
		open(t, page)
		if code, to := open(t, page); code != http.StatusGone || to != "" {
			t.Errorf("the start page opened again: %d to %q, want 410", code, to)
		}
		select {
		case err := <-l.exited:
			if err == nil || !strings.Contains(l.out.String(), "opened twice") {
				t.Errorf("ghlfs login: %v\n%s", err, l.out.String())
			}
		case <-time.After(time.Minute):
			t.Fatalf("ghlfs login goes on after its start page was opened twice\n%s", l.out.String())
		}
		if st := srv.Stats().OAuth; st.CodeGrants != 0 {
			t.Errorf("%d codes exchanged", st.CodeGrants)
		}
	})
	t.Run("another user", func(t *testing.T) {
		t.Parallel()
		needRoot(t)
		srv := fake(t, ghltest.Options{})
		l, page, authURL := startPage(t, srv)
		nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
		if code, to := open(t, page, nobody...); code != http.StatusForbidden || to != "" {
			t.Errorf("the start page opened by another user: %d to %q, want 403", code, to)
		}
		if code, to := open(t, page); code != http.StatusFound || to != authURL {
			t.Fatalf("the start page: %d to %q, want 302 to %s", code, to, authURL)
		}
		l.approve(t, authURL)
		l.wait(t)
		if !strings.Contains(l.out.String(), "another user") {
			t.Errorf("the refusal was not said:\n%s", l.out.String())
		}
	})
}

// loginRun is a ghlfs login under way.
type loginRun struct {
	cmd         *exec.Cmd
	out         *syncBuffer
	exited      chan error
	redirectURI string // its --redirect
}

// redirect is the login's --redirect, parsed.
func (l *loginRun) redirect(t *testing.T) *url.URL {
	u, err := url.Parse(l.redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// startLogin starts ghlfs login against srv, storing into tokenFile, with
// env added to the environment (and --no-browser when noBrowser).
func startLogin(t *testing.T, srv *ghltest.Server, tokenFile string, noBrowser bool, env ...string) *loginRun {
	t.Helper()
	return startLoginArgs(t, srv, tokenFile, noBrowser, nil, env...)
}

// startLoginArgs is startLogin with more arguments (a later flag wins).
func startLoginArgs(t *testing.T, srv *ghltest.Server, tokenFile string, noBrowser bool, more []string, env ...string) *loginRun {
	t.Helper()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", freeLoopbackPort(t))
	args := []string{"login", "--api-url", srv.URL, "--authorize-url", srv.URL + "/oauth/chooselocation",
		"--redirect", redirect, "--token-file", tokenFile, "--timeout", "1m"}
	if noBrowser {
		args = append(args, "--no-browser")
	}
	args = append(args, more...)
	l := &loginRun{cmd: exec.Command(filepath.Join(binDir, "ghlfs"), args...), out: &syncBuffer{}, exited: make(chan error, 1), redirectURI: redirect}
	l.cmd.Env = append(os.Environ(), append(appEnv(t, srv), env...)...)
	l.cmd.Stdout, l.cmd.Stderr = l.out, l.out
	stdin, err := l.cmd.StdinPipe() // open: the login waits for a paste too
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { l.exited <- l.cmd.Wait() }()
	t.Cleanup(func() { l.cmd.Process.Kill() })
	return l
}

// authURL is the address the login printed to open, once printed.
func (l *loginRun) authURL(t *testing.T) string {
	t.Helper()
	var found string
	waitFor(t, "the address to open", func() bool {
		for _, line := range lines(l.out.String()) {
			if line = strings.TrimSpace(line); strings.Contains(line, "/oauth/chooselocation?") {
				found = line
				return true
			}
		}
		return false
	})
	return found
}

// authURLState is the state an authorize address carries.
func authURLState(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil || len(u.Query().Get("state")) < 16 {
		t.Fatalf("an address to open without a state: %q", authURL)
	}
	return u.Query().Get("state")
}

// approve plays the browser: the fake's page approves, and the browser
// is sent back to the login's loopback redirect.
func (l *loginRun) approve(t *testing.T, authURL string) {
	t.Helper()
	landed := strings.TrimSpace(sh(t, "curl", "-s", "-o", "/dev/null", "-w", "%{redirect_url}", authURL))
	if page := sh(t, "curl", "-s", landed); !strings.Contains(page, "logged in") {
		t.Fatalf("the redirect page says %q", page)
	}
}

// wait waits for the login to end, and fails the test unless it ended well.
func (l *loginRun) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-l.exited:
		if err != nil {
			t.Fatalf("ghlfs login: %v\n%s", err, l.out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("ghlfs login did not end\n%s", l.out.String())
	}
}

// ghlfs login stores the new tokens under the token file's lock, which a
// mount holds while it refreshes: a refresh of the old login under way
// cannot then overwrite the new one. While the lock is held the login
// waits (the file untouched), and stores once it is free.
func TestLoginTakesTheTokenFileLock(t *testing.T) {
	t.Parallel()
	loginUnderLock(t, 0)
}

// loginUnderLock logs in (with --timeout timeout, if not 0) while the
// token file's lock is held by an old login's "refresh", which lets it
// go once the login has opened the lock file (to take it) and, with a
// timeout, that timeout has passed: the login must then store the new
// set, not before.
func loginUnderLock(t *testing.T, timeout time.Duration) {
	t.Helper()
	srv := fake(t, ghltest.Options{})
	tokenFile := filepath.Join(t.TempDir(), "token.json")
	old, lock := holdTokenLock(t, tokenFile)
	began := time.Now()
	var more []string
	if timeout > 0 {
		more = []string{"--timeout", timeout.String()}
	}
	l := startLoginArgs(t, srv, tokenFile, true, more)
	l.approve(t, l.authURL(t))
	// The login has the code: it now either takes the lock (its lock
	// file opened), or (wrongly) writes the file and ends.
	l.awaitLockOpened(t, tokenFile)
	if timeout > 0 {
		// What is tested is a deadline passing: the approval's.
		time.Sleep(time.Until(began.Add(timeout + time.Second)))
	}
	if got := readFile(t, tokenFile); string(got) != string(old) {
		t.Fatalf("the token file was written while the lock was held:\n%s", got)
	}
	lock.Close() // the refresh is over
	l.wait(t)
	if set := readTokenSet(t, tokenFile); set.AccessToken == "the-old-login" || set.LocationID != testLocation {
		t.Errorf("the token file holds %+v, want the new login's", set)
	}
}

// holdTokenLock writes an old login's token set to tokenFile and takes
// its lock, as a mount refreshing it would; it returns the set's bytes
// and the lock (Close frees it).
func holdTokenLock(t *testing.T, tokenFile string) ([]byte, *os.File) {
	t.Helper()
	old := []byte(`{"access_token": "the-old-login", "expires_at": "2030-01-01T00:00:00Z"}` + "\n")
	writeFile(t, tokenFile, old)
	chmod(t, tokenFile, 0o600)
	lock, err := os.OpenFile(tokenFile+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return old, lock
}

// awaitLockOpened waits until the login has opened tokenFile's lock
// (to take it), and fails the test if it ends first.
func (l *loginRun) awaitLockOpened(t *testing.T, tokenFile string) {
	t.Helper()
	pid := l.cmd.Process.Pid
	opened := func() bool {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if p, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); p == tokenFile+".lock" {
				return true
			}
		}
		return false
	}
	deadline := time.After(time.Minute)
	for !opened() {
		select {
		case err := <-l.exited:
			t.Fatalf("ghlfs login ended (%v) without taking the lock a refresh held; the token file holds:\n%s", err, readFile(t, tokenFile))
		case <-deadline:
			t.Fatalf("ghlfs login neither took the lock nor ended\n%s", l.out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// The exchange and the storing of the new tokens are not bound by
// --timeout, the wait for the approval: once the code is spent, the
// login must be stored. Approved near its end, with the token file's
// lock held by a refresh past it, the login is stored once the lock is
// free.
func TestLoginStoredPastItsTimeout(t *testing.T) {
	t.Parallel()
	loginUnderLock(t, 3*time.Second)
}

// The log file (--log-file) and the CPU profile (GHLFS_CPUPROFILE) are
// the user's own and private: one already there gets mode 0600, a
// symlink in their place is not followed (the mount is refused, and the
// file it names is left alone), and another user's file is refused.
func TestLogAndProfileFilesPrivate(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	dir := t.TempDir()
	run := func(log, profile string) (*exec.Cmd, *syncBuffer, string) {
		mnt := t.TempDir()
		// A mount that is not refused serves until told to stop: the
		// interrupt a minute on ends it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "ghlfs"), "mount", "--location", testLocation, "--api-url", srv.URL,
			"--cache-dir", t.TempDir(), "--log-file", log, mnt)
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.Env = append(os.Environ(), "GHL_TOKEN="+testToken, "GHLFS_CPUPROFILE="+profile, "XDG_CONFIG_HOME="+t.TempDir())
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd, &out, mnt
	}
	precious := filepath.Join(dir, "precious")
	writeFile(t, precious, []byte("not to be overwritten\n"))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(precious, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, log, profile string }{
		{"a symlink for the log", link, filepath.Join(dir, "p1")},
		{"a symlink for the profile", filepath.Join(dir, "l1"), link},
	} {
		cmd, out, mnt := run(c.log, c.profile)
		if err := cmd.Run(); err == nil || !strings.Contains(out.String(), "symbolic link") {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
			t.Errorf("%s: %v\n%s", c.name, err, out.String())
		}
		if got := string(readFile(t, precious)); got != "not to be overwritten\n" {
			t.Fatalf("%s: the file the symlink names now holds %q", c.name, got)
		}
	}
	if os.Geteuid() == 0 {
		theirs := filepath.Join(dir, "theirs.log")
		writeFile(t, theirs, nil)
		chmod(t, theirs, 0o666)
		chown(t, theirs, nobodyID)
		cmd, out, mnt := run(theirs, filepath.Join(dir, "p2"))
		if err := cmd.Run(); err == nil || !strings.Contains(out.String(), "belongs to") {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
			t.Errorf("another user's log file: %v\n%s", err, out.String())
		}
	}

	// Files there already, readable by others: they are made 0600.
	log, profile := filepath.Join(dir, "ghlfs.log"), filepath.Join(dir, "cpu.prof")
	for _, p := range []string{log, profile} {
		writeFile(t, p, []byte("old\n"))
		chmod(t, p, 0o644)
	}
	cmd, out, mnt := run(log, profile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mount", func() bool { return strings.Contains(string(readFile(t, log)), "msg=mounted") })
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil || isMounted(mnt) {
		syscall.Unmount(mnt, syscall.MNT_DETACH)
		t.Fatalf("ghlfs mount: %v\n%s%s", err, out.String(), readFile(t, log))
	}
	for _, p := range []string{log, profile} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", p, fi.Mode(), err)
		}
	}
	if got := string(readFile(t, log)); !strings.HasPrefix(got, "old\n") {
		t.Errorf("the log was not appended to: %q", got)
	}
}

// ghlfs status trusts a control socket only when the process serving it
// is of the user asking: a socket of another user's (a pid file, or a
// cache dir, pointing there) is refused, and nothing it says is shown.
func TestStatusTrustsOnlyItsUsersSocket(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	needRoot(t)
	fuseForUsers(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	base, err := os.MkdirTemp("", "ghlfs-sock-") // t.TempDir's parent is root's alone
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	chmod(t, base, 0o755)
	chown(t, base, nobodyID)
	mnt, cache, token := filepath.Join(base, "mnt"), filepath.Join(base, "cache"), filepath.Join(base, "token")
	for _, d := range []string{mnt, cache} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		chown(t, d, nobodyID)
	}
	writeFile(t, token, []byte(testToken+"\n"))
	chmod(t, token, 0o600)
	chown(t, token, nobodyID)
	// nobody's mount, with its pid file in base/ghlfs-65534.
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
		filepath.Join(binDir, "ghlfs"), "mount", "--location", testLocation, "--api-url", srv.URL,
		"--cache-dir", cache, "--token-file", token, mnt)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + base, "TMPDIR=" + base}
	m := startUserMount(t, cmd, mnt)
	pids, _ := filepath.Glob(filepath.Join(base, "ghlfs-65534", "*.pid"))
	if len(pids) != 1 {
		t.Fatalf("nobody's pid files: %q\n%s", pids, m.log)
	}
	// A pid file in root's own (private) runtime folder that names
	// nobody's ghlfs and socket.
	rootTmp := t.TempDir()
	if err := os.Mkdir(filepath.Join(rootTmp, "ghlfs-0"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rootTmp, "ghlfs-0", filepath.Base(pids[0])), readFile(t, pids[0]))
	status := exec.Command(filepath.Join(binDir, "ghlfs"), "status", mnt)
	status.Env = append(os.Environ(), "TMPDIR="+rootTmp, "XDG_RUNTIME_DIR=")
	out, err := status.CombinedOutput()
	if err == nil || strings.Contains(string(out), "uploads") || !strings.Contains(string(out), "another user") {
		t.Errorf("ghlfs status through another user's socket: %v\n%s", err, out)
	}
}

// --passthrough with --allow-other: another user holding a file of the
// disk cache open must not make the owner's writes fail with ETXTBSY for
// as long as they keep it (they could keep it for ever). Passthrough
// stays off on a mount others may reach, and says so once.
func TestPassthroughOffWithAllowOther(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	needRoot(t)
	srv := fake(t, ghltest.Options{})
	data := randomBytes(1<<20, 7)
	id := srv.AddFile("", "clip.mp4", "video/mp4", data)
	m := mountFS(t, srv, mountOpt{args: []string{"--allow-other", "--umask", "022", "--cache-max-size", passArgsCache, "--passthrough"}})
	chmod(t, filepath.Dir(m.dir), 0o755)
	local := filepath.Join(t.TempDir(), "clip.mp4")
	writeFile(t, local, data)
	sh(t, "cmp", local, m.path("clip.mp4")) // read whole: kept on disk
	waitWhole(t, m, id)

	// nobody opens it, and keeps it open until told.
	holder := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
		"sh", "-c", "exec 3< \"$1\" && echo opened && read x", "sh", m.path("clip.mp4"))
	holder.Env = []string{"PATH=/usr/bin:/bin"}
	release, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	said, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	line := make([]byte, 7)
	if _, err := io.ReadFull(said, line); err != nil || string(line) != "opened\n" {
		t.Fatalf("nobody could not open the file: %v %q", err, line)
	}
	// The owner writes to it meanwhile.
	f, err := os.OpenFile(m.path("clip.mp4"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatalf("the owner's open for writing while another user reads: %v", err)
	}
	if _, err := f.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	release.Close()
	holder.Wait()
	if n := passOpens(m, "/clip.mp4"); n != 0 {
		t.Errorf("%d opens passed through on a mount others may reach", n)
	}
	if n := len(logLines(m.log.String(), "passthrough off", "allow-other")); n != 1 {
		t.Errorf("%d log lines say passthrough is off for --allow-other, want 1\n%s", n, m.log)
	}
}

// An agency's cache dir holds a folder per location, named by its id,
// beside the files ghlfs keeps there (its lock): a location whose id is
// such a file's name ("lock") gets a folder of its own all the same, and
// shows its library.
func TestAgencyLocationNamedAsACacheFile(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	locs := ghltest.DemoLocations(2)
	locs[0].ID = testLocation
	locs[1].ID = "lock"
	srv := fake(t, ghltest.Options{Seed: "demo", Locations: locs, Approve: "Company"})
	tokenFile := login(t, srv, "Company", false)
	m := mountFS(t, srv, mountOpt{agency: true, args: []string{"--token-file", tokenFile}, env: appEnv(t, srv), token: "not-this-one"})
	var want []string
	for _, it := range srv.Location("lock").Items() {
		if it.ParentID == "" && !strings.Contains(it.Name, "/") {
			want = append(want, it.Name)
		}
	}
	sort.Strings(want)
	var got []string
	for _, n := range lsNames(t, m.path(locs[1].Name)) {
		if !strings.Contains(n, "／") { // a name with a slash, shown escaped
			got = append(got, n)
		}
	}
	if len(want) == 0 || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("location %q shows %q, its library has %q\n%s", "lock", got, want, m.log)
	}
	writeFile(t, m.path(locs[1].Name, "new.txt"), []byte("new\n"))
	waitFor(t, "new.txt in location lock", func() bool {
		for _, it := range srv.Location("lock").Items() {
			if it.Name == "new.txt" {
				return true
			}
		}
		return false
	})
}
