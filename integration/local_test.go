package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Local security: what other users of the machine may do through a mount,
// and which local files ghlfs refuses to trust.

const (
	nobodyID = 65534 // the user and group nobody
	otherID  = 65533 // a user with no name, neither the owner nor nobody
)

// needRoot skips a test that acts as other users when not run as root.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("acting as other users needs root")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("setpriv (util-linux) is needed to act as another user: %v", err)
	}
}

// asUser runs a command as uid (group the same, no other groups), in the
// C locale, and returns its combined output and error.
func asUser(uid int, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := fmt.Sprint(uid)
	cmd := exec.CommandContext(ctx, "setpriv", append([]string{"--reuid=" + id, "--regid=" + id, "--clear-groups", "--inh-caps=-all", name}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=/"}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mountOptions returns the options the kernel records for the mount on dir.
func mountOptions(t testing.TB, dir string) string {
	t.Helper()
	for _, line := range lines(string(readFile(t, "/proc/self/mountinfo"))) {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return line
		}
	}
	t.Fatalf("%s is not mounted", dir)
	return ""
}

// writeCalls counts the fake's calls that change the library.
func writeCalls(srv *ghltest.Server) int64 {
	st := srv.Stats()
	return st.ByEndpoint[ghltest.EndpointFolder] + st.ByEndpoint[ghltest.EndpointUpload] + st.ByEndpoint[ghltest.EndpointRename] +
		st.ByEndpoint[ghltest.EndpointUpdateMany] + st.ByEndpoint[ghltest.EndpointDeleteMany] + st.ByEndpoint[ghltest.EndpointDelete]
}

// mountForOthers mounts a library of one folder holding a.txt with args, and
// opens the way to the mountpoint to every user (t.TempDir is private).
func mountForOthers(t *testing.T, args ...string) (*ghltest.Server, *mount, string) {
	t.Helper()
	srv := fake(t, ghltest.Options{})
	docs := srv.AddFolder("", "Docs")
	fileID := srv.AddFile(docs, "a.txt", "", []byte("hello\n"))
	m := mountFS(t, srv, mountOpt{args: args})
	if err := os.Chmod(filepath.Dir(m.dir), 0o755); err != nil {
		t.Fatal(err)
	}
	return srv, m, fileID
}

// With --allow-other, the kernel checks every access against the owner and
// modes ghlfs shows (--uid, --gid, --umask): another user may do exactly
// what they give, and nothing it may not do reaches the API.
func TestAllowOtherGivesTheModesShown(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	needRoot(t)

	t.Run("umask 022: others read, and change nothing", func(t *testing.T) {
		srv, m, fileID := mountForOthers(t, "--allow-other", "--umask", "022")
		if opts := mountOptions(t, m.dir); !strings.Contains(opts, "default_permissions") || !strings.Contains(opts, "allow_other") {
			t.Fatalf("the mount lacks default_permissions or allow_other: %s", opts)
		}
		me := fmt.Sprintf("%d %d", os.Getuid(), os.Getgid())
		out, err := asUser(nobodyID, "stat", "-c", "%a %u %g", m.dir, m.path("Docs"), m.path("Docs", "a.txt"))
		if want := "755 " + me + "\n755 " + me + "\n644 " + me + "\n"; err != nil || out != want {
			t.Fatalf("stat as nobody: %v\n%s\nwant\n%s", err, out, want)
		}
		if out, err := asUser(nobodyID, "ls", m.path("Docs")); err != nil || out != "a.txt\n" {
			t.Fatalf("ls as nobody: %v %q", err, out)
		}
		if out, err := asUser(nobodyID, "cat", m.path("Docs", "a.txt")); err != nil || out != "hello\n" {
			t.Fatalf("cat as nobody: %v %q", err, out)
		}
		before := srv.Items()
		srv.ResetStats()
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"touch", m.path("Docs", "new.txt")}, "Permission denied"},
			{[]string{"sh", "-c", "echo more >> " + m.path("Docs", "a.txt")}, "Permission denied"},
			{[]string{"sh", "-c", "echo new > " + m.path("Docs", "a.txt")}, "Permission denied"},
			{[]string{"mv", m.path("Docs", "a.txt"), m.path("Docs", "b.txt")}, "Permission denied"},
			{[]string{"rm", "-f", m.path("Docs", "a.txt")}, "Permission denied"},
			{[]string{"mkdir", m.path("Docs", "sub")}, "Permission denied"},
			{[]string{"mkdir", m.path("top")}, "Permission denied"},
			{[]string{"rm", "-rf", m.path("Docs")}, "Permission denied"},
			{[]string{"truncate", "-s", "0", m.path("Docs", "a.txt")}, "Permission denied"},
			{[]string{"touch", "-c", "-d", "2001-01-01", m.path("Docs", "a.txt")}, "Operation not permitted"},
			{[]string{"chmod", "666", m.path("Docs", "a.txt")}, "Operation not permitted"},
		} {
			out, err := asUser(nobodyID, c.args[0], c.args[1:]...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Errorf("%s as nobody: %v %q, want %q", strings.Join(c.args, " "), err, out, c.want)
			}
		}
		if n := writeCalls(srv); n != 0 {
			t.Errorf("%d calls that change the library reached the API: %v", n, srv.Stats().ByEndpoint)
		}
		if after := srv.Items(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("the library changed:\nbefore %v\nafter  %v", before, after)
		}
		if tree := remoteTree(t, srv); len(tree) != 2 || tree["Docs/a.txt"].ID != fileID {
			t.Errorf("the library holds %v", tree)
		}
		if got := sh(t, "ls", m.path("Docs")); got != "a.txt\n" {
			t.Errorf("ls by the owner: %q", got)
		}
	})

	t.Run("umask 0: others may change everything", func(t *testing.T) {
		srv, m, fileID := mountForOthers(t, "--allow-other", "--umask", "0")
		if out, err := asUser(nobodyID, "stat", "-c", "%a", m.path("Docs"), m.path("Docs", "a.txt")); err != nil || out != "777\n666\n" {
			t.Fatalf("stat as nobody: %v %q", err, out)
		}
		for _, args := range [][]string{
			{"sh", "-c", "echo new > " + m.path("Docs", "new.txt")},
			{"mv", m.path("Docs", "a.txt"), m.path("Docs", "b.txt")},
			{"mkdir", m.path("Docs", "sub")},
			{"rm", m.path("Docs", "b.txt")},
		} {
			if out, err := asUser(nobodyID, args[0], args[1:]...); err != nil {
				t.Fatalf("%s as nobody: %v %s", strings.Join(args, " "), err, out)
			}
		}
		if out, err := asUser(nobodyID, "ls", m.path("Docs")); err != nil || out != "new.txt\nsub\n" {
			t.Errorf("ls as nobody: %v %q", err, out)
		}
		tree := remoteTree(t, srv)
		if len(tree) != 3 || tree["Docs/sub"].Type != "folder" || string(download(t, tree["Docs/new.txt"].URL)) != "new\n" {
			t.Errorf("the library holds %v", tree)
		}
		if it, ok := srv.Item(fileID); !ok || it.Status != "trashed" || it.Name != "b.txt" {
			t.Errorf("a.txt, renamed b.txt and removed, is %+v", it)
		}
	})

	t.Run("uid and gid: the owner named may write, others not", func(t *testing.T) {
		srv, m, _ := mountForOthers(t, "--allow-other", "--uid", fmt.Sprint(nobodyID), "--gid", fmt.Sprint(nobodyID), "--umask", "022")
		if out := sh(t, "stat", "-c", "%a %u %g", m.path("Docs", "a.txt")); out != fmt.Sprintf("644 %d %d\n", nobodyID, nobodyID) {
			t.Fatalf("stat: %q", out)
		}
		if out, err := asUser(nobodyID, "sh", "-c", "echo mine > "+m.path("Docs", "mine.txt")); err != nil {
			t.Fatalf("a write by the owner named: %v %s", err, out)
		}
		if out, err := asUser(otherID, "touch", m.path("Docs", "theirs.txt")); err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("touch by another user: %v %q", err, out)
		}
		tree := remoteTree(t, srv)
		if _, ok := tree["Docs/theirs.txt"]; ok || len(tree) != 3 || string(download(t, tree["Docs/mine.txt"].URL)) != "mine\n" {
			t.Errorf("the library holds %v", tree)
		}
	})

	t.Run("without allow-other others cannot reach it", func(t *testing.T) {
		srv, m, _ := mountForOthers(t)
		m.awaitListed(t)
		if opts := mountOptions(t, m.dir); strings.Contains(opts, "allow_other") {
			t.Fatalf("allow_other without --allow-other: %s", opts)
		}
		srv.ResetStats()
		if out, err := asUser(nobodyID, "ls", m.dir); err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("ls as nobody: %v %q", err, out)
		}
		if st := srv.Stats(); st.APIRequests != 0 {
			t.Errorf("%d API calls for a user the kernel turned away", st.APIRequests)
		}
	})
}

