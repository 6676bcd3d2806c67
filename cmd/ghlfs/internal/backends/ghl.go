package backends

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/oauth"
)

// A HighLevel mount (--backend ghl, the default) reads, from the flags,
// then the environment, then the config file:
//
//	GHL_TOKEN=pit-...            # or GHL_TOKEN_FILE=/path/to/token
//	GHL_LOCATION_ID=...
//	GHL_API_URL=https://services.leadconnectorhq.com
//	GHL_STORAGE_HOSTS=cdn.example.com,files.example.com
//	GHL_SOCIAL_CSV=true          # --social-csv; ghlfs login asks for its scopes
//
// and, for a token file of ghlfs login's OAuth token set, the app's
// GHL_CLIENT_ID, GHL_CLIENT_SECRET (or GHL_CLIENT_SECRET_FILE) and
// GHL_APP_ID.

// GHLBase is HighLevel's API URL: u, else ghl.DefaultBaseURL.
func GHLBase(u string) string {
	if u == "" {
		return ghl.DefaultBaseURL
	}
	return u
}

// Credentials are what a mount authenticates with: a Private Integration
// Token (given whole, or in a file read again after a 401), or an OAuth
// token set stored by ghlfs login (a JSON file), kept refreshed.
type Credentials struct {
	token  string
	source func() (string, error)

	oauthFile string
	Set       oauth.TokenSet
	App       oauth.App
	AppID     string           // the Marketplace app's id (agency mode)
	tf        *oauth.TokenFile // made at the first use, then shared
}

// ReadCredentials finds the mount's credentials: --token-file, then the
// environment, then the config file.
func ReadCredentials(flagFile string, conf map[string]string, apiURL string) (*Credentials, error) {
	file := tokenFileOf(flagFile, conf)
	if file != "" {
		isSet, err := isTokenSetFile(file)
		if err != nil {
			return nil, err
		}
		if isSet {
			set, err := oauth.ReadTokenSet(file)
			if err != nil {
				return nil, err
			}
			app, err := OAuthApp(conf, apiURL)
			if err != nil {
				return nil, fmt.Errorf("%s holds OAuth tokens, which need the app to refresh them: %w", file, err)
			}
			app.Counts = &remote.CallCounts{} // for the metrics
			return &Credentials{oauthFile: file, Set: set, App: app, AppID: appIDOf(app.ClientID, conf)}, nil
		}
	}
	token, err := readToken(flagFile, conf)
	if err != nil {
		return nil, err
	}
	c := &Credentials{token: token}
	if file != "" {
		c.source = func() (string, error) { return ReadTokenFile(file) }
	}
	return c, nil
}

// readToken returns the API token from a file (first line) or, failing
// that, from GHL_TOKEN in the environment or the config file.
func readToken(tokenFile string, conf map[string]string) (string, error) {
	if tokenFile = tokenFileOf(tokenFile, conf); tokenFile != "" {
		return ReadTokenFile(tokenFile)
	}
	if tok := Setting("", "GHL_TOKEN", conf); tok != "" {
		return strings.TrimSpace(tok), nil
	}
	return "", errors.New("no API token: set GHL_TOKEN, or pass --token-file FILE, or put GHL_TOKEN in the config file")
}

// tokenFileOf is the token file to use, or "" when the token is given
// directly: flag, then environment, then config file; within each, a
// token file before a token.
func tokenFileOf(flagValue string, conf map[string]string) string {
	if flagValue != "" {
		return flagValue
	}
	if f := os.Getenv("GHL_TOKEN_FILE"); f != "" {
		return f
	}
	if os.Getenv("GHL_TOKEN") == "" {
		return conf["GHL_TOKEN_FILE"]
	}
	return ""
}

