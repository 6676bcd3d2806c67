package fs

import gofs "github.com/hanwen/go-fuse/v2/fs"

// The operations each node type serves. A directory that lacked Unlink or
// Rmdir would let them succeed silently, so every one is listed here.
var (
	_ gofs.NodeGetattrer      = (*Dir)(nil)
	_ gofs.NodeSetattrer      = (*Dir)(nil)
	_ gofs.NodeLookuper       = (*Dir)(nil)
	_ gofs.NodeReaddirer      = (*Dir)(nil)
	_ gofs.NodeOpendirHandler = (*Dir)(nil)
	_ gofs.NodeMkdirer        = (*Dir)(nil)
	_ gofs.NodeCreater        = (*Dir)(nil)
	_ gofs.NodeUnlinker       = (*Dir)(nil)
	_ gofs.NodeRmdirer        = (*Dir)(nil)
	_ gofs.NodeRenamer        = (*Dir)(nil)
	_ gofs.NodeLinker         = (*Dir)(nil)
	_ gofs.NodeSymlinker      = (*Dir)(nil)
	_ gofs.NodeMknoder        = (*Dir)(nil)
	_ gofs.NodeStatfser       = (*Dir)(nil)
	_ gofs.NodeGetxattrer     = (*Dir)(nil)
	_ gofs.NodeSetxattrer     = (*Dir)(nil)
	_ gofs.NodeListxattrer    = (*Dir)(nil)
	_ gofs.NodeRemovexattrer  = (*Dir)(nil)
	_ gofs.NodeOnForgetter    = (*Dir)(nil)

	_ gofs.NodeGetattrer     = (*File)(nil)
	_ gofs.NodeSetattrer     = (*File)(nil)
	_ gofs.NodeOpener        = (*File)(nil)
	_ gofs.NodeGetxattrer    = (*File)(nil)
	_ gofs.NodeSetxattrer    = (*File)(nil)
	_ gofs.NodeListxattrer   = (*File)(nil)
	_ gofs.NodeRemovexattrer = (*File)(nil)

	_ gofs.FileReader    = (*handle)(nil)
	_ gofs.FileWriter    = (*handle)(nil)
	_ gofs.FileFlusher   = (*handle)(nil)
	_ gofs.FileFsyncer   = (*handle)(nil)
	_ gofs.FileReleaser  = (*handle)(nil)
	_ gofs.FileGetattrer = (*handle)(nil)

	_ gofs.FilePassthroughFder = (*passHandle)(nil)
	_ gofs.FileReleaser        = (*passHandle)(nil)
)
