package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// locationFlags are the flags of several locations and of OAuth. Secrets
// (the app's client secret, an agency token) come from files or the
// environment, never from the command line.
type locationFlags struct {
	locations         int
	names             string
	clientID          string
	clientSecretFile  string
	companyTokenFile  string
	appScopes         string
	tokenScopes       string
	approveLocation   string
	approve           string
	tokenTTL          time.Duration
	refreshTTL        time.Duration
	codeTTL           time.Duration
	redirectURIs      []string
	notInstalled      []string
	spareOAuth        bool
	companyID, userID string
}

func addLocationFlags(fs *flag.FlagSet, f *locationFlags) {
	fs.IntVar(&f.locations, "locations", 0, "serve N locations: the first is --location, the others LOCATION-2 ... LOCATION-N, each its own library (with --seed demo, of different content), tokens and rate limit (default: 1, or those DATA holds)")
	fs.StringVar(&f.names, "location-names", "", "comma-separated names of the locations (default Demo Location 1, 2, ...)")
	fs.Func("not-installed", "the app is not installed in this location id (repeatable)", func(v string) error {
		f.notInstalled = append(f.notInstalled, v)
		return nil
	})
	fs.StringVar(&f.companyID, "company", ghltest.DefaultCompanyID, "the agency (company) id owning the locations")
	fs.StringVar(&f.userID, "user", ghltest.DefaultUserID, "the user id in token answers")
	fs.StringVar(&f.clientID, "client-id", ghltest.DefaultClientID, "the OAuth app's client id (APPID-SUFFIX)")
	fs.StringVar(&f.clientSecretFile, "client-secret-file", "", "read the app's client secret from this file (default $GHLFAKE_CLIENT_SECRET or "+ghltest.DefaultClientSecret+")")
	fs.StringVar(&f.companyTokenFile, "company-token-file", "", "read an agency Private Integration Token from this file (default $GHLFAKE_COMPANY_TOKEN; none)")
	fs.StringVar(&f.appScopes, "app-scopes", "", "space-separated scopes the app may be granted (default: "+strings.Join(ghltest.KnownScopes(), " ")+")")
	fs.StringVar(&f.tokenScopes, "token-scopes", "", "space-separated scopes of --token (default: every scope)")
	fs.StringVar(&f.approve, "approve", "Location", "what the authorize page approves: Location or Company")
	fs.StringVar(&f.approveLocation, "approve-location", "", "the location a Location approval is for (default the first)")
	fs.DurationVar(&f.tokenTTL, "token-ttl", ghltest.DefaultTokenTTL, "lifetime of OAuth access tokens")
	fs.DurationVar(&f.refreshTTL, "refresh-ttl", ghltest.DefaultRefreshTTL, "lifetime of unused refresh tokens")
	fs.DurationVar(&f.codeTTL, "code-ttl", ghltest.DefaultCodeTTL, "lifetime of authorization codes")
	fs.Func("redirect-uri", "a redirect URI of the app (repeatable; default: any http or https URI)", func(v string) error {
		f.redirectURIs = append(f.redirectURIs, v)
		return nil
	})
	fs.BoolVar(&f.spareOAuth, "spare-oauth", false, "keep --latency and the random faults off the OAuth and location endpoints")
}

// secretSetting reads a secret from a file, else the environment, else def.
func secretSetting(file, env, def string, getenv func(string) string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%s is empty", file)
		}
		return v, nil
	}
	if v := getenv(env); v != "" {
		return v, nil
	}
	return def, nil
}

// apply puts the flags into cfg.
func (f *locationFlags) apply(cfg *config, getenv func(string) string) error {
	o := &cfg.opts
	var err error
	if o.ClientSecret, err = secretSetting(f.clientSecretFile, "GHLFAKE_CLIENT_SECRET", ghltest.DefaultClientSecret, getenv); err != nil {
		return err
	}
	if o.CompanyToken, err = secretSetting(f.companyTokenFile, "GHLFAKE_COMPANY_TOKEN", "", getenv); err != nil {
		return err
	}
	o.ClientID, o.CompanyID, o.UserID = f.clientID, f.companyID, f.userID
	if f.appScopes != "" {
		o.AppScopes = strings.Fields(f.appScopes)
	}
	if f.tokenScopes != "" {
		o.TokenScopes = strings.Fields(f.tokenScopes)
	}
	o.Approve, o.ApproveLocation = f.approve, f.approveLocation
	o.TokenTTL, o.RefreshTTL, o.CodeTTL = f.tokenTTL, f.refreshTTL, f.codeTTL
	if f.tokenTTL < time.Second || f.refreshTTL < time.Second || f.codeTTL < time.Second {
		return errors.New("--token-ttl, --refresh-ttl and --code-ttl must be at least 1s")
	}
	o.RedirectURIs = f.redirectURIs
	o.Faults.SpareOAuth = f.spareOAuth

	switch {
	case f.locations < 0:
		return errors.New("--locations must not be negative")
	case f.locations > 0:
		o.Locations = make([]ghltest.LocationOptions, f.locations)
		for i := range o.Locations {
			id := o.LocationID
			if i > 0 {
				id += "-" + strconv.Itoa(i+1)
			}
			o.Locations[i] = ghltest.LocationOptions{ID: id, Name: "Demo Location " + strconv.Itoa(i+1)}
		}
	case o.DataDir != "":
		// The locations the directory was last served with, if several.
		if o.Locations, err = ghltest.LoadLocations(o.DataDir, o.Seed); err != nil {
			return err
		}
		if len(o.Locations) > 0 && o.Locations[0].ID != o.LocationID {
			if o.LocationID != ghltest.DefaultLocationID {
				return fmt.Errorf("%s serves location %s first, not %s", o.DataDir, o.Locations[0].ID, o.LocationID)
			}
			o.LocationID = o.Locations[0].ID
		}
	}
	if f.names != "" {
		names := strings.Split(f.names, ",")
		if len(o.Locations) == 0 {
			o.Locations = []ghltest.LocationOptions{{ID: o.LocationID}}
		}
		if len(names) != len(o.Locations) {
			return fmt.Errorf("--location-names gives %d names for %d locations", len(names), len(o.Locations))
		}
		for i := range o.Locations {
			o.Locations[i].Name = strings.TrimSpace(names[i])
		}
	}
	if len(o.Locations) == 0 && len(f.notInstalled) > 0 {
		o.Locations = []ghltest.LocationOptions{{ID: o.LocationID}}
	}
	for _, id := range f.notInstalled {
		found := false
		for i := range o.Locations {
			if o.Locations[i].ID == id {
				o.Locations[i].NotInstalled, found = true, true
			}
		}
		if !found {
			return fmt.Errorf("--not-installed %s: no such location", id)
		}
	}
	for i := range o.Locations {
		if o.Locations[i].Seed == "" {
			o.Locations[i].Seed = o.Seed
		}
	}
	return nil
}
