package ocm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ghlfs/ghlfs/remote"
)

// maxName bounds a name the backend sends (a FUSE name is at most 255
// bytes too).
const maxName = 255

// refusedChars are the characters Windows, and so a document service
// synced to it, refuses in a name; OCM's own rules are unknown (our
// reference): they are never sent.
const refusedChars = `\/:*?"<>|`

// ValidName says whether OCM keeps name as it is (Caps.ValidName). The
// service's name rules are unknown; what it is known to do is rewrite a
// clash silently (name(2)), which the backend checks for in every answer.
// Refused here, as remote.ErrInvalid, are the names a document service
// may refuse or change: "", "." and "..", longer than 255 bytes, not
// UTF-8, a control character or one of \ / : * ? " < > |, a space at
// either end, a trailing '.'.
func ValidName(name string, dir bool) error {
	what := "file"
	if dir {
		what = "folder"
	}
	bad := func(why string) error {
		return fmt.Errorf("%w: OCM takes no %s name %q: %s", remote.ErrInvalid, what, name, why)
	}
	switch {
	case name == "" || name == "." || name == "..":
		return bad("not a name")
	case len(name) > maxName:
		return bad(fmt.Sprintf("longer than %d bytes", maxName))
	case !utf8.ValidString(name):
		return bad("not UTF-8")
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || strings.ContainsRune(refusedChars, r) }):
		return bad(`it holds a control character or one of \ / : * ? " < > |`)
	case strings.TrimSpace(name) != name:
		return bad("a space at its start or end may be dropped")
	case strings.HasSuffix(name, "."):
		return bad("a '.' at its end may be dropped")
	}
	return nil
}

// validID reports whether id is an id the backend takes from the server
// or sends in a path: a GUID (letters and digits, as
// D34A657B8723A96097F80926T0000000000100000001), or "self", at most
// maxIDLen.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// maxIDLen bounds an id: GUIDs are 44 characters.
const maxIDLen = min(128, remote.MaxIDBytes)

// num is a count or a size as the API writes it: a string of decimal
// digits ("13"), a JSON number taken too; anything else (a sign, a
// fraction, an exponent, more than 18 digits) is not one. set says the
// field was there and was one.
type num struct {
	n   int64
	set bool
}

var errNum = errors.New("not a number of the API")

func (x *num) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" || len(s) > 18 || strings.TrimLeft(s, "0123456789") != "" {
		return nil // not set: the item is judged without it
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	*x = num{n: n, set: true}
	return nil
}

// flag is hasMore: "1" or "0" (1 or 0, true or false taken too).
type flag struct {
	v, set bool
}

func (f *flag) UnmarshalJSON(b []byte) error {
	switch strings.Trim(string(b), `"`) {
	case "1", "true":
		*f = flag{true, true}
	case "0", "false":
		*f = flag{false, true}
	default:
		return errNum
	}
	return nil
}

// revOf is a version number as Item.Rev carries it.
func revOf(n int64) string { return strconv.FormatInt(n, 10) }

// parseRev reads a Rev: a version number, 1 or more.
func parseRev(rev string) (int64, bool) {
	if rev == "" || len(rev) > 18 || strings.TrimLeft(rev, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(rev, 10, 64)
	return n, err == nil && n >= 1
}
