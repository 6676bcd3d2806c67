package spool

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
)

// Owner is what cacheDir/owner.json says: the library the cache belongs to.
type Owner struct {
	Location string `json:"location"`
	API      string `json:"api"`
}

// Library names the library a mount serves, and the names earlier
// versions of ghlfs gave its API: records written under LegacyAPI are set
// aside, never uploaded; records written under EarlierAPI are this
// library's (cache.Options says why).
type Library struct {
	Location, API, LegacyAPI, EarlierAPI string
}

// Found is a record a previous run left in the spool.
type Found struct {
	ID   string
	File RecordFile
	// Data is its bytes, open (nil when it has none), Size their size and
	// ModTime the time of their last write.
	Data    *os.File
	Size    int64
	ModTime time.Time
}

// Recover reads the records a previous run left in the spool of the cache
// directory dir, and returns those of lib for the queue to take up. A
// cache directory holding records of another library is refused: they are
// never sent elsewhere. Else the directory is claimed for lib (owner.json);
// records of an earlier ghlfs that must not be uploaded are set aside
// (their bytes to recovered/), and bytes no record holds are deleted.
func (s *Spool) Recover(dir string, lib Library) ([]*Found, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var records, legacy []*Found
	var foreign []string
	jsons := map[string]bool{}
	for _, de := range names {
		name := de.Name()
		switch {
		case strings.HasPrefix(name, "."), strings.HasSuffix(name, ".tmp"):
			os.Remove(filepath.Join(s.dir, name)) // a record half written
		case strings.HasSuffix(name, ".json"), strings.HasSuffix(name, ".data"):
			id := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".data")
			if jsons[id] {
				continue // its other file was read first
			}
			r, ferr := s.load(id)
			if r != nil || ferr != nil {
				jsons[id] = true
			}
			switch {
			case ferr != nil && strings.Contains(ferr.Error(), "newer than"):
				return nil, fmt.Errorf("spool: %s: %w", filepath.Join(s.dir, name), ferr)
			case ferr != nil:
				s.log.Error(fmt.Sprintf("spool: unreadable record %s; it is left as it is: %v", filepath.Join(s.dir, name), ferr))
			case r == nil:
			case r.File.Location == lib.Location && lib.EarlierAPI != "" && r.File.API == lib.EarlierAPI:
				// This very API, named as the previous ghlfs named it.
				r.File.API = lib.API
				records = append(records, r)
			case r.File.Location == lib.Location && lib.LegacyAPI != "" && r.File.API == lib.LegacyAPI:
				legacy = append(legacy, r)
			case r.File.Location != lib.Location || r.File.API != lib.API:
				foreign = append(foreign, fmt.Sprintf("%s (location %s at %s)", r.File.Name, r.File.Location, r.File.API))
			default:
				records = append(records, r)
			}
		}
	}
	if len(foreign) > 0 {
		return nil, fmt.Errorf("the cache dir %s holds %d files waiting for upload to another library: %s; mount that library with this cache dir to upload them, or give this mount its own --cache-dir",
			dir, len(foreign), strings.Join(foreign[:min(len(foreign), 3)], ", "))
	}
	if err := claim(dir, Owner{Location: lib.Location, API: lib.API}); err != nil {
		return nil, err
	}
	for _, r := range legacy {
		s.setAsideLegacy(r)
	}
	// Bytes with no record: a copy taken to change a file that was never
	// changed, or the bytes of a record that was done.
	for _, de := range names {
		if id, ok := strings.CutSuffix(de.Name(), ".data"); ok && !jsons[id] {
			os.Remove(filepath.Join(s.dir, de.Name()))
		}
	}
	return records, nil
}

