package ghltest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Quirks: behaviours the real service may have where nobody documents
// what it does. Each is off by default; a client must work under every
// one. They are set with Options.Quirks, Server.SetQuirks, ghlfake's
// repeatable --quirk flag, or POST /_ghlfake/quirks. See the package
// documentation for what each does.
const (
	QuirkTrashListed         = "trash-listed"
	QuirkUnstableTies        = "unstable-ties"
	QuirkUploadNoURL         = "upload-no-url"
	QuirkCreate200           = "create-200"
	QuirkFolderNoID          = "folder-no-id"
	QuirkClockSkew           = "clock-skew" // takes a value: clock-skew=-5m
	QuirkRenameNotUpdated    = "rename-not-updated"
	QuirkRootParentLocation  = "root-parent-location"
	QuirkRootListsAll        = "root-lists-all"
	QuirkLimitMax100         = "limit-max-100"
	QuirkQueryPrefix         = "query-prefix"
	QuirkQueryExact          = "query-exact"
	QuirkQueryRegex          = "query-regex"
	QuirkParentIgnored       = "parent-ignored"
	QuirkUpdatedOrderIgnored = "updated-order-ignored"
	QuirkUploadNeedsAlt      = "upload-needs-alt"
	QuirkTypeAllowlist       = "type-allowlist"

	// Reports of public integrations (remote/API.md, "Field reports").
	QuirkUploadIDDiffers = "upload-id-differs"
	QuirkUUIDIDs         = "uuid-ids"
	QuirkUpdate404       = "update-404"
	QuirkNoBulkRoutes    = "no-bulk-routes"
	QuirkDeleteNeedsAlt  = "delete-needs-alt"

	QuirkOAuthNestErrors      = "oauth-nest-errors"
	QuirkRefreshRevokesAccess = "refresh-revokes-access"
	QuirkRefreshReuseRevokes  = "refresh-reuse-revokes"

	QuirkEssentialFolders    = "essential-folders"
	QuirkRestoreKeepsUpdated = "restore-keeps-updated"
	QuirkFetchAllUnpaged     = "fetchall-unpaged"
	QuirkFetchAllLag         = "fetchall-lag" // takes a value: fetchall-lag=2s
	// Authorisation, from field reports (issue 16).
	QuirkVersion401       = "version-401"
	QuirkLocation401      = "location-401"
	QuirkLocationsPageCap = "locations-page-cap" // takes a number: locations-page-cap=20
	QuirkPKCEIgnored      = "pkce-ignored"
	QuirkPKCERefused      = "pkce-refused"
	// The social planner's CSV imports (issue 21).
	QuirkCSVsObject            = "csvs-object"
	QuirkCountIsPage           = "count-is-page"
	QuirkCSVLimitCap           = "csv-limit-cap" // takes a number: csv-limit-cap=5
	QuirkCSVDelete422Importing = "csv-delete-422-importing"
)

// maxLocationsPageCap bounds locations-page-cap's value.
const maxLocationsPageCap = 1_000_000

// KnownQuirks lists every quirk name, in the order the documentation gives
// them. clock-skew and fetchall-lag need a value (clock-skew=-5m,
// fetchall-lag=2s), and so do locations-page-cap (locations-page-cap=20)
// and csv-limit-cap (csv-limit-cap=5).
func KnownQuirks() []string {
	return []string{
		QuirkTrashListed, QuirkUnstableTies, QuirkUploadNoURL, QuirkCreate200,
		QuirkFolderNoID, QuirkClockSkew, QuirkRenameNotUpdated,
		QuirkRootParentLocation, QuirkRootListsAll, QuirkLimitMax100,
		QuirkQueryPrefix, QuirkQueryExact, QuirkQueryRegex, QuirkParentIgnored,
		QuirkUpdatedOrderIgnored, QuirkUploadNeedsAlt, QuirkTypeAllowlist,
		QuirkUploadIDDiffers, QuirkUUIDIDs, QuirkUpdate404, QuirkNoBulkRoutes,
		QuirkDeleteNeedsAlt, QuirkOAuthNestErrors, QuirkRefreshRevokesAccess,
		QuirkRefreshReuseRevokes, QuirkPKCEIgnored, QuirkPKCERefused, QuirkEssentialFolders,
		QuirkRestoreKeepsUpdated, QuirkFetchAllUnpaged, QuirkFetchAllLag,
		QuirkVersion401, QuirkLocation401, QuirkLocationsPageCap,
		QuirkCSVsObject, QuirkCountIsPage, QuirkCSVLimitCap, QuirkCSVDelete422Importing,
	}
}

// quirks is a parsed set of quirks.
type quirks struct {
	names []string // as set, normalised, sorted
	on    map[string]bool
	skew  time.Duration // clock-skew's value
	// locPageCap is locations-page-cap's value: the most locations one
	// page of a location listing holds; 0 when off.
	locPageCap int
	lag        time.Duration // fetchall-lag's value
	// csvCap is csv-limit-cap's value: the most items one page of the
	// CSV endpoints holds; 0 when off.
	csvCap int
}

func (q quirks) has(name string) bool { return q.on[name] }

