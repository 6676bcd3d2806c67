package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A normal user mounts through fusermount3 (root mounts with mount(2)).
// Run as root, this test drops to the user nobody to check that path.
func TestMountAsNormalUser(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("already a normal user: every other test mounts through fusermount3")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("setpriv is needed to drop to a normal user: %v", err)
	}
	fuseForUsers(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	base, err := os.MkdirTemp("", "ghlfs-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	mnt, cache := filepath.Join(base, "mnt"), filepath.Join(base, "cache")
	for _, d := range []string{base, mnt, cache} {
		os.MkdirAll(d, 0o755)
		os.Chown(d, 65534, 65534)
	}
	// The user's own token file, private to them, named by a config file
	// that root owns and everyone may read (as one in /etc would be):
	// both pass ghlfs's checks of who may change them.
	token, config := filepath.Join(base, "token"), filepath.Join(base, "config")
	writeFile(t, token, []byte(testToken+"\n"))
	os.Chmod(token, 0o600)
	os.Chown(token, 65534, 65534)
	writeFile(t, config, []byte("GHL_LOCATION_ID="+testLocation+"\nGHL_TOKEN_FILE="+token+"\n"))
	os.Chmod(config, 0o644)
	asNobody := func(args ...string) *exec.Cmd {
		cmd := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"}, args...)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + base}
		return cmd
	}
	m := startUserMount(t, asNobody(filepath.Join(binDir, "ghlfs"), "mount", "--config", config, "--api-url", srv.URL, "--cache-dir", cache, mnt), mnt)
	cmd, log, done := m.cmd, m.log, m.done
	out, err := asNobody("ls", mnt).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Logos") {
		t.Fatalf("ls as nobody: %v %s", err, out)
	}
	if mi := readFile(t, "/proc/self/mountinfo"); !strings.Contains(string(mi), "user_id=65534") {
		t.Errorf("the mount is not nobody's (fusermount3 records user_id)")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ghlfs exited with %v:\n%s", err, log)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ghlfs did not exit")
	}
	if isMounted(mnt) {
		t.Fatal("still mounted")
	}
}

// fuseForUsers lets normal users open /dev/fuse for the test.
// Distributions make it 0666 (udev), so that fusermount3 can open it for
// a normal user; a bare container may leave it 0600. It gets the usual
// mode for the test, and what was there back after.
func fuseForUsers(t *testing.T) {
	t.Helper()
	if fi, err := os.Stat("/dev/fuse"); err == nil && fi.Mode().Perm()&0o006 != 0o006 {
		if err := os.Chmod("/dev/fuse", 0o666); err != nil {
			t.Fatalf("/dev/fuse is %v and cannot be opened to normal users: %v", fi.Mode().Perm(), err)
		}
		t.Cleanup(func() { os.Chmod("/dev/fuse", fi.Mode().Perm()) })
	}
}

// userMount is a ghlfs mount run as another user.
type userMount struct {
	cmd    *exec.Cmd
	log    *syncBuffer
	done   chan error // its exit
	exited atomic.Bool
}

// startUserMount starts cmd, a ghlfs mount on mnt as another user, and
// returns once it is mounted; the test's end stops it.
func startUserMount(t *testing.T, cmd *exec.Cmd, mnt string) *userMount {
	t.Helper()
	m := &userMount{cmd: cmd, log: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr, cmd.Stdout = m.log, m.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		m.exited.Store(true)
		m.done <- err
	}()
	t.Cleanup(func() {
		if !m.exited.Load() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-m.done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
			}
		}
		syscall.Unmount(mnt, syscall.MNT_DETACH)
	})
	waitFor(t, "the mount", func() bool { return strings.Contains(m.log.String(), "msg=mounted") || m.exited.Load() })
	if !isMounted(mnt) {
		t.Fatalf("not mounted (exited: %v):\n%s", m.exited.Load(), m.log)
	}
	return m
}
