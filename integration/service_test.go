package integration

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Running ghlfs as a service: --daemon, the mount(8) helper (fstab), the
// systemd notify protocol, a closed stderr, and what the log calls an
// error.

// topNames lists the names at the root of the library, through the API,
// as the mount shows them (a "/" in a name shows as "／").
func topNames(t *testing.T, srv *ghltest.Server) []string {
	t.Helper()
	var names []string
	for _, rf := range remoteTree(t, srv) {
		if rf.ParentID == "" {
			names = append(names, strings.ReplaceAll(rf.Name, "/", "／"))
		}
	}
	sort.Strings(names)
	return names
}

func lsNames(t *testing.T, dir string) []string {
	t.Helper()
	names := lines(sh(t, "ls", "-A", dir))
	sort.Strings(names)
	return names
}

// unmountAtEnd makes sure a mount served by a process this test does not
// wait for (a daemon) is gone when the test ends.
func unmountAtEnd(t *testing.T, dir string) {
	t.Cleanup(func() {
		if isMounted(dir) {
			shErr(binDir+"/ghlfs", "unmount", dir)
		}
		if isMounted(dir) {
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
}

// exitsCleanly waits for a ghlfs told to stop: it must exit 0 and leave
// nothing mounted.
func exitsCleanly(t *testing.T, exited <-chan error, dir, log string) {
	t.Helper()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("ghlfs exited with %v\n%s", err, log)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("ghlfs did not exit when told to stop\n%s", log)
	}
	if isMounted(dir) {
		t.Fatal("still mounted after ghlfs exited")
	}
}

// ghlfs mount --daemon returns only once the mount serves, and the
// process it leaves serves it until ghlfs unmount, which waits for its
// uploads.
func TestDaemonReturnsOnceMounted(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	dir := t.TempDir()
	logFile := filepath.Join(t.TempDir(), "ghlfs.log")
	unmountAtEnd(t, dir)
	out, err := shEnv([]string{"GHL_TOKEN=" + testToken}, binDir+"/ghlfs", "mount", "--daemon",
		"--location", testLocation, "--api-url", srv.URL, "--cache-dir", t.TempDir(),
		"--log-file", logFile, "--log-level", "debug", "--rate-limit", "0", "--write-back-delay", "1h", dir)
	if err != nil {
		t.Fatalf("ghlfs mount --daemon: %v\n%s", err, out)
	}
	if !isMounted(dir) {
		t.Fatal("ghlfs mount --daemon returned before the mount was made")
	}
	if _, err := shErr("mountpoint", "-q", dir); err != nil {
		t.Fatalf("mountpoint says %s is not a mountpoint: %v", dir, err)
	}
	if got, want := lsNames(t, dir), topNames(t, srv); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ls shows %q, the library has %q", got, want)
	}
	// A file written now waits an hour to go up (--write-back-delay):
	// ghlfs unmount returns once the serving process uploaded it.
	data := []byte("written through a daemon's mount\n")
	writeFile(t, filepath.Join(dir, "daemon.txt"), data)
	if _, ok := remoteTree(t, srv)["daemon.txt"]; ok {
		t.Fatal("uploaded before the write-back delay")
	}
	sh(t, binDir+"/ghlfs", "unmount", dir)
	if isMounted(dir) {
		t.Fatal("still mounted after ghlfs unmount")
	}
	rf, ok := remoteTree(t, srv)["daemon.txt"]
	if !ok || rf.Size != int64(len(data)) {
		t.Fatalf("after unmount the library has daemon.txt = %+v (listed %v), want %d bytes", rf, ok, len(data))
	}
	log := string(readFile(t, logFile))
	for _, want := range []string{"msg=mounted", "msg=unmounted"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log file lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, testToken) {
		t.Error("the token reached the log file")
	}
}

// mount.ghlfs as mount(8) calls it for an fstab line: options mapped to
// flags, mount's and systemd's own ignored, ready when it returns; umount
// unmounts. With /sbin/mount.ghlfs in place (as make install makes it),
// mount -t ghlfs goes the same way.
func TestMountHelper(t *testing.T) {
	// Not parallel: installs /sbin/mount.ghlfs for its run.
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(t.TempDir(), "mount.ghlfs")
	if err := os.Symlink(filepath.Join(binDir, "ghlfs"), helper); err != nil {
		t.Fatal(err)
	}
	opts := func(cacheDir, logFile string) string {
		return strings.Join([]string{"rw", "noauto", "nofail", "_netdev", "x-systemd.automount", "x-systemd.idle-timeout=60",
			"nodev", "nosuid", "token_file=" + tokenFile, "cache_dir=" + cacheDir, "api_url=" + srv.URL,
			"rate_limit=0", "write_back_delay=0", "log_file=" + logFile, "log_level=debug"}, ",")
	}
	// umount(8) returns once the kernel let go; the daemon then finishes
	// (uploads, its cache dir) and exits: wait for that too.
	umount := func(dir string) {
		t.Helper()
		pid := servingProcess(t, dir)
		defer waitGone(t, pid)
		if os.Geteuid() == 0 {
			sh(t, "umount", dir)
		} else {
			sh(t, "fusermount3", "-u", dir)
		}
		if isMounted(dir) {
			t.Fatal("still mounted after umount")
		}
	}

	t.Run("direct", func(t *testing.T) {
		dir := t.TempDir()
		unmountAtEnd(t, dir)
		out, err := shEnv([]string{"GHL_TOKEN="}, helper, testLocation, dir, "-o", opts(t.TempDir(), filepath.Join(t.TempDir(), "log")))
		if err != nil {
			t.Fatalf("mount.ghlfs: %v\n%s", err, out)
		}
		if !isMounted(dir) {
			t.Fatal("mount.ghlfs returned before the mount was made")
		}
		if got, want := lsNames(t, dir), topNames(t, srv); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("ls shows %q, the library has %q", got, want)
		}
		writeFile(t, filepath.Join(dir, "fstab.txt"), []byte("from an fstab mount\n"))
		if rf := waitRemote(t, srv, "fstab.txt"); rf.Size != int64(len("from an fstab mount\n")) {
			t.Errorf("the library has fstab.txt of %d bytes", rf.Size)
		}
		umount(dir)
	})

	t.Run("unknown option", func(t *testing.T) {
		dir := t.TempDir()
		out, err := shErr(helper, testLocation, dir, "-o", "token_file="+tokenFile+",no_such_option=1")
		if err == nil || !strings.Contains(out, `unknown option "no_such_option"`) {
			t.Fatalf("an unknown option: %v\n%s", err, out)
		}
		if isMounted(dir) {
			t.Fatal("mounted with an unknown option")
		}
	})

	t.Run("mount -t ghlfs", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mount -t needs root")
		}
		const installed = "/sbin/mount.ghlfs"
		if _, err := os.Lstat(installed); err == nil {
			t.Skipf("%s is already installed (make install); not replacing it", installed)
		}
		if err := os.Symlink(filepath.Join(binDir, "ghlfs"), installed); err != nil {
			t.Skipf("cannot place %s: %v", installed, err)
		}
		t.Cleanup(func() { os.Remove(installed) })
		dir := t.TempDir()
		unmountAtEnd(t, dir)
		out, err := shErr("mount", "-t", "ghlfs", "-o", opts(t.TempDir(), filepath.Join(t.TempDir(), "log")), testLocation, dir)
		if err != nil {
			t.Fatalf("mount -t ghlfs: %v\n%s", err, out)
		}
		if !isMounted(dir) {
			t.Fatal("mount -t ghlfs returned before the mount was made")
		}
		if got, want := lsNames(t, dir), topNames(t, srv); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("ls shows %q, the library has %q", got, want)
		}
		umount(dir)
	})
}

