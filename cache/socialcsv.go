package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/remote"
)

// The social planner's CSV imports (Options.SocialCSV), where the backend
// has them (remote.SocialCSV, found with a type assertion: HighLevel's):
// a listing of the imports and each one's generated content, read-only
// but for a removal. The filesystem shows them as a folder of JSON files
// (fs/socialcsv.go); this is what it reads. It is apart from the folders
// and the write-back queue: imports are no files of the library, and
// nothing of them is written to the cache dir.
//
// The listing is fetched once however many ask (singleflight, in the
// first asker's goroutine: nothing runs behind) and trusted
// for Options.DirTTL, as a folder's is; each import's content, the record
// and its posts, is generated when first asked for and kept while the
// listing shows the import as it was then (status and count) and the
// import is done (completed or failed), else for the TTL; at most
// maxCSVHeld bytes of them. Every call to the API is a background call
// (remote.Background): users' calls to the library go first. A removal
// is a call of its own, which the tool waits for.
//
// SocialCSV.mu is a leaf: no call to the API, nor to another part, is
// made with it held.

// Errors of the imports, beside the Store's kinds.
var (
	// ErrImportBusy: the import is still being made (importing or
	// in_progress): it is not removed, and nothing is sent. It is no
	// failure of the mount: the user may try again once it is done.
	ErrImportBusy = errors.New("the import is still being made")
	// ErrImportsAbsent comes with ErrNotFound when the token may not read
	// the imports (it lacks the scope): the folder is not shown.
	ErrImportsAbsent = errors.New("the token may not read the social planner's CSV imports")
)

// Bounds on what is kept of the imports.
const (
	// maxCSVContent bounds one import's generated content.
	maxCSVContent = 64 << 20
	// maxCSVHeld bounds the contents kept, all imports together.
	maxCSVHeld = 64 << 20
)

// CSVImport is an import as the mount shows it: from the listing,
// bounded and checked by the backend.
type CSVImport struct {
	ID       string
	FileName string
	Status   string
	// Count is its posts, as the listing says; -1 when it did not.
	Count      int64
	AccountIDs []string
	CreatedAt  time.Time // zero when unknown
}

// Busy reports whether the import is still being made (importing or
// in_progress): a removal is refused (ErrImportBusy).
func (c CSVImport) Busy() bool {
	return c.Status == remote.CSVImporting || c.Status == remote.CSVInProgress
}

// done reports whether the import's content will not change: completed
// or failed.
func (c CSVImport) done() bool {
	return c.Status == remote.CSVCompleted || c.Status == remote.CSVFailed
}

// SocialCSV is the social planner's CSV imports of the Store's library.
type SocialCSV struct {
	rc       remote.SocialCSV
	clock    clockwork.Clock
	ttl      time.Duration
	timeout  time.Duration
	readOnly bool
	log      *slog.Logger

	flights singleflight.Group

	mu       sync.Mutex
	absent   bool        // guarded by mu: the token may not read them
	imports  []CSVImport // guarded by mu: as last listed, deleted ones left out
	listedAt time.Time   // guarded by mu; zero: not listed
	contents map[string]*csvContent
	held     int64 // guarded by mu: bytes in contents
	// removals counts the imports removed through the mount, and removed
	// holds each one's count: a listing that began before a removal
	// leaves that import out (fetchList). Guarded by mu; one entry per
	// rm that the service answered.
	removals uint64
	removed  map[string]uint64
}

// csvContent is an import's generated content, and what the import was
// when it was made.
type csvContent struct {
	data   []byte
	status string
	count  int64
	at     time.Time
}

// newSocialCSV returns the imports of rc, if it has any; nil otherwise.
func newSocialCSV(rc remote.Backend, opts Options) *SocialCSV {
	sc, ok := rc.(remote.SocialCSV)
	if !ok || !opts.SocialCSV {
		if opts.SocialCSV {
			opts.Logger.Warn("the service has no social planner CSV imports: --social-csv shows nothing", "kind", rc.Caps().Kind)
		}
		return nil
	}
	return &SocialCSV{rc: sc, clock: opts.Clock, ttl: opts.DirTTL, timeout: opts.OpTimeout, readOnly: opts.ReadOnly,
		log: opts.Logger, contents: make(map[string]*csvContent), removed: make(map[string]uint64)}
}

