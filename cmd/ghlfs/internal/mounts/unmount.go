package mounts

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Unmount unmounts mp itself; the serving ghlfs then finishes on its
// own.
func Unmount(mp string) error {
	if os.Geteuid() == 0 {
		if err := unmountPath(mp, 0); err == nil {
			return nil
		} else if !errors.Is(err, syscall.EPERM) {
			return fmt.Errorf("unmount %s: %w", mp, err)
		}
	}
	return fusermount("-u", mp)
}

func fusermount(args ...string) error {
	bin := "fusermount3"
	if _, err := exec.LookPath(bin); err != nil {
		bin = "fusermount"
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
