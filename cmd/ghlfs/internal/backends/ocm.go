package backends

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

// OCMFlags are the flags only --backend ocm takes.
type OCMFlags struct {
	Root, TokenURL, Scope       string
	LinkID, AccessCodeFile      string
	AppLinkID, AppLinkTokenFile string
}

// Register defines the OCM flags on fl.
func (f *OCMFlags) Register(fl *pflag.FlagSet) {
	fl.StringVar(&f.Root, "root", "", "ocm: the folder mounted, by id (else $OCM_ROOT, else "+ocm.DefaultRoot+", the home folder; a link's folder for --link-id and --applink-id)")
	fl.StringVar(&f.TokenURL, "token-url", "", "ocm: the identity domain's token endpoint, https://<idcs>/oauth2/v1/token, for client credentials (else $OCM_TOKEN_URL); the client id and secret come from $OCM_CLIENT_ID and $OCM_CLIENT_SECRET (or $OCM_CLIENT_SECRET_FILE), or the config file")
	fl.StringVar(&f.Scope, "scope", "", "ocm: the scope asked of the identity domain (else $OCM_SCOPE, else https://<instance host>:443/urn:opc:cec:all)")
	fl.StringVar(&f.LinkID, "link-id", "", "ocm: mount through this shared link (else $OCM_LINK_ID); its access code from $OCM_ACCESS_CODE or --access-code-file; read-only unless --read-only=false")
	fl.StringVar(&f.AccessCodeFile, "access-code-file", "", "ocm: read the shared link's access code from this file (else $OCM_ACCESS_CODE_FILE, $OCM_ACCESS_CODE)")
	fl.StringVar(&f.AppLinkID, "applink-id", "", "ocm: mount through this applink (else $OCM_APPLINK_ID); its access token from $OCM_APPLINK_TOKEN or --applink-token-file; read-only unless --read-only=false")
	fl.StringVar(&f.AppLinkTokenFile, "applink-token-file", "", "ocm: read the applink's access token from this file (else $OCM_APPLINK_TOKEN_FILE, $OCM_APPLINK_TOKEN)")
}

// checkOCM refuses, before anything starts, an OCM mount's flags that
// cannot go together.
func checkOCM(changed func(string) bool, readOnly bool, deleteMode string) error {
	if !readOnly && deleteMode == "delete" {
		return errors.New("OCM removes to its trash only (emptied by the instance's retention or its web UI): " +
			"--delete-mode delete cannot be honoured. Leave --delete-mode trash")
	}
	var given []string
	for _, md := range ocmModes {
		if changed(md.flag) {
			given = append(given, "--"+md.flag)
		}
	}
	if len(given) > 1 {
		return fmt.Errorf("%s are two ways to authenticate to OCM: give one", strings.Join(given, " and "))
	}
	return nil
}

// The ways an OCM mount authenticates, each named by a flag or by keys
// of the environment and the config file.
const (
	OCMClient  = "client credentials"
	OCMToken   = "bearer token"
	OCMLink    = "shared link"
	OCMAppLink = "applink"
)

var ocmModes = []struct {
	mode, flag string
	keys       []string
}{
	{OCMClient, "token-url", []string{"OCM_TOKEN_URL", "OCM_CLIENT_ID", "OCM_CLIENT_SECRET", "OCM_CLIENT_SECRET_FILE"}},
	{OCMToken, "token-file", []string{"OCM_TOKEN_FILE"}},
	{OCMLink, "link-id", []string{"OCM_LINK_ID"}},
	{OCMAppLink, "applink-id", []string{"OCM_APPLINK_ID"}},
}

// OCMSettings are an OCM mount's settings once read.
type OCMSettings struct {
	Mode   string // OCMClient, OCMToken, OCMLink or OCMAppLink
	APIURL string
	Root   string
	// client credentials
	TokenURL, ClientID, ClientSecret, Scope string
	// a bearer token, or a link's access code or an applink's token, and
	// the file to read it again from (nil: given whole)
	Secret string
	Source func() (string, error)
	LinkID string // a shared link's or an applink's id
}