// servingProcess finds the ghlfs serving dir, by its command line.
func servingProcess(t *testing.T, dir string) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) > 2 && filepath.Base(args[0]) == "ghlfs" && args[1] == "mount" && args[len(args)-1] == dir {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no ghlfs process serves %s", dir)
	return 0
}

// waitGone waits for process pid to exit.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, "ghlfs (pid "+strconv.Itoa(pid)+") to exit", func() bool {
		// Exited: gone, or a zombie its new parent has not reaped yet.
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		_, after, _ := strings.Cut(string(stat), ") ")
		return strings.HasPrefix(after, "Z")
	})
}

// Under systemd (Type=notify), ghlfs says READY=1 once the mount serves
// and STOPPING=1 when it unmounts.
func TestSystemdNotify(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dir := t.TempDir()
	unmountAtEnd(t, dir)
	cmd := exec.Command(binDir+"/ghlfs", "mount", "--location", testLocation, "--api-url", srv.URL, "--cache-dir", t.TempDir(), "--rate-limit", "0", dir)
	cmd.Env = append(os.Environ(), "GHL_TOKEN="+testToken, "NOTIFY_SOCKET="+sock)
	var log syncBuffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	next := func() string {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no word from ghlfs on NOTIFY_SOCKET: %v\n%s", err, log.String())
		}
		return string(buf[:n])
	}
	msg := next()
	if !strings.Contains(msg, "READY=1") {
		t.Fatalf("first message %q, want READY=1", msg)
	}
	if !isMounted(dir) {
		t.Fatal("READY=1 before the mount was made")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if msg := next(); !strings.Contains(msg, "STOPPING=1") {
		t.Fatalf("after SIGTERM: %q, want STOPPING=1", msg)
	}
	exitsCleanly(t, exited, dir, log.String())
}

