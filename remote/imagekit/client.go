package imagekit

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
)

// Defaults of the real service.
const (
	DefaultAPIURL    = "https://api.imagekit.io"
	DefaultUploadURL = "https://upload.imagekit.io"
	// DefaultPageSize is the limit a listing asks for: the API's
	// largest (doc: 1–1000).
	DefaultPageSize = 1000
	// MaxUploadSize, MaxVideoSize are the free plan's limits (doc [G]
	// file.go): the most a backend claims without being told more.
	MaxUploadSize = 25_000_000
	MaxVideoSize  = 100_000_000
	// BulkRemove is the most ids one bulk delete takes (doc [O], [G]).
	BulkRemove = 100
)

// Config configures a Backend. PrivateKey and URLEndpoint are required.
type Config struct {
	// PrivateKey is the account's private API key: sent as HTTP Basic's
	// user to the API and the upload host, never to the url endpoint,
	// never logged.
	PrivateKey string
	// KeySource, when set, gives the key again after a 401 (a key file
	// rewritten with a new key).
	KeySource func() (string, error)
	APIURL    string // default DefaultAPIURL
	UploadURL string // default DefaultUploadURL
	// URLEndpoint is the account's url endpoint
	// (https://ik.imagekit.io/<id>): every file's url must be under it,
	// and bytes are read from it alone.
	URLEndpoint string
	// ClientOptions: PageSize defaults to DefaultPageSize; the rate
	// (default 20 a second: the one report's write rate; the service
	// publishes none) is the API's, uploads are not limited (doc
	// rate-limits.md); MaxRetryAfter caps a 429's X-RateLimit-Reset;
	// MaxUploadSize is the plan's upload limit (default the free
	// plan's).
	remote.ClientOptions
	// MaxVideoSize is the plan's upload limit of a video (default the
	// free plan's).
	MaxVideoSize int64
	// JobTimeout bounds the wait for a folder job (default 5m).
	JobTimeout time.Duration
}

// Backend is ImageKit's media library as a remote.Backend.
type Backend struct {
	api, up  *remote.Core
	endpoint *url.URL // the url endpoint, without a trailing slash
	pageSize int
	maxItems int
	maxSize  int64
	maxVideo int64
	jobWait  time.Duration
	log      *slog.Logger
	clk      clockwork.Clock

	mu sync.Mutex
	// folders is the path ("/a/b") of each folder id seen, and aliases
	// the id each later folderId of a folder stands for (a service that
	// gives a folder a new id when a job renames or moves it).
	folders map[string]string
	byPath  map[string]string // folders' ids by path
	aliases map[string]string
	// sizes is the size of each file version seen, by id and version:
	// a read checks the storage's answer against it.
	sizes map[fileRev]int64
	// jobMethod is the method the folder jobs were taken with (POST, as
	// documented, or PUT); "" until one was.
	jobMethod string
	// seen is when each folder was last seen to exist (existingFolder).
	seen map[string]time.Time
}

type fileRev struct{ id, rev string }

var _ remote.Backend = (*Backend)(nil)

// New returns a Backend of cfg.
func New(cfg Config) (*Backend, error) {
	if cfg.PrivateKey == "" {
		return nil, errors.New("imagekit: no private key")
	}
	ep, err := url.Parse(strings.TrimRight(cfg.URLEndpoint, "/"))
	if err != nil || cfg.URLEndpoint == "" || ep.Host == "" || ep.User != nil || ep.RawQuery != "" || ep.Fragment != "" {
		return nil, fmt.Errorf("imagekit: url endpoint %q: give the account's https://ik.imagekit.io/<id>", remote.RedactURL(cfg.URLEndpoint))
	}
	cfg.APIURL = cmp.Or(cfg.APIURL, DefaultAPIURL)
	cfg.UploadURL = cmp.Or(cfg.UploadURL, DefaultUploadURL)
	cfg.Defaults(DefaultPageSize, 1000)
	cfg.MaxUploadSize = cmp.Or(cfg.MaxUploadSize, MaxUploadSize)
	cfg.MaxVideoSize = cmp.Or(cfg.MaxVideoSize, MaxVideoSize)
	cfg.JobTimeout = cmp.Or(cfg.JobTimeout, 5*time.Minute)
	auth := remote.StaticToken(cfg.PrivateKey, cfg.KeySource, cfg.Logger)
	hooks := remote.Hooks{
		Authorize:  basicAuth,
		Header:     http.Header{"Accept": {"application/json"}},
		ParseError: parseError,
		Limits:     serverLimits,
	}
	core := func(base string, limit int) (*remote.Core, error) {
		u, err := url.Parse(strings.TrimRight(base, "/"))
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("imagekit: %s: not a url", remote.RedactURL(base))
		}
		cc := cfg.CoreConfig(u)
		cc.RateLimit, cc.StorageHosts, cc.Auth, cc.Hooks = limit, []string{ep.Host}, auth, hooks
		return remote.NewCore(cc)
	}
	api, err := core(cfg.APIURL, cfg.RateLimit)
	if err != nil {
		return nil, err
	}
	up, err := core(cfg.UploadURL, -1) // uploads are not rate limited
	if err != nil {
		return nil, err
	}
	return &Backend{api: api, up: up, endpoint: ep, pageSize: cfg.PageSize, maxItems: cfg.MaxListItems,
		maxSize: cfg.MaxUploadSize, maxVideo: cfg.MaxVideoSize, jobWait: cfg.JobTimeout, log: cfg.Logger, clk: cfg.Clock,
		folders: map[string]string{}, byPath: map[string]string{}, aliases: map[string]string{}, sizes: map[fileRev]int64{}, seen: map[string]time.Time{}}, nil
}

