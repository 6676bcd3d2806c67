package iktest

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// The quirks: behaviours the reference (../shared/imagekit-api.md) leaves
// unknown, each a named choice. doc.go says where each comes from.
const (
	// QuirkRangeIgnored: the CDN answers a ranged GET with 200 and the
	// whole file.
	QuirkRangeIgnored = "range-ignored"
	// QuirkCDNStale: after a file changes (a new version, a rename, a
	// move, a delete), the CDN answers each url it had served with its
	// old copy for Options.StaleReads more reads.
	QuirkCDNStale = "cdn-stale"
	// QuirkMoveMerges: a file moved onto a name the destination holds
	// joins that file's history (the documented behaviour, also the
	// default); QuirkMove409: it is refused, 409.
	QuirkMoveMerges = "move-merges"
	QuirkMove409    = "move-409"
	// QuirkSkipShifts: the first listing of a folder that takes more than
	// one page sees its second page one item late, as if an item before
	// it had been deleted meanwhile.
	QuirkSkipShifts = "skip-shifts"
	// QuirkEmptyRefused: an upload of 0 bytes is refused, 400.
	QuirkEmptyRefused = "empty-refused"
	// QuirkJobsViaPut: the folder jobs (moveFolder, renameFolder,
	// copyFolder) take PUT, and answer POST 404 (rclone sends PUT); by
	// default they take POST, as documented, and answer PUT 404.
	QuirkJobsViaPut = "jobs-via-put"
	// QuirkFolderIDChanges: a folder renamed or moved by a job, and the
	// folders it holds, get new folderIds.
	QuirkFolderIDChanges = "folderid-changes-on-rename"
)

// KnownQuirks lists every quirk.
func KnownQuirks() []string {
	return []string{QuirkRangeIgnored, QuirkCDNStale, QuirkMoveMerges, QuirkMove409, QuirkSkipShifts,
		QuirkEmptyRefused, QuirkJobsViaPut, QuirkFolderIDChanges}
}

type quirkSet map[string]bool

func (q quirkSet) has(name string) bool { return q[name] }

func parseQuirks(names []string) (quirkSet, error) {
	q := quirkSet{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !slices.Contains(KnownQuirks(), n) {
			return nil, fmt.Errorf("iktest: unknown quirk %q (known: %s)", n, strings.Join(KnownQuirks(), ", "))
		}
		q[n] = true
	}
	if q[QuirkMoveMerges] && q[QuirkMove409] {
		return nil, fmt.Errorf("iktest: quirks %s and %s exclude each other", QuirkMoveMerges, QuirkMove409)
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

// StoredName is the name the service keeps for one it is sent, silently
// (doc: upload's fileName, rename-file.md, FolderNewParams): a file keeps
// ASCII letters, digits, '.', '-' and '_'; a folder letters and digits
// (any script) and '_'; anything else becomes '_'.
func StoredName(name string, folder bool) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '_':
		case folder && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)):
		case !folder && (r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
		default:
			return '_'
		}
		return r
	}, name)
}
