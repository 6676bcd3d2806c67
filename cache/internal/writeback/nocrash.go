//go:build !ghlfscrash

package writeback

// crashPoint names a moment of the write path a test build can stop the
// process at (crash.go); in other builds it does nothing.
func crashPoint(point, name string) {}
