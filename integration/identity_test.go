package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A library's identity keeps the API's port, and listings saved by an
// earlier mount are checked before their urls are given up on (issue 16,
// item 9).

// mountRefused runs ghlfs mount as mountFS does, expecting it to fail
// before mounting, and returns what it said.
func mountRefused(t *testing.T, srv *ghltest.Server, cacheDir string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "ghlfs"), "mount", "--location", testLocation, "--api-url", srv.URL,
		"--cache-dir", cacheDir, "--rate-limit", "0", dir)
	cmd.Env = append(os.Environ(), "GHL_TOKEN="+testToken, "XDG_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || isMounted(dir) {
		syscall.Unmount(dir, syscall.MNT_DETACH)
		t.Fatalf("ghlfs mounted %s:\n%s", srv.URL, out)
	}
	return string(out)
}

// Two servers on one host, on two ports, are two libraries (issue 16,
// item 9a): a mount of the second on the first's cache dir shows none of
// the first's saved listings nor its cached bytes (a file of the same id
// reads the second's), and a file queued for the second is never sent to
// the first (that mount is refused), and goes up once the second is
// mounted again.
func TestTwoServersOneHost(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	const sameID = "0123456789abcdef01234567"
	a := fake(t, ghltest.Options{})
	b := fake(t, ghltest.Options{})
	a.AddFile("", "only-on-a.txt", "text/plain", []byte("A\n"))
	a.AddFileWithID(sameID, "", "same.txt", "text/plain", []byte("bytes of server A\n"))
	b.AddFile("", "only-on-b.txt", "text/plain", []byte("B\n"))
	b.AddFileWithID(sameID, "", "same.txt", "text/plain", []byte("bytes of server B\n"))
	if !strings.HasPrefix(a.URL, "http://127.0.0.1:") || !strings.HasPrefix(b.URL, "http://127.0.0.1:") || a.URL == b.URL {
		t.Fatalf("fakes at %s and %s", a.URL, b.URL)
	}
	cacheDir := t.TempDir()
	args := []string{"--list-all=false", "--cache-max-size", "16M"}

	ma := mountFS(t, a, mountOpt{cacheDir: cacheDir, args: args})
	if got := strings.Join(lsNames(t, ma.dir), " "); got != "only-on-a.txt same.txt" {
		t.Fatalf("A shows %q", got)
	}
	if got := string(readFile(t, ma.path("same.txt"))); got != "bytes of server A\n" {
		t.Fatalf("A's same.txt reads %q", got)
	}
	if err := ma.stop(); err != nil {
		t.Fatal(err)
	}

	mb := mountFS(t, b, mountOpt{cacheDir: cacheDir, args: append(args, "--write-back-delay", "1h")})
	if got := strings.Join(lsNames(t, mb.dir), " "); got != "only-on-b.txt same.txt" {
		t.Errorf("B, on A's cache dir, shows %q at once", got)
	}
	if got := string(readFile(t, mb.path("same.txt"))); got != "bytes of server B\n" {
		t.Errorf("B's same.txt reads %q", got)
	}
	if got := string(readFile(t, mb.path("only-on-b.txt"))); got != "B\n" {
		t.Errorf("only-on-b.txt reads %q", got)
	}
	if l := logLines(mb.log.String(), "showing the listings saved"); len(l) != 0 {
		t.Errorf("B showed saved listings: %q", l)
	}
	// A file queued for B, and ghlfs killed before it went up.
	writeFile(t, mb.path("for-b.txt"), []byte("queued for B\n"))
	mb.kill()

	out := mountRefused(t, a, cacheDir)
	if !strings.Contains(out, "another library") || !strings.Contains(out, b.URL) {
		t.Errorf("the mount of A on a cache dir holding B's queue said:\n%s", out)
	}
	for _, it := range a.Items() {
		if it.Name == "for-b.txt" {
			t.Fatalf("B's queued file reached A")
		}
	}
	mb2 := mountFS(t, b, mountOpt{cacheDir: cacheDir, args: args})
	if err := mb2.stop(); err != nil {
		t.Fatal(err)
	}
	if got := childNames(b, ""); strings.Join(got, " ") != "for-b.txt only-on-b.txt same.txt" {
		t.Errorf("B's library holds %q", got)
	}
	if got := childNames(a, ""); strings.Join(got, " ") != "only-on-a.txt same.txt" {
		t.Errorf("A's library holds %q", got)
	}
}

// A read whose url comes from a listing the last mount saved, and that
// the storage allow-list or the storage host refuses (the file's bytes
// moved since), lists the folder again and reads from the url it gives
// (issue 16, item 9b).
func TestSavedURLRefusedRelisted(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	for _, c := range []struct {
		name string
		url  func(srv *ghltest.Server, id string) string
	}{
		{"off the allow-list", func(_ *ghltest.Server, id string) string {
			return "https://elsewhere.example.com/msgsndr/" + testLocation + "/media/" + id + ".txt"
		}},
		{"not on the storage host", func(srv *ghltest.Server, id string) string {
			return srv.URL + "/storage/msgsndr/" + testLocation + "/media/moved-" + id + ".txt"
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fake(t, ghltest.Options{})
			docs := srv.AddFolder("", "Docs")
			id := srv.AddFile(docs, "moved.txt", "text/plain", []byte("the bytes, where they are now\n"))
			srv.SetFileURL(id, c.url(srv, id))
			cacheDir := t.TempDir()
			args := []string{"--list-all=false"}
			m := mountFS(t, srv, mountOpt{cacheDir: cacheDir, args: args})
			lsNames(t, m.path("Docs"))
			if err := m.stop(); err != nil {
				t.Fatal(err)
			}
			srv.SetFileURL(id, "") // the listing gives where the bytes are now

			m = mountFS(t, srv, mountOpt{cacheDir: cacheDir, args: args})
			if got := string(readFile(t, m.path("Docs", "moved.txt"))); got != "the bytes, where they are now\n" {
				t.Errorf("read %q", got)
			}
			if l := logLines(m.log.String(), "showing the listings saved"); len(l) != 1 {
				t.Errorf("the second mount did not show the saved listings: %q", l)
			}
			if l := causeLines(m.log.String(), "moved.txt"); len(l) != 0 {
				t.Errorf("errors logged: %q", l)
			}
		})
	}
}
