package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/mounts"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/pidfile"
)

func newUnmountCmd() *cobra.Command {
	var wait time.Duration
	var force bool
	cmd := &cobra.Command{
		Use:     "unmount [flags] MOUNTPOINT",
		Aliases: []string{"umount"},
		Short:   "Unmount a ghlfs mount, once its due uploads are done",
		Long: `Unmounts a ghlfs mount. The ghlfs serving it uploads what is due (within its
--unmount-grace) and exits; unmount returns once it has, showing the uploads'
progress meanwhile (redrawn on a terminal, else a line every few seconds).

--force unmounts at once: the ghlfs serving it exits without waiting for the
uploads, which stay queued in its cache dir and go up at the next mount.`,
		Args:              oneMountpoint,
		ValidArgsFunction: completeDirs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUnmount(args[0], wait, force)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 10*time.Minute, "longest to wait for the serving ghlfs to finish its uploads and exit")
	cmd.Flags().BoolVar(&force, "force", false, "unmount now, without waiting for the uploads (they resume at the next mount)")
	return cmd
}

func runUnmount(mountpoint string, wait time.Duration, force bool) error {
	mp, err := mountpointArg(mountpoint)
	if err != nil {
		return err
	}
	mounted, err := isGhlfsMount(mp)
	if err != nil {
		return err
	}
	// A ghlfs unmounted already may still be finishing its uploads: it
	// can be waited for, or told not to.
	p, serving := pidfile.Serving(mp)
	if !mounted && !serving {
		return fmt.Errorf("%s is not a ghlfs mount", mp)
	}
	if serving {
		defer p.Close()
	}
	_, sock, _ := controlSocket(mp)
	if force {
		return forceUnmount(mp, p, sock, mounted, wait)
	}
	if serving {
		var waiting func()
		if sock != "" {
			waiting = newUnmountProgress(os.Stderr, sock).show
		}
		return p.Stop(wait, true, waiting)
	}
	return mounts.Unmount(mp)
}
