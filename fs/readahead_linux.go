//go:build linux

package fs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// readAheadKB is how far ahead the kernel reads a file read in order,
// set on the mount's backing device after mounting (as root): with the
// default 128 KiB, a sequential read reaches ghlfs as 128 KiB READs,
// whatever max_read says; from 1 MiB on they come at max_read (1 MiB).
const readAheadKB = 4096

// setReadAhead sets the mount's read-ahead (/sys/class/bdi/MAJ:MIN).
func (f *FS) setReadAhead(mountpoint string) {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		f.log.Debug("read-ahead left as it is", "err", err)
		return
	}
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	if err := os.WriteFile(p, []byte(fmt.Sprint(readAheadKB)), 0); err != nil {
		f.log.Debug("read-ahead left as it is", "err", err)
		return
	}
	f.log.Debug("read-ahead set", "path", p, "kb", readAheadKB)
}
