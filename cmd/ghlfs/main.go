// Command ghlfs mounts a HighLevel location's Media Storage as a directory.
//
//	ghlfs mount [flags] MOUNTPOINT
//	ghlfs unmount MOUNTPOINT
//	ghlfs version
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `ghlfs mounts a HighLevel (GoHighLevel) Media Storage as a directory.

Usage:
  ghlfs mount [flags] MOUNTPOINT   mount and serve until unmounted (Ctrl-C)
  ghlfs unmount MOUNTPOINT         unmount a ghlfs mount
  ghlfs version                    print the version

Run "ghlfs mount --help" for the mount flags.
`

func main() {
	// Listings of a large library are most of what ghlfs keeps: collect
	// more often than Go's default, for a resident size nearer the live
	// data (GOGC in the environment still wins).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "mount":
		err = runMount(args)
	case "unmount", "umount":
		err = runUnmount(args)
	case "version", "--version":
		fmt.Println("ghlfs", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "ghlfs: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ghlfs:", err)
		os.Exit(1)
	}
}
