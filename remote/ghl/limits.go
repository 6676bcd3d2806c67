package ghl

import (
	"mime"
	"strings"
	"time"
)

// The API's published limits, per app and location: a burst limit over a
// window, and a daily one.
const (
	PublishedBurstLimit  = 100
	PublishedBurstWindow = 10 * time.Second
	PublishedDailyLimit  = 200_000
)

// Upload limits. The API documents "25 MB" for a file and, with Version
// v3, "500 MB" for a video; whether it counts MB or MiB is unknown, so
// they are read the conservative way, in decimal bytes.
const (
	// MaxUploadSize is the largest image or other file the upload
	// endpoint takes (25 MB).
	MaxUploadSize = 25_000_000
	// MaxVideoUploadSize is the largest video it takes with Version v3
	// (500 MB).
	MaxVideoUploadSize = 500_000_000
	// APIVersionV3 is the Version sent with a video above MaxUploadSize:
	// the only known reason to send it.
	APIVersionV3 = "v3"
)

// IsVideo reports whether a content type is a video (video/*).
func IsVideo(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return strings.HasPrefix(mt, "video/")
}

// UploadLimit is the largest file of the given content type the API
// takes, when general is the limit for images and other files: a video
// may be as large as MaxVideoUploadSize (sent with Version v3), or general
// if that is larger.
func UploadLimit(contentType string, general int64) int64 {
	if IsVideo(contentType) {
		return max(general, MaxVideoUploadSize)
	}
	return general
}
