package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ocm"
)

// An Oracle Content Management mount (--backend ocm) reads, from the
// flags, then the environment, then the config file:
//
//	OCM_API_URL=https://<instance>          # --api-url
//	OCM_ROOT=<folder id>                    # --root; default self, the home folder
//
// and one way to authenticate, the first that a level (flags, then
// environment, then config file) names; two at one level are refused:
//
//	OCM_TOKEN_URL=https://<idcs>/oauth2/v1/token   # --token-url: client credentials,
//	OCM_CLIENT_ID=...                              #   the client id,
//	OCM_CLIENT_SECRET=...                          #   its secret, or OCM_CLIENT_SECRET_FILE=/path
//	OCM_SCOPE=<primaryAudience>urn:opc:cec:all     #   --scope; default of the instance
//	OCM_TOKEN_FILE=/path                           # --token-file: a bearer token
//	OCM_LINK_ID=...                                # --link-id: a shared link, its access
//	OCM_ACCESS_CODE=...                            #   code (or OCM_ACCESS_CODE_FILE, --access-code-file)
//	OCM_APPLINK_ID=...                             # --applink-id: an applink, its token
//	OCM_APPLINK_TOKEN=...                          #   (or OCM_APPLINK_TOKEN_FILE, --applink-token-file)
//
// No secret is taken from the command line, nor logged. A mount through
// a link (shared link or applink) is read-only unless --read-only=false
// is given: the link's role says whether it may write, and a viewer's
// link that looked writable would fail every change late.

// ocmFlags are the flags only --backend ocm takes.
type ocmFlags struct {
	root, tokenURL, scope       string
	linkID, accessCodeFile      string
	appLinkID, appLinkTokenFile string
}

func (f *ocmFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.root, "root", "", "ocm: the folder mounted, by id (else $OCM_ROOT, else "+ocm.DefaultRoot+", the home folder; a link's folder for --link-id and --applink-id)")
	fl.StringVar(&f.tokenURL, "token-url", "", "ocm: the identity domain's token endpoint, https://<idcs>/oauth2/v1/token, for client credentials (else $OCM_TOKEN_URL); the client id and secret come from $OCM_CLIENT_ID and $OCM_CLIENT_SECRET (or $OCM_CLIENT_SECRET_FILE), or the config file")
	fl.StringVar(&f.scope, "scope", "", "ocm: the scope asked of the identity domain (else $OCM_SCOPE, else https://<instance host>:443/urn:opc:cec:all)")
	fl.StringVar(&f.linkID, "link-id", "", "ocm: mount through this shared link (else $OCM_LINK_ID); its access code from $OCM_ACCESS_CODE or --access-code-file; read-only unless --read-only=false")
	fl.StringVar(&f.accessCodeFile, "access-code-file", "", "ocm: read the shared link's access code from this file (else $OCM_ACCESS_CODE_FILE, $OCM_ACCESS_CODE)")
	fl.StringVar(&f.appLinkID, "applink-id", "", "ocm: mount through this applink (else $OCM_APPLINK_ID); its access token from $OCM_APPLINK_TOKEN or --applink-token-file; read-only unless --read-only=false")
	fl.StringVar(&f.appLinkTokenFile, "applink-token-file", "", "ocm: read the applink's access token from this file (else $OCM_APPLINK_TOKEN_FILE, $OCM_APPLINK_TOKEN)")
}

// checkOCM refuses, before anything starts, an OCM mount's flags that
// cannot go together.
func (m *mountFlags) checkOCM() error {
	if !m.readOnly && m.deleteMode == "delete" {
		return errors.New("OCM removes to its trash only (emptied by the instance's retention or its web UI): " +
			"--delete-mode delete cannot be honoured. Leave --delete-mode trash")
	}
	var given []string
	for _, md := range ocmModes {
		if m.changed(md.flag) {
			given = append(given, "--"+md.flag)
		}
	}
	if len(given) > 1 {
		return fmt.Errorf("%s are two ways to authenticate to OCM: give one", strings.Join(given, " and "))
	}
	return nil
}

