package writeback

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// recoverSpool takes up the records a previous run left, by the table in
// record.go, and queues what they still need. A cache directory holding
// records of another library is refused: they are never sent elsewhere.
func (q *Queue) recoverSpool(dir string) error {
	if err := os.MkdirAll(q.spool, 0o700); err != nil {
		return fmt.Errorf("cache dir: %w", err)
	}
	names, err := os.ReadDir(q.spool)
	if err != nil {
		return err
	}
	var records, legacy []*Record
	var foreign []string
	jsons := map[string]bool{}
	for _, de := range names {
		name := de.Name()
		switch {
		case strings.HasPrefix(name, "."), strings.HasSuffix(name, ".tmp"):
			os.Remove(filepath.Join(q.spool, name)) // a record half written
		case strings.HasSuffix(name, ".json"):
			id := strings.TrimSuffix(name, ".json")
			jsons[id] = true
			r, ferr := q.load(id)
			switch {
			case ferr != nil && strings.Contains(ferr.Error(), "newer than"):
				return fmt.Errorf("spool: %s: %w", filepath.Join(q.spool, name), ferr)
			case ferr != nil:
				q.log.Error(fmt.Sprintf("spool: unreadable record %s; it is left as it is: %v", filepath.Join(q.spool, name), ferr))
			case r == nil:
			case r.rf.Location == q.location && q.earlierAPI != "" && r.rf.API == q.earlierAPI:
				// This very API, named as the previous ghlfs named it.
				r.rf.API = q.api
				records = append(records, r)
			case r.rf.Location == q.location && q.legacyAPI != "" && r.rf.API == q.legacyAPI:
				legacy = append(legacy, r)
			case r.rf.Location != q.location || r.rf.API != q.api:
				foreign = append(foreign, fmt.Sprintf("%s (location %s at %s)", r.rf.Name, r.rf.Location, r.rf.API))
			default:
				records = append(records, r)
			}
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("the cache dir %s holds %d files waiting for upload to another library: %s; mount that library with this cache dir to upload them, or give this mount its own --cache-dir",
			dir, len(foreign), strings.Join(foreign[:min(len(foreign), 3)], ", "))
	}
	if err := q.claim(dir); err != nil {
		return err
	}
	for _, r := range legacy {
		q.setAsideLegacy(r)
	}
	// Bytes with no record: a copy taken to change a file that was never
	// changed, or the bytes of a record that was done.
	for _, de := range names {
		if id, ok := strings.CutSuffix(de.Name(), ".data"); ok && !jsons[id] {
			os.Remove(filepath.Join(q.spool, de.Name()))
		}
	}
	// A record another was renamed over is dropped (its copies in the API
	// are the other record's to retire).
	superseded := map[string]bool{}
	for _, r := range records {
		for _, id := range r.rf.Supersedes {
			superseded[id] = true
		}
	}
	for _, r := range records {
		r.mu.Lock()
		if superseded[r.id] && r.state != stateRemoved {
			r.rf.RemoteID, r.rf.Replaces = "", nil
			if r.rf.Attempt == nil {
				r.closeDataLocked()
				r.unsaveLocked()
				r.mu.Unlock()
				continue
			}
			r.state = stateRemoved
			r.saveLocked()
		}
		q.resume(r)
		r.mu.Unlock()
	}
	return nil
}

// setAsideLegacy takes a record an earlier ghlfs wrote for a service on
// loopback, named then without its port: it may be another server's (one
// on another port of the host), so it is never uploaded. Its bytes go to
// recovered/ and the record leaves the spool, with one log line; a
// record without bytes (a rename or removal still to send) is dropped,
// and its line says what it was to do.
func (q *Queue) setAsideLegacy(r *Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	why := fmt.Sprintf("an earlier ghlfs queued it for %s, a name that leaves out the port, so it may be another server's", r.rf.API)
	if r.data != nil {
		r.data.Close() // the bytes stay: set aside below
		r.data = nil
	}
	if _, err := os.Stat(r.dataPath()); err == nil {
		q.setAside(r, why)
	} else {
		q.log.Warn(fmt.Sprintf("%s: a change an earlier ghlfs queued (state %s, copy in the library %q) is dropped: %s", r.rf.Name, r.rf.State, r.rf.RemoteID, why), "name", r.rf.Name)
	}
	r.unsaveLocked()
}

// readOwner reads owner.json of the cache directory dir, if it has one.
func readOwner(dir string) (Owner, bool) {
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

// claim makes sure the cache directory belongs to this library, and says
// so in owner.json.
func (q *Queue) claim(dir string) error {
	p := filepath.Join(dir, "owner.json")
	want := Owner{Location: q.location, API: q.api}
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

// load reads a record's file; nil if it was set aside.
func (q *Queue) load(id string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(q.spool, id+".json"))
	if err != nil {
		return nil, err
	}
	var rf recordFile
	if err := json.Unmarshal(b, &rf); err != nil {
		return nil, err
	}
	r := q.newRecord(id, rf.Key)
	r.rf, r.state, r.saved = rf, rf.State, true
	if rf.Format > recordFormat {
		return nil, fmt.Errorf("record format %d is newer than this ghlfs (%d) knows: mount with a newer ghlfs", rf.Format, recordFormat)
	}
	if rf.Format != recordFormat {
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
		r.rf.Name = cmp.Or(rf.Name, "unnamed")
		q.log.Warn(fmt.Sprintf("%s: a record of an earlier ghlfs; its upload so far (if any) is %q, it was to replace %q, an upload attempt began at %v", r.rf.Name, old.RemoteID, old.Replaces, old.AttemptAt),
			"name", r.rf.Name, "parent", old.ParentID)
		q.setAsidePath(filepath.Join(q.spool, id), r.rf.Name, id, "it was left by an earlier version of ghlfs, which could not tell whether it was complete")
		os.Remove(filepath.Join(q.spool, id+".json"))
		return nil, nil
	}
	if f, err := os.OpenFile(r.dataPath(), os.O_RDWR, 0o600); err == nil {
		fi, serr := f.Stat()
		if serr != nil {
			f.Close()
			return nil, serr
		}
		r.data, r.size, r.touched = f, fi.Size(), fi.ModTime()
	}
	return r, nil
}

// resume puts a record found at start back to work; the caller holds r.mu.
func (q *Queue) resume(r *Record) {
	switch r.state {
	case stateWriting:
		// Still being written when ghlfs stopped, or a write failed: never
		// uploaded on its own.
		if r.data != nil {
			why := "it was still being written when ghlfs stopped"
			if r.rf.Failed != "" {
				why = "a write failed: " + r.rf.Failed
			}
			r.data.Close()
			r.data = nil
			q.setAside(r, why)
		}
		if a := r.rf.Attempt; a != nil {
			// An earlier, complete version may have landed: if it did, it
			// owns the name.
			r.rf.Content = a.Content
			r.state = stateUploading
			r.aside = true
			r.saveLocked()
			break
		}
		r.rf.Failed = ""
		r.aside = true
		r.rf.Content = r.rf.Uploaded
		if r.rf.RemoteID != "" && (len(r.rf.Replaces) > 0 || r.rf.Name != r.rf.RemoteName) {
			r.state = stateUploaded
			r.saveLocked()
			break
		}
		r.unsaveLocked()
		return
	case stateComplete, stateUploading:
		// Closed before the restart: quiet long enough.
		r.rf.Due = q.clock.Now()
		if why := r.damagedLocked(); why != "" {
			// The bytes are not what was complete (a power cut, say): never
			// uploaded as they are.
			if r.data != nil {
				r.data.Close()
				r.data = nil
				q.setAside(r, why)
			}
			r.aside = true
			if a := r.rf.Attempt; a != nil {
				// Sent before: if that upload landed, it owns the name.
				r.rf.Content = a.Content
				r.state = stateUploading
				r.saveLocked()
				break
			}
			r.rf.Content = r.rf.Uploaded
			r.state = stateUploaded
			if r.rf.RemoteID == "" || (len(r.rf.Replaces) == 0 && r.rf.Name == r.rf.RemoteName) {
				r.unsaveLocked()
				return
			}
			r.saveLocked()
		}
	case stateRemoved:
		r.closeDataLocked()
	case stateCopying:
		// Renamed where the API cannot rename: its bytes are copied in
		// again, from the start (copyIn truncates what a copy left).
		r.copied = false
	case stateUploaded, stateRetiring:
		// The copy in the API holds these bytes; if the spool's copy is not
		// them any more (a power cut), it goes, and the API's stands.
		if r.data != nil && (r.rf.Content != r.rf.Uploaded || r.damagedLocked() != "") {
			r.closeDataLocked()
		}
		if r.data == nil {
			r.aside = true
		}
		// This mount knows the upload as the file's.
		q.mu.Lock()
		q.setKeyLocked(r.rf.RemoteID, r.key)
		q.mu.Unlock()
	case stateIdle, stateFilling:
		// Nothing was pending (these states are never meant to be saved).
		r.closeDataLocked()
		r.unsaveLocked()
		return
	default:
		q.log.Error(fmt.Sprintf("spool: record %s of %s in an unknown state %q; left as it is", r.id, r.rf.Name, r.state))
		if r.data != nil {
			r.data.Close()
		}
		return
	}
	q.mu.Lock()
	if r.state != stateRemoved {
		// Also a record whose bytes were set aside, while it still has work:
		// a change to the file waits for it (modify), a rename or removal
		// goes through it.
		q.byKey[r.key] = r
	}
	q.byID[r.id] = r
	q.mu.Unlock()
	for id, c := range r.rf.Claims {
		r.keepClaimLocked(id, c) // listings look for it again
	}
	q.log.Info("found a file waiting for upload", "name", r.rf.Name, "state", r.state, "bytes", r.size)
	r.publishLocked()
	r.scheduleLocked(time.Time{})
}

// damagedLocked says how a record's bytes differ from what they were when
// complete; "" if they do not.
func (r *Record) damagedLocked() string {
	switch {
	case r.data == nil:
		return "its bytes are missing"
	case r.size != r.rf.Size:
		return fmt.Sprintf("its bytes (%d) are not the size they were when complete (%d)", r.size, r.rf.Size)
	}
	sum, err := checksum(r.data, r.size)
	switch {
	case err != nil:
		return "its bytes cannot be read: " + err.Error()
	case sum != r.rf.Sum:
		return "its bytes are not what they were when complete (checksum)"
	}
	return ""
}

// setAsidePath is setAside for bytes at a path, outside any record.
func (q *Queue) setAsidePath(p, name, id, why string) {
	q.setAsideAt(slog.LevelWarn, p, name, id, why)
}

// setAsideAt is setAsidePath, saying where the bytes went at level (the
// failure itself may have been reported already).
func (q *Queue) setAsideAt(level slog.Level, p, name, id, why string) {
	fi, err := os.Stat(p)
	if err != nil {
		return
	}
	if fi.Size() == 0 {
		os.Remove(p) // nothing to keep
		q.log.Debug("an empty file was not uploaded", "name", name, "why", why)
		return
	}
	if err := os.MkdirAll(q.rescue, 0o700); err != nil {
		q.log.Error(fmt.Sprintf("%s: %s; its bytes stay in %s: %v", name, why, p, err), "name", name)
		return
	}
	dest := filepath.Join(q.rescue, q.clock.Now().UTC().Format("20060102-150405")+"-"+id+"-"+safeFileName(name))
	if err := os.Rename(p, dest); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.log.Error(fmt.Sprintf("%s: %s; its bytes stay in %s: %v", name, why, p, err), "name", name)
		return
	}
	q.log.Log(context.Background(), level, fmt.Sprintf("%s was not uploaded (%s); its bytes are kept in %s", name, why, dest), "name", name, "path", dest)
}