// basicAuth is HTTP Basic with the private key as the user and an empty
// password (doc authentication.md).
func basicAuth(h http.Header, key string) {
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(key+":")))
}

// errorBody is ImageKit's error answer (doc): {"message", "help",
// "reason"}, and a bulk delete's missingFileIds.
type errorBody struct {
	Message string   `json:"message"`
	Help    string   `json:"help"`
	Reason  string   `json:"reason"`
	Missing []string `json:"missingFileIds"`
}

// maxMessage bounds the service's message as an error carries it.
const maxMessage = 300

// parseError is the *remote.Error of a failed answer: the body's message
// (bounded, printable), its reason as Kind, x-ik-requestId as TraceID;
// a 429's X-RateLimit-Reset (ms to wait) as RetryAfter, which pauses the
// pacer.
func parseError(method, endpoint string, resp *http.Response, body []byte) *remote.Error {
	e := &remote.Error{Method: method, Endpoint: endpoint, Status: resp.StatusCode}
	var b errorBody
	if body != nil && json.Unmarshal(body, &b) == nil {
		e.Message, e.Kind = clean(b.Message, maxMessage), clean(b.Reason, 64)
		for _, id := range b.Missing[:min(len(b.Missing), 1000)] {
			if validID(id) {
				e.IDs = append(e.IDs, id)
			}
		}
	} else if body != nil {
		e = remote.ErrorOf(method, endpoint, resp, body)
		e.Message = clean(e.Message, maxMessage)
	}
	e.TraceID = clean(resp.Header.Get("x-ik-requestId"), 64)
	if ms, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil && ms > 0 && resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = time.Duration(min(ms, 24*3600*1000)) * time.Millisecond
	}
	if e.RetryAfter == 0 {
		e.RetryAfter = remote.ErrorOf(method, endpoint, resp, nil).RetryAfter
	}
	return e
}

// serverLimits reads the rate-limit headers for a status display
// (X-RateLimit-Limit per X-RateLimit-Interval ms).
func serverLimits(h http.Header) (remote.ServerLimits, bool) {
	limit, err1 := strconv.ParseInt(h.Get("X-RateLimit-Limit"), 10, 64)
	ms, err2 := strconv.ParseInt(h.Get("X-RateLimit-Interval"), 10, 64)
	if err1 != nil || limit < 0 {
		return remote.ServerLimits{}, false
	}
	l := remote.ServerLimits{Max: limit}
	if err2 == nil && ms > 0 {
		l.Interval = time.Duration(min(ms, 24*3600*1000)) * time.Millisecond
	}
	return l, true
}

// clean is remote.CleanText.
func clean(s string, n int) string { return remote.CleanText(s, n) }

// Caps says what ImageKit does (see doc.go): the same as
// memtest.ImageKit's.
func (b *Backend) Caps() remote.Caps {
	return remote.Caps{
		Kind:          "imagekit",
		XattrPrefix:   "user.imagekit.",
		UniqueNames:   true,
		ValidName:     ValidName,
		Versions:      true,
		MaxUpload:     b.uploadLimit,
		PublicURL:     true,
		Move:          true,
		MoveFolders:   true,
		RenameFolders: true,
		Permanent:     true,
		BulkRemove:    BulkRemove,
		OneListing:    true,
	}
}

func (b *Backend) uploadLimit(contentType string) int64 {
	if strings.HasPrefix(strings.ToLower(contentType), "video/") {
		return b.maxVideo
	}
	return b.maxSize
}

// Check lists one item of the root: the key and the API work.
func (b *Backend) Check(ctx context.Context) error {
	_, err := b.api.Do(ctx, remote.Call{Method: http.MethodGet, Endpoint: "/v1/files", Path: "/v1/files",
		Query: url.Values{"limit": {"1"}}, Idempotent: true})
	return err
}

// FolderWrites is nil: ImageKit puts items where asked (by path).
func (b *Backend) FolderWrites() error { return nil }

// Stats merges the API's and the upload host's counters.
func (b *Backend) Stats() remote.Stats {
	s, u := b.api.Stats(), b.up.Stats()
	if s.Calls == nil {
		s.Calls = map[remote.CallKey]int64{}
	}
	for k, v := range u.Calls {
		s.Calls[k] += v
	}
	if s.Retries == nil {
		s.Retries = map[string]int64{}
	}
	for k, v := range u.Retries {
		s.Retries[k] += v
	}
	s.Throttled += u.Throttled
	return s
}

// Usage is the API's: uploads are not rate limited.
func (b *Backend) Usage() remote.Usage { return b.api.Usage() }
