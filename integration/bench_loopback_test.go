package integration

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The rows of issue 22 that hold ghlfs's small-file writes against the
// floor of any FUSE filesystem on this machine: go-fuse's own
// example/loopback, which passes every call through to a local folder,
// mounted beside ghlfs and given the same work in the same run.

var (
	loopbackOnce sync.Once
	loopbackBin  string
	loopbackErr  error
)

// loopbackMount mounts go-fuse's example/loopback over a new local folder
// and returns its mountpoint; it is unmounted when b ends. The binary is
// built once, from the module cache (the go-fuse ghlfs is built with).
func loopbackMount(b *testing.B) string {
	b.Helper()
	loopbackOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ghlfs-loopback-")
		if err != nil {
			loopbackErr = err
			return
		}
		loopbackBin = filepath.Join(dir, "loopback")
		out, err := exec.Command("go", "build", "-o", loopbackBin, "github.com/hanwen/go-fuse/v2/example/loopback").CombinedOutput()
		if err != nil {
			loopbackErr = fmt.Errorf("building go-fuse's example/loopback: %v\n%s", err, out)
		}
	})
	if loopbackErr != nil {
		b.Fatal(loopbackErr)
	}
	mnt, orig := b.TempDir(), b.TempDir()
	cmd := exec.Command(loopbackBin, mnt, orig) // without -q, for its "Mounted!"
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// It prints "Mounted!" once the mount is up.
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Mounted!") {
				up <- true
				break
			}
		}
		close(up)
		for sc.Scan() {
		}
	}()
	select {
	case ok := <-up:
		if !ok {
			cmd.Wait()
			b.Fatal("loopback exited before it mounted")
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		b.Fatal("loopback did not mount within a minute")
	}
	b.Cleanup(func() {
		exec.Command("fusermount3", "-u", mnt).Run()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return mnt
}

// tarOfSmallFiles makes a tar of n files of size bytes in folders
// folders, and returns its path.
func tarOfSmallFiles(b *testing.B, n, size, folders int) string {
	src := b.TempDir()
	for i := range n {
		sub := filepath.Join(src, "photos", fmt.Sprintf("album%02d", i%folders))
		os.MkdirAll(sub, 0o755)
		writeFile(b, filepath.Join(sub, fmt.Sprintf("img%04d.txt", i)), randomBytes(size, uint64(i)))
	}
	tarball := filepath.Join(b.TempDir(), "small.tar")
	sh(b, "tar", "-cf", tarball, "-C", src, "photos")
	return tarball
}

// smallWriteMount is ghlfs as rows 19 and 7b run it: the published rate
// limit, and the write-back delay a user's mount has (5 s; the harness
// uploads at close unless told).
func smallWriteMount(b *testing.B) (*ghltest.Server, *mount) {
	srv := fake(b, ghltest.Options{RateLimit: 100, RateWindow: 10 * time.Second})
	m := mountFS(b, srv, mountOpt{args: []string{"--log-level", "info", "--rate-limit", "100", "--write-back-delay", "5s"}})
	m.awaitListed(b) // the pass over the library at mount, outside the measure
	return srv, m
}

// defaultSpares is a mount's --spare-files when not told.
const defaultSpares = 2048

// awaitSpares waits until m keeps its spare files made: what a mount does
// as it starts, and again after a burst of creates, in the background.
// Each turn of a row starts from a mount at rest.
func (m *mount) awaitSpares(b *testing.B) {
	waitFor(b, "the mount's spare files", func() bool { return spareFiles(m.cacheDir) >= defaultSpares })
}

// sideBySide times loop(i) and ghlfs(i) in turns, n of each (loop first),
// each after a sync(2), and returns the median of each. On this VM the
// disk's cost of making a file swings tenfold with what the disk has
// still to write (the last run's files): a sync first, and turns, give
// both sides the same disk. settle, untimed, runs before each turn of
// the loopback: ghlfs's work left from its last turn is done first.
func sideBySide(n int, settle func(), loop, ghlfs func(i int)) (loopTime, ghlfsTime time.Duration) {
	var ls, gs []time.Duration
	for i := range n {
		settle()
		syscall.Sync()
		start := time.Now()
		loop(i)
		ls = append(ls, time.Since(start))
		syscall.Sync()
		start = time.Now()
		ghlfs(i)
		gs = append(gs, time.Since(start))
	}
	return medianOf(ls), medianOf(gs)
}

// (19): tar -x of 2,000 files of 500 bytes in 20 folders, until tar
// returns, against the same into the loopback (medians of 3 turns, each
// into a new folder).
func benchTarSmall(b *testing.B) []benchRow {
	tarball := tarOfSmallFiles(b, 2000, 500, 20)
	loop := loopbackMount(b)
	local := b.TempDir()
	localTime := timeN(1, func() { sh(b, "tar", "-xf", tarball, "-C", local) })
	_, m := smallWriteMount(b)
	for i := range 3 { // untimed: a mkdir in the mount is a call to the API
		for _, root := range []string{loop, m.dir} {
			if err := os.Mkdir(filepath.Join(root, fmt.Sprint("turn", i)), 0o755); err != nil {
				b.Fatal(err)
			}
		}
	}
	loopTime, took := sideBySide(3, func() { m.awaitSpares(b) },
		func(i int) { sh(b, "tar", "-xf", tarball, "-C", filepath.Join(loop, fmt.Sprint("turn", i))) },
		func(i int) { sh(b, "tar", "-xf", tarball, "-C", m.path(fmt.Sprint("turn", i))) })
	for i := range 3 {
		sh(b, "diff", "-r", filepath.Join(loop, fmt.Sprint("turn", i)), m.path(fmt.Sprint("turn", i)))
	}
	r := loopTime.Seconds() / took.Seconds()
	// (Their uploads, paced at 9 a second, take some four minutes more
	// for each turn: row 9 times that for 200 files.)
	return []benchRow{
		{"19", "tar -x of 2,000 files of 500 bytes in 20 folders, vs the same into go-fuse's loopback (medians of 3 turns)", fmt.Sprintf("%.2f (%s vs %s; a local folder %s)", r, took.Round(time.Millisecond), loopTime.Round(time.Millisecond), localTime.Round(time.Millisecond)), "≥ 0.80", r >= 0.8},
	}
}

// (7b): cp -r of the 500 small files of row 7, until cp returns, against
// the same into the loopback (medians of 3 turns).
func benchCopyManyLoopback(b *testing.B) []benchRow {
	src := smallFiles(b)
	loop := loopbackMount(b)
	_, m := smallWriteMount(b)
	loopTime, took := sideBySide(3, func() { m.awaitSpares(b) },
		func(i int) { sh(b, "cp", "-r", src, filepath.Join(loop, fmt.Sprint("notes", i))) },
		func(i int) { sh(b, "cp", "-r", src, m.path(fmt.Sprint("notes", i))) })
	for i := range 3 {
		sh(b, "diff", "-r", src, m.path(fmt.Sprint("notes", i)))
	}
	r := loopTime.Seconds() / took.Seconds()
	return []benchRow{
		{"7b", "cp -r of 500 small files, until cp returns, vs the same into go-fuse's loopback (medians of 3 turns)", fmt.Sprintf("%.2f (%s vs %s)", r, took.Round(time.Millisecond), loopTime.Round(time.Millisecond)), "≥ 0.80", r >= 0.8},
	}
}