// SocialCSV is the library's social planner CSV imports; nil when the
// mount does not show them (Options.SocialCSV), or the service has none.
func (s *Store) SocialCSV() *SocialCSV { return s.social }

// Probe lists the imports once, within ctx, so that the mount knows
// whether the token may read them before it shows anything: a token
// without the scope leaves them out (Shown), with one INFO line. Any
// other failure leaves them shown: they are listed again when opened.
func (v *SocialCSV) Probe(ctx context.Context) {
	if _, err := v.list(ctx, false); err != nil && !errors.Is(err, ErrImportsAbsent) {
		v.log.Debug("could not list the social planner's CSV imports yet", "err", err)
	}
}

// Shown reports whether the imports are shown: false once the token was
// refused the scope to read them.
func (v *SocialCSV) Shown() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return !v.absent
}

// Imports lists the imports, deleted ones left out, from a listing at
// most Options.DirTTL old. ErrImportsAbsent (with ErrNotFound) when the
// token may not read them.
func (v *SocialCSV) Imports(ctx context.Context) ([]CSVImport, error) {
	return v.list(ctx, false)
}

// list is Imports; fresh asks the service whatever the listing's age.
func (v *SocialCSV) list(ctx context.Context, fresh bool) ([]CSVImport, error) {
	v.mu.Lock()
	absent := v.absent
	ok := !v.listedAt.IsZero() && v.clock.Since(v.listedAt) < v.ttl
	imports := v.imports
	v.mu.Unlock()
	switch {
	case absent:
		return nil, fmt.Errorf("%w: %w", ErrNotFound, ErrImportsAbsent)
	case ok && !fresh:
		return imports, nil
	}
	key := "list"
	if fresh {
		key = "fresh"
	}
	r, err, _ := v.flights.Do(key, func() (any, error) { return v.fetchList(ctx) })
	if err != nil {
		return nil, err
	}
	return r.([]CSVImport), nil
}

// fetchList lists the imports from the service, and keeps them.
func (v *SocialCSV) fetchList(ctx context.Context) ([]CSVImport, error) {
	started := v.clock.Now()
	v.mu.Lock()
	before := v.removals
	v.mu.Unlock()
	all, err := v.rc.CSVImports(remote.Background(ctx))
	if errors.Is(err, remote.ErrScope) {
		v.mu.Lock()
		first := !v.absent
		v.absent = true
		v.imports, v.listedAt = nil, time.Time{}
		v.mu.Unlock()
		if first {
			v.log.Info(fmt.Sprintf("the social planner's CSV imports are not shown: the token may not read them (it needs the scope %s; grant it and log in again, or give a token that has it): %v", remote.CSVReadScope, err))
		}
		return nil, fmt.Errorf("%w: %w", ErrNotFound, ErrImportsAbsent)
	}
	if err != nil {
		return nil, fmt.Errorf("listing the social planner's CSV imports: %w", entry.Translate(err))
	}
	shown := make([]CSVImport, 0, len(all))
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, imp := range all {
		if imp.Status == remote.CSVDeleted || v.removed[imp.ID] > before {
			continue // deleted, or removed while this listing was on its way
		}
		shown = append(shown, CSVImport{ID: imp.ID, FileName: imp.FileName, Status: imp.Status, Count: imp.Count,
			AccountIDs: imp.AccountIDs, CreatedAt: imp.CreatedAt})
	}
	v.imports, v.listedAt = shown, started
	return shown, nil
}

// Content is an import's content as the mount shows it: its record and
// every post, as the service gave them, in one JSON object,
// {"csv": <record>, "posts": [...]}, indented, with a newline at the end.
// It is generated when first asked for, and kept while the import is as
// imp (the listing's) shows it and done, else for Options.DirTTL.
func (v *SocialCSV) Content(ctx context.Context, imp CSVImport) ([]byte, error) {
	v.mu.Lock()
	c := v.contents[imp.ID]
	v.mu.Unlock()
	if c != nil && c.status == imp.Status && c.count == imp.Count && (imp.done() || v.clock.Since(c.at) < v.ttl) {
		return c.data, nil
	}
	r, err, _ := v.flights.Do("content/"+imp.ID, func() (any, error) { return v.fetchContent(ctx, imp) })
	if err != nil {
		return nil, err
	}
	return r.([]byte), nil
}

