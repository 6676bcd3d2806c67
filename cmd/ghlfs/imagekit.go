package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/imagekit"
)

// The backends ghlfs mount serves (--backend).
const (
	backendGHL      = "ghl"
	backendImageKit = "imagekit"
	backendOCM      = "ocm"
)

// An ImageKit mount (--backend imagekit) reads, from the flags, then the
// environment, then the config file:
//
//	IMAGEKIT_PRIVATE_KEY=private_...   # or IMAGEKIT_PRIVATE_KEY_FILE=/path, or --key-file
//	IMAGEKIT_URL_ENDPOINT=https://ik.imagekit.io/<id>
//	IMAGEKIT_API_URL=https://api.imagekit.io
//	IMAGEKIT_UPLOAD_URL=https://upload.imagekit.io
//
// The key is never taken from the command line, and never logged.

// backendFlags are the flags that belong to some backends only, with
// the backends that take each; a note says more where the flag's
// absence there may surprise.
var backendFlags = []struct {
	flag     string
	backends []string
	note     string
}{
	{"location", []string{backendGHL}, ""},
	{"social-csv", []string{backendGHL}, " (the social planner is HighLevel's)"},
	{"storage-host", []string{backendGHL}, " (ImageKit's bytes come from --url-endpoint alone, OCM's from --api-url)"},
	{"token-file", []string{backendGHL, backendOCM}, ""},
	{"key-file", []string{backendImageKit}, ""},
	{"upload-url", []string{backendImageKit}, ""},
	{"url-endpoint", []string{backendImageKit}, ""},
	{"root", []string{backendOCM}, ""},
	{"token-url", []string{backendOCM}, ""},
	{"scope", []string{backendOCM}, ""},
	{"link-id", []string{backendOCM}, ""},
	{"access-code-file", []string{backendOCM}, ""},
	{"applink-id", []string{backendOCM}, ""},
	{"applink-token-file", []string{backendOCM}, ""},
}

// checkBackend refuses a --backend ghlfs does not know, and flags that
// belong to another backend: a flag that would be silently ignored is a
// mount that does other than asked.
func (m *mountFlags) checkBackend() error {
	switch m.backend {
	case backendGHL, "highlevel":
		m.backend = backendGHL
	case backendImageKit, backendOCM:
	default:
		return fmt.Errorf("--backend must be %s, %s or %s, not %q", backendGHL, backendImageKit, backendOCM, m.backend)
	}
	for _, f := range backendFlags {
		if m.changed(f.flag) && !slices.Contains(f.backends, m.backend) {
			return fmt.Errorf("--%s is for --backend %s, not %s%s", f.flag, strings.Join(f.backends, " or "), m.backend, f.note)
		}
	}
	switch m.backend {
	case backendOCM:
		return m.checkOCM()
	case backendImageKit:
		if !m.readOnly && m.deleteMode != "delete" {
			// The cache would make every removal permanent all the same
			// (cache.followCaps); a user who left the default expects a trash,
			// and must hear at once that there is none.
			return errors.New("ImageKit has no trash: every removal (rm, rmdir, mv over a file) is permanent. " +
				"Choose --delete-mode delete to mount it read-write, or --read-only")
		}
	}
	return nil
}

// imageKitConfig is the ImageKit backend's options of the flags. A flag
// left at its default leaves the backend's own default (its rate, its
// page size, the plan's upload limits), which are not HighLevel's.
func (m *mountFlags) imageKitConfig() imagekit.Config {
	t := m.tuning()
	return imagekit.Config{
		UserAgent:     "ghlfs/" + version,
		RetryTimeout:  m.opTimeout,
		MaxRetryAfter: m.maxWait,
		MaxListItems:  m.listMax,
		RateLimit:     t.rate,
		RateWindow:    t.window,
		PageSize:      t.pageSize,
		MaxUploadSize: t.maxUpload,
	}
}

// tuning is what the flags ask of a backend whose defaults are not
// HighLevel's (ImageKit, OCM): zero where a flag was left at its default,
// which leaves the backend's own.
type tuning struct {
	rate      int // requests per window; -1: no pacing
	window    time.Duration
	pageSize  int
	maxUpload int64
}

