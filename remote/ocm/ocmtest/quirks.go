package ocmtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The quirks: behaviours the reference (../shared/ocm-api.md) leaves
// unknown or contradicts, each a named choice. doc.go says where each
// comes from.
const (
	// QuirkDeleteLatestOnly: a DELETE files/{id} without a version removes
	// only the latest version (the file stays, its previous version
	// current); by default it removes the whole file.
	QuirkDeleteLatestOnly = "delete-latest-only"
	// QuirkDeleteVersionInQuery: a DELETE files/{id} reads its version
	// from ?version=N only (a body's is ignored); by default only from the
	// JSON body {"version":"N"} (a query's is ignored).
	QuirkDeleteVersionInQuery = "delete-version-in-query"
	// QuirkErrorIn200: every failure of the API (not of the token
	// endpoint, nor a 401) answers HTTP 200, its negative errorCode in the
	// body as ever.
	QuirkErrorIn200 = "error-in-200"
	// QuirkUploadDupSuffix: POST files/data onto a name the folder holds
	// (ignoring case) makes a new file name(2) instead of a new version.
	QuirkUploadDupSuffix = "upload-dup-suffix"
	// QuirkMoveClashSuffix: a move onto a name the destination holds lands
	// as name(2); by default it is refused (409, -17).
	QuirkMoveClashSuffix = "move-clash-suffix"
	// QuirkCaseRenameRefused: a rename that changes only the case of a
	// name is refused as a clash with itself (409, -17).
	QuirkCaseRenameRefused = "case-rename-refused"
	// QuirkVersionCap is "version-cap=N": keep N versions per file, an
	// upload past them deleting the oldest (Options.VersionCap).
	QuirkVersionCap = "version-cap"
	// QuirkHasMoreZero: listings answer hasMore "0" on every page
	// (totalResults stays honest).
	QuirkHasMoreZero = "hasmore-zero"
	// QuirkPageCap is "page-cap=N": a listing answers at most N items
	// whatever limit asks (limit in the answer says N).
	QuirkPageCap = "page-cap"
	// QuirkFilterIgnoresCase: filterName matches names ignoring case
	// (documented as exact).
	QuirkFilterIgnoresCase = "filter-ignores-case"
	// QuirkFilterIgnored: filterName is ignored: a listing that names
	// one answers the whole folder, paged (count, totalResults and
	// hasMore of the whole).
	QuirkFilterIgnored = "filter-ignored"
	// QuirkHomeGUID: the home folder is written by its GUID (the
	// parentID of its items, the id of GET folders/self); "self" still
	// names it in a request.
	QuirkHomeGUID = "home-guid"
	// QuirkStrictNames: names holding one of \ / : * ? " < > | are
	// refused (400, -1); by default only "/" and "\" are.
	QuirkStrictNames = "strict-names"
	// QuirkTrashVisible: GET files/{id}, GET files/{id}/versions and
	// GET folders/{id} answer an item in the trash (or below a folder in
	// it) as if it were not: 200, its old parentID, no marker. Listings,
	// its bytes and every change still answer 404 -16.
	QuirkTrashVisible = "trash-visible"
)

// KnownQuirks lists every quirk; the parameterised ones with their
// parameter as the letter N (version-cap=N, page-cap=N), which a caller
// turning them on replaces by a whole number of 1 or more (SetQuirks
// refuses the letter itself).
func KnownQuirks() []string {
	return []string{QuirkDeleteLatestOnly, QuirkDeleteVersionInQuery, QuirkErrorIn200, QuirkUploadDupSuffix,
		QuirkMoveClashSuffix, QuirkCaseRenameRefused, QuirkVersionCap + "=N", QuirkHasMoreZero, QuirkPageCap + "=N",
		QuirkFilterIgnoresCase, QuirkFilterIgnored, QuirkHomeGUID, QuirkStrictNames, QuirkTrashVisible}
}

// quirkSet is the quirks turned on, with the parameterised ones' values.
type quirkSet struct {
	on         map[string]bool
	names      []string
	versionCap int
	pageCap    int
}

func (q quirkSet) has(name string) bool { return q.on[name] }

func parseQuirks(names []string) (quirkSet, error) {
	q := quirkSet{on: map[string]bool{}}
	for _, n := range names {
		n = strings.TrimSpace(n)
		name, arg, hasArg := strings.Cut(n, "=")
		switch {
		case name == QuirkVersionCap || name == QuirkPageCap:
			v, err := strconv.Atoi(arg)
			if !hasArg || err != nil || v < 1 {
				return quirkSet{}, fmt.Errorf("ocmtest: quirk %q: want %s=N, N a whole number of 1 or more", n, name)
			}
			if name == QuirkVersionCap {
				q.versionCap = v
			} else {
				q.pageCap = v
			}
		case hasArg || !slices.Contains(KnownQuirks(), name):
			return quirkSet{}, fmt.Errorf("ocmtest: unknown quirk %q (known: %s)", n, strings.Join(KnownQuirks(), ", "))
		}
		q.on[name] = true
		q.names = append(q.names, n)
	}
	return q, nil
}

// SetQuirks replaces the quirks turned on.
func (s *Server) SetQuirks(names []string) error {
	q, err := parseQuirks(names)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.quirks = q
	s.mu.Unlock()
	return nil
}

// Quirks are the quirks turned on, as given.
func (s *Server) Quirks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.quirks.names)
}

// badName reports whether the service refuses name for an item.
func (q quirkSet) badName(name string) bool {
	bad := "/\\"
	if q.has(QuirkStrictNames) {
		bad = `\/:*?"<>|`
	}
	return name == "" || name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, bad) ||
		strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
