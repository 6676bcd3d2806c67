package cache

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ghlfs/ghlfs/cache/internal/content"
	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/remote"
)

// A file's versions, where the service keeps them (Caps.Versions): what
// the filesystem's .versions view shows, reads and removes. They are the
// service's versions of the file's copy in the API, listed by the
// backend (Backend.Versions), kept a few seconds, and read through the
// content part by the file's id and the version's Rev, as the file's own
// bytes are (Entry.ContentKey).

// versionsTTL is how long a file's versions, once listed, are shown
// without asking again (less where Options.DirTTL is less): a version
// made or removed by another client shows within it; one made or
// removed through the mount at once.
const versionsTTL = 10 * time.Second

// maxVersions bounds the versions kept of one file: more is an answer
// refused (ErrBadAnswer), never cut.
const maxVersions = 10000

// Version is one version of a file in the library.
type Version struct {
	// ID is the file's id in the API; Rev the version's token
	// (remote.Version.Rev).
	ID, Rev string
	// Num is the version's number as the service shows it, from 1; no
	// two versions of a file share one.
	Num int
	// Size is -1 when the service did not say.
	Size    int64
	ModTime time.Time
	// Current marks the version the file's name reads: it is the file
	// itself, and is never removed as a version (ErrInUse).
	Current bool
	// of is the file's copy in the API, as the versions were listed for
	// it: where its bytes are read from.
	of Entry
}

// versionsSeen are a file's versions as last listed.
type versionsSeen struct {
	rev   string    // the file's version when they were listed
	until time.Time // shown without asking again until then
	list  []Version
}

// Versions lists the versions of file e, by number (the current one
// marked): those the service keeps of the file's copy in the API. A file
// whose newest bytes still wait in the write-back queue shows the
// versions of the copy those bytes will replace; a file never uploaded
// has none (ErrNotFound). They are kept for versionsTTL on the clock
// (Options.DirTTL if less), and asked again at once when the file
// changes (a listing or an upload gives it another version) or a version
// is removed through the mount. ErrNotSupported where the service keeps
// no versions.
func (s *Store) Versions(ctx context.Context, e Entry) ([]Version, error) {
	if !s.caps.Versions {
		return nil, fmt.Errorf("%w: %s keeps no versions of a file", ErrNotSupported, s.caps.Kind)
	}
	f, err := s.versioned(e)
	if err != nil {
		return nil, err
	}
	now := s.opts.Clock.Now()
	s.mu.Lock()
	seen, ok := s.versions[f.ID]
	gen := s.versionsGen
	s.mu.Unlock()
	if ok && seen.rev == f.Rev && now.Before(seen.until) {
		return slices.Clone(seen.list), nil
	}
	// A removal through the mount since a listing began is not to be
	// shown by it: a new generation, a listing of its own.
	key := f.ID + "\x00" + f.Rev + "\x00" + strconv.FormatUint(gen, 10)
	v, err, _ := s.vflights.Do(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.OpTimeout)
		defer cancel()
		vs, err := s.rc.Versions(ctx, f.ID)
		if err != nil {
			return nil, entry.Translate(err)
		}
		list, err := s.versionsOf(f, vs)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.versionsGen == gen {
			for id, x := range s.versions {
				if !now.Before(x.until) {
					delete(s.versions, id) // expired: the map does not grow with every file looked at
				}
			}
			s.versions[f.ID] = versionsSeen{rev: f.Rev, until: now.Add(min(versionsTTL, s.opts.DirTTL)), list: list}
		}
		return list, nil
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]Version)), nil
}