// parseQuirks reads quirk names ("name" or, for clock-skew,
// fetchall-lag, locations-page-cap and csv-limit-cap, "name=value"). At most one of the
// query-* quirks may be on.
func parseQuirks(names []string) (quirks, error) {
	q := quirks{on: map[string]bool{}}
	for _, raw := range names {
		name, value, hasValue := strings.Cut(strings.TrimSpace(raw), "=")
		if !slices.Contains(KnownQuirks(), name) {
			return quirks{}, fmt.Errorf("unknown quirk %q (known: %s)", name, strings.Join(KnownQuirks(), ", "))
		}
		switch {
		case name == QuirkClockSkew || name == QuirkFetchAllLag:
			example := map[string]string{QuirkClockSkew: "-5m", QuirkFetchAllLag: "2s"}[name]
			if !hasValue {
				return quirks{}, fmt.Errorf("quirk %s needs a duration, such as %s=%s", name, name, example)
			}
			d, err := time.ParseDuration(value)
			if err != nil {
				return quirks{}, fmt.Errorf("quirk %s: %v", name, err)
			}
			if name == QuirkClockSkew {
				q.skew = d
			} else if q.lag = d; d <= 0 {
				return quirks{}, fmt.Errorf("quirk %s: the lag must be positive, not %v", name, d)
			}
			raw = name + "=" + d.String()
		case name == QuirkLocationsPageCap || name == QuirkCSVLimitCap:
			what, example := "locations", "20"
			if name == QuirkCSVLimitCap {
				what, example = "items", "5"
			}
			n, err := strconv.Atoi(value)
			if !hasValue || err != nil || n < 1 || n > maxLocationsPageCap {
				return quirks{}, fmt.Errorf("quirk %s needs a number of %s from 1 to %d, such as %s=%s", name, what, maxLocationsPageCap, name, example)
			}
			if name == QuirkCSVLimitCap {
				q.csvCap = n
			} else {
				q.locPageCap = n
			}
			raw = name + "=" + strconv.Itoa(n)
		case hasValue:
			return quirks{}, fmt.Errorf("quirk %s takes no value", name)
		default:
			raw = name
		}
		if q.on[name] {
			continue
		}
		q.on[name] = true
		q.names = append(q.names, raw)
	}
	n := 0
	for _, name := range []string{QuirkQueryPrefix, QuirkQueryExact, QuirkQueryRegex} {
		if q.on[name] {
			n++
		}
	}
	if n > 1 {
		return quirks{}, fmt.Errorf("at most one of %s, %s and %s may be on", QuirkQueryPrefix, QuirkQueryExact, QuirkQueryRegex)
	}
	slices.Sort(q.names)
	return q, nil
}

// SetQuirks replaces the quirks that are on; an empty list turns all off.
// On an error nothing changes.
func (s *Server) SetQuirks(names []string) error {
	q, err := parseQuirks(names)
	if err != nil {
		return err
	}
	s.quirksMu.Lock()
	s.quirks = q
	s.quirksMu.Unlock()
	return nil
}

// Quirks returns the quirks that are on, as SetQuirks takes them.
func (s *Server) Quirks() []string {
	q := s.quirkSet()
	return append([]string{}, q.names...)
}

func (s *Server) quirkSet() quirks {
	s.quirksMu.RLock()
	defer s.quirksMu.RUnlock()
	return s.quirks
}

// serverNow is the time on the service's clock: the real one, off by the
// clock-skew quirk. Timestamps, ids and the Date header follow it.
func (s *Server) serverNow() time.Time {
	return s.now().Add(s.quirkSet().skew)
}

// quirksBody is the JSON of GET and POST /_ghlfake/quirks.
type quirksBody struct {
	Quirks []string `json:"quirks"`
}

// serveQuirks serves GET and POST /_ghlfake/quirks.
func (s *Server) serveQuirks(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var body quirksBody
		err := decodeControl(r, &body)
		if err == nil {
			err = s.SetQuirks(body.Quirks)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "Bad Request")
			return
		}
	}
	writeJSON(w, http.StatusOK, quirksBody{Quirks: s.Quirks()})
}

// rootParent reads a parentId the client sent: under root-parent-location
// the location's id means the root, as the service then writes it.
func (s *Server) rootParent(l *Location, q quirks, parentID string) string {
	if q.has(QuirkRootParentLocation) && parentID == l.id {
		return ""
	}
	return parentID
}

// routeRefused reports whether a quirk makes the service answer the
// endpoint key as a route it does not have (404 "Cannot PUT /medias/x",
// as NestJS answers any unknown path): update-404 for the two rename
// routes, no-bulk-routes for the two bulk ones.
func routeRefused(q quirks, key string) bool {
	switch key {
	case EndpointRename:
		return q.has(QuirkUpdate404)
	case EndpointUpdateMany:
		return q.has(QuirkUpdate404) || q.has(QuirkNoBulkRoutes)
	case EndpointDeleteMany:
		return q.has(QuirkNoBulkRoutes)
	}
	return false
}

// createStatus is the status of a successful create (folder or upload).
func createStatus(q quirks) int {
	if q.has(QuirkCreate200) {
		return http.StatusOK
	}
	return http.StatusCreated
}

// BulkImportFolder and BulkImportFiles describe the folder the demo seed
// adds under the unstable-ties quirk: that many files created in one
// millisecond, as a bulk import makes them.
const (
	BulkImportFolder = "Bulk import"
	BulkImportFiles  = 250
)

// seedBulkImport adds the bulk import folder to the demo library.
func seedBulkImport(st *store) {
	folder, err := st.addFolder("", BulkImportFolder)
	if err != nil {
		panic(err) // the root always takes a folder
	}
	names := make([]string, BulkImportFiles)
	data := make([][]byte, BulkImportFiles)
	for i := range names {
		names[i] = fmt.Sprintf("import-%03d.txt", i+1)
		data[i] = []byte(fmt.Sprintf("imported file %d of %d\n", i+1, BulkImportFiles))
	}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := st.addFilesAt(folder.id, names, data, at, nil); err != nil {
		panic(err)
	}
}
