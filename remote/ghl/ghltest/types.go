package ghltest

import (
	"mime"
	"strings"
)

// uploadTypes are the content types upload-file takes under the
// type-allowlist quirk: a file part of any other type is refused with 400
// INVALID_FILE_TYPE. The service's real list is unknown. A public client
// saw image/png, image/jpeg, video/mp4, audio/mpeg and application/pdf
// accepted, and application/octet-stream, audio/mp4 and image/avif
// refused; the rest is a guess at what a media library for marketing
// takes: common pictures (HEIC and HEIF from phones among them), videos,
// MP3, WAV, Ogg and AAC audio, PDF and office documents, plain text, CSV
// and ZIP. Refused, by guess: audio/x-m4a (unknown: refusing it is the
// harder case for a client), Markdown, JSON, XML, HTML, fonts and every
// archive but ZIP.
var uploadTypes = map[string]bool{
	// seen accepted
	"image/png": true, "image/jpeg": true, "video/mp4": true, "audio/mpeg": true, "application/pdf": true,
	// guessed
	"image/gif": true, "image/webp": true, "image/svg+xml": true, "image/bmp": true, "image/tiff": true,
	"image/x-icon": true, "image/vnd.microsoft.icon": true, "image/heic": true, "image/heif": true,
	"video/quicktime": true, "video/webm": true, "video/mpeg": true, "video/x-msvideo": true,
	"video/x-m4v": true, "video/x-matroska": true, "video/3gpp": true,
	"audio/wav": true, "audio/x-wav": true, "audio/ogg": true, "audio/aac": true, "audio/webm": true,
	"text/plain": true, "text/csv": true,
	"application/msword": true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": true,
	"application/vnd.ms-excel": true,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         true,
	"application/vnd.ms-powerpoint":                                             true,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": true,
	"application/zip": true,
}

// UploadTypeAllowed reports whether upload-file takes a file part of this
// content type under the type-allowlist quirk. Parameters (a charset) do
// not count; case does not either.
func UploadTypeAllowed(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return uploadTypes[strings.ToLower(mt)]
}
