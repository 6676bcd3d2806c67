package ghltest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// On disk, a data directory holds
//
//	DIR/state.json   the metadata of every item (including trashed and deleted ones)
//	DIR/blobs/<id>   the bytes of each file
//
// Both are written to a temporary file and renamed into place, so a reader
// (or a restart after a crash) never sees half a file. Blobs are written
// before the state that names them.

const stateVersion = 1

type stateFile struct {
	Version    int         `json:"version"`
	LocationID string      `json:"locationId"`
	Items      []stateItem `json:"items"`
}

type stateItem struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	ParentID    string    `json:"parentId,omitempty"`
	Status      string    `json:"status"`
	ContentType string    `json:"contentType,omitempty"`
	Size        int64     `json:"size,omitempty"`
	Path        string    `json:"path,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	Essential   bool      `json:"isEssential,omitempty"`
	AppFolder   bool      `json:"appFolder,omitempty"`
	TrashedAt   time.Time `json:"trashedAt,omitzero"`
	RemovedBy   string    `json:"removedBy,omitempty"`
}

type persister struct {
	dir string
	log *slog.Logger
}

func (p *persister) statePath() string { return filepath.Join(p.dir, "state.json") }

func (p *persister) blobPath(id string) string { return filepath.Join(p.dir, "blobs", id) }

// writeBlob stores the bytes of a new file.
func (p *persister) writeBlob(id string, data []byte) error {
	return writeAtomic(p.blobPath(id), data)
}

// saveState writes state.json from st. st.mu is held. A failure is logged:
// the change has happened in memory and the fake carries on.
func (p *persister) saveState(st *store) {
	sf := stateFile{Version: stateVersion, LocationID: st.loc}
	for _, it := range st.items {
		sf.Items = append(sf.Items, stateItem{
			ID:          it.id,
			Name:        it.name,
			Type:        it.typ,
			ParentID:    it.parentID,
			Status:      it.status,
			ContentType: it.contentType,
			Size:        it.size,
			Path:        it.objectPath,
			CreatedAt:   it.createdAt,
			UpdatedAt:   it.updatedAt,
			Essential:   it.essential,
			AppFolder:   it.appFolder,
			TrashedAt:   it.trashedAt,
			RemovedBy:   it.removedBy,
		})
	}
	slices.SortFunc(sf.Items, func(a, b stateItem) int { return strings.Compare(a.ID, b.ID) })
	b, err := json.MarshalIndent(sf, "", "  ")
	if err == nil {
		err = writeAtomic(p.statePath(), append(b, '\n'))
	}
	if err != nil {
		p.log.Error("ghlfake: saving state failed", "dir", p.dir, "err", err)
	}
}

// load fills st from the data directory. It reports false when the
// directory holds no state yet.
func (p *persister) load(st *store) (bool, error) {
	b, err := os.ReadFile(p.statePath())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var sf stateFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return false, fmt.Errorf("%s: %w", p.statePath(), err)
	}
	if sf.Version != stateVersion {
		return false, fmt.Errorf("%s: unknown version %d", p.statePath(), sf.Version)
	}
	if sf.LocationID != st.loc {
		return false, fmt.Errorf("%s holds location %q, not %q", p.dir, sf.LocationID, st.loc)
	}
	for _, si := range sf.Items {
		it := &item{
			id:          si.ID,
			name:        si.Name,
			typ:         si.Type,
			parentID:    si.ParentID,
			status:      si.Status,
			contentType: si.ContentType,
			size:        si.Size,
			objectPath:  si.Path,
			createdAt:   si.CreatedAt.UTC(),
			updatedAt:   si.UpdatedAt.UTC(),
			essential:   si.Essential,
			appFolder:   si.AppFolder,
			removedBy:   si.RemovedBy,
		}
		if !si.TrashedAt.IsZero() {
			it.trashedAt = si.TrashedAt.UTC()
		}
		if !validID(it.id) || (it.typ != TypeFile && it.typ != TypeFolder) {
			return false, fmt.Errorf("%s: bad item %q (%s)", p.statePath(), it.id, it.typ)
		}
		if it.typ == TypeFile {
			data, err := os.ReadFile(p.blobPath(it.id))
			if err != nil {
				return false, err
			}
			if int64(len(data)) != it.size {
				return false, fmt.Errorf("%s: %d bytes, state says %d", p.blobPath(it.id), len(data), it.size)
			}
			it.data = data
		}
		st.items[it.id] = it
		if obj, ok := strings.CutPrefix(it.objectPath, "msgsndr/"+st.loc+"/media/"); ok && it.typ == TypeFile && !strings.HasPrefix(obj, it.id) {
			st.objects[it.objectPath] = it.id // stored under another name (upload-id-differs)
		}
	}
	return true, nil
}

// writeAtomic writes data to name through a temporary file and a rename.
func writeAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}
