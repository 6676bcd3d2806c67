package remote

import (
	"mime"
	"path"
	"strings"
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

// mediaTypes are the types of common media extensions, before the
// system's: its tables may lack them (Go's own knows no video) or differ
// (.webm as audio/webm), and a video must go up as video/* for its larger
// limit to apply.
var mediaTypes = map[string]string{
	".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime",
	".webm": "video/webm", ".mkv": "video/x-matroska", ".avi": "video/x-msvideo",
	".mpeg": "video/mpeg", ".mpg": "video/mpeg", ".wmv": "video/x-ms-wmv",
	".ogv": "video/ogg", ".3gp": "video/3gpp", ".flv": "video/x-flv",
	".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".wav": "audio/wav",
	".zip": "application/zip",
}

// TypeByName is the content type a file named name is uploaded with: a
// built-in one for common media, else the system's type for its
// extension, else application/octet-stream.
func TypeByName(name string) string {
	if t := typeOfExt(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func typeOfExt(ext string) string {
	ext = strings.ToLower(ext)
	if ext == "" {
		return ""
	}
	if t, ok := mediaTypes[ext]; ok {
		return t
	}
	return mime.TypeByExtension(ext)
}

// temporaryTypes are those some systems give the extensions of
// temporary names (".part", ".bak").
var temporaryTypes = map[string]bool{"application/x-partial-download": true, "application/x-trash": true}

// IntendedType is the content type of the file a name stands for: that of
// its extension, or, when the extension has no known type (or one of a
// temporary file), of the one before it. A temporary name (rsync's ".clip.mp4.Xy12Ab", a download's
// "clip.mp4.part") thus takes the type, and the limit, of the file it will
// be renamed to.
func IntendedType(name string) string {
	ext := path.Ext(name)
	if t := typeOfExt(ext); t != "" && !temporaryTypes[t] {
		return t
	}
	if t := typeOfExt(path.Ext(strings.TrimSuffix(name, ext))); t != "" {
		return t
	}
	return TypeByName(name)
}
