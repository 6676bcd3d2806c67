//go:build ghlfscrash

package pending

import (
	"os"
	"syscall"
)

// Test builds (go build -tags ghlfscrash) stop the process at the crash
// point named by GHLFS_CRASH_AT, as kill -9 would, when the file it
// concerns is named GHLFS_CRASH_NAME (or any file, if that is unset).
var (
	crashAt   = os.Getenv("GHLFS_CRASH_AT")
	crashName = os.Getenv("GHLFS_CRASH_NAME")
)

// CrashPoint names a moment of the write path a test can stop the
// process at (above).
func CrashPoint(point, name string) {
	testCrash(point, name)
	if point != crashAt || (crashName != "" && crashName != name) {
		return
	}
	os.Stderr.WriteString("ghlfs: crash point " + point + " reached for " + name + "\n")
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // never returns
}
