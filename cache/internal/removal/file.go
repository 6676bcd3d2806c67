package removal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/ghlfs/ghlfs/cache/internal/fsync"
)

// Format is the version of a removal file's layout.
const Format = 1

// Kind and State name the one kind of record this package writes to the
// spool, and its one state: a removal written before its unlink
// returned, not applied yet (doc.go).
const (
	Kind        = "removal"
	StateQueued = "queued"
	suffix      = ".removal"
)

// File is what a removal's file (spool/SID.removal) holds. Its layout is
// the spool's format on disk: a field renamed here is a spool an earlier
// ghlfs left that this one can no longer read.
type File struct {
	Format int    `json:"format"`
	Kind   string `json:"kind"`
	// Location and API name the library the removal belongs to: it is
	// never sent anywhere else.
	Location string `json:"location"`
	API      string `json:"api"`
	State    string `json:"state"`
	// ID is the file to remove; ParentID and Name where the mount showed
	// it (for the view it is hidden from, and the log lines).
	ID        string    `json:"id"`
	ParentID  string    `json:"parentId"`
	Name      string    `json:"name"`
	Permanent bool      `json:"permanent"`
	Queued    time.Time `json:"queued"`
}

// newSID is a new removal's name in the spool: random, so that no two
// mounts (nor a clock set back) ever give one name twice.
func newSID() string {
	var b [8]byte
	rand.Read(b[:])
	return "rm-" + hex.EncodeToString(b[:])
}

func (q *Queue) path(sid string) string { return filepath.Join(q.dir, sid+suffix) }

// save writes f as removal sid, atomically and durably: the unlink
// returns only once it would survive a crash.
func (q *Queue) save(sid string, f *File) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(q.dir, 0o700); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := renameio.WriteFile(q.path(sid), b, 0o600); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := fsync.Dir(q.dir); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// drop deletes removal sid: it was applied.
func (q *Queue) drop(sid, name string) {
	if err := os.Remove(q.path(sid)); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.log.Warn("spool: could not delete a removal", "name", name, "err", err)
	}
	fsync.Dir(q.dir)
}

// found is a removal a previous run left.
type found struct {
	sid string
	f   File
}

// load reads the removals of the spool that belong to this library; those
// of another are left where they are, with one line each.
func (q *Queue) load() ([]found, error) {
	des, err := os.ReadDir(q.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []found
	for _, de := range des {
		sid, ok := strings.CutSuffix(de.Name(), suffix)
		if !ok || strings.HasPrefix(sid, ".") {
			continue
		}
		b, err := os.ReadFile(q.path(sid))
		var f File
		if err == nil {
			err = json.Unmarshal(b, &f)
		}
		switch {
		case err != nil:
			q.log.Error(fmt.Sprintf("spool: unreadable removal %s; it is left as it is: %v", q.path(sid), err))
		case f.Format > Format:
			return nil, fmt.Errorf("spool: %s: format %d is newer than this ghlfs's (%d)", q.path(sid), f.Format, Format)
		case f.Kind != Kind || f.State != StateQueued || f.ID == "":
			q.log.Error(fmt.Sprintf("spool: removal %s of kind %q, state %q: not one this ghlfs sends; it is left as it is", q.path(sid), f.Kind, f.State))
		case f.Location != q.cfg.Location || f.API != q.cfg.API:
			q.log.Warn(fmt.Sprintf("spool: the removal of %s was queued for location %q at %s, not this library: it is left as it is", f.Name, f.Location, f.API), "name", f.Name)
		default:
			out = append(out, found{sid, f})
		}
	}
	return out, nil
}
