//go:build linux

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// agencyFake is a fake agency of n demo locations, the first with
// testLocation's id, and the token file of a Company login to it.
func agencyFake(t *testing.T, n int) (*ghltest.Server, []ghltest.LocationOptions, string) {
	t.Helper()
	locs := ghltest.DemoLocations(n)
	locs[0].ID = testLocation
	srv := fake(t, ghltest.Options{Seed: "demo", Locations: locs, Approve: "Company"})
	return srv, locs, login(t, srv, "Company", false)
}

// A second agency mount on the cache dir of one that serves is refused,
// as a second mount of one location is: it would show every location
// empty (their queues are locked), and take the first's control socket,
// so that ghlfs status and unmount of the first would reach the second.
func TestAgencyCacheDirInUse(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv, _, tokenFile := agencyFake(t, 2)
	cacheDir := t.TempDir()
	m := mountFS(t, srv, mountOpt{agency: true, cacheDir: cacheDir, args: []string{"--token-file", tokenFile}, env: appEnv(t, srv), token: "not-this-one"})

	second := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "ghlfs"), "mount", "--daemon", "--log-file", filepath.Join(t.TempDir(), "second.log"), "--api-url", srv.URL, "--cache-dir", cacheDir, "--token-file", tokenFile, second)
	cmd.Env = append(os.Environ(), appEnv(t, srv)...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		exec.Command(filepath.Join(binDir, "ghlfs"), "unmount", "--force", second).Run()
		t.Fatalf("a second agency mount on a cache dir in use mounted:\n%s", out)
	}
	if !strings.Contains(string(out), "in use") {
		t.Errorf("the second mount failed without saying the cache dir is in use:\n%s", out)
	}
	if st := ghlfsStatus(t, m.dir); st.Mountpoint != m.dir {
		t.Errorf("ghlfs status of the first mount answered for %q", st.Mountpoint)
	}
}
