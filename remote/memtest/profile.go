package memtest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ocm"
)

// Profile is a kind of media store the backend behaves as: what it does
// (Caps, which a test may change at will: the library follows them) and
// the ways of its service that Caps do not say (the form of its ids and
// version tokens, how it rewrites names, what it makes of a folder made
// onto a taken name).
type Profile struct {
	// Caps are what the backend claims, and what its library does.
	Caps remote.Caps
	// ID makes the id of the n-th item (from 1), made at t.
	ID func(n uint64, folder bool, t time.Time) string
	// Rev makes the version token of the v-th version (from 1) of a
	// file, the n-th version made in the library: v is the version's
	// number, which no later version of the file takes, even once it is
	// removed. Not called where
	// Caps.NewIDPerUpload: a file's bytes then never change, and Rev is
	// empty.
	Rev func(n uint64, v int) string
	// Rewrite is the name the service stores for one it is sent (nil:
	// every name as sent), silently, as ImageKit does; Caps.ValidName
	// refuses the names it would change.
	Rewrite func(name string, dir bool) string
	// FolderClash is what a folder made onto a name a folder holds gives,
	// where Caps.UniqueNames: ClashRefuse (409), ClashSame (the folder
	// that holds it, as ImageKit answers success), ClashSuffix (a new
	// folder named "name(2)", as OCM does).
	FolderClash Clash
	// EmptyUnknownFolder: a listing of a folder the library does not
	// hold (unknown, removed) answers no items, as a filter by parent
	// matching nothing does (HighLevel); else 404 (OCM).
	EmptyUnknownFolder bool
	// MissingRefusesRemoval: a removal naming an id the library does not
	// hold active is refused whole, 404 naming the missing ids, and
	// removes nothing (ImageKit's bulk delete); the backend then sends
	// the others again, as its client would, and names the missing ones
	// in its *remote.NotDoneError. Else the service removes the others
	// and reports the missing ones per id (HighLevel's {"deleted":
	// false}).
	MissingRefusesRemoval bool
	// RemoveOneByOne: the service removes one item a call (OCM's
	// DELETE), and the backend sends a Remove of several ids one call
	// each, as its client does: Caps.BulkRemove (1) is what the caller
	// should send, not a bound a larger call is refused for. The result
	// is per id, as one call's.
	RemoveOneByOne bool
}

// Clash is a service's answer to a folder made onto a taken name.
type Clash int

const (
	ClashRefuse Clash = iota // 409 Conflict (remote.ErrExists)
	ClashSame                // success, the folder that holds the name
	ClashSuffix              // a new folder, "name(2)" ("name(3)" ...)
)

// HighLevel behaves as HighLevel's media storage: a new id (a Mongo
// ObjectID, holding its creation time) at every upload, duplicate names
// allowed, the trash and deletion for good, no move, one listing per item
// type, whole-library and recent-changes listings, files from public
// urls, 25 MB (500 MB for a video) at most. A listing of a folder it does
// not hold is empty, and a removal reports per id what it did not remove.
func HighLevel() Profile {
	return Profile{
		Caps: remote.Caps{
			Kind:           "memtest-ghl",
			XattrPrefix:    "user.ghl.",
			NewIDPerUpload: true,
			MaxUpload:      limitBy(25_000_000, 500_000_000),
			RangeReads:     true,
			PublicURL:      true,
			RenameFolders:  true,
			Trash:          true,
			Permanent:      true,
			ListAll:        true,
			ListRecent:     true,
		},
		ID:                 objectID,
		EmptyUnknownFolder: true,
	}
}

// ImageKit behaves as ImageKit's media library (../shared/imagekit-api.md):
// an upload onto a taken name is a new version of the file holding it (same
// fileId, a new versionInfo.id); names are unique and case-sensitive, and
// the service rewrites silently what it does not keep (ValidName refuses
// those); files and folders move; a removal is for good, in bulk calls of
// 100 ids at most with per-id results (a call naming an id it does not hold
// is refused whole: 404 missingFileIds, nothing deleted); one listing per
// folder, by path (one of a path it does not hold taken as empty: unknown);
// a folder made onto an existing one is that folder. Reads of ranges:
// unknown, so not claimed. Upload limits of the free plan: 25 MB, 100 MB
// for a video. Not modelled: the limit of 100 versions a file, renames and
// moves of folders as jobs polled to their end (the backend answers once
// the job is done), a move onto a taken name (which would add the file's
// versions to the other's; the backend refuses it, 409, as its client
// checks the name first).
func ImageKit() Profile {
	p := Profile{
		Caps: remote.Caps{
			Kind:          "memtest-imagekit",
			XattrPrefix:   "user.imagekit.",
			UniqueNames:   true,
			Versions:      true,
			MaxUpload:     limitBy(25_000_000, 100_000_000),
			PublicURL:     true,
			Move:          true,
			MoveFolders:   true,
			RenameFolders: true,
			Permanent:     true,
			BulkRemove:    100,
			OneListing:    true,
		},
		ID:                    hexID,
		Rev:                   revID,
		Rewrite:               imageKitName,
		FolderClash:           ClashSame,
		EmptyUnknownFolder:    true,
		MissingRefusesRemoval: true,
	}
	p.Caps.ValidName = validBy(p.Rewrite)
	return p
}

