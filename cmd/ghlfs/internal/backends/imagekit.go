package backends

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/imagekit"
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

// ImageKitFlags are the flags an ImageKit mount reads its settings from
// first ("" not given).
type ImageKitFlags struct {
	APIURL, UploadURL, URLEndpoint, KeyFile string
}

// ImageKitSettings are an ImageKit mount's settings once read.
type ImageKitSettings struct {
	Key       string
	KeySource func() (string, error) // the key file again, after a 401; nil for a key given whole
	APIURL    string
	UploadURL string
	Endpoint  string
}

// ReadImageKit settles an ImageKit mount's key, hosts and url endpoint
// from the flags, the environment and the config file.
func ReadImageKit(f ImageKitFlags, conf map[string]string) (*ImageKitSettings, error) {
	s := &ImageKitSettings{
		APIURL:    Setting(f.APIURL, "IMAGEKIT_API_URL", conf),
		UploadURL: Setting(f.UploadURL, "IMAGEKIT_UPLOAD_URL", conf),
		Endpoint:  Setting(f.URLEndpoint, "IMAGEKIT_URL_ENDPOINT", conf),
	}
	if s.APIURL == "" {
		s.APIURL = imagekit.DefaultAPIURL
	}
	if s.UploadURL == "" {
		s.UploadURL = imagekit.DefaultUploadURL
	}
	if s.Endpoint == "" {
		return nil, errors.New("no url endpoint: pass --url-endpoint https://ik.imagekit.io/<id> (the account's, in ImageKit's dashboard) or set IMAGEKIT_URL_ENDPOINT")
	}
	if u, err := url.Parse(s.Endpoint); err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("--url-endpoint %q: give the account's https://ik.imagekit.io/<id>", remote.RedactURL(s.Endpoint))
	}
	var err error
	if s.Key, s.KeySource, err = readKey(f.KeyFile, conf); err != nil {
		return nil, err
	}
	return s, nil
}

// readKey returns the private key from a key file (first line: --key-file,
// else IMAGEKIT_PRIVATE_KEY_FILE) or, failing that, from
// IMAGEKIT_PRIVATE_KEY in the environment or the config file; with a
// file, how to read it again.
func readKey(flagFile string, conf map[string]string) (string, func() (string, error), error) {
	key, source, err := ReadSecret("key file", flagFile, "IMAGEKIT_PRIVATE_KEY_FILE", "IMAGEKIT_PRIVATE_KEY", conf)
	if err == nil && key == "" {
		err = errors.New("no private key: set IMAGEKIT_PRIVATE_KEY, or pass --key-file FILE, or put IMAGEKIT_PRIVATE_KEY in the config file")
	}
	return key, source, err
}

// ImageKitLibrary names an ImageKit library: its url endpoint, normalised
// as an API's identity is (APIIdentity), with "imagekit:" before it. It
// is the library's identity in the cache dir (its saved listings, its
// write-back records) and its id in ghlfs status; it holds no secret.
func ImageKitLibrary(endpoint string) string {
	return ImageKit + ":" + APIIdentity(endpoint)
}

// ImageKitCacheName is an ImageKit library's folder in the user's cache
// dir: its identity made one path element ("imagekit-" and the endpoint,
// less an https:// scheme, path-escaped), so that two accounts never
// share one, and no HighLevel location's (ids of letters and digits)
// could be it.
func ImageKitCacheName(endpoint string) string {
	id := strings.TrimPrefix(APIIdentity(endpoint), "https://")
	return ImageKit + "-" + url.PathEscape(id)
}

// Open makes an ImageKit backend of the settings, with c the options the
// flags gave (imagekit.Config less the key, hosts, endpoint and logger),
// and names its library.
func (s *ImageKitSettings) Open(c imagekit.Config, log *slog.Logger) (*imagekit.Backend, ID, error) {
	c.PrivateKey, c.KeySource = s.Key, s.KeySource
	c.APIURL, c.UploadURL, c.URLEndpoint = s.APIURL, s.UploadURL, s.Endpoint
	c.Logger = log
	b, err := imagekit.New(c)
	if err != nil {
		return nil, ID{}, err
	}
	return b, ID{Location: ImageKitLibrary(s.Endpoint), API: ImageKit + ":" + APIIdentity(s.APIURL), Checked: "private key and url endpoint"}, nil
}
