package ghltest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The social planner's CSV imports: each location's imports and the CSVs
// staged for them (the API: handlers_socialcsv.go). Kept in memory only,
// not in DataDir; the demo seed gives every location a few.
//
// An import's status moves on its own: one that is importing or
// in_progress becomes completed at its doneAt, on the fake's clock
// (Options.Now), looked at whenever the imports are read; a finalize
// (PATCH) makes a pending import importing for CSVImportTime.

// DefaultCSVImportTime is how long a finalized import is importing before
// it is completed (SetCSVImportTime changes it).
const DefaultCSVImportTime = 2 * time.Second

// CSVImportSeed describes an import AddCSVImport makes, as the service
// would hold it.
type CSVImportSeed struct {
	FileName   string
	Status     string   // default "completed"
	AccountIDs []string // default one made-up account
	// CreatedAt is the import's time; default now (the fake's clock).
	CreatedAt time.Time
	// Posts are its posts as the API gives them (JSON objects); nil:
	// Rows made-up posts.
	Posts []json.RawMessage
	Rows  int
	// DoneAt, for an importing or in_progress import, is when it becomes
	// completed on its own; zero: never, until SetCSVStatus.
	DoneAt    time.Time
	CreatedBy string // default "ghlfake-user"
}

// CSVImportState is an import as the fake holds it: its record as GET csv
// lists it, and its posts as GET csv/{id} gives them.
type CSVImportState struct {
	ID     string            `json:"-"`
	Status string            `json:"-"`
	Record json.RawMessage   `json:"csv"`
	Posts  []json.RawMessage `json:"posts"`
}

// socialCSV is the fake's CSV imports, of every location. Its lock is a
// leaf: the quirks and the time are read before it is taken.
type socialCSV struct {
	mu         sync.Mutex
	locs       map[string]*csvLibrary // by location id
	importTime time.Duration          // 0: DefaultCSVImportTime
	ids        *idGen
}

// csvLibrary is one location's imports and staged CSVs.
type csvLibrary struct {
	imports map[string]*csvImport // by id
	staged  map[string]stagedCSV  // by filePath
}

type csvImport struct {
	id, fileName, file, status string
	accountIDs                 []string
	createdBy, traceID         string
	originID, approver         string
	count                      int
	createdAt                  time.Time
	doneAt                     time.Time
	posts                      []json.RawMessage
}

// stagedCSV is a CSV uploaded, waiting for set-accounts.
type stagedCSV struct {
	fileName string
	header   []string
	rows     [][]string
}

// lib is location loc's imports, made at first use. Called with mu held.
func (c *socialCSV) lib(loc string) *csvLibrary {
	if c.locs == nil {
		c.locs = map[string]*csvLibrary{}
	}
	l := c.locs[loc]
	if l == nil {
		l = &csvLibrary{imports: map[string]*csvImport{}, staged: map[string]stagedCSV{}}
		c.locs[loc] = l
	}
	return l
}

// settle moves the imports whose time has come to completed. Called with
// mu held.
func (l *csvLibrary) settle(now time.Time) {
	for _, imp := range l.imports {
		if (imp.status == "importing" || imp.status == "in_progress") && !imp.doneAt.IsZero() && !now.Before(imp.doneAt) {
			imp.status = "completed"
		}
	}
}

// sorted is the imports in the listing's order: newest first, ties by id
// (descending). Called with mu held.
func (l *csvLibrary) sorted() []*csvImport {
	out := make([]*csvImport, 0, len(l.imports))
	for _, imp := range l.imports {
		out = append(out, imp)
	}
	slices.SortFunc(out, func(a, b *csvImport) int {
		return cmp.Or(b.createdAt.Compare(a.createdAt), strings.Compare(b.id, a.id))
	})
	return out
}

// record is the import as the API lists it (CSVImportSchema's fields, in
// its order).
func (imp *csvImport) record(loc string) object {
	o := object{{"_id", imp.id}, {"locationId", loc}, {"fileName", imp.fileName}, {"accountIds", slices.Clone(imp.accountIDs)},
		{"file", imp.file}, {"status", imp.status}, {"count", imp.count}, {"createdBy", imp.createdBy},
		{"traceId", imp.traceID}, {"originId", imp.originID}}
	if imp.approver != "" {
		o = append(o, field{"approver", imp.approver})
	}
	return append(o, field{"createdAt", formatTime(imp.createdAt)})
}

// deleteRecord is the import as DELETE's answer gives it (CsvResponse:
// no _id, no createdAt), as it was before the deletion, as Mongoose's
// findOneAndUpdate returns a document.
func (imp *csvImport) deleteRecord(loc string) object {
	var o object
	for _, f := range imp.record(loc) {
		if f.key != "_id" && f.key != "createdAt" {
			o = append(o, f)
		}
	}
	return o
}

