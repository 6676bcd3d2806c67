package mounts

import "errors"

// ErrNoMountTable is what UserMounts says on a system whose mount table
// ghlfs cannot read (Linux has one).
var ErrNoMountTable = errors.New("this system's mount table cannot be read")
