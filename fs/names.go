package fs

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ghlfs/ghlfs/cache"
)

// Names the API allows but a directory cannot hold, or a terminal would
// act on, are shown with look-alike characters, rclone style, and the
// mapping is reversible:
//
//	'/' in a name                 <-> '／' (U+FF0F)
//	NUL in a name                 <-> '␀' (U+2400)
//	a control character 0x01-0x1F <-> its Control Picture, U+2401-U+241F
//	                                  ('\n' <-> '␊', ESC <-> '␛')
//	DEL (0x7F)                    <-> '␡' (U+2421)
//	the name "."                  <-> "．" (U+FF0E), ".." <-> "．．"
//	a literal look-alike, or the quote itself, is prefixed by '‛' (U+201B)
//
// A name longer than a directory entry holds (255 bytes, once escaped) is
// shown cut, with a tag of its own (see shownName); the folder's view maps
// it back.
const (
	slashLookalike = '／'
	nulLookalike   = '␀' // U+2400; U+2401-U+241F follow for 0x01-0x1F
	delLookalike   = '␡' // U+2421
	dotLookalike   = '．'
	quoteChar      = '‛'
)

// lookalike returns the character shown for a byte of a name that cannot
// be shown as it is.
func lookalike(r rune) (rune, bool) {
	switch {
	case r == '/':
		return slashLookalike, true
	case r >= 0 && r < 0x20:
		return nulLookalike + r, true
	case r == 0x7f:
		return delLookalike, true
	}
	return 0, false
}

// original is lookalike's inverse.
func original(r rune) (rune, bool) {
	switch {
	case r == slashLookalike:
		return '/', true
	case r >= nulLookalike && r < nulLookalike+0x20:
		return r - nulLookalike, true
	case r == delLookalike:
		return 0x7f, true
	}
	return 0, false
}

// plain reports whether a name is shown as it is: no byte to replace, no
// look-alike or quote to escape (all of which are 3-byte UTF-8 sequences
// starting 0xE2 or 0xEF).
func plain(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f || c == '/' || c == 0xe2 || c == 0xef {
			return false
		}
	}
	return true
}

