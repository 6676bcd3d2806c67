//go:build linux

package main

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// userMounts returns the mountpoints of the ghlfs mounts of this user:
// those of the mount table whose user_id (the FUSE mount option naming
// who mounted it) is this user's.
func userMounts() ([]string, error) {
	mounts, err := ghlfsMounts()
	me := "user_id=" + strconv.Itoa(os.Getuid())
	var out []string
	for _, m := range mounts {
		if slices.Contains(strings.Split(m.superOptions, ","), me) {
			out = append(out, m.dir)
		}
	}
	return out, err
}

// ghlfsMount is one ghlfs mount of the mount table: its mount id (as
// statx's STATX_MNT_ID gives it), its device (major:minor), where it is,
// and its FUSE options.
type ghlfsMount struct {
	id, dev           uint64
	dir, superOptions string
}

// ghlfsMounts reads the ghlfs mounts from /proc/self/mountinfo.
func ghlfsMounts() ([]ghlfsMount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []ghlfsMount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 5 || sep+1 >= len(fields) || fields[sep+1] != "fuse.ghlfs" {
			continue
		}
		id, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			continue
		}
		m := ghlfsMount{id: id, dir: unescapeMountinfo(fields[4])}
		if maj, min, ok := strings.Cut(fields[2], ":"); ok {
			a, aerr := strconv.ParseUint(maj, 10, 32)
			b, berr := strconv.ParseUint(min, 10, 32)
			if aerr == nil && berr == nil {
				m.dev = unix.Mkdev(uint32(a), uint32(b))
			}
		}
		if sep+3 < len(fields) {
			m.superOptions = fields[sep+3]
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// errNoMountTable is what other systems' userMounts says (Linux has one).
var errNoMountTable = errors.New("this system's mount table cannot be read")
