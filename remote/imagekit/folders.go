package imagekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// Folders. ImageKit lists a folder with a folderId, but every folder call
// takes a path, and no call finds a folder by id (doc, [G] api.md). The
// backend hands folders on by folderId, and keeps the path of each it has
// seen (folders); an id it has not seen (after a restart) is looked for
// folder by folder from the root. A folder seen at a path under another
// id than the one first seen there (a service that gives a folder a new
// id when a job renames or moves it: folderid-changes-on-rename) keeps
// the first id (aliases): for the API a folder is its path.

// canonical is the id a folder id stands for. mu held.
func (b *Backend) canonical(id string) string {
	if a, ok := b.aliases[id]; ok {
		return a
	}
	return id
}

// learnFolder notes folder id at path p and returns the id it is handed
// on by.
func (b *Backend) learnFolder(id, p string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	id = b.canonical(id)
	if _, known := b.folders[id]; !known {
		if other, ok := b.byPath[p]; ok && other != id {
			b.aliases[id] = other // the folder at p, under a new id
			return other
		}
		if len(b.folders) >= maxFolders {
			clear(b.folders) // bounded: forgotten ones are looked for again
			clear(b.byPath)
			clear(b.aliases)
		}
	}
	if old, ok := b.folders[id]; ok && b.byPath[old] == id {
		delete(b.byPath, old)
	}
	b.folders[id] = p
	b.byPath[p] = id
	return id
}

// maxFolders bounds the folders whose path is kept.
const maxFolders = 1 << 20

// knownFolder is the path of a folder id seen, if any.
func (b *Backend) knownFolder(id string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.folders[b.canonical(id)]
	return p, ok
}

// moved notes that the folder at path from is now at path to, with
// everything below it.
func (b *Backend) moved(from, to string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, p := range b.folders {
		if p == from || strings.HasPrefix(p, from+"/") {
			if b.byPath[p] == id {
				delete(b.byPath, p)
			}
			b.folders[id] = to + strings.TrimPrefix(p, from)
		}
	}
	for id, p := range b.folders {
		if p == to || strings.HasPrefix(p, to+"/") {
			b.byPath[p] = id
		}
	}
}

// forget drops the folder at path p and everything below it.
func (b *Backend) forget(p string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, q := range b.folders {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(b.folders, id)
			if b.byPath[q] == id {
				delete(b.byPath, q)
			}
		}
	}
}

// notFound is the error of a folder the library does not hold: a 404
// as the service would answer a call on it.
func notFound(what string) error {
	return &remote.Error{Method: http.MethodGet, Endpoint: "/v1/files", Status: http.StatusNotFound, Message: what + " is not in the library"}
}

// pathOf is the path of folder id ("" for the root): as seen, else looked
// for from the root.
func (b *Backend) pathOf(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	if p, ok := b.knownFolder(id); ok {
		return p, nil
	}
	if !validID(id) {
		return "", notFound("folder " + clean(id, 64))
	}
	queue := []string{""}
	seen := 0
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		var found string
		err := b.listDir(ctx, dir, "folder", "folder "+dir+"/", nil, func(w wireItem) {
			if !w.folder() {
				return
			}
			seen++
			p := dir + "/" + w.Name
			if b.learnFolder(w.FolderID, p) == id && found == "" {
				found = p
			}
			queue = append(queue, p)
		})
		if err != nil {
			return "", err
		}
		if found != "" {
			return found, nil
		}
		if seen > b.maxItems {
			break
		}
	}
	return "", notFound("folder " + id)
}

// verified is how long a folder seen to exist is taken to, before an
// upload or a creation into it looks again (the service would make a
// folder deleted meanwhile anew).
const verified = 5 * time.Second

