package remote

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Storage reads go to the file's own URL on a storage host. They carry no
// API token and do not count against the API's rate limit. A url off the
// storage allow-list (policy.go) is refused before anything is sent.

// ReadAt fills p with the bytes of the file at fileURL from off on, with
// HTTP Range requests. It returns io.EOF, with the bytes read so far, when
// the file ends first. A body that breaks off is resumed from the byte it
// reached; failures are retried for as long as the context and the client's
// retry budget allow.
func (c *Core) ReadAt(ctx context.Context, fileURL string, p []byte, off int64) (int, error) {
	return c.ReadAtv(ctx, fileURL, [][]byte{p}, off)
}

// ReadAtv is ReadAt into several buffers, filled in turn from one range:
// one request can fill buffers that are each kept on their own.
func (c *Core) ReadAtv(ctx context.Context, fileURL string, bufs [][]byte, off int64) (int, error) {
	return c.readAtv(ctx, &readSource{url: fileURL}, bufs, off, -1)
}

// ReadAtvSized is ReadAtv of a file whose size is known (a listing gave
// it, for a version whose bytes never change): an answer whose total
// length (Content-Range's, or a 200's Content-Length) is another is a copy
// of another version (a CDN's stale copy, say), and is never taken: it is
// asked again a few times, then the read fails with ErrStaleCopy. Nothing
// is asked past size: a read from size on is io.EOF at once.
func (c *Core) ReadAtvSized(ctx context.Context, fileURL string, bufs [][]byte, off, size int64) (int, error) {
	return c.readSized(ctx, &readSource{url: fileURL}, bufs, off, size)
}

// ReadAPIAtvSized is ReadAtvSized of bytes the API host itself serves,
// with the API's credentials (OCM's files/{id}/data): cl gives the path,
// query and headers (the method is GET, the body none). Each request is
// paced and authorised as Do's are, a 401 renews the token once, a 429
// pauses the pacer, and redirects are followed only within the API's
// origin: the token goes nowhere else. size < 0: not known.
func (c *Core) ReadAPIAtvSized(ctx context.Context, cl Call, bufs [][]byte, off, size int64) (int, error) {
	u, err := c.callURL(cl)
	if err != nil {
		return 0, err
	}
	cl.Method = http.MethodGet
	return c.readSized(ctx, &readSource{url: u, api: &cl}, bufs, off, size)
}

// readSource is where a read's bytes come from: a storage url, without
// credentials, or (api set) the API host, with them.
type readSource struct {
	url string
	api *Call
	// sent is the token the last API request carried, and reauthed
	// whether a 401 renewed it already.
	sent     string
	reauthed bool
}

