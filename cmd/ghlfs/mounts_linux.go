//go:build linux

package main

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
)

// userMounts returns the mountpoints of the ghlfs mounts of this user:
// those of the mount table whose user_id (the FUSE mount option naming
// who mounted it) is this user's.
func userMounts() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	me := "user_id=" + strconv.Itoa(os.Getuid())
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superoptions
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+3 >= len(fields) || fields[sep+1] != "fuse.ghlfs" {
			continue
		}
		for _, opt := range strings.Split(fields[sep+3], ",") {
			if opt == me {
				out = append(out, unescapeMountinfo(fields[4]))
				break
			}
		}
	}
	return out, sc.Err()
}

// errNoMountTable is what other systems' userMounts says (Linux has one).
var errNoMountTable = errors.New("this system's mount table cannot be read")