func (m *mountFlags) tuning() tuning {
	var t tuning
	if m.changed("rate-limit") {
		// --rate-limit counts requests per 10 seconds; 0 turns pacing off.
		t.rate, t.window = m.rateLimit, 10*time.Second
		if m.rateLimit == 0 {
			t.rate = -1
		}
	}
	if m.changed("page-size") {
		t.pageSize = m.pageSize
	}
	if m.changed("max-upload-size") {
		t.maxUpload = int64(m.maxUpload)
	}
	return t
}

// ikSettings are an ImageKit mount's settings once read.
type ikSettings struct {
	key       string
	keySource func() (string, error) // the key file again, after a 401; nil for a key given whole
	apiURL    string
	uploadURL string
	endpoint  string
}

// readImageKitSettings settles an ImageKit mount's key, hosts and url
// endpoint from the flags, the environment and the config file.
func (mp *mountPoint) readImageKitSettings() error {
	o, conf := mp.opts, mp.conf
	s := &ikSettings{
		apiURL:    setting(o.apiURL, "IMAGEKIT_API_URL", conf),
		uploadURL: setting(o.uploadURL, "IMAGEKIT_UPLOAD_URL", conf),
		endpoint:  setting(o.urlEndpoint, "IMAGEKIT_URL_ENDPOINT", conf),
	}
	if s.apiURL == "" {
		s.apiURL = imagekit.DefaultAPIURL
	}
	if s.uploadURL == "" {
		s.uploadURL = imagekit.DefaultUploadURL
	}
	if s.endpoint == "" {
		return errors.New("no url endpoint: pass --url-endpoint https://ik.imagekit.io/<id> (the account's, in ImageKit's dashboard) or set IMAGEKIT_URL_ENDPOINT")
	}
	if u, err := url.Parse(s.endpoint); err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("--url-endpoint %q: give the account's https://ik.imagekit.io/<id>", remote.RedactURL(s.endpoint))
	}
	var err error
	if s.key, s.keySource, err = readKey(o.keyFile, conf); err != nil {
		return err
	}
	mp.ik = s
	mp.apiURL = s.apiURL
	mp.location = imageKitLibrary(s.endpoint)
	return nil
}

// readKey returns the private key from a key file (first line: --key-file,
// else IMAGEKIT_PRIVATE_KEY_FILE) or, failing that, from
// IMAGEKIT_PRIVATE_KEY in the environment or the config file; with a
// file, how to read it again.
func readKey(flagFile string, conf map[string]string) (string, func() (string, error), error) {
	key, source, err := readSecret("key file", flagFile, "IMAGEKIT_PRIVATE_KEY_FILE", "IMAGEKIT_PRIVATE_KEY", conf)
	if err == nil && key == "" {
		err = errors.New("no private key: set IMAGEKIT_PRIVATE_KEY, or pass --key-file FILE, or put IMAGEKIT_PRIVATE_KEY in the config file")
	}
	return key, source, err
}

// imageKitLibrary names an ImageKit library: its url endpoint, normalised
// as an API's identity is (apiIdentity), with "imagekit:" before it. It
// is the library's identity in the cache dir (its saved listings, its
// write-back records) and its id in ghlfs status; it holds no secret.
func imageKitLibrary(endpoint string) string {
	return backendImageKit + ":" + apiIdentity(endpoint)
}

// imageKitCacheName is an ImageKit library's folder in the user's cache
// dir: its identity made one path element ("imagekit-" and the endpoint,
// less an https:// scheme, path-escaped), so that two accounts never
// share one, and no HighLevel location's (ids of letters and digits)
// could be it.
func imageKitCacheName(endpoint string) string {
	id := strings.TrimPrefix(apiIdentity(endpoint), "https://")
	return backendImageKit + "-" + url.PathEscape(id)
}

// openImageKit makes an ImageKit backend of the mount's settings.
func (mp *mountPoint) openImageKit(log *slog.Logger) (*imagekit.Backend, error) {
	c := mp.opts.imagekit
	c.PrivateKey, c.KeySource = mp.ik.key, mp.ik.keySource
	c.APIURL, c.UploadURL, c.URLEndpoint = mp.ik.apiURL, mp.ik.uploadURL, mp.ik.endpoint
	c.Logger = log
	return imagekit.New(c)
}