// isTokenSetFile reports whether a token file holds an OAuth token set
// (JSON, as ghlfs login writes) rather than one token; either must be
// private to its owner.
func isTokenSetFile(path string) (bool, error) {
	f, err := perms.OpenPrivate("token file", path, true)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for {
		b, err := r.ReadByte()
		if err != nil {
			return false, nil
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b == '{', nil
	}
}

// OAuthApp reads the app's credentials from the environment or config.
func OAuthApp(conf map[string]string, apiURL string) (oauth.App, error) {
	id := Setting("", "GHL_CLIENT_ID", conf)
	secret := Setting("", "GHL_CLIENT_SECRET", conf)
	if f := Setting("", "GHL_CLIENT_SECRET_FILE", conf); secret == "" && f != "" {
		s, err := ReadSecretFile("client secret file", f)
		if err != nil {
			return oauth.App{}, err
		}
		secret = s
	}
	if id == "" || secret == "" {
		return oauth.App{}, errors.New("no OAuth app: set GHL_CLIENT_ID and GHL_CLIENT_SECRET (or GHL_CLIENT_SECRET_FILE) in the environment or the config file")
	}
	return oauth.App{ClientID: id, ClientSecret: secret, BaseURL: GHLBase(apiURL)}, nil
}

// appIDOf is the Marketplace app's id: GHL_APP_ID, else the part of the
// client id before its "-" (HighLevel's client ids are APPID-SUFFIX).
func appIDOf(clientID string, conf map[string]string) string {
	if id := Setting("", "GHL_APP_ID", conf); id != "" {
		return id
	}
	id, _, ok := strings.Cut(clientID, "-")
	if !ok {
		return ""
	}
	return id
}

// Company reports whether the credentials are an agency's.
func (c *Credentials) Company() bool { return c.oauthFile != "" && c.Set.UserType == "Company" }

// TokenFile is the OAuth token file, opened once for the whole mount.
func (c *Credentials) TokenFile(log *slog.Logger) (*oauth.TokenFile, error) {
	if c.tf == nil {
		tf, err := oauth.OpenTokenFile(c.oauthFile, c.App, 0, log)
		if err != nil {
			return nil, err
		}
		c.tf = tf
	}
	return c.tf, nil
}

// Location is the location the credentials are for, if they say.
func (c *Credentials) Location() string {
	if c.Set.UserType == "Company" {
		return ""
	}
	return c.Set.LocationID
}

// Config fills the token fields of a client's config for location.
func (c *Credentials) Config(cfg *ghl.Config, location string, log *slog.Logger) error {
	if c.oauthFile == "" {
		cfg.Token, cfg.TokenSource = c.token, c.source
		return nil
	}
	tf, err := c.TokenFile(log)
	if err != nil {
		return err
	}
	switch {
	case c.Set.UserType == "Company":
		if c.Set.CompanyID == "" {
			return errors.New("the agency's token set names no company id; run ghlfs login again")
		}
		cfg.Auth = oauth.NewLocationAuth(c.App, tf, c.Set.CompanyID, location)
	case c.Set.LocationID != "" && c.Set.LocationID != location:
		return fmt.Errorf("the OAuth tokens in %s are for location %s, not %s", c.oauthFile, c.Set.LocationID, location)
	default:
		cfg.Auth = tf
	}
	return nil
}

// Open makes HighLevel's client for location, with c the options the
// flags gave (ghl.Config less the API URL, the location, the
// credentials and the logger), and names its library.
func (c *Credentials) Open(cfg ghl.Config, apiURL, location string, log *slog.Logger) (*ghl.Client, ID, error) {
	cfg.BaseURL = apiURL
	cfg.LocationID = location
	cfg.Logger = log
	if err := c.Config(&cfg, location, log); err != nil {
		return nil, ID{}, err
	}
	client, err := ghl.New(cfg)
	if err != nil {
		return nil, ID{}, err
	}
	base := GHLBase(apiURL)
	return client, ID{Location: location, API: APIIdentity(base), Legacy: LegacyAPIIdentity(base),
		Earlier: EarlierAPIIdentity(base), Checked: "token and location"}, nil
}

// StorageHosts are the storage hosts added to the built-in ones: the
// --storage-host flags, else GHL_STORAGE_HOSTS from the environment, else
// from the config file (comma- or space-separated).
func StorageHosts(flags []string, conf map[string]string) []string {
	if len(flags) > 0 {
		return flags
	}
	return strings.FieldsFunc(Setting("", "GHL_STORAGE_HOSTS", conf), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// SocialCSVSetting reads GHL_SOCIAL_CSV (the environment, else the config
// file): whether the mount shows the social planner's CSV imports, and
// ghlfs login asks for their scopes. Unset is false.
func SocialCSVSetting(conf map[string]string) (bool, error) {
	v := Setting("", "GHL_SOCIAL_CSV", conf)
	if v == "" {
		return false, nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("GHL_SOCIAL_CSV must be true or false, not %q", v)
	}
	return on, nil
}
