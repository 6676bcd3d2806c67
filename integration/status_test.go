package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// ghlfs status --json, as a script reads it (the field names the README
// documents).
type statusJSON struct {
	Mountpoint string `json:"mountpoint"`
	CacheDir   string `json:"cache_dir"`
	PID        int    `json:"pid"`
	State      string `json:"state"`
	Uploads    []struct {
		Path       string     `json:"path"`
		State      string     `json:"state"`
		Size       int64      `json:"size"`
		Sent       int64      `json:"sent"`
		Rate       float64    `json:"rate"`
		ETASeconds *float64   `json:"eta_seconds"`
		Error      string     `json:"error"`
		Tries      int        `json:"tries"`
		Next       *time.Time `json:"next"`
		Refused    bool       `json:"refused"`
	} `json:"uploads"`
	API []struct {
		Location   string `json:"location"`
		Calls10s   int    `json:"calls_10s"`
		Limit10s   int    `json:"limit_10s"`
		CallsToday int64  `json:"calls_today"`
		LimitDaily int64  `json:"limit_daily"`
		CallsTotal int64  `json:"calls_total"`
	} `json:"api"`
	Cache struct {
		MemoryMaxBytes int64 `json:"memory_max_bytes"`
		SpoolBytes     int64 `json:"spool_bytes"`
		SpoolFiles     int   `json:"spool_files"`
	} `json:"cache"`
}

func ghlfsStatus(t testing.TB, mp string) statusJSON {
	t.Helper()
	out, err := exec.Command(filepath.Join(binDir, "ghlfs"), "status", "--json", mp).Output()
	if err != nil {
		t.Fatalf("ghlfs status --json %s: %v", mp, err)
	}
	var st statusJSON
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("ghlfs status --json: %v\n%s", err, out)
	}
	return st
}

// pattern is n bytes that are not all alike.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/4093)
	}
	return b
}