// ocmMode settles how an OCM mount authenticates: by the flags (f, and
// tokenFile, --token-file), else the environment, else the config file;
// two ways at one level are refused, none at all too.
func ocmMode(f OCMFlags, tokenFile string, conf map[string]string) (string, error) {
	levels := []struct {
		what string
		has  func(flag string, keys []string) bool
	}{
		{"the flags", func(flag string, _ []string) bool {
			if flag == "token-file" {
				return tokenFile != ""
			}
			return f.given(flag)
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
				if conf[k] != "" {
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
func (f OCMFlags) given(flag string) bool {
	switch flag {
	case "token-url":
		return f.TokenURL != ""
	case "link-id":
		return f.LinkID != ""
	case "applink-id":
		return f.AppLinkID != ""
	}
	return false
}

// ReadOCM settles an OCM mount's instance, root folder and credentials
// from the flags (f; apiURL, --api-url; tokenFile, --token-file), the
// environment and the config file. A link's mount is read-only unless
// --read-only was given: the caller's to apply (ByLink).
func ReadOCM(f OCMFlags, apiURL, tokenFile string, conf map[string]string) (_ *OCMSettings, err error) {
	s := &OCMSettings{APIURL: Setting(apiURL, "OCM_API_URL", conf), Root: Setting(f.Root, "OCM_ROOT", conf)}
	if s.APIURL == "" {
		return nil, errors.New("no OCM instance: pass --api-url https://<instance> or set OCM_API_URL")
	}
	if u, err := url.Parse(s.APIURL); err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("--api-url %q: give the instance's https://<instance>", remote.RedactURL(s.APIURL))
	}
	if s.Root == "" {
		s.Root = ocm.DefaultRoot
	}
	if s.Mode, err = ocmMode(f, tokenFile, conf); err != nil {
		return nil, err
	}
	for _, x := range []struct{ flag, mode string }{{"scope", OCMClient}, {"access-code-file", OCMLink}, {"applink-token-file", OCMAppLink}} {
		if f.value(x.flag) != "" && s.Mode != x.mode {
			return nil, fmt.Errorf("--%s is for a mount by %s, and this one is by %s", x.flag, x.mode, s.Mode)
		}
	}
	switch s.Mode {
	case OCMClient:
		err = s.readClient(f, conf)
	case OCMToken:
		file := tokenFile
		if file == "" {
			file = Setting("", "OCM_TOKEN_FILE", conf)
		}
		if s.Secret, err = ReadTokenFile(file); err == nil {
			s.Source = func() (string, error) { return ReadTokenFile(file) }
		}
	case OCMLink:
		s.LinkID = Setting(f.LinkID, "OCM_LINK_ID", conf)
		s.Secret, s.Source, err = ReadSecret("access code file", f.AccessCodeFile, "OCM_ACCESS_CODE_FILE", "OCM_ACCESS_CODE", conf)
	case OCMAppLink:
		s.LinkID = Setting(f.AppLinkID, "OCM_APPLINK_ID", conf)
		s.Secret, s.Source, err = ReadSecret("applink token file", f.AppLinkTokenFile, "OCM_APPLINK_TOKEN_FILE", "OCM_APPLINK_TOKEN", conf)
		if err == nil && s.Secret == "" {
			err = errors.New("no applink token: set OCM_APPLINK_TOKEN, or pass --applink-token-file FILE, or put OCM_APPLINK_TOKEN in the config file")
		}
	}
	if err != nil {
		return nil, err
	}
	if s.ByLink() && s.Root == ocm.DefaultRoot {
		return nil, fmt.Errorf("a %s mounts the folder it shares: pass --root FOLDER_ID (the folder's id, in the link's url) or set OCM_ROOT", s.Mode)
	}
	return s, nil
}

// ByLink reports whether the mount is through a link (a shared link or
// an applink), which is read-only unless --read-only=false is given.
func (s *OCMSettings) ByLink() bool { return s.Mode == OCMLink || s.Mode == OCMAppLink }

// Library is the library's identity (ocm.Library).
func (s *OCMSettings) Library() string { return ocm.Library(s.APIURL, s.Root) }

// value is the value given to an OCM flag ("" none).
func (f OCMFlags) value(flag string) string {
	switch flag {
	case "scope":
		return f.Scope
	case "access-code-file":
		return f.AccessCodeFile
	case "applink-token-file":
		return f.AppLinkTokenFile
	}
	return ""
}

// readClient reads the client credentials: the token url, the client's
// id and secret, and the scope (the instance's by default).
func (s *OCMSettings) readClient(f OCMFlags, conf map[string]string) error {
	s.TokenURL = Setting(f.TokenURL, "OCM_TOKEN_URL", conf)
	s.ClientID = strings.TrimSpace(Setting("", "OCM_CLIENT_ID", conf))
	s.Scope = Setting(f.Scope, "OCM_SCOPE", conf)
	if s.TokenURL == "" {
		return errors.New("no token url: pass --token-url https://<idcs>/oauth2/v1/token (the identity domain's) or set OCM_TOKEN_URL")
	}
	if s.ClientID == "" {
		return errors.New("no client id: set OCM_CLIENT_ID (the identity domain application's), or put it in the config file")
	}
	var err error
	if s.ClientSecret, _, err = ReadSecret("client secret file", "", "OCM_CLIENT_SECRET_FILE", "OCM_CLIENT_SECRET", conf); err != nil {
		return err
	}
	if s.ClientSecret == "" {
		return errors.New("no client secret: set OCM_CLIENT_SECRET or OCM_CLIENT_SECRET_FILE, or put OCM_CLIENT_SECRET in the config file")
	}
	if s.Scope == "" {
		s.Scope = ocmScope(s.APIURL)
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

// OCMCacheName is an OCM library's folder in the user's cache dir: its
// instance and root folder made one path element ("ocm-" and the
// instance, less an https:// scheme, "/" and the root, path-escaped), so
// that two instances or two folders never share one.
func OCMCacheName(apiURL, root string) string {
	id := strings.TrimPrefix(APIIdentity(apiURL), "https://") + "/" + root
	return OCM + "-" + url.PathEscape(id)
}

// Open makes an OCM backend of the settings, with c the options the
// flags gave (ocm.Config less the instance, root, credentials and
// logger), and names its library.
func (s *OCMSettings) Open(c ocm.Config, log *slog.Logger) (*ocm.Backend, ID, error) {
	c.APIURL, c.RootID, c.Logger = s.APIURL, s.Root, log
	checked := "OCM credentials and root folder"
	switch s.Mode {
	case OCMClient:
		c.TokenURL, c.ClientID, c.ClientSecret, c.Scope = s.TokenURL, s.ClientID, s.ClientSecret, s.Scope
	case OCMToken:
		c.Token, c.TokenSource = s.Secret, s.Source
	case OCMLink:
		c.LinkID, c.AccessCode, c.AccessCodeSource = s.LinkID, s.Secret, s.Source
		checked = "shared link and its folder"
	case OCMAppLink:
		c.AppLinkID, c.AppLinkToken = s.LinkID, s.Secret
		checked = "applink and its folder"
	}
	b, err := ocm.New(c)
	if err != nil {
		return nil, ID{}, err
	}
	return b, ID{Location: s.Library(), API: OCM + ":" + APIIdentity(s.APIURL), Checked: checked}, nil
}