func (c *Core) readSized(ctx context.Context, src *readSource, bufs [][]byte, off, size int64) (int, error) {
	if size < 0 {
		return c.readAtv(ctx, src, bufs, off, -1)
	}
	if off >= size {
		return 0, io.EOF
	}
	// Only the bytes the file has are asked for; the rest is io.EOF.
	var cut [][]byte
	left := size - off
	for _, b := range bufs {
		if left <= 0 {
			break
		}
		b = b[:min(int64(len(b)), left)]
		left -= int64(len(b))
		cut = append(cut, b)
	}
	short := left <= 0 && sum(cut) < sum(bufs)
	n, err := c.readAtv(ctx, src, cut, off, size)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

func sum(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// maxStaleReads bounds how often a read that met a copy of another
// version (ErrStaleCopy) asks again.
const maxStaleReads = 4

func (c *Core) readAtv(ctx context.Context, src *readSource, bufs [][]byte, off, size int64) (int, error) {
	fileURL, route := src.url, storageRoute
	if src.api == nil {
		if err := c.policy.check(fileURL); err != nil {
			return 0, err
		}
	} else {
		route = src.api.Endpoint
	}
	deadline := c.clk.Now().Add(c.retryFor)
	total := sum(bufs)
	got, stale := 0, 0
	for attempt := 0; got < total; {
		rest := skipBytes(bufs, got)
		n, err := c.readOnce(ctx, src, rest, total-got, off+int64(got), size)
		if errors.Is(err, ErrStaleCopy) {
			if stale++; stale > maxStaleReads {
				return got, err
			}
		}
		got += n
		if err == nil || err == io.EOF {
			if err == io.EOF || n == 0 {
				return got, io.EOF
			}
			continue
		}
		if ctx.Err() != nil {
			return got, ctx.Err()
		}
		var apiErr *Error
		if src.api != nil && errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized && apiErr.Cause == nil && !src.reauthed {
			// As Do: a token rotated or refreshed meanwhile, once.
			src.reauthed = true
			if renewed, rerr := c.auth.Refused(ctx, src.sent); rerr != nil {
				return got, fmt.Errorf("GET %s: %w", route, rerr)
			} else if renewed {
				c.stats.retry(http.MethodGet, route)
				continue
			}
		}
		if final(err) {
			return got, err
		}
		if n > 0 {
			attempt = 0 // progress: the next break starts a fresh count
		}
		wait := Backoff(attempt, 100*time.Millisecond, 5*time.Second)
		if src.api != nil && errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests {
			wait = max(wait, min(apiErr.RetryAfter, c.maxWait))
			c.pacer.pause(wait)
		}
		if c.clk.Now().Add(wait).After(deadline) {
			return got, fmt.Errorf("reading %s: gave up: %w", RedactURL(fileURL), err)
		}
		c.log.Debug("storage read failed; resuming", "url", RedactURL(fileURL), "at", off+int64(got), "err", err)
		if err := Sleep(ctx, c.clk, wait); err != nil {
			return got, err
		}
		c.stats.retry(http.MethodGet, route)
		attempt++
	}
	return got, nil
}

// skipBytes returns bufs less their first n bytes.
func skipBytes(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) == 0 {
		return nil
	}
	out := append([][]byte{bufs[0][n:]}, bufs[1:]...)
	return out
}

// readOnce makes one ranged GET for size bytes at off, into bufs in turn,
// and reads as much of the body as arrives.
// want, when not negative, is the file's whole size: an answer of
// another total length is refused (ErrStaleCopy).
func (c *Core) readOnce(ctx context.Context, src *readSource, bufs [][]byte, size int, off, want int64) (int, error) {
	fileURL := src.url
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fileURL, nil)
	if err != nil {
		return 0, &RefusedError{URL: RedactURL(fileURL), Reason: "not a url"}
	}
	client, route := c.storage, storageRoute
	if cl := src.api; cl != nil {
		if err := c.pacer.wait(ctx); err != nil {
			return 0, err
		}
		token, err := c.auth.Token(ctx)
		if err != nil {
			c.reportIfIncurable(err)
			return 0, fmt.Errorf("GET %s: %w", cl.Endpoint, err)
		}
		for k, v := range c.hooks.Header {
			req.Header[k] = slices.Clone(v)
		}
		for k, v := range cl.Header {
			req.Header[http.CanonicalHeaderKey(k)] = slices.Clone(v)
		}
		c.hooks.Authorize(req.Header, token)
		src.sent = token
		client, route = c.http, cl.Endpoint
		c.usage.sent(c.clk.Now())
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+int64(size)-1))
	resp, err := client.Do(req)
	c.stats.call(http.MethodGet, route, StatusOf(resp))
	if err != nil {
		return 0, RedactErr(err)
	}
	defer resp.Body.Close()
	body := c.stats.countStorage(resp.Body)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); ok && start != off {
			return 0, fmt.Errorf("storage answered range from %d, asked %d", start, off)
		}
		if total, ok := contentRangeTotal(resp.Header.Get("Content-Range")); want >= 0 && ok && total != want {
			return 0, &StaleError{URL: RedactURL(fileURL), Want: want, Got: total}
		}
	case http.StatusOK:
		if src.api != nil && c.hooks.AnswerError != nil && strings.Contains(resp.Header.Get("Content-Type"), "json") {
			// A whole answer in JSON from the API host: the file, or
			// a failure the service wrote into a 200 (Hooks.AnswerError).
			head, _ := io.ReadAll(io.LimitReader(body, maxPeek+1))
			if len(head) <= maxPeek {
				if e := c.hooks.AnswerError(http.MethodGet, src.api.Endpoint, resp, head); e != nil {
					return 0, e
				}
			}
			body = io.MultiReader(bytes.NewReader(head), body)
		}
		if want >= 0 && resp.ContentLength >= 0 && resp.ContentLength != want {
			return 0, &StaleError{URL: RedactURL(fileURL), Want: want, Got: resp.ContentLength}
		}
		// The host ignored Range: skip to off in the whole body.
		if _, err := io.CopyN(io.Discard, body, off); err != nil {
			if err == io.EOF {
				return 0, io.EOF
			}
			return 0, err
		}
	case http.StatusRequestedRangeNotSatisfiable:
		return 0, io.EOF
	default:
		if src.api != nil {
			// The API's own error body: no signed url to echo.
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			return 0, c.hooks.ParseError(http.MethodGet, route, resp, b)
		}
		b, _ := io.ReadAll(io.LimitReader(body, 4096))
		return 0, c.storageError("GET", fileURL, resp, b)
	}
	n := 0
	for _, p := range bufs {
		k, err := io.ReadFull(body, p)
		n += k
		switch {
		case err == io.ErrUnexpectedEOF || (err == io.EOF && n > 0):
			// Short: either the file ended, or the connection broke. A
			// declared length tells which.
			if resp.ContentLength >= 0 && int64(n) < resp.ContentLength-skipped(resp, off) {
				return n, io.ErrUnexpectedEOF
			}
			return n, io.EOF
		case err == io.EOF:
			return 0, io.EOF
		case err != nil:
			return n, err
		}
	}
	return n, nil
}

