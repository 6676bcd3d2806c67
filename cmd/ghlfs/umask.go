package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processUmask returns the umask ghlfs runs under (the modes shown
// default to it, as rclone's do), read without changing it.
func processUmask() uint32 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return uint32(n) & 0o777
				}
			}
		}
	}
	// Kernels before 4.7 do not show it: read it by setting it, before
	// ghlfs makes any file.
	old := syscall.Umask(0o022)
	syscall.Umask(old)
	return uint32(old) & 0o777
}

// umaskFlag is an octal umask given on the command line (022, 0o022, 0).
type umaskFlag uint32

func (u *umaskFlag) String() string { return fmt.Sprintf("%03o", uint32(*u)) }

func (u *umaskFlag) Type() string { return "octal" }

func (u *umaskFlag) Set(s string) error {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	if t == "" {
		t = "0"
	}
	n, err := strconv.ParseUint(t, 8, 32)
	if err != nil || n > 0o777 {
		return errors.New("want an octal umask from 000 to 777, such as 022")
	}
	*u = umaskFlag(n)
	return nil
}