// existingFolder is the path of folder id, once a listing of its own
// folder showed it still there under that id: an upload, or a folder's
// creation, into a path the library no longer holds would make it anew
// (doc: the upload's folder and missing parents are created).
func (b *Backend) existingFolder(ctx context.Context, id string) (string, error) {
	p, err := b.pathOf(ctx, id)
	if err != nil || id == "" {
		return p, err
	}
	b.mu.Lock()
	at, ok := b.seen[b.canonical(id)]
	b.mu.Unlock()
	if ok && b.clk.Since(at) < verified {
		return p, nil
	}
	dir, name := split(p)
	w, found, err := b.lookupFolder(ctx, dir, name)
	if err != nil {
		return "", err
	}
	if !found {
		b.forget(p)
		return "", notFound("folder " + p)
	}
	// A folder at p under another id is the same for the API, which
	// takes paths: it is taken for id (learnFolder's aliases).
	b.learnFolder(w.FolderID, p)
	b.mu.Lock()
	if len(b.seen) >= maxFolders {
		clear(b.seen)
	}
	b.seen[b.canonical(id)] = b.clk.Now()
	b.mu.Unlock()
	return p, nil
}

// lookupFolder finds the folder named name in folder path dir.
func (b *Backend) lookupFolder(ctx context.Context, dir, name string) (wireItem, bool, error) {
	var out wireItem
	found := false
	err := b.listDir(ctx, dir, "folder", "folder "+dir+"/", func() { found = false }, func(w wireItem) {
		if w.folder() && w.Name == name && !found {
			out, found = w, true
		}
	})
	return out, found, err
}

// split cuts "/a/b" into "/a" and "b".
func split(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	return p[:max(i, 0)], p[i+1:]
}

// CreateFolder makes folder name in parentID: EEXIST where a folder holds
// the name (the service would answer success), ErrInvalid for a name it
// would rewrite, ErrNotFound when parentID is gone (the service would
// make it anew). POST /v1/folder is sent again after a lost answer: a
// folder made twice is the same folder.
func (b *Backend) CreateFolder(ctx context.Context, parentID, name string) (remote.Item, error) {
	if err := ValidName(name, true); err != nil {
		return remote.Item{}, err
	}
	dir, err := b.existingFolder(ctx, parentID)
	if err != nil {
		return remote.Item{}, err
	}
	if _, taken, err := b.lookupFolder(ctx, dir, name); err != nil {
		return remote.Item{}, err
	} else if taken {
		return remote.Item{}, fmt.Errorf("imagekit: folder %s/%s: %w", dir, name, remote.ErrExists)
	}
	_, err = b.api.Do(ctx, remote.Call{Method: http.MethodPost, Endpoint: "/v1/folder", Path: "/v1/folder",
		Body: remote.JSONBody(map[string]string{"folderName": name, "parentFolderPath": dir + "/"}), Idempotent: true})
	if err != nil {
		return remote.Item{}, err
	}
	w, found, err := b.lookupFolder(ctx, dir, name)
	if err != nil {
		return remote.Item{}, err
	}
	if !found || !validID(w.FolderID) {
		return remote.Item{}, fmt.Errorf("imagekit: folder %s/%s: made, but its folder does not list it", dir, name)
	}
	return b.item(w, parentID, dir), nil
}

// Job statuses (doc: GET /v1/bulkJobs/{jobId}).
const (
	jobPending   = "Pending"
	jobCompleted = "Completed"
)

// job sends a folder job (moveFolder, renameFolder) and polls it until it
// is done: backoff from 250ms to 5s on the client's clock, JobTimeout in
// all. The jobs are documented as POST; rclone sends PUT: a 404 or 405
// with no reason of the service's (no route) makes the backend try the
// other method once, and keep to the one taken. A start whose answer is
// lost (a 5xx, a cut) is sent again while a look shows the folder from
// (a path) still there and to not (four attempts in all); else it stays
// remote.ErrAmbiguous.
func (b *Backend) job(ctx context.Context, name string, body any, from, to string) error {
	for attempt := 0; ; attempt++ {
		lost, err := b.jobOnce(ctx, name, body)
		if !lost || attempt >= 3 || !b.undone(ctx, from, to) {
			return err
		}
		b.log.Debug("a folder job was not started; sending it again", "job", name, "err", err)
		if werr := remote.Sleep(ctx, b.clk, remote.Backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return err
		}
	}
}

// undone reports whether a look shows the folder at path from still there
// and none at path to: a job from one to the other was not carried out.
func (b *Backend) undone(ctx context.Context, from, to string) bool {
	dir, name := split(from)
	_, there, err := b.lookupFolder(ctx, dir, name)
	if err != nil || !there {
		return false
	}
	dir, name = split(to)
	_, there, err = b.lookupFolder(ctx, dir, name)
	return err == nil && !there
}