// maxPeek bounds the JSON answer a ranged read from the API host reads
// for a failure written into a 200.
const maxPeek = 64 << 10

// skipped is how much of a 200 answer's declared length lies before off.
func skipped(resp *http.Response, off int64) int64 {
	if resp.StatusCode == http.StatusOK {
		return off
	}
	return 0
}

// contentRangeTotal is the total length a Content-Range gives ("bytes
// 100-199/1000"); not ok for "*" or none.
func contentRangeTotal(v string) (int64, bool) {
	i := strings.LastIndexByte(v, '/')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v[i+1:]), 10, 64)
	return n, err == nil && n >= 0
}

// ErrStaleCopy matches a read whose answer was of another length than the
// file's version has: a copy of another version (a CDN's, kept after an
// overwrite). Its bytes are never handed on.
var ErrStaleCopy = errors.New("the storage host served a copy of another version")

// StaleError is a read answered with a copy of another length than the
// version asked for.
type StaleError struct {
	URL       string // without query
	Want, Got int64
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("%s: the storage host served %d bytes in all, the file's version has %d: a stale copy (not used)", e.URL, e.Got, e.Want)
}

// Is matches ErrStaleCopy.
func (e *StaleError) Is(target error) bool { return target == ErrStaleCopy }

func contentRangeStart(v string) (int64, bool) {
	// "bytes 100-199/1000"
	v = strings.TrimPrefix(strings.TrimSpace(v), "bytes ")
	dash := strings.IndexByte(v, '-')
	if dash <= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:dash], 10, 64)
	return n, err == nil
}

// FileInfo is what the storage host says of a file.
type FileInfo struct {
	Size        int64
	ModTime     time.Time
	ContentType string
}

// StatURL asks the storage host for a file's size and time (HEAD), for
// listings that do not carry them.
func (c *Core) StatURL(ctx context.Context, fileURL string) (FileInfo, error) {
	if err := c.policy.check(fileURL); err != nil {
		return FileInfo{}, err
	}
	deadline := c.clk.Now().Add(c.retryFor)
	for attempt := 0; ; attempt++ {
		fi, err := c.headOnce(ctx, fileURL)
		if err == nil {
			return fi, nil
		}
		if ctx.Err() != nil || final(err) {
			return FileInfo{}, err
		}
		wait := Backoff(attempt, 100*time.Millisecond, 5*time.Second)
		if c.clk.Now().Add(wait).After(deadline) {
			return FileInfo{}, err
		}
		if err := Sleep(ctx, c.clk, wait); err != nil {
			return FileInfo{}, err
		}
		c.stats.retry(http.MethodHead, storageRoute)
	}
}