// encodeName returns the name to show for an API name.
func encodeName(name string) string {
	switch name {
	case ".":
		return string(dotLookalike)
	case "..":
		return string(dotLookalike) + string(dotLookalike)
	case string(dotLookalike), string(dotLookalike) + string(dotLookalike):
		// Taken by the mapping above: quote each look-alike.
		return strings.ReplaceAll(name, string(dotLookalike), string(quoteChar)+string(dotLookalike))
	}
	if plain(name) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if size == 1 && r == utf8.RuneError {
			b.WriteByte(name[i]) // invalid UTF-8 bytes pass through as they are
		} else if l, ok := lookalike(r); ok {
			b.WriteRune(l)
		} else {
			if _, ok := original(r); ok || r == quoteChar {
				b.WriteRune(quoteChar)
			}
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	return b.String()
}

// decodeName returns the API name for a name shown in the mount.
func decodeName(shown string) string {
	switch shown {
	case string(dotLookalike):
		return "."
	case string(dotLookalike) + string(dotLookalike):
		return ".."
	}
	if plain(shown) {
		return shown
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(shown); {
		r, size := utf8.DecodeRuneInString(shown[i:])
		raw := shown[i : i+size]
		i += size
		if size == 1 && r == utf8.RuneError {
			r = -1 // an invalid byte stands for itself
		}
		o, isLookalike := original(r)
		switch {
		case quoted:
			b.WriteString(raw)
			quoted = false
		case r == quoteChar:
			quoted = true
		case isLookalike:
			b.WriteRune(o)
		default:
			b.WriteString(raw)
		}
	}
	if quoted { // a trailing quote stands for itself
		b.WriteRune(quoteChar)
	}
	return b.String()
}

// hasControl reports whether a name holds a control character.
func hasControl(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// shownName returns the name to show for an API name, and whether it was
// cut to fit: a name longer than maxNameLen bytes once escaped keeps its
// start and its extension, with "…" and a tag of 8 hex digits of the
// name's SHA-256 between them, as in "A very long title…3f2a9c1b.png".
// The tag keeps long names that start alike apart; the folder's view
// resolves the rare collision, and maps the shown name back.
func shownName(name string) (string, bool) {
	enc := encodeName(name)
	if len(enc) <= maxNameLen {
		return enc, false
	}
	sum := sha256.Sum256([]byte(name))
	ext := extOf(enc)
	return fitName(strings.TrimSuffix(enc, ext), "…"+hex.EncodeToString(sum[:4]), ext), true
}

// extOf is a shown name's extension, when it has a short, readable one.
func extOf(name string) string {
	ext := path.Ext(name)
	if ext == name || len(ext) > 32 || !utf8.ValidString(ext) {
		return ""
	}
	return ext
}

// fitName returns stem+mid+ext, the stem cut at a character boundary so
// that the whole fits in maxNameLen bytes.
func fitName(stem, mid, ext string) string {
	room := maxNameLen - len(mid) - len(ext)
	if len(stem) > room {
		n := max(room, 0)
		for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(stem[n]); i++ {
			n--
		}
		stem = stem[:n]
	}
	return stem + mid + ext
}

// tagOf is the tag that tells apart items sharing a name: the last n
// characters of its key (an API id, as a rule), or, when the key holds
// anything but letters, digits, '-', '_' and ':' (a hostile id may hold a
// '/' or a newline), n hex digits of its SHA-256.
func tagOf(key string, n int) string {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == ':') {
			sum := sha256.Sum256([]byte(key))
			h := hex.EncodeToString(sum[:])
			return h[:min(n, len(h))]
		}
	}
	if len(key) > n {
		return key[len(key)-n:]
	}
	return key
}

// maxNameLen is the longest name a Linux directory entry holds, in bytes.
const maxNameLen = 255

// dirView is a folder's listing under the names the mount shows: escaped,
// and made unique when several items share one name.
type dirView struct {
	listing *cache.Listing
	names   []string         // sorted, as readdir returns them
	byName  map[string]int32 // shown name -> index in listing.Entries
}

// lookup returns the entry shown as name.
func (v *dirView) lookup(name string) (cache.Entry, bool) {
	i, ok := v.byName[name]
	if !ok {
		return cache.Entry{}, false
	}
	return v.listing.Entries[i], true
}

// newDirView builds the view of a listing. Of the items that share a shown
// name, the one prev (the view shown before, if any) showed under it
// keeps it, else the oldest (by time, then key); each other one gets a tag
// of its key before the extension (see tagOf), as in "logo (5f1a2b3c).png",
// so a name does not change from one listing to the next: an item that
// comes back under a name another took meanwhile (restored from the trash
// with its old times) is the one tagged. A made-up name that collides
// with a real one uses a longer tag. (A key is the item's API id, unless
// the mount gave it new bytes: then it keeps its first.) Every name fits
// a directory entry: made-up names are cut to fit, as long names are
// (shownName).
func newDirView(l *cache.Listing, prev *dirView) *dirView {
	v := &dirView{listing: l, byName: make(map[string]int32, len(l.Entries)), names: make([]string, 0, len(l.Entries))}
	entries := l.Entries
	var dups, later []int
	shown := make(map[int]string) // names of the items in later
	// The listing is sorted by name, so items sharing a name are adjacent.
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && entries[j].Name == entries[i].Name {
			j++
		}
		n, cut := shownName(entries[i].Name)
		keep := i
		for k := i + 1; k < j; k++ {
			if older(entries[k], entries[keep]) {
				keep = k
			}
		}
		if j-i > 1 && n != "" && prev != nil {
			if had, ok := prev.lookup(n); ok {
				for k := i; k < j; k++ {
					if entries[k].Key == had.Key {
						keep = k // it had the name: it keeps it
					}
				}
			}
		}
		switch {
		case n == "":
			shown[keep] = "(unnamed " + tagOf(entries[keep].Key, 8) + ")"
			later = append(later, keep)
		case cut:
			shown[keep] = n
			later = append(later, keep)
		default:
			// Escaped names are distinct, as the API names are: no
			// collision among these.
			v.add(n, keep)
		}
		for k := i; k < j; k++ {
			if k != keep {
				dups = append(dups, k)
			}
		}
		i = j
	}
	// Made-up names may collide with a real one: the real one wins.
	for _, k := range later {
		if _, taken := v.byName[shown[k]]; taken {
			dups = append(dups, k)
			continue
		}
		v.add(shown[k], k)
	}
	for _, k := range dups {
		e := entries[k]
		base, _ := shownName(e.Name)
		n := dupName(base, tagOf(e.Key, 8))
		if _, taken := v.byName[n]; taken {
			n = dupName(base, tagOf(e.Key, 64))
		}
		for i := 2; ; i++ {
			if _, taken := v.byName[n]; !taken {
				break
			}
			n = dupName(base, tagOf(e.Key, 64)+"~"+strconv.Itoa(i))
		}
		v.add(n, k)
	}
	slices.Sort(v.names) // byte order: the same every time, whatever the locale
	return v
}

func (v *dirView) add(name string, i int) {
	v.byName[name] = int32(i)
	v.names = append(v.names, name)
}

func older(a, b cache.Entry) bool {
	if !a.ModTime.Equal(b.ModTime) && !a.ModTime.IsZero() && !b.ModTime.IsZero() {
		return a.ModTime.Before(b.ModTime)
	}
	return a.Key < b.Key
}

// dupName puts a tag before the extension of a shown name, cutting the
// name to fit.
func dupName(name, tag string) string {
	if name == "" {
		name = "(unnamed)"
	}
	ext := extOf(name)
	return fitName(strings.TrimSuffix(name, ext), " ("+tag+")", ext)
}

// View is a folder's listing under the names the mount shows (escaped,
// cut to fit, tagged where items share a name: newDirView), for the
// WebDAV server (fs/webdav), which shows the same names in its paths.
type View struct{ v *dirView }

// NewView builds the view of a listing; prev, the folder's view shown
// before (nil: none), keeps the names it gave.
func NewView(l *cache.Listing, prev *View) *View {
	var p *dirView
	if prev != nil {
		p = prev.v
	}
	return &View{newDirView(l, p)}
}

// Lookup returns the entry shown as name.
func (v *View) Lookup(name string) (cache.Entry, bool) { return v.v.lookup(name) }

// Names are the names shown, sorted, each with its entry.
func (v *View) Names() ([]string, []cache.Entry) {
	out := make([]cache.Entry, len(v.v.names))
	for i, n := range v.v.names {
		out[i] = v.v.listing.Entries[v.v.byName[n]]
	}
	return v.v.names, out
}

// Listing is the listing the view was built from.
func (v *View) Listing() *cache.Listing { return v.v.listing }

// DecodeName returns the API name for a name shown.
func DecodeName(shown string) string { return decodeName(shown) }