func (imp *csvImport) state(loc string) CSVImportState {
	rec, _ := marshalJSON(imp.record(loc))
	posts := slices.Clone(imp.posts)
	if posts == nil {
		posts = []json.RawMessage{} // as GET csv/{id} gives none
	}
	return CSVImportState{ID: imp.id, Status: imp.status, Record: rec, Posts: posts}
}

// SetCSVImportTime sets how long a finalized import is importing before
// it is completed (0: DefaultCSVImportTime).
func (s *Server) SetCSVImportTime(d time.Duration) {
	s.csv.mu.Lock()
	s.csv.importTime = d
	s.csv.mu.Unlock()
}

func (s *Server) csvImportTime() time.Duration {
	s.csv.mu.Lock()
	defer s.csv.mu.Unlock()
	return cmp.Or(s.csv.importTime, DefaultCSVImportTime)
}

// newCSVID is a new import's id (24 hex digits, as the spec's example).
func (s *Server) newCSVID(now time.Time) string {
	s.csv.mu.Lock()
	if s.csv.ids == nil {
		s.csv.ids = newIDGen(s.rand)
	}
	g := s.csv.ids
	s.csv.mu.Unlock()
	return g.next(now)
}

// AddCSVImport adds an import to the first location; see
// Location.AddCSVImport.
func (s *Server) AddCSVImport(seed CSVImportSeed) string { return s.primary.AddCSVImport(seed) }

// CSVImports returns the first location's imports; see
// Location.CSVImports.
func (s *Server) CSVImports() []CSVImportState { return s.primary.CSVImports() }

// AddCSVImport adds an import to the location, as set-accounts (and a
// finalize) would have made it, and returns its id. A status the service
// does not have panics.
func (l *Location) AddCSVImport(seed CSVImportSeed) string {
	s := l.s
	now := s.serverNow()
	seed.Status = cmp.Or(seed.Status, "completed")
	if !slices.Contains(csvStatuses, seed.Status) {
		panic(fmt.Sprintf("ghltest: AddCSVImport: status %q is none of %s", seed.Status, strings.Join(csvStatuses, ", ")))
	}
	at := seed.CreatedAt
	if at.IsZero() {
		at = now
	}
	imp := &csvImport{
		id: s.newCSVID(at), fileName: seed.FileName, status: seed.Status,
		accountIDs: seed.AccountIDs, createdBy: cmp.Or(seed.CreatedBy, "ghlfake-user"),
		traceID: s.traceID(), originID: s.traceID(), createdAt: at.UTC().Truncate(time.Millisecond), doneAt: seed.DoneAt,
	}
	imp.file = l.id + "/social-import/" + s.traceID() + ".csv"
	if imp.accountIDs == nil {
		imp.accountIDs = []string{"acct_" + l.id + "_demo"}
	}
	imp.posts = slices.Clone(seed.Posts)
	if imp.posts == nil {
		for i := range seed.Rows {
			imp.posts = append(imp.posts, madeUpPost(imp.accountIDs, i, imp.createdAt))
		}
	}
	imp.count = len(imp.posts)
	s.csv.mu.Lock()
	s.csv.lib(l.id).imports[imp.id] = imp
	s.csv.mu.Unlock()
	return imp.id
}

// CSVImports returns the location's imports, deleted ones too, in the
// listing's order (newest first), each with its posts: what the API would
// give of each, now.
func (l *Location) CSVImports() []CSVImportState {
	now := l.s.serverNow()
	l.s.csv.mu.Lock()
	defer l.s.csv.mu.Unlock()
	lib := l.s.csv.lib(l.id)
	lib.settle(now)
	var out []CSVImportState
	for _, imp := range lib.sorted() {
		out = append(out, imp.state(l.id))
	}
	return out
}

// CSVImport returns one import of the location, whatever its status.
func (l *Location) CSVImport(id string) (CSVImportState, bool) {
	now := l.s.serverNow()
	l.s.csv.mu.Lock()
	defer l.s.csv.mu.Unlock()
	lib := l.s.csv.lib(l.id)
	lib.settle(now)
	imp := lib.imports[id]
	if imp == nil {
		return CSVImportState{}, false
	}
	return imp.state(l.id), true
}