// setAsideLegacy takes a record an earlier ghlfs wrote for a service on
// loopback, named then without its port: it may be another server's (one
// on another port of the host), so it is never uploaded. Its bytes go to
// recovered/ and the record leaves the spool, with one log line; a
// record without bytes (a rename or removal still to send) is dropped,
// and its line says what it was to do.
func (s *Spool) setAsideLegacy(r *Found) {
	why := fmt.Sprintf("an earlier ghlfs queued it for %s, a name that leaves out the port, so it may be another server's", r.File.API)
	if r.Data != nil {
		r.Data.Close() // the bytes stay: set aside below
		r.Data = nil
	}
	if _, err := os.Stat(s.DataPath(r.ID)); err == nil {
		s.SetAside(r.ID, r.File.Name, why)
	} else {
		s.log.Warn(fmt.Sprintf("%s: a change an earlier ghlfs queued (state %s, copy in the library %q) is dropped: %s", r.File.Name, r.File.State, r.File.RemoteID, why), "name", r.File.Name)
	}
	s.Delete(r.ID, r.File.Name)
}

// ReadOwner reads owner.json of the cache directory dir, if it has one.
func ReadOwner(dir string) (Owner, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "owner.json"))
	if err != nil {
		return Owner{}, false
	}
	var o Owner
	if json.Unmarshal(b, &o) != nil {
		return Owner{}, false
	}
	return o, true
}

// claim makes sure the cache directory dir belongs to the library want,
// and says so in owner.json.
func claim(dir string, want Owner) error {
	p := filepath.Join(dir, "owner.json")
	if b, err := os.ReadFile(p); err == nil {
		var have Owner
		if json.Unmarshal(b, &have) == nil && have == want {
			return nil
		}
	}
	b, _ := json.Marshal(want)
	if err := renameio.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("cache dir: %w", err)
	}
	return nil
}

// load reads a record's file, or the note on its bytes (NoteOn),
// whichever was written last, and opens its bytes; nil if it was set
// aside, or if there is neither.
func (s *Spool) load(id string) (*Found, error) {
	b, err := os.ReadFile(s.jsonPath(id))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var rf RecordFile
	if err == nil {
		if err := json.Unmarshal(b, &rf); err != nil {
			return nil, err
		}
	}
	note, nerr := readNote(s.DataPath(id))
	if nerr != nil {
		return nil, nerr // left as it is, bytes and all: it may be the record
	}
	if note != nil {
		var nf RecordFile
		if json.Unmarshal(note, &nf) == nil && (b == nil || nf.Seq > rf.Seq) {
			b, rf = note, nf
		}
	}
	if b == nil {
		return nil, nil // bytes no record holds
	}
	r := &Found{ID: id, File: rf}
	if rf.Format > Format {
		return nil, fmt.Errorf("record format %d is newer than this ghlfs (%d) knows: mount with a newer ghlfs", rf.Format, Format)
	}
	if rf.Format != Format {
		// Written by an earlier ghlfs, which could not tell bytes still
		// being written from complete ones: kept aside, never uploaded.
		// What it knew of the library is logged, for a person to sort out.
		var old struct {
			RemoteID  string    `json:"remoteId"`
			Replaces  []string  `json:"replaces"`
			AttemptAt time.Time `json:"attemptAt"`
			ParentID  string    `json:"parentId"`
		}
		_ = json.Unmarshal(b, &old)
		name := cmp.Or(rf.Name, "unnamed")
		s.log.Warn(fmt.Sprintf("%s: a record of an earlier ghlfs; its upload so far (if any) is %q, it was to replace %q, an upload attempt began at %v", name, old.RemoteID, old.Replaces, old.AttemptAt),
			"name", name, "parent", old.ParentID)
		s.setAsidePath(filepath.Join(s.dir, id), name, id, "it was left by an earlier version of ghlfs, which could not tell whether it was complete")
		os.Remove(s.jsonPath(id))
		return nil, nil
	}
	if f, err := os.OpenFile(s.DataPath(id), os.O_RDWR, 0o600); err == nil {
		fi, serr := f.Stat()
		if serr != nil {
			f.Close()
			return nil, serr
		}
		r.Data, r.Size, r.ModTime = f, fi.Size(), fi.ModTime()
	}
	return r, nil
}
