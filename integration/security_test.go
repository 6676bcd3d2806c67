package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghltest"
)

// Issue 17: the local attack paths (another user of the machine against a
// mount, a login, or the files ghlfs keeps).

// A mount served by root below a folder another user owns (DIR/m/ghl):
// that user renames m away and puts at m/ghl a symlink to another mount.
// However ghlfs is told to stop (SIGTERM, ghlfs unmount, ghlfs unmount
// --force), it unmounts its own mount, wherever the folder went, and never
// the one the symlink names.
func TestRootUnmountsOnlyItsOwnMount(t *testing.T) {
	needFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("root's mounts: mount(2) and umount(2)")
	}
	for _, how := range []string{"SIGTERM", "ghlfs unmount", "ghlfs unmount --force"} {
		t.Run(how, func(t *testing.T) {
			srv := fake(t, ghltest.Options{Seed: "demo"})
			base := t.TempDir()
			other := filepath.Join(base, "tmpfs")
			if err := os.Mkdir(other, 0o755); err != nil {
				t.Fatal(err)
			}
			sh(t, "mount", "-t", "tmpfs", "-o", "size=1m", "ghlfs-test", other)
			t.Cleanup(func() { syscall.Unmount(other, syscall.MNT_DETACH) })
			writeFile(t, filepath.Join(other, "kept"), []byte("kept\n"))

			mp := filepath.Join(base, "m", "ghl")
			m := mountFS(t, srv, mountOpt{dir: mp})
			if !isMounted(mp) {
				t.Fatalf("%s is not mounted", mp)
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

// ghlfs login uses PKCE: the fake, which checks the verifier against the
// challenge, gives the tokens; and so does one that ignores them.
func TestLoginPKCE(t *testing.T) {
	for _, quirk := range []string{"", ghltest.QuirkPKCEIgnored} {
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