// SetCSVStatus sets an import's status (as the service's own work would),
// and reports whether the location has it.
func (l *Location) SetCSVStatus(id, status string) bool {
	if !slices.Contains(csvStatuses, status) {
		panic(fmt.Sprintf("ghltest: SetCSVStatus: status %q is none of %s", status, strings.Join(csvStatuses, ", ")))
	}
	l.s.csv.mu.Lock()
	defer l.s.csv.mu.Unlock()
	imp := l.s.csv.lib(l.id).imports[id]
	if imp != nil {
		imp.status, imp.doneAt = status, time.Time{}
	}
	return imp != nil
}

// csvStatuses are the statuses the spec lists.
var csvStatuses = []string{"pending", "in_progress", "completed", "failed", "in_review", "importing", "deleted"}

// madeUpPost is the i-th post of a seeded import, as CSVPostSchema has
// one.
func madeUpPost(accounts []string, i int, at time.Time) json.RawMessage {
	o := object{{"accountIds", slices.Clone(accounts)}, {"summary", fmt.Sprintf("Post %d: something worth sharing", i+1)},
		{"scheduleDate", formatTime(at.Add(time.Duration(i+1) * 24 * time.Hour))}, {"type", "post"},
		{"medias", []object{{{"url", fmt.Sprintf("https://storage.googleapis.com/ghlfake/media/post-%d.png", i+1)}, {"type", "image/png"}}}}}
	b, _ := marshalJSON(o)
	return b
}

// seedCSVDemo gives a demo location three imports: two completed, one
// failed.
func seedCSVDemo(l *Location) {
	base := time.Date(2025, 2, 3, 9, 30, 0, 0, time.UTC)
	if l.index > 0 {
		base = base.Add(time.Duration(l.index) * 36 * time.Hour)
	}
	l.AddCSVImport(CSVImportSeed{FileName: "Spring campaign.csv", CreatedAt: base, Rows: 6})
	l.AddCSVImport(CSVImportSeed{FileName: "Weekly tips.csv", CreatedAt: base.Add(72 * time.Hour), Rows: 3})
	l.AddCSVImport(CSVImportSeed{FileName: "Holiday posts.csv", Status: "failed", CreatedAt: base.Add(150 * time.Hour), Rows: 2})
}

// csvControlSeed is one import of POST /_ghlfake/social-csv.
type csvControlSeed struct {
	FileName   string            `json:"fileName"`
	Status     string            `json:"status"`
	AccountIDs []string          `json:"accountIds"`
	CreatedAt  time.Time         `json:"createdAt"`
	Posts      []json.RawMessage `json:"posts"`
	Rows       int               `json:"rows"`
	DoneIn     Duration          `json:"doneIn"` // importing: completed this long from now
}

// serveCSVControl serves the CSV imports' control endpoints:
//
//	GET  /_ghlfake/social-csv?location=ID   every import, deleted ones too,
//	     newest first: {"imports": [{"csv": <record>, "posts": [...]}]}
//	POST /_ghlfake/social-csv                add imports: {"location": "ID",
//	     "imports": [{"fileName", "status", "accountIds", "createdAt",
//	     "posts", "rows", "doneIn"}]}, answered {"ids": [...]}
//
// The location defaults to the first.
func (s *Server) serveCSVControl(w http.ResponseWriter, r *http.Request) {
	loc := s.primary
	switch r.Method {
	case http.MethodGet:
		if id := r.URL.Query().Get("location"); id != "" {
			if loc = s.Location(id); loc == nil {
				writeError(w, http.StatusNotFound, "no such location", "Not Found")
				return
			}
		}
		all := loc.CSVImports()
		if all == nil {
			all = []CSVImportState{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"imports": all})
	case http.MethodPost:
		var body struct {
			Location string           `json:"location"`
			Imports  []csvControlSeed `json:"imports"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 16<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "Bad Request")
			return
		}
		if body.Location != "" {
			if loc = s.Location(body.Location); loc == nil {
				writeError(w, http.StatusNotFound, "no such location", "Not Found")
				return
			}
		}
		for _, im := range body.Imports {
			if im.Status != "" && !slices.Contains(csvStatuses, im.Status) {
				writeError(w, http.StatusBadRequest, "status "+strconv.Quote(im.Status)+" is none of "+strings.Join(csvStatuses, ", "), "Bad Request")
				return
			}
		}
		ids := []string{}
		for _, im := range body.Imports {
			seed := CSVImportSeed{FileName: im.FileName, Status: im.Status, AccountIDs: im.AccountIDs, CreatedAt: im.CreatedAt, Posts: im.Posts, Rows: im.Rows}
			if im.DoneIn > 0 {
				seed.DoneAt = s.serverNow().Add(time.Duration(im.DoneIn))
			}
			ids = append(ids, loc.AddCSVImport(seed))
		}
		writeJSON(w, http.StatusOK, map[string]any{"ids": ids})
	default:
		writeError(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path, "Not Found")
	}
}
