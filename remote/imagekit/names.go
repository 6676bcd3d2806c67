package imagekit

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ghlfs/ghlfs/remote"
)

// maxName bounds a name the backend sends (a FUSE name is at most 255
// bytes too).
const maxName = 255

// ValidName says whether ImageKit keeps name as it is (Caps.ValidName).
// The service rewrites names silently (doc: upload's fileName,
// rename-file.md; [G] FolderNewParams): a file keeps ASCII letters,
// digits, '.', '-' and '_'; a folder letters and digits of any script and
// '_'; any other character, a space included, would become '_'. Such a
// name is refused (remote.ErrInvalid), as are "", "." and "..".
func ValidName(name string, dir bool) error {
	if name == "" || name == "." || name == ".." || len(name) > maxName || !utf8.ValidString(name) {
		return fmt.Errorf("%w: ImageKit takes no name %q", remote.ErrInvalid, name)
	}
	for _, r := range name {
		if !keeps(r, dir) {
			what, rule := "file", "ASCII letters, digits, '.', '-' and '_'"
			if dir {
				what, rule = "folder", "letters, digits and '_'"
			}
			return fmt.Errorf("%w: ImageKit would store the %s name %q as %q: a %s name keeps only %s",
				remote.ErrInvalid, what, name, rewrite(name, dir), what, rule)
		}
	}
	return nil
}

// keeps reports whether the service keeps r in a name.
func keeps(r rune, dir bool) bool {
	if r == '_' {
		return true
	}
	if dir {
		return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
	}
	return r < utf8.RuneSelf && (r == '.' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r))
}

// rewrite is the name the service would store, for the error's words.
func rewrite(name string, dir bool) string {
	var b strings.Builder
	for _, r := range name {
		if !keeps(r, dir) {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validID reports whether id is an id the backend takes from the server
// (fileId, folderId, versionInfo.id, jobId): 24 hex digits in the docs;
// any of letters, digits, '-' and '_' up to remote.MaxIDBytes, so that it
// goes into a url path as it is.
func validID(id string) bool {
	if id == "" || len(id) > remote.MaxIDBytes {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// validListedName is remote.ValidListedName.
func validListedName(name string) bool { return remote.ValidListedName(name) }
