//go:build !ghlfscrash

package pending

// CrashPoint names a moment of the write path a test build can stop the
// process at (crash.go); in other builds it does nothing.
func CrashPoint(point, name string) {}
