package ocmtest

import (
	"fmt"

	"github.com/ghlfs/ghlfs/remote/remotetest"
)

// ContractFake is a Server as remotetest's contract drives it
// (remotetest.Fake): the home folder is the root (""), a trashed item is
// Trashed, a purged one Deleted, a version's Rev its number.
type ContractFake struct{ *Server }

var _ remotetest.Fake = ContractFake{}

// Items is every item as the contract reads it.
func (f ContractFake) Items() []remotetest.Item {
	home := f.HomeID()
	var out []remotetest.Item
	for _, it := range f.Server.Items() {
		status := remotetest.Active
		switch {
		case it.Purged:
			status = remotetest.Deleted
		case it.Trashed:
			status = remotetest.Trashed
		}
		parent := it.ParentID
		if parent == home {
			parent = ""
		}
		out = append(out, remotetest.Item{ID: it.ID, Name: it.Name, ParentID: parent, Folder: it.Folder, Status: status,
			Size: it.Size, Rev: it.Rev, Versions: len(it.Versions)})
	}
	return out
}

// ContractEndpoints are the endpoints of each of the contract's ops.
var ContractEndpoints = map[remotetest.Op][]string{
	remotetest.OpUpload:       {EndpointUpload, EndpointUploadVersion},
	remotetest.OpCreateFolder: {EndpointCreateFolder},
	remotetest.OpRename:       {EndpointRenameFile, EndpointRenameFolder},
	remotetest.OpMove:         {EndpointMoveFile, EndpointMoveFolder},
	remotetest.OpRemove:       {EndpointDeleteFile, EndpointDeleteFolder},
}

// CutNext cuts the next call of op (OCM has no list-recent call: a
// backend that says so is never asked).
func (f ContractFake) CutNext(op remotetest.Op) {
	eps, found := ContractEndpoints[op]
	if !found {
		panic(fmt.Sprintf("ocmtest: no endpoint for %s", op))
	}
	f.Server.CutNext(eps...)
}