// ocmConfig is the OCM backend's options of the flags. A flag left at
// its default leaves the backend's own default (its rate, its page size;
// no upload limit, the instance's being an admin setting).
func (m *mountFlags) ocmConfig() ocm.Config {
	t := m.tuning()
	return ocm.Config{
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

// The ways an OCM mount authenticates, each named by a flag or by keys
// of the environment and the config file.
const (
	ocmClient  = "client credentials"
	ocmToken   = "bearer token"
	ocmLink    = "shared link"
	ocmAppLink = "applink"
)

var ocmModes = []struct {
	mode, flag string
	keys       []string
}{
	{ocmClient, "token-url", []string{"OCM_TOKEN_URL", "OCM_CLIENT_ID", "OCM_CLIENT_SECRET", "OCM_CLIENT_SECRET_FILE"}},
	{ocmToken, "token-file", []string{"OCM_TOKEN_FILE"}},
	{ocmLink, "link-id", []string{"OCM_LINK_ID"}},
	{ocmAppLink, "applink-id", []string{"OCM_APPLINK_ID"}},
}

// ocmSettings are an OCM mount's settings once read.
type ocmSettings struct {
	mode   string // ocmClient, ocmToken, ocmLink or ocmAppLink
	apiURL string
	root   string
	// client credentials
	tokenURL, clientID, clientSecret, scope string
	// a bearer token, or a link's access code or an applink's token, and
	// the file to read it again from (nil: given whole)
	secret string
	source func() (string, error)
	linkID string // a shared link's or an applink's id
}

// ocmMode settles how an OCM mount authenticates: by the flags, else
// the environment, else the config file; two ways at one level are
// refused, none at all too.
func (mp *mountPoint) ocmMode() (string, error) {
	levels := []struct {
		what string
		has  func(flag string, keys []string) bool
	}{
		{"the flags", func(flag string, _ []string) bool {
			if flag == "token-file" {
				return mp.opts.tokenFile != ""
			}
			return mp.opts.ocmFlags.given(flag)
		}},
		{"the environment", func(_ string, keys []string) bool {
			for _, k := range keys {
				if os.Getenv(k) != "" {
					return true
				}
			}
			return false
		}},
		{"the config file", func(_ string, keys []string) bool {
			for _, k := range keys {
				if mp.conf[k] != "" {
					return true
				}
			}
			return false
		}},
	}
	for _, l := range levels {
		var found []string
		for _, md := range ocmModes {
			if l.has(md.flag, md.keys) {
				found = append(found, md.mode)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		default:
			return "", fmt.Errorf("%s give two ways to authenticate to OCM (%s): give one", l.what, strings.Join(found, " and "))
		}
	}
	return "", errors.New("no way to authenticate to OCM: give client credentials (--token-url, with OCM_CLIENT_ID and OCM_CLIENT_SECRET " +
		"in the environment or the config file), a bearer token (--token-file), a shared link (--link-id) or an applink (--applink-id)")
}

// given reports whether the flag of an OCM mode was given a value.
func (f ocmFlags) given(flag string) bool {
	switch flag {
	case "token-url":
		return f.tokenURL != ""
	case "link-id":
		return f.linkID != ""
	case "applink-id":
		return f.appLinkID != ""
	}
	return false
}

// readOCMSettings settles an OCM mount's instance, root folder and
// credentials from the flags, the environment and the config file. A
// link's mount is read-only unless --read-only was given.
func (mp *mountPoint) readOCMSettings() (err error) {
	o, f, conf := mp.opts, mp.opts.ocmFlags, mp.conf
	s := &ocmSettings{apiURL: setting(o.apiURL, "OCM_API_URL", conf), root: setting(f.root, "OCM_ROOT", conf)}
	if s.apiURL == "" {
		return errors.New("no OCM instance: pass --api-url https://<instance> or set OCM_API_URL")
	}
	if u, err := url.Parse(s.apiURL); err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("--api-url %q: give the instance's https://<instance>", remote.RedactURL(s.apiURL))
	}
	if s.root == "" {
		s.root = ocm.DefaultRoot
	}
	if s.mode, err = mp.ocmMode(); err != nil {
		return err
	}
	for _, x := range []struct{ flag, mode string }{{"scope", ocmClient}, {"access-code-file", ocmLink}, {"applink-token-file", ocmAppLink}} {
		if o.ocmFlags.value(x.flag) != "" && s.mode != x.mode {
			return fmt.Errorf("--%s is for a mount by %s, and this one is by %s", x.flag, x.mode, s.mode)
		}
	}
	switch s.mode {
	case ocmClient:
		err = s.readClient(f, conf)
	case ocmToken:
		file := o.tokenFile
		if file == "" {
			file = setting("", "OCM_TOKEN_FILE", conf)
		}
		if s.secret, err = readTokenFile(file); err == nil {
			s.source = func() (string, error) { return readTokenFile(file) }
		}
	case ocmLink:
		s.linkID = setting(f.linkID, "OCM_LINK_ID", conf)
		s.secret, s.source, err = readSecret("access code file", f.accessCodeFile, "OCM_ACCESS_CODE_FILE", "OCM_ACCESS_CODE", conf)
	case ocmAppLink:
		s.linkID = setting(f.appLinkID, "OCM_APPLINK_ID", conf)
		s.secret, s.source, err = readSecret("applink token file", f.appLinkTokenFile, "OCM_APPLINK_TOKEN_FILE", "OCM_APPLINK_TOKEN", conf)
		if err == nil && s.secret == "" {
			err = errors.New("no applink token: set OCM_APPLINK_TOKEN, or pass --applink-token-file FILE, or put OCM_APPLINK_TOKEN in the config file")
		}
	}
	if err != nil {
		return err
	}
	if (s.mode == ocmLink || s.mode == ocmAppLink) && s.root == ocm.DefaultRoot {
		return fmt.Errorf("a %s mounts the folder it shares: pass --root FOLDER_ID (the folder's id, in the link's url) or set OCM_ROOT", s.mode)
	}
	if (s.mode == ocmLink || s.mode == ocmAppLink) && !o.readOnlySet {
		mp.opts.cache.ReadOnly, mp.opts.fs.ReadOnly = true, true
	}
	mp.ocm = s
	mp.apiURL = s.apiURL
	mp.location = ocm.Library(s.apiURL, s.root)
	return nil
}

// value is the value given to an OCM flag ("" none).
func (f ocmFlags) value(flag string) string {
	switch flag {
	case "scope":
		return f.scope
	case "access-code-file":
		return f.accessCodeFile
	case "applink-token-file":
		return f.appLinkTokenFile
	}
	return ""
}

// readClient reads the client credentials: the token url, the client's
// id and secret, and the scope (the instance's by default).
func (s *ocmSettings) readClient(f ocmFlags, conf map[string]string) error {
	s.tokenURL = setting(f.tokenURL, "OCM_TOKEN_URL", conf)
	s.clientID = strings.TrimSpace(setting("", "OCM_CLIENT_ID", conf))
	s.scope = setting(f.scope, "OCM_SCOPE", conf)
	if s.tokenURL == "" {
		return errors.New("no token url: pass --token-url https://<idcs>/oauth2/v1/token (the identity domain's) or set OCM_TOKEN_URL")
	}
	if s.clientID == "" {
		return errors.New("no client id: set OCM_CLIENT_ID (the identity domain application's), or put it in the config file")
	}
	var err error
	if s.clientSecret, _, err = readSecret("client secret file", "", "OCM_CLIENT_SECRET_FILE", "OCM_CLIENT_SECRET", conf); err != nil {
		return err
	}
	if s.clientSecret == "" {
		return errors.New("no client secret: set OCM_CLIENT_SECRET or OCM_CLIENT_SECRET_FILE, or put OCM_CLIENT_SECRET in the config file")
	}
	if s.scope == "" {
		s.scope = ocmScope(s.apiURL)
	}
	return nil
}

// ocmScope is the scope of an instance's Documents API, as its identity
// domain application's primary audience gives it (reference: doc
// Authorization.html; the toolkit's IDCS-App.md):
// https://<instance host>:443/urn:opc:cec:all.
func ocmScope(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return ""
	}
	return "https://" + strings.ToLower(u.Hostname()) + ":443/urn:opc:cec:all"
}

// ocmCacheName is an OCM library's folder in the user's cache dir: its
// instance and root folder made one path element ("ocm-" and the
// instance, less an https:// scheme, "/" and the root, path-escaped), so
// that two instances or two folders never share one.
func ocmCacheName(apiURL, root string) string {
	id := strings.TrimPrefix(apiIdentity(apiURL), "https://") + "/" + root
	return backendOCM + "-" + url.PathEscape(id)
}

// openOCM makes an OCM backend of the mount's settings.
func (mp *mountPoint) openOCM(log *slog.Logger) (*ocm.Backend, libraryID, error) {
	s := mp.ocm
	c := mp.opts.ocm
	c.APIURL, c.RootID, c.Logger = s.apiURL, s.root, log
	checked := "OCM credentials and root folder"
	switch s.mode {
	case ocmClient:
		c.TokenURL, c.ClientID, c.ClientSecret, c.Scope = s.tokenURL, s.clientID, s.clientSecret, s.scope
	case ocmToken:
		c.Token, c.TokenSource = s.secret, s.source
	case ocmLink:
		c.LinkID, c.AccessCode, c.AccessCodeSource = s.linkID, s.secret, s.source
		checked = "shared link and its folder"
	case ocmAppLink:
		c.AppLinkID, c.AppLinkToken = s.linkID, s.secret
		checked = "applink and its folder"
	}
	b, err := ocm.New(c)
	if err != nil {
		return nil, libraryID{}, err
	}
	return b, libraryID{location: mp.location, api: backendOCM + ":" + apiIdentity(s.apiURL), checked: checked}, nil
}
