package remote

import (
	"maps"
	"path"
	"strings"
)

// OctetStream is the type of a file whose extension ghlfs does not know.
const OctetStream = "application/octet-stream"

// contentTypes is the content type each extension is uploaded with: a
// table of ghlfs's own, so that what is sent never depends on the
// machine's tables (/etc/mime.types, shared-mime-info), which slim systems
// lack: a file part sent as application/octet-stream is refused by the
// service (INVALID_FILE_TYPE, seen). The types are those browsers send,
// with no parameters (no charset: the bytes are not known to be UTF-8,
// and an allow-list may compare the whole value). The README lists them;
// TestReadmeListsContentTypes keeps the two the same.
//
// .m4a goes up as audio/x-m4a: audio/mp4 (its registered type) was seen
// refused, and audio/mpeg, seen accepted, would label AAC in an MP4
// container as MPEG audio (a player or a later download trusting the type
// would be misled: a silent mix-up). audio/x-m4a is what browsers send
// for .m4a, so an allow-list built for the web app's uploads holds it if
// the service takes M4A at all; if it does not, the upload is refused
// with a clear error and kept (convert it to .mp3).
var contentTypes = map[string]string{
	// pictures
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg", ".jfif": "image/jpeg",
	".png": "image/png", ".gif": "image/gif", ".webp": "image/webp", ".svg": "image/svg+xml",
	".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff", ".ico": "image/x-icon",
	".heic": "image/heic", ".heif": "image/heif", ".avif": "image/avif",
	// videos (video/* gets the larger upload limit)
	".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime", ".qt": "video/quicktime",
	".webm": "video/webm", ".mkv": "video/x-matroska", ".avi": "video/x-msvideo",
	".mpeg": "video/mpeg", ".mpg": "video/mpeg", ".wmv": "video/x-ms-wmv", ".ogv": "video/ogg",
	".3gp": "video/3gpp", ".3g2": "video/3gpp2", ".flv": "video/x-flv",
	// audio
	".mp3": "audio/mpeg", ".m4a": "audio/x-m4a", ".aac": "audio/aac", ".wav": "audio/wav",
	".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/opus", ".flac": "audio/flac",
	".weba": "audio/webm", ".wma": "audio/x-ms-wma", ".aif": "audio/aiff", ".aiff": "audio/aiff",
	".mid": "audio/midi", ".midi": "audio/midi",
	// documents
	".pdf": "application/pdf", ".doc": "application/msword",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls":  "application/vnd.ms-excel",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".ppt":  "application/vnd.ms-powerpoint",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text",
	".ods":  "application/vnd.oasis.opendocument.spreadsheet",
	".odp":  "application/vnd.oasis.opendocument.presentation",
	".rtf":  "application/rtf", ".epub": "application/epub+zip",
	// text and data
	".txt": "text/plain", ".text": "text/plain", ".log": "text/plain", ".csv": "text/csv",
	".tsv": "text/tab-separated-values", ".md": "text/markdown", ".markdown": "text/markdown",
	".json": "application/json", ".xml": "application/xml", ".html": "text/html", ".htm": "text/html",
	".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript", ".ics": "text/calendar",
	".vcf": "text/vcard", ".vtt": "text/vtt", ".srt": "application/x-subrip",
	// archives
	".zip": "application/zip", ".gz": "application/gzip", ".tgz": "application/gzip",
	".tar": "application/x-tar", ".7z": "application/x-7z-compressed", ".rar": "application/vnd.rar",
	".bz2": "application/x-bzip2", ".xz": "application/x-xz",
	// fonts
	".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
}

// ContentTypes returns a copy of the table of extensions (with their dot,
// lower case) and the content type each is uploaded with.
func ContentTypes() map[string]string { return maps.Clone(contentTypes) }

// TypeByName is the content type a file named name is uploaded with: that
// of its extension (case does not matter) in ghlfs's table, else
// application/octet-stream.
func TypeByName(name string) string {
	if t := typeOfExt(path.Ext(name)); t != "" {
		return t
	}
	return OctetStream
}

func typeOfExt(ext string) string {
	return contentTypes[strings.ToLower(ext)]
}

// IntendedType is the content type of the file a name stands for: that of
// its extension, or, when ghlfs knows no type for the extension, of the
// one before it. A temporary name (rsync's ".clip.mp4.Xy12Ab", a
// download's "clip.mp4.part", an editor's "photo.png.bak") thus takes the
// type, and the limit, of the file it will be renamed to.
func IntendedType(name string) string {
	ext := path.Ext(name)
	if t := typeOfExt(ext); t != "" {
		return t
	}
	if t := typeOfExt(path.Ext(strings.TrimSuffix(name, ext))); t != "" {
		return t
	}
	return OctetStream
}
