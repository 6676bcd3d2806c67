package ghltest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// LocationOptions describe one location (sub-account) of Options.Locations.
type LocationOptions struct {
	ID      string // required, unique
	Name    string // default "Location N" (N counts from 1)
	Address string // default a made-up street address
	// Seed is "" (an empty library) or "demo"; default Options.Seed. The
	// first location's demo library is the classic one; every other
	// location's is derived from its id (see the package documentation).
	Seed string
	// Token is a Private Integration Token of this location ("" none).
	// The first location's token is Options.Token.
	Token string
	// NotInstalled: the app is not installed in this location (it is
	// listed by /locations/search and by /oauth/installedLocations with
	// "isInstalled": false; no OAuth token is issued for it).
	NotInstalled bool
}

// DemoLocations returns n locations with demo libraries of different
// content: DefaultLocationID, then "demo-location-2" ... "demo-location-N",
// named "Demo Location 1" ... "Demo Location N".
func DemoLocations(n int) []LocationOptions {
	out := make([]LocationOptions, n)
	for i := range out {
		id := DefaultLocationID
		if i > 0 {
			id += "-" + strconv.Itoa(i+1)
		}
		out[i] = LocationOptions{ID: id, Name: "Demo Location " + strconv.Itoa(i+1), Seed: "demo"}
	}
	return out
}

// Location is one location (sub-account) the fake serves: its library,
// its rate limiter and its counters. Server's own library methods (Items,
// AddFile, ...) act on the first location.
type Location struct {
	s       *Server
	index   int
	id      string
	name    string
	address string
	seed    string
	pit     string // its Private Integration Token; the first location's is Server.currentToken
	store   *store
	disk    *persister // nil: memory only
	limiter *limiter

	installed atomic.Bool
	down      atomic.Bool
	requests  atomic.Int64 // authenticated API requests (see LocationStats)
}

// LocationStats count what one location (or, for Stats.Company, the
// agency) was asked.
type LocationStats struct {
	// APIRequests counts the API requests that carried a valid token of the
	// location, whatever their answer (scope refusals and 429s included).
	APIRequests int64 `json:"api_requests"`
	// RateLimited counts the location's 429s from its rate limiter.
	RateLimited int64 `json:"rate_limited"`
	// MaxInWindow is the largest number of requests the location's rate
	// limiter let through within one sliding RateWindow.
	MaxInWindow int64 `json:"max_in_window"`
}

// ID is the location's id.
func (l *Location) ID() string { return l.id }

// Name is the location's name, as the location endpoints give it.
func (l *Location) Name() string { return l.name }

// Installed reports whether the app is installed in the location.
func (l *Location) Installed() bool { return l.installed.Load() }

// SetInstalled installs the app in the location, or uninstalls it:
// uninstalling revokes every OAuth token of the location (the access and
// refresh tokens of Location grants for it, and the tokens minted for it
// with /oauth/locationToken), drops it from installedLocations?isInstalled=true
// and makes /oauth/locationToken refuse it. Installing again revives no
// token. A Private Integration Token is no app and keeps working.
func (l *Location) SetInstalled(on bool) {
	if l.installed.Swap(on) && !on {
		l.s.oauth.revokeLocation(l.id)
	}
}

// SetDown makes the location's API calls answer 503 (after the token
// check), or serve again: one location that fails while the others work.
func (l *Location) SetDown(down bool) { l.down.Store(down) }

// Stats returns the location's counters.
func (l *Location) Stats() LocationStats {
	return LocationStats{
		APIRequests: l.requests.Load(),
		RateLimited: l.limiter.refused(),
		MaxInWindow: int64(l.limiter.maxSeen()),
	}
}

// Items returns every item of the location, including trashed and deleted
// ones, sorted by id.
func (l *Location) Items() []Item {
	var out []Item
	for _, it := range l.store.all() {
		out = append(out, l.s.publicItem(it))
	}
	return out
}

// Item returns one item of the location, whatever its status.
func (l *Location) Item(id string) (Item, bool) {
	it, ok := l.store.lookup(id)
	if !ok {
		return Item{}, false
	}
	return l.s.publicItem(it), true
}

// Content returns a copy of a file's bytes, whatever its status.
func (l *Location) Content(id string) ([]byte, bool) {
	it, ok := l.store.lookup(id)
	if !ok || it.typ != TypeFile {
		return nil, false
	}
	return append([]byte(nil), it.data...), true
}

// AddFolder creates a folder under parentID ("" = root) and returns its id.
// It panics when parentID is not an active folder.
func (l *Location) AddFolder(parentID, name string) string {
	it, err := l.store.addFolder(parentID, name)
	if err != nil {
		panic(fmt.Sprintf("ghltest: AddFolder(%q, %q): %v", parentID, name, err))
	}
	return it.id
}

// AddFile creates a file under parentID ("" = root) and returns its id. An
// empty contentType is guessed from the name's extension. It panics when
// parentID is not an active folder or the bytes cannot be stored.
func (l *Location) AddFile(parentID, name, contentType string, data []byte) string {
	it, err := l.store.addFile(parentID, name, contentType, append([]byte(nil), data...), l.blobWriter())
	if err != nil {
		panic(fmt.Sprintf("ghltest: AddFile(%q, %q): %v", parentID, name, err))
	}
	return it.id
}

