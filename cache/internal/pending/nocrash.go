//go:build !ghlfscrash

package pending

// CrashPoint names a moment of the write path a test build can stop the
// process at (crash.go); in other builds it only calls the hook a test of
// the front may set (SetTestHookCrash).
func CrashPoint(point, name string) { testCrash(point, name) }