func (c *Core) headOnce(ctx context.Context, fileURL string) (FileInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, fileURL, nil)
	if err != nil {
		return FileInfo{}, &RefusedError{URL: RedactURL(fileURL), Reason: "not a url"}
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.storage.Do(req)
	c.stats.call(http.MethodHead, storageRoute, StatusOf(resp))
	if err != nil {
		return FileInfo{}, RedactErr(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return FileInfo{}, c.storageError("HEAD", fileURL, resp, nil)
	}
	fi := FileInfo{Size: resp.ContentLength, ContentType: resp.Header.Get("Content-Type")}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		fi.ModTime = t.UTC()
	}
	if fi.Size < 0 {
		// No length in the HEAD answer: ask for one byte, and read the
		// total from Content-Range.
		return c.rangeStat(ctx, fileURL, fi)
	}
	return fi, nil
}

func (c *Core) rangeStat(ctx context.Context, fileURL string, fi FileInfo) (FileInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fileURL, nil)
	if err != nil {
		return fi, &RefusedError{URL: RedactURL(fileURL), Reason: "not a url"}
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Range", "bytes=0-0")
	resp, err := c.storage.Do(req)
	c.stats.call(http.MethodGet, storageRoute, StatusOf(resp))
	if err != nil {
		return fi, RedactErr(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(c.stats.countStorage(resp.Body), 1))
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range")
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				fi.Size = n
				return fi, nil
			}
		}
	case http.StatusRequestedRangeNotSatisfiable:
		fi.Size = 0 // an empty file has no byte 0
		return fi, nil
	case http.StatusOK:
		if resp.ContentLength >= 0 {
			fi.Size = resp.ContentLength
			return fi, nil
		}
	}
	// The host says neither: not a fault that a retry would mend.
	return fi, &Error{Method: "GET", Endpoint: "storage " + RedactURL(fileURL), Status: http.StatusNotImplemented, Message: "the storage host gives no file size"}
}

// final reports whether a storage failure can never succeed when sent
// again: a refused url or redirect, or a 4xx other than 408 and 429.
func final(err error) bool {
	if errors.Is(err, ErrRefused) {
		return true
	}
	var se *Error
	return errors.As(err, &se) && !se.retryable()
}

// storageError is the *Error of a storage answer. The body of a storage
// host's error can echo the request, signature and all (Cloud Storage's
// SignatureDoesNotMatch holds the string to sign), so the backend's
// ParseError never sees it, and only its XML Code and Message are kept.
func (c *Core) storageError(method, fileURL string, resp *http.Response, body []byte) *Error {
	e := c.hooks.ParseError(method, "storage "+RedactURL(fileURL), resp, nil)
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &x) == nil && x.Code != "" {
		e.Kind = x.Code
		e.Message = strings.TrimSpace(x.Code + ": " + x.Message)
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

// SameURL reports whether two file urls name the same object: equal but
// for a query (a signature may change) or a fragment, or with the same
// object name (ObjectName): an upload's answer may give the CDN's address
// of a file its listing gives at the bucket, or the other way round. It
// compares the answers of uploads no listing has shown yet (Backend's
// Unconfirmed) with listed files.
func SameURL(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b || BareURL(a) == BareURL(b) {
		return true
	}
	o := ObjectName(a)
	return o != "" && o == ObjectName(b)
}

// BareURL is a url without its query and fragment.
func BareURL(u string) string {
	u, _, _ = strings.Cut(u, "#")
	u, _, _ = strings.Cut(u, "?")
	return u
}

// minObjectStem is the shortest object name (less its extension) taken to
// name one object wherever it is served: a 24-hex id or a UUID, as a
// store names the files it keeps under ids, not a name such as
// "photo.png", which two folders of a bucket may both hold.
const minObjectStem = 16

// ObjectName is the last segment of a file url's path, unescaped, when it
// is long enough to name one object (minObjectStem); "" otherwise.
func ObjectName(u string) string {
	p := BareURL(u)
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			p = p[j:]
		} else {
			return ""
		}
	}
	seg := p[strings.LastIndexByte(p, '/')+1:]
	if s, err := url.PathUnescape(seg); err == nil {
		seg = s
	}
	stem := strings.TrimSuffix(seg, path.Ext(seg))
	if len(stem) < minObjectStem {
		return ""
	}
	return seg
}