// While the fake reads an upload slowly, ghlfs status shows it with the
// bytes sent growing from one call to the next, the API calls against
// the limits and the spool; once the upload landed (cp returns: the
// write-back delay is 0), it is gone, and the fake's API lists the file.
func TestStatusShowsUploadProgress(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	srv.AddFolder("", "Clients")
	m := mountFS(t, srv, mountOpt{})
	m.awaitListed(t)
	// Larger than what the loopback's socket buffers take at once, so
	// that the upload is still being sent while the test looks.
	const size = 24_000_000
	src := filepath.Join(t.TempDir(), "report.bin")
	writeFile(t, src, pattern(size))
	srv.SetFaults(ghltest.Faults{UploadRate: 3 << 20})
	cp := exec.Command("cp", src, m.path("Clients", "report.bin"))
	var cpOut bytes.Buffer
	cp.Stdout, cp.Stderr = &cpOut, &cpOut
	if err := cp.Start(); err != nil {
		t.Fatal(err)
	}
	cpDone := make(chan error, 1)
	go func() { cpDone <- cp.Wait() }()

	var first statusJSON
	waitFor(t, "the upload under way in ghlfs status", func() bool {
		first = ghlfsStatus(t, m.dir)
		return len(first.Uploads) == 1 && first.Uploads[0].State == "uploading" && first.Uploads[0].Sent > 0 && first.Uploads[0].Sent < size
	})
	u := first.Uploads[0]
	if u.Path != "Clients/report.bin" || u.Size != size {
		t.Errorf("upload shown as %+v", u)
	}
	if first.Mountpoint != m.dir || first.State != "mounted" || first.PID != m.cmd.Process.Pid {
		t.Errorf("status of %q (pid %d, %s), want %s (pid %d)", first.Mountpoint, first.PID, first.State, m.dir, m.cmd.Process.Pid)
	}
	if len(first.API) != 1 || first.API[0].Limit10s != 100 || first.API[0].LimitDaily != 200_000 || first.API[0].CallsToday < 3 || first.API[0].Calls10s > int(first.API[0].CallsTotal) {
		t.Errorf("API usage %+v", first.API)
	}
	if c := first.Cache; c.SpoolFiles != 1 || c.SpoolBytes != size || c.MemoryMaxBytes != 256<<20 {
		t.Errorf("cache %+v", c)
	}
	var later statusJSON
	waitFor(t, "more bytes sent", func() bool {
		later = ghlfsStatus(t, m.dir)
		return len(later.Uploads) == 1 && later.Uploads[0].Sent > u.Sent
	})
	if v := later.Uploads[0]; v.State != "uploading" || v.Sent > size {
		t.Errorf("later: %+v", v)
	}
	// The text a person reads: a bar, and the path as the mount shows it.
	text := sh(t, filepath.Join(binDir, "ghlfs"), "status", m.dir)
	if !strings.Contains(text, "Clients/report.bin") || !strings.Contains(text, "[#") || !strings.Contains(text, "of 22.9 MiB") {
		t.Errorf("ghlfs status printed:\n%s", text)
	}
	// The fake's API does not list it yet: the upload is under way.
	if _, ok := remoteTree(t, srv)["Clients/report.bin"]; ok {
		t.Error("listed by the API while ghlfs status shows it uploading")
	}

	select {
	case err := <-cpDone:
		if err != nil {
			t.Fatalf("cp: %v\n%s", err, cpOut.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("cp did not return")
	}
	done := ghlfsStatus(t, m.dir)
	if len(done.Uploads) != 0 || done.Cache.SpoolFiles != 0 {
		t.Errorf("after the upload landed: %+v", done)
	}
	rf, ok := remoteTree(t, srv)["Clients/report.bin"]
	if !ok || rf.Size != size || !bytes.Equal(download(t, rf.URL), pattern(size)) {
		t.Errorf("the API lists %+v", rf)
	}

	// Without a mountpoint: every mount of this user, this one among them.
	out, err := exec.Command(filepath.Join(binDir, "ghlfs"), "status", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var all []statusJSON
	if err := json.Unmarshal(out, &all); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	found := false
	for _, s := range all {
		found = found || s.Mountpoint == m.dir
	}
	if !found {
		t.Errorf("ghlfs status --json lists %s", out)
	}
}

// An upload the service fails (503) shows as failed, with the API's
// message and its next try (the retry delay doubles from --upload-retry,
// up to 10 minutes); the file is not in the library.
func TestStatusShowsFailedUpload(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "1s", "--upload-retry", "1h"}})
	srv.SetFaults(ghltest.Faults{RejectUploads: true, RejectUploadsStatus: 503})
	writeFile(t, m.path("refused.txt"), []byte("no"))
	var st statusJSON
	waitFor(t, "the failed upload in ghlfs status", func() bool {
		st = ghlfsStatus(t, m.dir)
		return len(st.Uploads) == 1 && st.Uploads[0].State == "failed"
	})
	u := st.Uploads[0]
	if !strings.Contains(u.Error, "File upload rejected (injected fault)") || u.Tries != 1 || u.Next == nil || time.Until(*u.Next) < 9*time.Minute {
		t.Errorf("failed upload %+v", u)
	}
	text := sh(t, filepath.Join(binDir, "ghlfs"), "status", m.dir)
	if !strings.Contains(text, "failed") || !strings.Contains(text, "File upload rejected") || !strings.Contains(text, "next try in ") {
		t.Errorf("ghlfs status printed:\n%s", text)
	}
	if _, ok := remoteTree(t, srv)["refused.txt"]; ok {
		t.Error("a refused upload is listed")
	}
}

// ghlfs unmount with an upload due prints its progress while it waits,
// and returns once the file is in the library. The mount is started as at
// boot (no $XDG_RUNTIME_DIR) and unmounted as from a login shell (with
// one): they find each other all the same.
func TestUnmountShowsProgress(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "1h"}, env: []string{"XDG_RUNTIME_DIR="}})
	const size = 16_000_000
	writeFile(t, m.path("clip.bin"), pattern(size))
	srv.SetFaults(ghltest.Faults{UploadRate: 3 << 20})
	unmount := exec.Command(filepath.Join(binDir, "ghlfs"), "unmount", m.dir)
	unmount.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir())
	b, err := unmount.CombinedOutput()
	out := string(b)
	if err != nil {
		t.Fatalf("ghlfs unmount: %v\n%s", err, out)
	}
	if !strings.Contains(out, "waiting for the uploads that are due") || !strings.Contains(out, "clip.bin") || !strings.Contains(out, "of 15.3 MiB") {
		t.Errorf("ghlfs unmount printed:\n%s", out)
	}
	rf, ok := remoteTree(t, srv)["clip.bin"]
	if !ok || rf.Size != size || !bytes.Equal(download(t, rf.URL), pattern(size)) {
		t.Fatalf("after ghlfs unmount returned, the API lists %+v", rf)
	}
	select {
	case <-m.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("ghlfs still running after ghlfs unmount returned")
	}
	if isMounted(m.dir) {
		t.Error("still mounted")
	}
}

