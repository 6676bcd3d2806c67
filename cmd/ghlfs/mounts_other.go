//go:build !linux

package main

// userMounts cannot read this system's mount table: ghlfs status finds
// the mounts of this user by their pid files alone.
func userMounts() ([]string, error) { return nil, errNoMountTable }
