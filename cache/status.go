package cache

import (
	"cmp"
	"slices"

	"github.com/ghlfs/ghlfs/cache/internal/pending"
)

// What the mount is doing, for a status display: the files of the
// write-back queue with what each waits for, and the sizes of the caches.
// Snapshots only: nothing here changes the queue, and no lock is held
// across the whole (each record is read under its own lock, in turn).

// The states an Upload is reported in (pending's).
const (
	UploadWriting   = pending.UploadWriting
	UploadWaiting   = pending.UploadWaiting
	UploadChecking  = pending.UploadChecking
	UploadUploading = pending.UploadUploading
	UploadFailed    = pending.UploadFailed
	UploadRenaming  = pending.UploadRenaming
	UploadRetiring  = pending.UploadRetiring
	UploadRemoving  = pending.UploadRemoving
	UploadCopying   = pending.UploadCopying
)

// Upload is one file with changes still to send to the API
// (pending.Upload).
type Upload = pending.Upload

// Uploads reports every file with changes still to send, the uploads
// under way first, then failed ones, then the rest, by name.
func (s *Store) Uploads() []Upload {
	out := append(s.q.Uploads(), s.rm.Status()...)
	if len(out) == 0 {
		return nil
	}
	tree := s.folders.Tree()
	for i := range out {
		out[i].Folder, out[i].FolderKnown = tree.Path(out[i].Folder[0])
	}
	rank := map[string]int{UploadUploading: 0, UploadChecking: 1, UploadFailed: 2, UploadCopying: 3, UploadRenaming: 4, UploadRetiring: 5, UploadRemoving: 6, UploadWaiting: 7, UploadWriting: 8}
	slices.SortFunc(out, func(a, b Upload) int {
		return cmp.Or(cmp.Compare(rank[a.State], rank[b.State]),
			slices.Compare(a.Folder, b.Folder), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// CacheUsage is how much the caches hold, in bytes.
type CacheUsage struct {
	// Memory is the file content held in memory, of at most MemoryMax.
	Memory, MemoryMax int64
	// Disk is the file content kept on disk, of at most DiskMax (0: no
	// disk cache).
	Disk, DiskMax int64
	// Spool is the bytes of the files in the write-back queue, in
	// SpoolFiles files.
	Spool      int64
	SpoolFiles int
}

// CacheUsage reports how much the caches hold.
func (s *Store) CacheUsage() CacheUsage {
	c := s.content.Usage()
	u := CacheUsage{Memory: c.Memory, MemoryMax: c.MemoryMax, Disk: c.Disk, DiskMax: c.DiskMax}
	u.Spool, u.SpoolFiles = s.q.SpoolUsage()
	return u
}
