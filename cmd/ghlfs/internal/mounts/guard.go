package mounts

import "github.com/hanwen/go-fuse/v2/fuse"

// Mounter makes a mount: mount(2) is given target; reach, once it is
// made, returns a path to its root, or fails having undone it. With
// reach nil, target is the mountpoint (fs.FS.MountVia).
type Mounter func(target string, reach func() (string, error)) (*fuse.Server, error)