// AddFiles creates files under parentID ("" = root), all with one
// creation time, as a bulk import makes them, and returns their ids. data[i]
// is the content of names[i]; content types are guessed from the names.
func (l *Location) AddFiles(parentID string, names []string, data [][]byte) []string {
	ids, err := l.store.addFilesAt(parentID, names, data, l.store.stamp(), l.blobWriter())
	if err != nil {
		panic(fmt.Sprintf("ghltest: AddFiles(%q): %v", parentID, err))
	}
	return ids
}

// blobWriter is what stores a new file's bytes on disk, or nil.
func (l *Location) blobWriter() func(string, []byte) error {
	if l.disk == nil {
		return nil
	}
	return l.disk.writeBlob
}

// Location returns the location with the given id, or nil.
func (s *Server) Location(id string) *Location {
	for _, l := range s.locs {
		if l.id == id {
			return l
		}
	}
	return nil
}

// Locations returns every location, in the order of Options.Locations.
func (s *Server) Locations() []*Location { return slices.Clone(s.locs) }

// locationOptions is the list of locations Options ask for.
func locationOptions(opts Options) ([]LocationOptions, error) {
	if len(opts.Locations) == 0 {
		id := opts.LocationID
		if id == "" {
			id = DefaultLocationID
		}
		return []LocationOptions{{ID: id, Seed: opts.Seed}}, nil
	}
	if opts.LocationID != "" && opts.LocationID != opts.Locations[0].ID {
		return nil, fmt.Errorf("ghltest: LocationID %q is not the first of Locations (%q)", opts.LocationID, opts.Locations[0].ID)
	}
	out := slices.Clone(opts.Locations)
	seen := map[string]bool{}
	for i := range out {
		lo := &out[i]
		if lo.ID == "" || seen[lo.ID] {
			return nil, fmt.Errorf("ghltest: location %d has an empty or repeated id %q", i+1, lo.ID)
		}
		seen[lo.ID] = true
		if i == 0 && lo.Token != "" {
			return nil, errors.New("ghltest: the first location's token is Options.Token")
		}
		if lo.Seed == "" {
			lo.Seed = opts.Seed
		}
	}
	return out, nil
}

// locationDir is where a location's library is kept under Options.DataDir:
// the first location in DataDir itself (so that a directory of one
// location stays as it was), every other in DataDir/locations/<id>.
func locationDir(dataDir string, index int, id string) string {
	if index == 0 {
		return dataDir
	}
	return filepath.Join(dataDir, "locations", url.PathEscape(id))
}

// newLocation builds one location and its library.
func (s *Server) newLocation(i int, lo LocationOptions, opts Options, limit int) (*Location, error) {
	l := &Location{
		s:       s,
		index:   i,
		id:      lo.ID,
		name:    lo.Name,
		address: lo.Address,
		seed:    lo.Seed,
		pit:     lo.Token,
	}
	if l.name == "" {
		l.name = "Location " + strconv.Itoa(i+1)
	}
	if l.address == "" {
		l.address = strconv.Itoa(10+7*i) + " Demo Street, Springfield"
	}
	l.installed.Store(!lo.NotInstalled)
	window, daily := opts.RateWindow, opts.DailyLimit
	if window <= 0 {
		window = DefaultRateWindow
	}
	if daily == 0 {
		daily = DefaultDailyLimit
	}
	l.limiter = newLimiter(s.now, limit, window, daily)
	l.store = newStore(l.id, s.serverNow, newIDGen(s.rand))
	l.store.lag = func() time.Duration { return s.quirkSet().lag }
	l.store.uuidIDs = func() bool { return s.quirkSet().has(QuirkUUIDIDs) }
	l.store.uuid = s.traceID // a random version 4 UUID
	loaded := false
	if opts.DataDir != "" {
		dir := locationDir(opts.DataDir, i, l.id)
		l.disk = &persister{dir: dir, log: s.log}
		var err error
		if loaded, err = l.disk.load(l.store); err != nil {
			return nil, fmt.Errorf("ghltest: loading %s: %w", dir, err)
		}
	}
	if !loaded {
		if err := s.applySeed(l, lo.Seed); err != nil {
			return nil, err
		}
		if s.quirks.has(QuirkEssentialFolders) {
			seedSystemFolders(l.store)
		}
	}
	if lo.Seed == "demo" {
		seedCSVDemo(l) // kept in memory only: seeded at every start
	}
	if l.disk != nil {
		l.store.save = l.disk.saveState
		if !loaded {
			if err := l.writeAll(); err != nil {
				return nil, fmt.Errorf("ghltest: writing %s: %w", l.disk.dir, err)
			}
		}
	}
	return l, nil
}

// writeAll writes the whole library to the data directory.
func (l *Location) writeAll() error {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	for _, it := range l.store.items {
		if it.typ == TypeFile {
			if err := l.disk.writeBlob(it.id, it.data); err != nil {
				return err
			}
		}
	}
	l.disk.saveState(l.store)
	return nil
}

// checkLocation answers 403 (401 under location-401) and reports false
// when altId is not the location the token belongs to.
func (l *Location) checkLocation(w http.ResponseWriter, altID string) bool {
	if altID != l.id {
		errLocation(w, l.id, altID, l.s.quirkSet().has(QuirkLocation401))
		return false
	}
	return true
}
