//go:build !linux && !darwin

package mounts

func statfsGhlfs(mountpoint string) (bool, error) { return false, ErrNoMountTable }
