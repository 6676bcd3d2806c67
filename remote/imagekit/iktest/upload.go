package iktest

import (
	"bytes"
	"crypto/rand"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// handleUpload: POST upload-host/api/v1/files/upload, multipart (doc
// server-side-file-upload.md): file, fileName (rewritten silently),
// folder (made when missing), useUniqueFileName (default true: a suffix
// is added), overwriteFile (default true: a name taken makes a new
// version of its file, at most MaxVersions). 200 with the file.
func (s *Server) handleUpload(r *http.Request, delay time.Duration) reply {
	s.mu.Lock()
	limit, video, emptyRefused := s.opts.MaxUpload, s.opts.MaxVideo, s.quirks.has(QuirkEmptyRefused)
	s.mu.Unlock()
	mr, err := r.MultipartReader()
	if err != nil {
		return fail(http.StatusBadRequest, "Your request is not multipart/form-data.", "")
	}
	fields := map[string]string{}
	var data []byte
	var ctype string
	sawFile := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(http.StatusBadRequest, "Your request could not be read.", "")
		}
		if p.FormName() == "file" && p.FileName() != "" {
			var buf bytes.Buffer
			n, err := io.Copy(&buf, io.LimitReader(p, max(limit, video)+1))
			if err != nil {
				return fail(http.StatusBadRequest, "Your request could not be read.", "")
			}
			if n > max(limit, video) {
				return fail(http.StatusBadRequest, "The file size exceeds limits.", "")
			}
			data, sawFile, ctype = buf.Bytes(), true, p.Header.Get("Content-Type")
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(p, 64<<10))
		fields[p.FormName()] = string(b)
	}
	name := fields["fileName"]
	if name == "" {
		return fail(http.StatusBadRequest, "Missing fileName parameter for upload.", "")
	}
	if !sawFile {
		return fail(http.StatusBadRequest, "Missing file parameter for upload.", "")
	}
	mt, _, _ := mime.ParseMediaType(ctype)
	if mt == "" || mt == "application/octet-stream" {
		mt = mime.TypeByExtension(path.Ext(name))
		mt, _, _ = mime.ParseMediaType(mt)
		if mt == "" {
			mt = "application/octet-stream"
		}
	}
	if max := limit; strings.HasPrefix(mt, "video/") && int64(len(data)) > video || !strings.HasPrefix(mt, "video/") && int64(len(data)) > max {
		return fail(http.StatusBadRequest, "The file size exceeds limits.", "")
	}
	if len(data) == 0 && emptyRefused {
		return fail(http.StatusBadRequest, "Your request contains an empty file.", "")
	}
	dir, err := cleanPath(fields["folder"])
	if err != nil {
		return fail(http.StatusBadRequest, "Your request contains an invalid folder.", "")
	}
	var segs []string
	for seg := range strings.SplitSeq(strings.TrimPrefix(dir, "/"), "/") {
		if seg != "" {
			segs = append(segs, StoredName(seg, true))
		}
	}
	if len(segs) > 0 {
		dir = "/" + strings.Join(segs, "/")
	}
	name = StoredName(name, false)
	if name == "." || name == ".." {
		return fail(http.StatusBadRequest, "Invalid fileName.", "")
	}
	if fields["useUniqueFileName"] != "false" {
		ext := path.Ext(name)
		name = strings.TrimSuffix(name, ext) + "_" + suffix() + ext
	}
	if delay > 0 {
		time.Sleep(delay) // Faults.UploadDelay: a slow store, as a test asks
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureFolder(dir)
	n := s.fileAt(dir + "/" + name)
	switch {
	case n != nil && fields["overwriteFile"] == "false":
		return fail(http.StatusBadRequest, "A file with the same name already exists at the exact location. We could not overwrite it because both overwriteFile and useUniqueFileName are set to false.", "")
	case n != nil && len(n.versions) >= s.opts.MaxVersions:
		return fail(http.StatusBadRequest, "The file has reached the limit of versions.", "VERSION_LIMIT_EXCEEDED")
	case n == nil:
		n = s.add(&node{name: name, dir: dir})
	}
	s.addVersion(n, data, mt)
	return reply{http.StatusOK, s.fileJSON(n, n.current())}
}

// suffix is the random part useUniqueFileName adds.
func suffix() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [9]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b[:])
}
