// Command ghlfs mounts a HighLevel location's Media Storage as a directory.
//
//	ghlfs mount [flags] MOUNTPOINT
//	ghlfs serve webdav [--addr 127.0.0.1:8080] [flags]
//	ghlfs unmount [--force] MOUNTPOINT
//	ghlfs status [--watch] [--json] [MOUNTPOINT]
//	ghlfs social-csv list [--json] | import FILE --accounts ID,...
//	ghlfs version
//
// Called as mount.ghlfs (a link made by make install), it is the helper
// mount(8) runs for fstab lines of type ghlfs (mounthelper.go).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// Listings of a large library are most of what ghlfs keeps: collect
	// more often than Go's default, for a resident size nearer the live
	// data (GOGC in the environment still wins).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	// A closed stderr (ghlfs | tee, and tee gone first) must never kill a
	// mount: a write to it then fails with EPIPE, and the mount goes on.
	signal.Ignore(syscall.SIGPIPE)
	if filepath.Base(os.Args[0]) == "mount.ghlfs" {
		os.Exit(mountHelper(os.Args[1:]))
	}
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ghlfs:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "ghlfs",
		Short: "Mount a HighLevel (GoHighLevel) Media Storage as a directory",
		Long: `ghlfs mounts a HighLevel (GoHighLevel) location's Media Storage as a
directory: folders are directories, files are files, and cp, mv, rm, mkdir,
rsync and file managers work on them.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newMountCmd(), newServeCmd(), newUnmountCmd(), newStatusCmd(), newLoginCmd(), newSocialCSVCmd(), &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, args []string) { fmt.Println("ghlfs", version) },
	})
	return root
}