// OCM behaves as Oracle Content Management's documents
// (../shared/ocm-api.md), with the Caps remote/ocm claims: GUIDs, names
// unique per folder and compared without case, an upload onto a taken
// name a new version (versions numbered 1, 2 ...), the trash, files and
// folders moved server-side, ranges read, one listing per folder, one id
// a removal (BulkRemove 1: one DELETE an item, a Remove of more sent
// one by one, RemoveOneByOne); a folder made onto a
// taken name becomes "name(2)"; a listing of a folder it does not hold
// is 404. Names are refused as the backend refuses them (ocm.ValidName:
// the service's rules are unknown); upload limits are unknown: none.
// Bytes come from the API, not from public urls. Unknown, and chosen: a
// move or a rename onto a taken name is refused (409), as is a name a
// file and a folder would share.
func OCM() Profile {
	return Profile{
		Caps: remote.Caps{
			Kind:            "memtest-ocm",
			XattrPrefix:     "user.ocm.",
			UniqueNames:     true,
			CaseInsensitive: true,
			Versions:        true,
			RangeReads:      true,
			Move:            true,
			MoveFolders:     true,
			RenameFolders:   true,
			Trash:           true,
			BulkRemove:      1,
			OneListing:      true,
			ValidName:       ocm.ValidName,
		},
		ID:             guid,
		Rev:            func(_ uint64, v int) string { return strconv.Itoa(v) },
		FolderClash:    ClashSuffix,
		RemoveOneByOne: true,
	}
}

// limitBy is a MaxUpload of general bytes, and video bytes for a video.
func limitBy(general, video int64) func(string) int64 {
	return func(contentType string) int64 {
		if mt, _, _ := mime.ParseMediaType(contentType); strings.HasPrefix(mt, "video/") {
			return video
		}
		return general
	}
}

// validBy is a ValidName that refuses what rewrite would change, and
// what no service keeps ("", ".", "..").
func validBy(rewrite func(string, bool) string) func(string, bool) error {
	return func(name string, dir bool) error {
		if name == "" || name == "." || name == ".." {
			return fmt.Errorf("%w: the name %q", remote.ErrInvalid, name)
		}
		if got := rewrite(name, dir); got != name {
			return fmt.Errorf("%w: the service would store %q as %q", remote.ErrInvalid, name, got)
		}
		return nil
	}
}

// imageKitName is ImageKit's rewriting: a file keeps ASCII letters,
// digits, '.', '-' and '_'; a folder letters and digits of any script
// and '_' (the documented replacement); anything else becomes '_'.
func imageKitName(name string, dir bool) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '_':
			return r
		case dir && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)):
			return r
		case !dir && r < unicode.MaxASCII && (r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			return r
		}
		return '_'
	}, name)
}

// objectID is a Mongo ObjectID: the time in its first four bytes, then a
// counter.
func objectID(n uint64, _ bool, t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(t.Unix()))
	binary.BigEndian.PutUint64(b[4:], n)
	return hex.EncodeToString(b[:])
}

// hexID is 24 hex digits that say nothing of time.
func hexID(n uint64, folder bool, _ time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	if folder {
		b[0] ^= 0x80
	}
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:12])
}

// revID is a version token as ImageKit's versionInfo.id: 24 hex digits,
// none an item's id.
func revID(n uint64, _ int) string { return hexID(n|1<<62, false, time.Time{}) }

// guid is OCM's form: F (folder) or D (document), 32 upper-case hex
// digits, and a suffix.
func guid(n uint64, folder bool, t time.Time) string {
	kind := "D"
	if folder {
		kind = "F"
	}
	return kind + strings.ToUpper(hexID(n, folder, t)+hexID(n, !folder, t)[:8]) + "T0000000000100000001"
}
