//go:build !linux

package fs

const killPrivCaps = 0