// ghlfs | tee, and tee gone first: the next log line meets a closed pipe.
// The mount serves on, and SIGINT still unmounts it cleanly.
func TestClosedStderrKeepsTheMount(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	dir := t.TempDir()
	unmountAtEnd(t, dir)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binDir+"/ghlfs", "mount", "--location", testLocation, "--api-url", srv.URL, "--cache-dir", t.TempDir(), "--rate-limit", "0", "--log-level", "debug", "--write-back-delay", "0", dir)
	cmd.Env = append(os.Environ(), "GHL_TOKEN="+testToken)
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	sc := bufio.NewScanner(r)
	for sc.Scan() && !strings.Contains(sc.Text(), "msg=mounted") {
	}
	r.Close() // tee is gone
	// Every operation below logs at debug level, into the closed pipe.
	if got, want := lsNames(t, dir), topNames(t, srv); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ls shows %q, the library has %q", got, want)
	}
	writeFile(t, filepath.Join(dir, "after-tee.txt"), []byte("still serving\n"))
	if got := string(readFile(t, filepath.Join(dir, "after-tee.txt"))); got != "still serving\n" {
		t.Errorf("read back %q", got)
	}
	if _, ok := remoteTree(t, srv)["after-tee.txt"]; !ok {
		t.Error("the file written after stderr closed is not in the library")
	}
	cmd.Process.Signal(syscall.SIGINT)
	exitsCleanly(t, exited, dir, "(its stderr was closed)")
}

// ENOENT, ENOTEMPTY and EEXIST answer a tool's question: they are logged
// at debug level, never as errors or warnings.
func TestNormalAnswersAreNotErrors(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{Seed: "demo"})
	m := mountFS(t, srv, mountOpt{})
	var full string
	tree := remoteTree(t, srv)
	for p, rf := range tree {
		if rf.Type == "folder" && rf.ParentID == "" && !strings.Contains(p, "/") {
			for _, child := range tree {
				if child.ParentID == rf.ID {
					full = p
				}
			}
		}
	}
	if full == "" {
		t.Fatal("the demo library has no folder with something in it")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rmdir", m.path(full)}, "Directory not empty"},
		{[]string{"stat", m.path("no-such-file")}, "No such file"},
		{[]string{"mkdir", m.path(full)}, "File exists"},
		{[]string{"ls", m.path(full, "missing", "deeper")}, "No such file"},
	} {
		if out, err := shErr(c.args[0], c.args[1:]...); err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%v: %v %s, want %q", c.args, err, out, c.want)
		}
	}
	if _, ok := remoteTree(t, srv)[full]; !ok {
		t.Errorf("%s left the library", full)
	}
	for _, l := range lines(m.log.String()) {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			t.Errorf("a normal answer logged as a problem: %s", l)
		}
	}
}

// make install places ghlfs and mount(8)'s helper, which answers as the
// helper: -f (fake) checks an fstab line's options and mounts nothing.
func TestMakeInstall(t *testing.T) {
	// Not parallel: builds ghlfs with make, which other tests would wait on.
	dest := t.TempDir()
	sh(t, "make", "-s", "-C", "..", "install", "DESTDIR="+dest, "BIN="+t.TempDir())
	bin := filepath.Join(dest, "usr/local/bin/ghlfs")
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("installed ghlfs: %v %v", fi, err)
	}
	link, err := os.Readlink(filepath.Join(dest, "sbin/mount.ghlfs"))
	if err != nil || link != "/usr/local/bin/ghlfs" {
		t.Fatalf("mount.ghlfs links to %q (%v), want /usr/local/bin/ghlfs", link, err)
	}
	helper := filepath.Join(t.TempDir(), "mount.ghlfs")
	if err := os.Symlink(bin, helper); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// mount(8)'s -f: check the line, mount nothing.
	checkOnly := func(opts string) []string { return []string{"-f", testLocation, dir, "-o", opts} }
	sh(t, helper, checkOnly("rw,nofail,_netdev,x-systemd.automount,token_file=/etc/ghlfs/token,cache_dir=/var/cache/ghlfs")...)
	if out, err := shErr(helper, checkOnly("tokenfile=/etc/ghlfs/token")...); err == nil || !strings.Contains(out, `unknown option "tokenfile"`) {
		t.Errorf("a misspelt option: %v %s", err, out)
	}
	if isMounted(dir) {
		t.Error("-f mounted")
	}
}
