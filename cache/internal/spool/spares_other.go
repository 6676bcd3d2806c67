//go:build !linux

package spool

// lowerPriority leaves the priority as it is: a thread's own nice value
// is Linux's.
func lowerPriority() {}