// fetchContent reads an import with its posts, makes its content, and
// keeps it.
func (v *SocialCSV) fetchContent(ctx context.Context, imp CSVImport) ([]byte, error) {
	started := v.clock.Now()
	d, err := v.rc.CSVImport(remote.Background(ctx), imp.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the social planner's CSV import %s: %w", imp.ID, entry.Translate(err))
	}
	data, err := csvContentOf(d)
	if err != nil {
		return nil, fmt.Errorf("the social planner's CSV import %s: %w", imp.ID, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if old := v.contents[imp.ID]; old != nil {
		v.held -= int64(len(old.data))
	}
	if v.held+int64(len(data)) > maxCSVHeld {
		clear(v.contents) // bounded: forget, at worst each is made again
		v.held = 0
	}
	v.contents[imp.ID] = &csvContent{data: data, status: imp.Status, count: imp.Count, at: started}
	v.held += int64(len(data))
	return data, nil
}

// csvContentOf is the content of an import: {"csv": <record>, "posts":
// [...]}, indented by two spaces, strings as the service sent them
// (without HTML escapes), and a newline at the end.
func csvContentOf(d remote.CSVDetail) ([]byte, error) {
	posts := d.Posts
	if posts == nil {
		posts = []json.RawMessage{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		CSV   json.RawMessage   `json:"csv"`
		Posts []json.RawMessage `json:"posts"`
	}{d.Record, posts}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	if b.Len() > maxCSVContent {
		return nil, fmt.Errorf("%w: its content would be %d bytes, more than the %d ghlfs shows", ErrBadAnswer, b.Len(), maxCSVContent)
	}
	return b.Bytes(), nil
}

// Remove deletes an import, and reports the service's refusal as what
// the tool should hear:
//
//   - an import still being made (Busy): ErrImportBusy, and nothing is
//     sent;
//   - 200: gone;
//   - 400 or 404: the imports are listed again to decide: an import no
//     longer listed (or listed as deleted) is gone, whoever removed it;
//     one still listed is ErrInvalid (400) or ErrNotFound (404), with the
//     service's message;
//   - 401 or 403: ErrPermission, naming the scope a removal needs;
//   - 422: ErrInvalid, with every message of the service;
//   - 429 and 5xx are retried by the request core; what is left is the
//     Store's kind of the failure (ErrBusy, ErrUnavailable).
func (v *SocialCSV) Remove(ctx context.Context, imp CSVImport) error {
	if v.readOnly {
		return ErrReadOnly
	}
	if imp.Busy() {
		return fmt.Errorf("%w: %w: it is %s; remove it once it is completed", ErrImportBusy, remote.ErrBusy, imp.Status)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.timeout)
	defer cancel()
	err := v.rc.DeleteCSVImport(ctx, imp.ID)
	if err == nil {
		v.forget(imp.ID)
		return nil
	}
	var apiErr *remote.Error
	status := 0
	if errors.As(err, &apiErr) {
		status = apiErr.Status
	}
	switch {
	case status == http.StatusBadRequest || status == http.StatusNotFound:
		all, lerr := v.list(ctx, true)
		if lerr != nil {
			return fmt.Errorf("%w (and listing the imports again to see whether it is gone failed: %v)", entry.Translate(err), lerr)
		}
		if !slices.ContainsFunc(all, func(c CSVImport) bool { return c.ID == imp.ID }) {
			v.forget(imp.ID)
			return nil // gone, whoever removed it
		}
		kind := ErrInvalid
		if status == http.StatusNotFound {
			kind = ErrNotFound
		}
		return fmt.Errorf("%w: the service refused to remove it, and still lists it: %w", kind, err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%w: the token may not remove imports (it needs the scope %s): %w", ErrPermission, remote.CSVWriteScope, err)
	case status == http.StatusUnprocessableEntity:
		return fmt.Errorf("%w: the service refused to remove it: %w", ErrInvalid, err)
	}
	return entry.Translate(err)
}

// forget drops a removed import from the listing and its content.
func (v *SocialCSV) forget(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.removals++
	v.removed[id] = v.removals
	v.imports = slices.DeleteFunc(slices.Clone(v.imports), func(c CSVImport) bool { return c.ID == id })
	if c := v.contents[id]; c != nil {
		v.held -= int64(len(c.data))
		delete(v.contents, id)
	}
}
