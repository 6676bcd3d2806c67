package memtest_test

import (
	"testing"

	"github.com/ghlfs/ghlfs/remote/memtest"
	"github.com/ghlfs/ghlfs/remote/remotetest"
)

// The contract under each profile: memtest stands for a client and its
// service together, so it keeps the contract a real backend keeps.

const pageSize = 7

func TestContract(t *testing.T) {
	for name, p := range map[string]func() memtest.Profile{
		"HighLevel": memtest.HighLevel,
		"ImageKit":  memtest.ImageKit,
		"OCM":       memtest.OCM,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			remotetest.Run(t, func(t *testing.T) remotetest.Instance {
				b := memtest.New(memtest.Options{Profile: p(), PageSize: pageSize})
				return remotetest.Instance{Backend: b, Fake: fake{b}, PageSize: pageSize}
			})
		})
	}
}

// fake is the library of a memtest.Backend as the contract drives it.
type fake struct{ *memtest.Backend }

var _ remotetest.Refuser = fake{}

func (f fake) Items() []remotetest.Item {
	var out []remotetest.Item
	for _, it := range f.Backend.Items() {
		out = append(out, remotetest.Item{ID: it.ID, Name: it.Name, ParentID: it.ParentID, Folder: it.IsFolder(),
			Status: string(it.Status), Size: it.Size, Rev: it.Rev, Versions: len(it.Versions)})
	}
	return out
}

func (f fake) Remove(id string) { f.Delete(id, f.Caps().Permanent) }

// CutNext loses the answer of the next call of op.
func (f fake) CutNext(op remotetest.Op) {
	f.LoseAnswer(map[remotetest.Op]memtest.Op{
		remotetest.OpUpload:       memtest.OpUpload,
		remotetest.OpCreateFolder: memtest.OpCreateFolder,
		remotetest.OpRename:       memtest.OpRename,
		remotetest.OpMove:         memtest.OpMove,
		remotetest.OpRemove:       memtest.OpRemove,
		remotetest.OpListRecent:   memtest.OpListUpdated,
	}[op], 1)
}