// jobOnce is one attempt of job; lost reports that the start's answer
// was lost (remote.ErrAmbiguous).
func (b *Backend) jobOnce(ctx context.Context, name string, body any) (lost bool, err error) {
	route := "/v1/bulkJobs/" + name
	b.mu.Lock()
	method := b.jobMethod
	b.mu.Unlock()
	methods := []string{http.MethodPost, http.MethodPut}
	if method != "" {
		methods = []string{method}
	}
	var data []byte
	for _, m := range methods {
		data, err = b.api.Do(ctx, remote.Call{Method: m, Endpoint: route, Path: route, Body: remote.JSONBody(body)})
		var e *remote.Error
		if errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusMethodNotAllowed) && e.Kind == "" {
			continue // no such route for this method
		}
		if err == nil {
			b.mu.Lock()
			b.jobMethod = m
			b.mu.Unlock()
		}
		break
	}
	if err != nil {
		return errors.Is(err, remote.ErrAmbiguous), err
	}
	var j struct {
		JobID string `json:"jobId"`
	}
	if json.Unmarshal(data, &j) != nil || !validID(j.JobID) {
		return false, fmt.Errorf("%s %s: the answer names no job", http.MethodPost, route)
	}
	deadline := b.clk.Now().Add(b.jobWait)
	wait := 250 * time.Millisecond
	for {
		data, err := b.api.Do(ctx, remote.Call{Method: http.MethodGet, Endpoint: "/v1/bulkJobs/{jobId}", Path: "/v1/bulkJobs/" + j.JobID, Idempotent: true})
		if err != nil {
			return false, err
		}
		var st struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(data, &st) != nil {
			return false, fmt.Errorf("GET /v1/bulkJobs/{jobId}: the answer is no job status")
		}
		switch st.Status {
		case jobCompleted:
			return false, nil
		case jobPending:
		default:
			return false, fmt.Errorf("GET /v1/bulkJobs/{jobId}: job %s of %s: status %q", j.JobID, name, clean(st.Status, 64))
		}
		if b.clk.Now().Add(wait).After(deadline) {
			return false, fmt.Errorf("%w: job %s of %s still pending after %v", remote.ErrAmbiguous, j.JobID, name, b.jobWait)
		}
		if err := remote.Sleep(ctx, b.clk, wait); err != nil {
			return false, err
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// renameFolder renames the folder at p (a job), refusing a name a folder
// of its folder holds.
func (b *Backend) renameFolder(ctx context.Context, id, p, name string) error {
	if err := ValidName(name, true); err != nil {
		return err
	}
	dir, old := split(p)
	if old == name {
		return nil
	}
	if _, taken, err := b.lookupFolder(ctx, dir, name); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("imagekit: renaming folder %s to %s: %w", p, name, remote.ErrExists)
	}
	if err := b.job(ctx, "renameFolder", map[string]any{"folderPath": p + "/", "newFolderName": name, "purgeCache": false}, p, dir+"/"+name); err != nil {
		return err
	}
	b.moved(p, dir+"/"+name)
	return nil
}

// moveFolder moves the folder at p into folder path dest (a job).
func (b *Backend) moveFolder(ctx context.Context, p, dest string) error {
	if dest == p || strings.HasPrefix(dest, p+"/") {
		return fmt.Errorf("imagekit: moving folder %s into %s: %w: a folder cannot go into itself", p, dest, remote.ErrInvalid)
	}
	_, name := split(p)
	if _, taken, err := b.lookupFolder(ctx, dest, name); err != nil {
		return err
	} else if taken {
		return fmt.Errorf("imagekit: moving folder %s into %s/: %w", p, dest, remote.ErrExists)
	}
	err := b.job(ctx, "moveFolder", map[string]any{"sourceFolderPath": p + "/", "destinationPath": dest + "/"}, p, dest+"/"+name)
	var e *remote.Error
	if errors.As(err, &e) && e.Kind == "NO_FILES_FOLDER" {
		// The service moves no empty folder (doc [D]): mv copies it.
		return fmt.Errorf("imagekit: moving folder %s: %w: ImageKit moves no empty folder (%v)", p, remote.ErrNotSupported, err)
	}
	if err != nil {
		return err
	}
	b.moved(p, dest+"/"+name)
	return nil
}
