package ghl

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// UploadFile uploads a new file and returns it as an Item (ID and URL from
// the answer). New content always makes a new file: the API cannot replace
// an existing file's bytes.
func (c *Client) UploadFile(ctx context.Context, up remote.Upload) (remote.Item, error) {
	it, err := c.uploadFile(ctx, up)
	if err != nil {
		return it, err
	}
	return c.checkPlacement(ctx, "POST /medias/upload-file", it, up.ParentID)
}

func (c *Client) uploadFile(ctx context.Context, up remote.Upload) (remote.Item, error) {
	if err := c.beforeCreate("POST /medias/upload-file", up.ParentID, up.Name); err != nil {
		return remote.Item{}, err
	}
	ctype := cmp.Or(up.ContentType, remote.OctetStream)
	if limit := UploadLimit(ctype, c.maxSize); up.Size > limit {
		return remote.Item{}, fmt.Errorf("POST /medias/upload-file: %s is %d bytes: %w (the API takes at most %d bytes of %s)", up.Name, up.Size, remote.ErrTooLarge, limit, ctype)
	}
	cl := call{method: "POST", endpoint: "/medias/upload-file", path: "/medias/upload-file"}
	if IsVideo(ctype) && up.Size > c.maxSize {
		cl.version = APIVersionV3 // only v3 takes a video this large
	}
	var err error
	if cl.body, cl.length, err = multipartBody(up, c.location); err != nil {
		return remote.Item{}, err
	}
	root, err := c.rootBefore(ctx, up.ParentID, remote.TypeFile, up.Name)
	if err != nil {
		return remote.Item{}, err
	}
	start := c.clk.Now()
	for attempt := 0; ; attempt++ {
		body, err := c.do(ctx, cl)
		if err == nil {
			var res struct {
				FileID string `json:"fileId"`
				ID     string `json:"_id"`
				AltID  string `json:"id"`
				URL    string `json:"url"`
			}
			_ = json.Unmarshal(body, &res)
			// The id is the answer's: the service may list the file under
			// another (see Confirm).
			it := remote.Item{ID: cmp.Or(res.FileID, res.ID, res.AltID), Name: up.Name, Type: remote.TypeFile, ParentID: up.ParentID,
				URL: res.URL, ContentType: up.ContentType, Size: up.Size, SentAt: start.UTC(), CreatedAt: c.clk.Now().UTC(), Unconfirmed: true}
			if it.ID == "" {
				if found, ok := c.findAnswerless(ctx, up.ParentID, remote.TypeFile, up.Name, up.Size, start, up.Exclude, up.Rivals); ok {
					return found, nil
				}
				// Or in the root, where a service that ignores parentId put it.
				if found, ok, ferr := c.findLost(ctx, "POST /medias/upload-file", root, up.ParentID, remote.TypeFile, up.Name, up.Size, start, up.Exclude, up.Rivals); ok || errors.Is(ferr, remote.ErrMisplaced) {
					return found, ferr
				}
				return remote.Item{}, fmt.Errorf("POST /medias/upload-file: answer without a file id: %.200s", body)
			}
			return it, nil
		}
		if !errors.Is(err, errAmbiguous) || attempt >= 4 {
			return remote.Item{}, err
		}
		// The first attempt may have landed: look before sending the bytes again.
		found, ok, ferr := c.findLost(ctx, "POST /medias/upload-file", root, up.ParentID, remote.TypeFile, up.Name, up.Size, start, up.Exclude, up.Rivals)
		if errors.Is(ferr, remote.ErrMisplaced) {
			return remote.Item{}, ferr
		}
		if ferr != nil {
			return remote.Item{}, err
		}
		if ok {
			return found, nil
		}
		c.log.Debug("upload did not land; sending it again", "name", up.Name, "err", err)
		if werr := remote.Sleep(ctx, c.clk, remote.Backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return remote.Item{}, err
		}
		c.core.CountRetry(cl.method, cl.endpoint)
	}
}

// multipartBody is the upload's request body, streamed from up.Open: the
// file's bytes are never held in memory. With a known size the body has a
// Content-Length (the form's parts around the file are fixed once, with
// one boundary); otherwise it is sent chunked.
func multipartBody(up remote.Upload, location string) (func() (io.Reader, string, error), int64, error) {
	if up.Size < 0 {
		return pipedBody(up, location), 0, nil
	}
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if err := writeFormHead(mw, up, location); err != nil {
		return nil, 0, err
	}
	n := head.Len()
	if err := mw.Close(); err != nil {
		return nil, 0, err
	}
	prefix, suffix := head.Bytes()[:n], head.Bytes()[n:]
	body := func() (io.Reader, string, error) {
		src, err := up.Open()
		if err != nil {
			return nil, "", err
		}
		file := up.Progress.Attempt(&exactReader{r: src, left: up.Size, name: up.Name, size: up.Size})
		// net/http closes the body, read to the end or not: that closes src.
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(prefix), file, bytes.NewReader(suffix)), src}, mw.FormDataContentType(), nil
	}
	return body, int64(len(prefix)) + up.Size + int64(len(suffix)), nil
}

// exactReader reads exactly size bytes of r: a source that ends early is
// an error, one that holds more is cut.
type exactReader struct {
	r          io.Reader
	left, size int64
	name       string
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case errors.Is(err, io.EOF) && e.left > 0:
		return n, fmt.Errorf("upload of %s: read %d bytes, expected %d", e.name, e.size-e.left, e.size)
	case errors.Is(err, io.EOF):
		return n, nil
	}
	return n, err
}

// pipedBody streams a form whose file size is not known.
func pipedBody(up remote.Upload, location string) func() (io.Reader, string, error) {
	return func() (io.Reader, string, error) {
		src, err := up.Open()
		if err != nil {
			return nil, "", err
		}
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			defer src.Close()
			err := writeFormHead(mw, up, location)
			if err == nil {
				_, err = io.Copy(pw, up.Progress.Attempt(src))
			}
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, mw.FormDataContentType(), nil
	}
}

// writeFormHead writes the form's fields and the file part's header; the
// file's bytes follow. altId and altType go with every upload, as with
// every other call: the spec does not name them for this one, but a public
// client sends them, and a server that wants them would put a file whose
// form lacks them in the root whatever parentId says.
func writeFormHead(mw *multipart.Writer, up remote.Upload, location string) error {
	fields := [][2]string{{"name", up.Name}}
	if up.ParentID != "" {
		fields = append(fields, [2]string{"parentId", up.ParentID})
	}
	fields = append(fields, [2]string{"altId", location}, [2]string{"altType", "location"})
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, quoteFilename(up.Name)))
	h.Set("Content-Type", cmp.Or(up.ContentType, remote.OctetStream))
	_, err := mw.CreatePart(h)
	return err
}

var filenameEscaper = strings.NewReplacer("\\", "\\\\", `"`, "%22", "\r", "%0D", "\n", "%0A")

// quoteFilename is a name as a form part's filename parameter: a quote,
// a backslash and every control character escaped (\r, \n and '"' as
// browsers do, percent-encoded; the other control characters too), so
// that a multipart parser reads the header. The file's name goes in the
// form's name field as it is.
func quoteFilename(s string) string {
	s = filenameEscaper.Replace(s)
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; isControl(rune(c)) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
