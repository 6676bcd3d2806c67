package backends

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The backends ghlfs mount serves (--backend).
const (
	GHL      = "ghl"
	ImageKit = "imagekit"
	OCM      = "ocm"
)

// flags are the flags that belong to some backends only, with the
// backends that take each; a note says more where the flag's absence
// there may surprise.
var flags = []struct {
	flag     string
	backends []string
	note     string
}{
	{"location", []string{GHL}, ""},
	{"social-csv", []string{GHL}, " (the social planner is HighLevel's)"},
	{"storage-host", []string{GHL}, " (ImageKit's bytes come from --url-endpoint alone, OCM's from --api-url)"},
	{"token-file", []string{GHL, OCM}, ""},
	{"key-file", []string{ImageKit}, ""},
	{"upload-url", []string{ImageKit}, ""},
	{"url-endpoint", []string{ImageKit}, ""},
	{"root", []string{OCM}, ""},
	{"token-url", []string{OCM}, ""},
	{"scope", []string{OCM}, ""},
	{"link-id", []string{OCM}, ""},
	{"access-code-file", []string{OCM}, ""},
	{"applink-id", []string{OCM}, ""},
	{"applink-token-file", []string{OCM}, ""},
}

// Check refuses a --backend ghlfs does not know, and flags (changed
// reports whether one was given) that belong to another backend: a flag
// that would be silently ignored is a mount that does other than asked;
// and a read-write mount whose --delete-mode the backend cannot honour.
// It returns the backend's name ("highlevel" is GHL).
func Check(backend string, changed func(flag string) bool, readOnly bool, deleteMode string) (string, error) {
	switch backend {
	case GHL, "highlevel":
		backend = GHL
	case ImageKit, OCM:
	default:
		return "", fmt.Errorf("--backend must be %s, %s or %s, not %q", GHL, ImageKit, OCM, backend)
	}
	for _, f := range flags {
		if changed(f.flag) && !slices.Contains(f.backends, backend) {
			return "", fmt.Errorf("--%s is for --backend %s, not %s%s", f.flag, strings.Join(f.backends, " or "), backend, f.note)
		}
	}
	switch backend {
	case OCM:
		return backend, checkOCM(changed, readOnly, deleteMode)
	case ImageKit:
		if !readOnly && deleteMode != "delete" {
			// The cache would make every removal permanent all the same
			// (cache.followCaps); a user who left the default expects a trash,
			// and must hear at once that there is none.
			return "", errors.New("ImageKit has no trash: every removal (rm, rmdir, mv over a file) is permanent. " +
				"Choose --delete-mode delete to mount it read-write, or --read-only")
		}
	}
	return backend, nil
}
