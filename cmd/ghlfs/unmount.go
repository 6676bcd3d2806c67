package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// A mount's serving process writes its pid to a file named after the
// mountpoint, so that "ghlfs unmount" can ask it to stop (SIGTERM: it
// unmounts, uploads what is due within --unmount-grace, and exits) and
// wait until it has.

func pidFile(mountpoint string) string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "ghlfs-"+strconv.Itoa(os.Getuid()))
	} else {
		dir = filepath.Join(dir, "ghlfs")
	}
	sum := sha256.Sum256([]byte(mountpoint))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".pid")
}

func writePidFile(mountpoint string) (string, error) {
	p := pidFile(mountpoint)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s must be private to its owner", filepath.Dir(p))
	}
	return p, os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())+"\n"+mountpoint+"\n"), 0o600)
}

func newUnmountCmd() *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:     "unmount [flags] MOUNTPOINT",
		Aliases: []string{"umount"},
		Short:   "Unmount a ghlfs mount, once its due uploads are done",
		Long: `Unmounts a ghlfs mount. The ghlfs serving it uploads what is due (within its
--unmount-grace) and exits; unmount returns once it has.`,
		Args:              oneMountpoint,
		ValidArgsFunction: completeDirs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUnmount(args[0], wait)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 10*time.Minute, "longest to wait for the serving ghlfs to finish its uploads and exit")
	return cmd
}

func runUnmount(mountpoint string, wait time.Duration) error {
	mp, err := filepath.Abs(mountpoint)
	if err != nil {
		return err
	}
	ok, err := isGhlfsMount(mp)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not a ghlfs mount", mp)
	}
	if pid, ok := servingPid(mp); ok {
		return stopServer(pid, mp, wait)
	}
	return unmountDirect(mp)
}

// unmountDirect unmounts mp itself; the serving ghlfs then finishes on its
// own.
func unmountDirect(mp string) error {
	if os.Geteuid() == 0 {
		if err := syscall.Unmount(mp, 0); err == nil {
			return nil
		} else if !errors.Is(err, syscall.EPERM) {
			return fmt.Errorf("unmount %s: %w", mp, err)
		}
	}
	return fusermount("-u", mp)
}
