//go:build linux

package mounts

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// UserMounts returns the mountpoints of the ghlfs mounts of this user:
// those of the mount table whose user_id (the FUSE mount option naming
// who mounted it) is this user's.
func UserMounts() ([]string, error) {
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

// IsGhlfs reports whether mountpoint is a mount of ghlfs.
func IsGhlfs(mountpoint string) (bool, error) {
	mounts, err := ghlfsMounts()
	for _, m := range mounts {
		if m.dir == mountpoint {
			return true, nil
		}
	}
	return false, err
}

// unescapeMountinfo undoes the octal escapes of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
