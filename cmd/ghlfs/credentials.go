package main

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/oauth"
)

// credentials are what a mount authenticates with: a Private Integration
// Token (given whole, or in a file read again after a 401), or an OAuth
// token set stored by ghlfs login (a JSON file), kept refreshed.
type credentials struct {
	token  string
	source func() (string, error)

	oauthFile string
	set       oauth.TokenSet
	app       oauth.App
	appID     string           // the Marketplace app's id (agency mode)
	tf        *oauth.TokenFile // made at the first use, then shared
}

// readCredentials finds the mount's credentials: --token-file, then the
// environment, then the config file.
func readCredentials(flagFile string, conf map[string]string, apiURL string) (*credentials, error) {
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
			app, err := oauthApp(conf, apiURL)
			if err != nil {
				return nil, fmt.Errorf("%s holds OAuth tokens, which need the app to refresh them: %w", file, err)
			}
			app.Counts = &remote.CallCounts{} // for the metrics
			return &credentials{oauthFile: file, set: set, app: app, appID: appIDOf(app.ClientID, conf)}, nil
		}
	}
	token, err := readToken(flagFile, conf)
	if err != nil {
		return nil, err
	}
	c := &credentials{token: token}
	if file != "" {
		c.source = func() (string, error) { return readTokenFile(file) }
	}
	return c, nil
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

// appIDOf is the Marketplace app's id: GHL_APP_ID, else the part of the
// client id before its "-" (HighLevel's client ids are APPID-SUFFIX).
func appIDOf(clientID string, conf map[string]string) string {
	if id := setting("", "GHL_APP_ID", conf); id != "" {
		return id
	}
	id, _, ok := strings.Cut(clientID, "-")
	if !ok {
		return ""
	}
	return id
}

// company reports whether the credentials are an agency's.
func (c *credentials) company() bool { return c.oauthFile != "" && c.set.UserType == "Company" }

// tokenFile is the OAuth token file, opened once for the whole mount.
func (c *credentials) tokenFile(log *slog.Logger) (*oauth.TokenFile, error) {
	if c.tf == nil {
		tf, err := oauth.OpenTokenFile(c.oauthFile, c.app, 0, log)
		if err != nil {
			return nil, err
		}
		c.tf = tf
	}
	return c.tf, nil
}

// location is the location the credentials are for, if they say.
func (c *credentials) location() string {
	if c.set.UserType == "Company" {
		return ""
	}
	return c.set.LocationID
}

// config fills the token fields of a client's config for location.
func (c *credentials) config(cfg *ghl.Config, location string, log *slog.Logger) error {
	if c.oauthFile == "" {
		cfg.Token, cfg.TokenSource = c.token, c.source
		return nil
	}
	tf, err := c.tokenFile(log)
	if err != nil {
		return err
	}
	switch {
	case c.set.UserType == "Company":
		if c.set.CompanyID == "" {
			return errors.New("the agency's token set names no company id; run ghlfs login again")
		}
		cfg.Auth = oauth.NewLocationAuth(c.app, tf, c.set.CompanyID, location)
	case c.set.LocationID != "" && c.set.LocationID != location:
		return fmt.Errorf("the OAuth tokens in %s are for location %s, not %s", c.oauthFile, c.set.LocationID, location)
	default:
		cfg.Auth = tf
	}
	return nil
}
