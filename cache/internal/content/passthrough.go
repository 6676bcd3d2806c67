package content

import (
	"os"

	"github.com/ghlfs/ghlfs/remote"
)

// OnDisk reports whether the cache keeps file contents on disk.
func (s *Cache) OnDisk() bool { return s.disk != nil }

// LocalCopy returns the whole content of file e as a local file, for the
// kernel to read directly (FUSE passthrough), when the disk cache holds
// all of it: the bytes of the file id and version e names, which never
// change under them. The size is e's, or one learnt already: it asks nothing. The
// caller closes the file.
func (s *Cache) LocalCopy(e Entry) (*os.File, bool) {
	if s.disk == nil || e.ID == "" {
		return nil, false
	}
	size, ok := s.knownSize(e)
	if !ok {
		return nil, false
	}
	return s.disk.whole(e.ContentKey(), size)
}

// knownSize is e's size, from the listing or learnt from the storage host
// already; it asks nothing.
func (s *Cache) knownSize(e Entry) (int64, bool) {
	if e.Size >= 0 {
		return e.Size, true
	}
	v, ok := s.sizes.Get(e.ContentKey())
	if !ok {
		return 0, false
	}
	return v.(remote.FileInfo).Size, true
}

// ProbeFile returns an empty local file on the disk cache's file system,
// already removed, to learn whether the kernel takes files from there for
// passthrough; nil when the disk cache is off. The caller closes it.
func (s *Cache) ProbeFile() (*os.File, error) {
	if s.disk == nil {
		return nil, nil
	}
	f, err := os.CreateTemp(s.disk.dir, "probe")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}
