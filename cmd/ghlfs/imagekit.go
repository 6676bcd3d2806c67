package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/imagekit"
)

// The backends ghlfs mount serves (--backend).
const (
	backendGHL      = "ghl"
	backendImageKit = "imagekit"
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

// checkBackend refuses a --backend ghlfs does not know, and flags that
// belong to the other backend: a flag that would be silently ignored is a
// mount that does other than asked.
func (m *mountFlags) checkBackend() error {
	switch m.backend {
	case backendGHL, "highlevel":
		m.backend = backendGHL
		for _, f := range []string{"key-file", "upload-url", "url-endpoint"} {
			if m.changed(f) {
				return fmt.Errorf("--%s is for --backend %s", f, backendImageKit)
			}
		}
		return nil
	case backendImageKit:
	default:
		return fmt.Errorf("--backend must be %s or %s, not %q", backendGHL, backendImageKit, m.backend)
	}
	for _, f := range []string{"location", "token-file", "storage-host", "social-csv"} {
		if m.changed(f) {
			what := "HighLevel's"
			if f == "storage-host" {
				what = "HighLevel's (ImageKit's bytes come from --url-endpoint alone)"
			}
			return fmt.Errorf("--%s is %s, not for --backend %s", f, what, backendImageKit)
		}
	}
	if !m.readOnly && m.deleteMode != "delete" {
		// The cache would make every removal permanent all the same
		// (cache.followCaps); a user who left the default expects a trash,
		// and must hear at once that there is none.
		return errors.New("ImageKit has no trash: every removal (rm, rmdir, mv over a file) is permanent. " +
			"Choose --delete-mode delete to mount it read-write, or --read-only")
	}
	return nil
}

// imageKitConfig is the ImageKit backend's options of the flags. A flag
// left at its default leaves the backend's own default (its rate, its
// page size, the plan's upload limits), which are not HighLevel's.
func (m *mountFlags) imageKitConfig() imagekit.Config {
	c := imagekit.Config{
		UserAgent:     "ghlfs/" + version,
		RetryTimeout:  m.opTimeout,
		MaxRetryAfter: m.maxWait,
		MaxListItems:  m.listMax,
	}
	if m.changed("rate-limit") {
		// --rate-limit counts requests per 10 seconds; 0 turns pacing off.
		c.RateLimit, c.RateWindow = m.rateLimit, 10*time.Second
		if m.rateLimit == 0 {
			c.RateLimit = -1
		}
	}
	if m.changed("page-size") {
		c.PageSize = m.pageSize
	}
	if m.changed("max-upload-size") {
		c.MaxUploadSize = int64(m.maxUpload)
	}
	return c
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
	file := flagFile
	if file == "" {
		if file = os.Getenv("IMAGEKIT_PRIVATE_KEY_FILE"); file == "" && os.Getenv("IMAGEKIT_PRIVATE_KEY") == "" {
			file = conf["IMAGEKIT_PRIVATE_KEY_FILE"]
		}
	}
	if file != "" {
		key, err := readSecretFile("key file", file)
		if err != nil {
			return "", nil, err
		}
		return key, func() (string, error) { return readSecretFile("key file", file) }, nil
	}
	if key := strings.TrimSpace(setting("", "IMAGEKIT_PRIVATE_KEY", conf)); key != "" {
		return key, nil, nil
	}
	return "", nil, errors.New("no private key: set IMAGEKIT_PRIVATE_KEY, or pass --key-file FILE, or put IMAGEKIT_PRIVATE_KEY in the config file")
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
