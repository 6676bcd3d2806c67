package cache

import "os"

// LocalCopy returns the whole content of the open file as a local file,
// for the kernel to read directly (FUSE passthrough), when the handle
// reads the file's copy in the API (it has no pending bytes and wrote
// none) and the disk cache holds all of that copy. The bytes are those of
// the file id the handle opened, which never change under that id: a
// file replaced since has a new id, and its own copy or none. The caller
// closes the file.
func (h *Handle) LocalCopy() (*os.File, bool) {
	h.mu.Lock()
	e, rec, rd := h.e, h.rec, h.reader
	h.mu.Unlock()
	disk := h.s.content.disk
	if disk == nil || rec != nil || rd == nil || e.ID == "" {
		return nil, false
	}
	if h.s.q.shows(e.Key) { // changed through another open file
		return nil, false
	}
	size, ok := h.s.content.knownSize(e)
	if !ok {
		return nil, false
	}
	return disk.whole(e.ID, size)
}

// knownSize is e's size, from the listing or learnt from the storage host
// already; it asks nothing.
func (s *content) knownSize(e Entry) (int64, bool) {
	if e.Size >= 0 {
		return e.Size, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, ok := s.sizes[e.ID]
	return fi.Size, ok
}

// ProbeFile returns an empty local file on the disk cache's file system,
// already removed, to learn whether the kernel takes files from there for
// passthrough; nil when the disk cache is off. The caller closes it.
func (s *Store) ProbeFile() (*os.File, error) {
	if s.content.disk == nil {
		return nil, nil
	}
	f, err := os.CreateTemp(s.content.disk.dir, "probe")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}
