package remote

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"unicode"
	"unicode/utf8"
)

// JSONBody is a Call body of v, marshalled once: the same bytes at each
// attempt. An error marshalling it is the body's error, at the first.
func JSONBody(v any) func() (io.Reader, string, error) {
	data, err := json.Marshal(v)
	return func() (io.Reader, string, error) {
		if err != nil {
			return nil, "", err
		}
		return bytes.NewReader(data), "application/json", nil
	}
}

// UploadForm is a Call's Body and Length for a multipart upload of up:
// the fields, then the file part fileField (its file name filename, its
// content type ctype) holding up's bytes, read from up.Open at each
// attempt (counted by up.Progress) and never held in memory. Length is 0
// (the body is sent chunked) when up.Size is not known.
func UploadForm(up Upload, fields [][2]string, fileField, filename, ctype string) (body func() (io.Reader, string, error), length int64) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+quoteEscaper.Replace(fileField)+`"; filename="`+quoteEscaper.Replace(filename)+`"`)
	h.Set("Content-Type", ctype)
	mw.CreatePart(h)
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	mw.Close()
	tail, form := bytes.Clone(buf.Bytes()), mw.FormDataContentType()
	body = func() (io.Reader, string, error) {
		rc, err := up.Open()
		if err != nil {
			return nil, "", err
		}
		// net/http closes the body, read to the end or not: that closes rc.
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), up.Progress.Attempt(rc), bytes.NewReader(tail)), rc}, form, nil
	}
	if up.Size >= 0 {
		length = int64(len(head)) + up.Size + int64(len(tail))
	}
	return body, length
}

// quoteEscaper escapes a quoted string of a header, as mime/multipart
// does.
var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// CleanText keeps at most n bytes of s, control characters and invalid
// UTF-8 dropped: what a server wrote, as a log line or an error carries
// it.
func CleanText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

// ValidListedName reports whether a name a server listed can be shown:
// valid UTF-8, no '/', no control character, not "." or "..", at most
// MaxNameBytes.
func ValidListedName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > MaxNameBytes || !utf8.ValidString(name) {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool { return r == '/' || unicode.IsControl(r) })
}
