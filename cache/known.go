package cache

// Known returns e as the API knows it now (its id, url, content type and
// creation time), from what the mount already holds: it makes no call to
// the API or the storage host, and waits on no listing. It reports false
// when the API holds no copy of the bytes the mount shows for e: a file
// never uploaded, or one whose changes wait in the write-back queue (the
// copy in the API, if any, holds older bytes). A file uploaded in this
// mount is known by its upload's answer until a listing brings more.
func (s *Store) Known(e Entry) (Entry, bool) {
	if r := s.q.Lookup(e.Key); r != nil && !r.InAPI() {
		return Entry{}, false
	}
	e = s.latest(e)
	if e.Pending || e.ID == "" {
		return Entry{}, false
	}
	return e, true
}
