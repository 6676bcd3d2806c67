//go:build !linux && !darwin

package main

func statfsGhlfs(mountpoint string) (bool, error) { return false, errNoMountTable }
