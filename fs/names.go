package fs

import (
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ghlfs/ghlfs/cache"
)

// Names the API allows but a directory cannot hold are shown with
// look-alike characters, rclone style, and the mapping is reversible:
//
//	'/' in a name      <-> '／' (U+FF0F)
//	NUL in a name      <-> '␀' (U+2400)
//	the name "."       <-> "．" (U+FF0E), ".." <-> "．．"
//	a literal look-alike, or the quote itself, is prefixed by '‛' (U+201B)
const (
	slashLookalike = '／'
	nulLookalike   = '␀'
	dotLookalike   = '．'
	quoteChar      = '‛'
)

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
	if !strings.ContainsAny(name, "/\x00"+string(slashLookalike)+string(nulLookalike)+string(quoteChar)) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		switch r {
		case '/':
			b.WriteRune(slashLookalike)
		case 0:
			b.WriteRune(nulLookalike)
		case slashLookalike, nulLookalike, quoteChar:
			b.WriteRune(quoteChar)
			b.WriteString(name[i : i+size])
		default:
			b.WriteString(name[i : i+size]) // invalid UTF-8 bytes pass through as they are
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
	if !strings.ContainsAny(shown, string(slashLookalike)+string(nulLookalike)+string(quoteChar)) {
		return shown
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(shown); {
		r, size := utf8.DecodeRuneInString(shown[i:])
		raw := shown[i : i+size]
		i += size
		switch {
		case quoted:
			b.WriteString(raw)
			quoted = false
		case r == quoteChar:
			quoted = true
		case r == slashLookalike:
			b.WriteByte('/')
		case r == nulLookalike:
			b.WriteByte(0)
		default:
			b.WriteString(raw)
		}
	}
	if quoted { // a trailing quote stands for itself
		b.WriteRune(quoteChar)
	}
	return b.String()
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
// name, the oldest (by time, then key) keeps it; each other one gets its
// key's last 8 characters before the extension, as in "logo (5f1a2b3c).png",
// so a name does not change from one listing to the next. A made-up name
// that collides with a real one uses the whole key. (A key is the item's
// API id, unless the mount gave it new bytes: then it keeps its first.)
func newDirView(l *cache.Listing) *dirView {
	v := &dirView{listing: l, byName: make(map[string]int32, len(l.Entries)), names: make([]string, 0, len(l.Entries))}
	entries := l.Entries
	var dups []int
	// The listing is sorted by name, so items sharing a name are adjacent.
	for i := 0; i < len(entries); {
		j := i + 1
		for j < len(entries) && entries[j].Name == entries[i].Name {
			j++
		}
		keep := i
		for k := i + 1; k < j; k++ {
			if older(entries[k], entries[keep]) {
				keep = k
			}
		}
		n := encodeName(entries[i].Name)
		if n == "" {
			n = "(unnamed " + entries[keep].Key + ")"
		}
		v.add(n, keep)
		for k := i; k < j; k++ {
			if k != keep {
				dups = append(dups, k)
			}
		}
		i = j
	}
	for _, k := range dups {
		e := entries[k]
		n := dupName(encodeName(e.Name), e.Key, 8)
		if _, taken := v.byName[n]; taken {
			n = dupName(encodeName(e.Name), e.Key, len(e.Key))
		}
		for _, taken := v.byName[n]; taken; _, taken = v.byName[n] {
			n += "~"
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

// dupName puts a tag made of the id's last n characters before the
// extension of name.
func dupName(name, id string, n int) string {
	tag := id
	if len(tag) > n {
		tag = tag[len(tag)-n:]
	}
	ext := path.Ext(name)
	if ext == name || !utf8.ValidString(ext) {
		ext = ""
	}
	return strings.TrimSuffix(name, ext) + " (" + tag + ")" + ext
}
