package cache

import "os"

// LocalCopy returns the whole content of the open file as a local file,
// for the kernel to read directly (FUSE passthrough), when the handle
// reads the file's copy in the API (it has no pending bytes and wrote
// none) and the disk cache holds all of that copy. The bytes are those of
// the file id (and version) the handle opened, which never change under
// them: a file replaced since has a new id or version, and its own copy
// or none. The caller
// closes the file.
func (h *Handle) LocalCopy() (*os.File, bool) {
	h.mu.Lock()
	e, rec, rd := h.e, h.rec, h.reader
	h.mu.Unlock()
	if !h.s.content.OnDisk() || rec != nil || rd == nil || e.ID == "" {
		return nil, false
	}
	if h.s.q.Shows(e.Key) { // changed through another open file
		return nil, false
	}
	return h.s.content.LocalCopy(e)
}

// ProbeFile returns an empty local file on the disk cache's file system,
// already removed, to learn whether the kernel takes files from there for
// passthrough; nil when the disk cache is off. The caller closes it.
func (s *Store) ProbeFile() (*os.File, error) {
	return s.content.ProbeFile()
}