// ghlfs unmount --force returns without waiting for an upload under way:
// ghlfs has exited and the library does not hold the file; the record
// stays in the spool, and the next mount uploads it.
func TestUnmountForceKeepsUploadForNextMount(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "1s", "--unmount-grace", "10m"}})
	const size = 16_000_000
	srv.SetFaults(ghltest.Faults{UploadRate: 256 << 10}) // a minute for the whole file
	writeFile(t, m.path("video.bin"), pattern(size))
	waitFor(t, "the upload under way", func() bool {
		st := ghlfsStatus(t, m.dir)
		return len(st.Uploads) == 1 && st.Uploads[0].State == "uploading" && st.Uploads[0].Sent > 0
	})
	out := sh(t, filepath.Join(binDir, "ghlfs"), "unmount", "--force", m.dir)
	if _, ok := remoteTree(t, srv)["video.bin"]; ok {
		t.Fatal("the upload landed: --force waited for it")
	}
	select {
	case <-m.exited: // ghlfs unmount returns once the process exited
	case <-time.After(30 * time.Second):
		t.Fatal("ghlfs still running after ghlfs unmount --force returned")
	}
	if isMounted(m.dir) {
		t.Error("still mounted")
	}
	if !strings.Contains(out, "1 file not uploaded yet stay queued in "+m.cacheDir) {
		t.Errorf("ghlfs unmount --force printed:\n%s", out)
	}
	if n := len(spoolFiles(t, m.cacheDir)); n != 1 {
		t.Fatalf("%d records in the spool, want 1", n)
	}

	srv.SetFaults(ghltest.Faults{})
	m2 := mountFS(t, srv, mountOpt{cacheDir: m.cacheDir})
	rf := waitRemote(t, srv, "video.bin")
	if rf.Size != size || !bytes.Equal(download(t, rf.URL), pattern(size)) {
		t.Errorf("the remount uploaded %+v", rf)
	}
	waitFor(t, "no upload left", func() bool { return len(ghlfsStatus(t, m2.dir).Uploads) == 0 })
	if got := bytes.Count([]byte(sh(t, "ls", m2.dir)), []byte("video.bin")); got != 1 {
		t.Errorf("ls shows video.bin %d times", got)
	}
}

// The control socket is private: mode 0600, named in the pid file; a
// normal user cannot connect, and one whose capabilities pass the modes
// is turned away by the peer check.
func TestStatusSocketPrivate(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	cacheDir := t.TempDir()
	os.Chmod(cacheDir, 0o755) // a cache dir others may enter: the socket's own mode must keep them out
	m := mountFS(t, srv, mountOpt{cacheDir: cacheDir})
	sock := filepath.Join(cacheDir, "control.sock")
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket %v", fi.Mode())
	}
	if st := ghlfsStatus(t, m.dir); st.CacheDir != cacheDir {
		t.Errorf("status names cache dir %q", st.CacheDir)
	}
	if os.Geteuid() != 0 {
		return // the rest drops to another user
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("setpriv is needed to act as another user: %v", err)
	}
	curl := func(caps ...string) (string, error) {
		args := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups"}, caps...)
		args = append(args, "curl", "-sS", "--max-time", "10", "--unix-socket", sock, "http://ghlfs/v1/status")
		out, err := exec.Command("setpriv", args...).CombinedOutput()
		return string(out), err
	}
	// The kernel refuses the connection (EACCES) before ghlfs sees it.
	if out, err := curl("--inh-caps=-all"); err == nil || strings.Contains(out, "uploads") || strings.Contains(m.log.String(), "turned away") {
		t.Errorf("another user reached the socket: %v\n%s", err, out)
	}
	if out, err := curl("--inh-caps=+dac_override", "--ambient-caps=+dac_override"); err == nil || strings.Contains(out, "uploads") {
		t.Errorf("another user past the modes was answered: %v\n%s", err, out)
	}
	waitFor(t, "the log line", func() bool {
		return strings.Contains(m.log.String(), "a connection from another user turned away")
	})
}