// versionsOf is the versions the backend listed for f, checked: at most
// maxVersions; one of a number below 1, or of a number or a Rev listed
// already, or of no Rev, is left out, with one log line.
func (s *Store) versionsOf(f Entry, vs []remote.Version) ([]Version, error) {
	if len(vs) > maxVersions {
		return nil, fmt.Errorf("%w: %s: %d versions, more than %d", ErrBadAnswer, f.Name, len(vs), maxVersions)
	}
	list := make([]Version, 0, len(vs))
	bad := 0
	for _, v := range vs {
		if v.Num < 1 || v.Rev == "" || slices.ContainsFunc(list, func(x Version) bool { return x.Num == v.Num || x.Rev == v.Rev }) {
			bad++
			continue
		}
		list = append(list, Version{ID: f.ID, Rev: v.Rev, Num: v.Num, Size: v.Size, ModTime: v.ModTime, Current: v.Current, of: f})
	}
	if bad > 0 {
		s.log.Warn(fmt.Sprintf("versions of %s: left out %d the service numbered badly (below 1, or a number or a version twice)", f.Name, bad), "name", f.Name)
	}
	slices.SortFunc(list, func(a, b Version) int { return a.Num - b.Num })
	return list, nil
}

// versioned is the copy in the API whose versions file e shows: the file
// as its listing (or an upload through the mount) gives it, or, where its
// newest bytes still wait in the write-back queue, the copy they will
// replace. A file never uploaded, or whose upload no listing has shown
// yet, has none (ErrNotFound).
func (s *Store) versioned(e Entry) (Entry, error) {
	if e.IsDir {
		return Entry{}, fmt.Errorf("%w: %s is a folder", ErrNotFound, e.Name)
	}
	if r := s.q.Lookup(e.Key); r != nil && !r.InAPI() {
		c, ok := r.APICopy()
		if !ok {
			return Entry{}, fmt.Errorf("%w: %s: the library holds no version of it yet", ErrNotFound, e.Name)
		}
		e = c
	} else if e = s.latest(e); e.Pending || e.ID == "" {
		return Entry{}, fmt.Errorf("%w: %s: the library holds no version of it yet", ErrNotFound, e.Name)
	}
	x, ok := s.q.Known(e)
	if !ok {
		return Entry{}, fmt.Errorf("%w: %s: no listing shows its upload yet", ErrNotFound, e.Name)
	}
	return x, nil
}

// forgetVersions drops what was listed of file id's versions, and of
// listings under way (a new generation).
func (s *Store) forgetVersions(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.versions, id)
	s.versionsGen++
}

// RemoveVersion removes version v of its file from the library, for good
// on every service that keeps versions (Backend.RemoveVersion). The
// current version is the file itself: it is refused before anything is
// sent (ErrInUse; rm of the file removes it), as it is when the service
// says it became current meanwhile. Like other changes, it runs to its
// answer once sent, whatever the caller does.
func (s *Store) RemoveVersion(ctx context.Context, v Version) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if !s.caps.Versions {
		return fmt.Errorf("%w: %s keeps no versions of a file", ErrNotSupported, s.caps.Kind)
	}
	if v.Current {
		return fmt.Errorf("%w: version %d of %s is its current version, the file itself: removing the file removes it", ErrInUse, v.Num, v.of.Name)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	err := s.rc.RemoveVersion(ctx, v.ID, v.Rev)
	s.forgetVersions(v.ID)
	if err != nil {
		return fmt.Errorf("version %d of %s: %w", v.Num, v.of.Name, entry.Translate(err))
	}
	return nil
}

// VersionReader reads one version of a file: its bytes never change.
type VersionReader struct {
	r *content.Reader
}

// OpenVersion opens version v for reading: through the content part,
// keyed by the file's id and the version's Rev, so bytes cached of one
// version are never served for another. Where bytes come from urls, a
// file whose url is not known yet is looked up in its folder first.
func (s *Store) OpenVersion(ctx context.Context, v Version) (*VersionReader, error) {
	e := v.of
	e.ID, e.Rev, e.Size, e.ModTime = v.ID, v.Rev, v.Size, v.ModTime
	e, err := s.locate(ctx, e)
	if err != nil {
		return nil, err
	}
	return &VersionReader{r: s.content.Reader(e)}, nil
}

// Read returns the version's bytes from off on, up to n of them, as
// Handle.Read does: slices of the cache's chunks, and a function to call
// once they have been used; io.EOF at the end.
func (h *VersionReader) Read(ctx context.Context, n int, off int64) ([][]byte, func(), error) {
	return h.r.Read(ctx, n, off)
}