// The token file, the config file and the cache dir are refused when
// another user owns them or may write them, a file holding the token
// when others may read it, the token file and the cache dir when another
// user could put one of theirs in their place (a folder on the way to
// them is theirs, or others may write to it): one line says what is
// wrong and how to fix it, and nothing reaches the API.
func TestRefusesFilesOthersCouldChange(t *testing.T) {
	t.Parallel()
	needRoot(t) // to give files to another user
	type setup struct{ token, config, cache string }
	for _, c := range []struct {
		name    string
		prepare func(t *testing.T, s setup)
		config  string // the config file's content; "" = no config file
		fix     string // what the message must say, followed by the path
		path    func(s setup) string
	}{
		{"token file readable by others", func(t *testing.T, s setup) { chmod(t, s.token, 0o644) }, "", "chmod 600 ", func(s setup) string { return s.token }},
		{"token file writable by the group", func(t *testing.T, s setup) { chmod(t, s.token, 0o620) }, "", "chmod 600 ", func(s setup) string { return s.token }},
		{"token file of another user", func(t *testing.T, s setup) { chown(t, s.token, nobodyID) }, "", "chown root ", func(s setup) string { return s.token }},
		{"token file in a folder others may change", func(t *testing.T, s setup) { chmod(t, filepath.Dir(s.token), 0o777) }, "", "chmod go-w ", func(s setup) string { return filepath.Dir(s.token) }},
		{"config file writable by others", func(t *testing.T, s setup) { chmod(t, s.config, 0o666) }, "GHL_LOCATION_ID=" + testLocation + "\n", "chmod go-w ", func(s setup) string { return s.config }},
		{"config file of another user", func(t *testing.T, s setup) { chown(t, s.config, nobodyID) }, "GHL_LOCATION_ID=" + testLocation + "\n", "chown root ", func(s setup) string { return s.config }},
		{"config file with the token readable by others", func(t *testing.T, s setup) { chmod(t, s.config, 0o644) }, "GHL_LOCATION_ID=" + testLocation + "\nGHL_TOKEN=" + testToken + "\n", "chmod 600 ", func(s setup) string { return s.config }},
		{"config file with the app's client secret readable by others", func(t *testing.T, s setup) { chmod(t, s.config, 0o644) }, "GHL_LOCATION_ID=" + testLocation + "\nGHL_CLIENT_ID=app-x\nGHL_CLIENT_SECRET=" + testToken + "\n", "chmod 600 ", func(s setup) string { return s.config }},
		{"cache dir writable by the group", func(t *testing.T, s setup) { chmod(t, s.cache, 0o775) }, "", "chmod go-w ", func(s setup) string { return s.cache }},
		{"cache dir of another user", func(t *testing.T, s setup) { chown(t, s.cache, nobodyID) }, "", "chown -R root ", func(s setup) string { return s.cache }},
		{"cache dir in a folder others may change", func(t *testing.T, s setup) { chmod(t, filepath.Dir(s.cache), 0o777) }, "", "chmod go-w ", func(s setup) string { return filepath.Dir(s.cache) }},
		{"cache dir in a folder of another user", func(t *testing.T, s setup) { chown(t, filepath.Dir(s.cache), nobodyID) }, "", "is in ", func(s setup) string { return filepath.Dir(s.cache) + ", which belongs to nobody" }},
		{"cache dir below a folder others may change", func(t *testing.T, s setup) { chmod(t, filepath.Dir(filepath.Dir(s.cache)), 0o757) }, "", "chmod go-w ", func(s setup) string { return filepath.Dir(filepath.Dir(s.cache)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fake(t, ghltest.Options{Seed: "demo"})
			dir := t.TempDir()
			s := setup{token: filepath.Join(dir, "token"), config: filepath.Join(dir, "config"), cache: filepath.Join(dir, "caches", "of", "cache")}
			if err := os.WriteFile(s.token, []byte(testToken+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(s.cache, 0o700); err != nil {
				t.Fatal(err)
			}
			args := []string{"mount", "--location", testLocation, "--api-url", srv.URL, "--cache-dir", s.cache, "--token-file", s.token}
			if c.config != "" {
				if err := os.WriteFile(s.config, []byte(c.config), 0o600); err != nil {
					t.Fatal(err)
				}
				args = []string{"mount", "--config", s.config, "--api-url", srv.URL, "--cache-dir", s.cache}
				if !strings.Contains(c.config, "GHL_TOKEN=") {
					args = append(args, "--token-file", s.token)
				}
			}
			c.prepare(t, s)
			mnt := t.TempDir()
			// A mount that is not refused serves until told to stop: the
			// interrupt a minute on ends it, and the test says so.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(binDir, "ghlfs"), append(args, mnt)...)
			cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				syscall.Unmount(mnt, syscall.MNT_DETACH)
				t.Fatalf("ghlfs mounted anyway (still serving after a minute)\n%s", stderr.String())
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("ghlfs mount: %v, want exit status 1\n%s", err, stderr.String())
			}
			if isMounted(mnt) {
				syscall.Unmount(mnt, syscall.MNT_DETACH)
				t.Fatal("mounted anyway")
			}
			msg := stderr.String()
			if want := c.fix + c.path(s); len(lines(msg)) != 1 || !strings.HasPrefix(msg, "ghlfs: ") || !strings.Contains(msg, want) {
				t.Errorf("ghlfs said %q; want one line giving %q", msg, want)
			}
			if strings.Contains(msg, testToken) || stdout.Len() != 0 {
				t.Errorf("ghlfs printed the token or to stdout: %q %q", stdout.String(), msg)
			}
			if st := srv.Stats(); st.APIRequests != 0 {
				t.Errorf("%d API calls before the refusal", st.APIRequests)
			}
		})
	}

	// What the rules allow mounts: a token file of mode 0600, a config file
	// without the token that others may read, a cache dir that others may
	// enter. The token file wins over a wrong GHL_TOKEN, so the mount's
	// working shows which was read.
	t.Run("private files mount", func(t *testing.T) {
		srv := fake(t, ghltest.Options{Seed: "demo"})
		dir := t.TempDir()
		token, config, cache := filepath.Join(dir, "token"), filepath.Join(dir, "config"), filepath.Join(dir, "cache")
		if err := os.WriteFile(token, []byte(testToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(config, []byte("GHL_TOKEN_FILE="+token+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		chmod(t, config, 0o644)
		if err := os.Mkdir(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		chmod(t, cache, 0o755)
		m := mountFS(t, srv, mountOpt{cacheDir: cache, token: "wrong-token", args: []string{"--config", config, "--token-file", token}})
		if out := sh(t, "ls", m.dir); !strings.Contains(out, "Logos") {
			t.Errorf("ls: %q", out)
		}
	})

	// A missing cache dir is made private to the user.
	t.Run("a new cache dir is private", func(t *testing.T) {
		srv := fake(t, ghltest.Options{Seed: "demo"})
		cache := filepath.Join(t.TempDir(), "new", "cache")
		m := mountFS(t, srv, mountOpt{cacheDir: cache})
		sh(t, "ls", m.dir)
		for _, d := range []string{cache, filepath.Dir(cache)} {
			if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("%s: %v %v, want mode 0700", d, fi.Mode(), err)
			}
		}
	})
}

func chmod(t testing.TB, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t testing.TB, path string, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// ghlfs unmount refuses what is not a ghlfs mount, and leaves it mounted:
// another filesystem (here a tmpfs whose source is even called ghlfs), or a
// folder inside a ghlfs mount.
func TestUnmountRefusesOtherMounts(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	m := mountFS(t, srv, mountOpt{})
	if out, err := shErr(binDir+"/ghlfs", "unmount", m.path("Logos")); err == nil || !strings.Contains(out, "not a ghlfs mount") {
		t.Errorf("unmount of a folder in the mount: %v %s", err, out)
	}
	select {
	case <-m.exited:
		t.Fatalf("ghlfs exited after an unmount of a folder inside its mount:\n%s", m.log)
	default:
	}
	if out := sh(t, "ls", m.dir); !isMounted(m.dir) || !strings.Contains(out, "Logos") {
		t.Errorf("the mount after a refused unmount: %q", out)
	}
	if _, ok := remoteTree(t, srv)["Logos"]; !ok {
		t.Error("the library lost Logos")
	}

	if os.Geteuid() != 0 {
		return // mounting a tmpfs needs root
	}
	dir := t.TempDir()
	sh(t, "mount", "-t", "tmpfs", "-o", "size=1m", "ghlfs", dir)
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	writeFile(t, filepath.Join(dir, "kept"), []byte("kept\n"))
	if out, err := shErr(binDir+"/ghlfs", "unmount", dir); err == nil || !strings.Contains(out, "not a ghlfs mount") {
		t.Errorf("unmount of a tmpfs: %v %s", err, out)
	}
	if !isMounted(dir) || string(readFile(t, filepath.Join(dir, "kept"))) != "kept\n" {
		t.Error("the tmpfs was unmounted")
	}
}
