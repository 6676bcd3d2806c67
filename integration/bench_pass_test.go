package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// (11): a 25 MB file read again once it is wholly in the disk cache
// (--cache-max-size), against a local copy in the page cache: by
// passthrough (the kernel reads the disk cache's file itself), and with
// without --passthrough (every READ through ghlfs, from its disk cache).
func benchDiskReRead(b *testing.B) []benchRow {
	const size = 25 << 20
	data := randomBytes(size, 11)
	local := filepath.Join(b.TempDir(), "local.mp4")
	writeFile(b, local, data)
	readWhole(b, local)
	disk := timeN(15, func() { readWhole(b, local) })

	var rows []benchRow
	for _, off := range []bool{false, true} {
		srv := fake(b, ghltest.Options{})
		id := srv.AddFile("", "video.mp4", "video/mp4", data)
		args := []string{"--log-level", "debug", "--cache-max-size", "100000000"}
		if !off {
			args = append(args, "--passthrough")
		}
		m := mountFS(b, srv, mountOpt{args: args})
		readWhole(b, m.path("video.mp4"))
		waitWhole(b, m, id)
		resetStats(b, srv)
		again := timeN(15, func() { readWhole(b, m.path("video.mp4")) })
		r := disk.Seconds() / again.Seconds()
		passed := passOpens(m, "/video.mp4")
		st := getStats(b, srv)
		m.stop()
		res := fmt.Sprintf("%.2f (%s vs %s; %d of 15 opens passed through; %d storage requests)", r, again.Round(time.Microsecond), disk.Round(time.Microsecond), passed, st.StorageRequests)
		if off {
			rows = append(rows, benchRow{"15b", "… the same with without --passthrough (from the kernel's page cache of the mount: no READ reaches ghlfs)", res, "", false})
			continue
		}
		if passed == 0 {
			rows = append(rows, benchRow{"15", "re-read of a 25 MB file wholly in the disk cache, by passthrough, vs a local copy", res + "; passthrough not available here", "≥ 0.90", false})
			continue
		}
		rows = append(rows, benchRow{"15", "re-read of a 25 MB file wholly in the disk cache, by passthrough, vs a local copy", res, "≥ 0.90", r >= 0.9})
	}
	return rows
}

// (12): the READ requests a cold sequential read of a 21 MB file sends
// to ghlfs (its debug log counts them at release), with the read-ahead
// ghlfs sets on the mount and with the kernel's default (128 KiB).
func benchReadSizes(b *testing.B) []benchRow {
	const size = 21 << 20
	srv := fake(b, ghltest.Options{})
	srv.AddFile("", "a.zip", "application/zip", randomBytes(size, 12))
	srv.AddFile("", "b.zip", "application/zip", randomBytes(size, 13))
	m := mountFS(b, srv, mountOpt{args: []string{"--log-level", "debug"}})
	count := func(name string) (int, int64) {
		readWhole(b, m.path(name))
		var line string
		waitFor(b, "the release of "+name, func() bool {
			rel := releases(m, "/"+name)
			if len(rel) > 0 {
				line = rel[len(rel)-1]
			}
			return line != ""
		})
		g := regexp.MustCompile(`reads=(\d+) read_bytes=(\d+)`).FindStringSubmatch(line)
		if g == nil {
			b.Fatalf("no counts in %q", line)
		}
		n, _ := strconv.Atoi(g[1])
		bytes, _ := strconv.ParseInt(g[2], 10, 64)
		return n, bytes
	}
	n, got := count("a.zip")
	// The same with the kernel's default read-ahead, set back by hand.
	var st syscall.Stat_t
	if err := syscall.Stat(m.dir, &st); err != nil {
		b.Fatal(err)
	}
	ra := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	before := "?"
	if err := os.WriteFile(ra, []byte("128"), 0); err == nil {
		n0, _ := count("b.zip")
		before = strconv.Itoa(n0)
	}
	if got != size {
		b.Fatalf("read %d bytes", got)
	}
	return []benchRow{{"16", "READ requests of a cold sequential read of 21 MiB", fmt.Sprintf("%d, %.0f KiB each on average (with the kernel's default 128 KiB read-ahead: %s)", n, float64(got)/float64(n)/1024, before), "≤ 30 (1 MiB each)", n <= 30}}
}
