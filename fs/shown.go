package fs

import "strings"

// ShownPath is the path, relative to the mount's root, under which the
// mount shows an item whose folders and own name (as the API has them,
// root first) are names: each name as a directory entry shows it (a "/"
// as "／", control characters as their Control Pictures, a long name
// cut), so the result is safe to print on a terminal. Two items sharing
// a name in one folder are told apart in the mount by a tag this does
// not add.
func ShownPath(names []string) string {
	shown := make([]string, len(names))
	for i, n := range names {
		shown[i], _ = shownName(n)
	}
	return strings.Join(shown, "/")
}
