package index

import (
	"strconv"
	"strings"
)

// What a file is across uploads: each upload is a new copy in the API,
// and the file keeps the key the filesystem knows it by. keys maps the
// copies made, changed or retired in this mount to their keys; latest
// maps a key to the copy that holds it now.

// Knows reports whether the API id is a copy the mount made, changed or
// retired (its key is known).
func (ix *Index[R]) Knows(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	_, ok := ix.keys[id]
	return ok
}

// Latest returns the copy in the API that now holds a key, when a file
// was uploaded under it in this mount.
func (ix *Index[R]) Latest(key string) (Entry, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	e, ok := ix.latest[key]
	return e, ok
}

// Newer returns the copy in the API that now holds e's key, when the
// mount uploaded it since e was listed: another copy (a service that
// gives each upload a new id), or a later version under e's id, where e's
// version is one an upload of this mount superseded. An entry listed
// since (a version another client made after) is not older.
func (ix *Index[R]) Newer(e Entry) (Entry, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.newerLocked(e)
}

// newerLocked is Newer; the caller holds ix.mu.
func (ix *Index[R]) newerLocked(e Entry) (Entry, bool) {
	latest, ok := ix.latest[e.Key]
	switch {
	case !ok:
		return Entry{}, false
	case latest.ID != e.ID:
		return latest, true
	case latest.Rev != e.Rev && ix.superseded[e.ContentKey()]:
		return latest, true
	}
	return Entry{}, false
}

// KnownIDs returns every API id the mount has uploaded or retired, and
// the urls of its uploads no listing has shown yet: an upload looked for
// after its answer was lost is none of them.
func (ix *Index[R]) KnownIDs() []string {
	ix.mu.Lock()
	ids := make([]string, 0, len(ix.keys))
	for id := range ix.keys {
		ids = append(ids, id)
	}
	ix.mu.Unlock()
	// Uploads known only by their answer: by their url.
	return append(ids, ix.folders.ClaimURLs()...)
}

// SetKey records that the API copy id holds key.
func (ix *Index[R]) SetKey(id, key string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.setKeyLocked(id, key)
}

func (ix *Index[R]) setKeyLocked(id, key string) {
	if ix.keys[id] != key {
		ix.keys[id] = key
		ix.keysGen++
	}
}

// SetLatest records that key is now held by the API copy e, and that the
// copies in gone no longer hold anything: should one of them be listed
// again (taken back out of the trash), it is another file. e was sent as
// a new version of the copy into at version base, where the service
// keeps versions under one id (remote.Attempt.Into, BaseRev; "": a new
// file or a new id): an entry of that version, or of the one the key
// held before, is older than e (Newer).
func (ix *Index[R]) SetLatest(key string, e Entry, gone []string, into, base string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	e.Key = key
	ix.setKeyLocked(e.ID, key)
	for _, old := range []Entry{{ID: into, Rev: base}, ix.latest[key]} {
		if old.ID == e.ID && old.Rev != "" && old.Rev != e.Rev {
			ix.superseded[old.ContentKey()] = true
		}
	}
	ix.latest[key] = e
	for _, id := range gone {
		if id != e.ID && id != "" {
			ix.retireKeyLocked(id)
		}
	}
}

// Retired records that copies left the library: should one be listed
// again (taken back out of the trash), it is another file.
func (ix *Index[R]) Retired(ids []string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, id := range ids {
		ix.retireKeyLocked(id)
	}
}

// retireKeyLocked records that the API copy id holds nothing any more:
// should it be listed again (restored from the trash), it is a file of
// its own, under a key no other file has. The key is new at each
// retirement: a restored copy that is changed, and so retired again,
// leaves its key to its new copy, and is another file again should it
// come back once more. The caller holds ix.mu.
func (ix *Index[R]) retireKeyLocked(id string) {
	if k, ok := ix.keys[id]; ok && retiredKey(k) {
		if latest, held := ix.latest[k]; !held || latest.ID == id {
			return // retired already, and no other copy holds its key
		}
	}
	ix.retires++
	ix.setKeyLocked(id, "x"+strconv.FormatUint(ix.retires, 10)+":"+id)
}

// retiredKey reports whether k is a key retireKeyLocked gives.
func retiredKey(k string) bool {
	n, _, ok := strings.Cut(k, ":")
	if !ok || len(n) < 2 || n[0] != 'x' {
		return false
	}
	_, err := strconv.ParseUint(n[1:], 10, 64)
	return err == nil
}

// Renamed records that the API copy id was renamed (by a worker, or
// through the API for a file with no record): if it is the latest copy of
// a key, it holds the new name.
func (ix *Index[R]) Renamed(id, name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if key, e, ok := ix.latestOfLocked(id); ok {
		e.Name = name
		ix.latest[key] = e
	}
}

// Moved records that the API copy id was moved (by a worker, or through
// the API for a file with no record): if it is the latest copy of a key,
// it is in folder parentID under name now.
func (ix *Index[R]) Moved(id, parentID, name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if key, e, ok := ix.latestOfLocked(id); ok {
		e.ParentID, e.Name = parentID, name
		ix.latest[key] = e
	}
}

// Located notes where the bytes of the API copy id are, once a listing
// said so (an upload's answer may not).
func (ix *Index[R]) Located(id, url string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if key, e, ok := ix.latestOfLocked(id); ok && e.URL() == "" {
		e.SetURL(url)
		ix.latest[key] = e
	}
}

// latestOfLocked returns the key the API copy id holds (id itself when
// it holds none) and the copy's entry, when it is the latest copy of that
// key. The caller holds ix.mu.
func (ix *Index[R]) latestOfLocked(id string) (string, Entry, bool) {
	key, ok := ix.keys[id]
	if !ok {
		key = id
	}
	e, ok := ix.latest[key]
	return key, e, ok && e.ID == id
}

// Adopted is told that the upload answered as id is listed as x: the
// listed id holds that file's key from now on.
func (ix *Index[R]) Adopted(id string, x Entry) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	key, keyed := ix.keys[id]
	if keyed {
		ix.setKeyLocked(x.ID, key)
	} else {
		key = id
	}
	if e, ok := ix.latest[key]; ok && e.ID == id {
		x.Key, x.Name = key, e.Name
		ix.latest[key] = x
	}
}
