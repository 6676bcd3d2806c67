package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/authcode"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/backends"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/oauth"
)

// ghlfs login: the OAuth 2.0 authorization-code flow of a HighLevel
// Marketplace app whose client id and secret the user supplies (config
// file or environment: GHL_CLIENT_ID, GHL_CLIENT_SECRET or
// GHL_CLIENT_SECRET_FILE; never the command line). The code comes back to
// a loopback redirect URI ghlfs listens on, or is pasted.

// DefaultAuthorizeURL is HighLevel's page where a user picks the location
// (or agency) to install the app in: the docs moved it under /v2 in
// 2026-05; the old one, which the official SDK still opens, stays
// reachable with --authorize-url
// https://marketplace.gohighlevel.com/oauth/chooselocation.
const DefaultAuthorizeURL = "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"

// companyScopes are the scopes an agency's login adds: listing the
// locations where the app is installed, and minting their tokens.
const companyScopes = "oauth.readonly oauth.write locations.readonly"

type loginFlags struct {
	config, tokenFile, apiURL, authorizeURL string
	userType, scope, redirect               string
	noBrowser                               bool
	timeout                                 time.Duration
	// scopeSet: --scope was given, and is asked for as it is.
	scopeSet bool
}

func newLoginCmd() *cobra.Command {
	f := &loginFlags{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in with a Marketplace app (OAuth) and store the tokens for mount",
		Long: `Runs HighLevel's OAuth authorization-code flow for your Marketplace app and
stores the token set (access and refresh tokens, expiry, user type, location
or company, scopes) in --token-file, mode 0600, written atomically. ghlfs
mount --token-file FILE then uses it and keeps it refreshed.

The app's client id and secret come from the environment or the config file
(GHL_CLIENT_ID, and GHL_CLIENT_SECRET or GHL_CLIENT_SECRET_FILE), never from
the command line. The app must list the --redirect URI among its redirect
URLs. The page to approve is opened in a browser where there is one; the
code comes back to ghlfs on that loopback URI, or you paste the address the
browser ended on (or just the code) here.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.scopeSet = cmd.Flags().Changed("scope")
			if f.userType == "Company" && !f.scopeSet {
				// An agency's mount lists its locations and mints their
				// tokens.
				f.scope += " " + companyScopes
			}
			return runLogin(cmd.Context(), f, cmd.InOrStdin(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "config file of KEY=VALUE lines (default "+defaultConfigPath()+")")
	fl.StringVar(&f.tokenFile, "token-file", defaultOAuthTokenFile(), "where to store the token set")
	fl.StringVar(&f.apiURL, "api-url", "", "API base URL (else $GHL_API_URL, else "+ghl.DefaultBaseURL+")")
	fl.StringVar(&f.authorizeURL, "authorize-url", DefaultAuthorizeURL, "the page where the app is approved")
	fl.StringVar(&f.userType, "user-type", "Location", "Location (one sub-account) or Company (an agency: every sub-account where the app is installed)")
	fl.StringVar(&f.scope, "scope", "medias.readonly medias.write", "scopes to ask for, space-separated (Company adds oauth.readonly oauth.write locations.readonly; GHL_SOCIAL_CSV=true adds "+csvScopes+")")
	fl.StringVar(&f.redirect, "redirect", "http://127.0.0.1:53682/callback", "the app's redirect URI: ghlfs listens on it (loopback only)")
	fl.BoolVar(&f.noBrowser, "no-browser", false, "do not open a browser; print the address and wait for the code")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "how long to wait for the approval")
	return cmd
}

func defaultOAuthTokenFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "token.json"
	}
	return filepath.Join(dir, "ghlfs", "token.json")
}

func runLogin(ctx context.Context, f *loginFlags, stdin io.Reader, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if f.userType != "Location" && f.userType != "Company" {
		return fmt.Errorf("--user-type must be Location or Company, not %q", f.userType)
	}
	confPath, explicit := f.config, f.config != ""
	if !explicit {
		confPath = defaultConfigPath()
	}
	conf, err := readConfig(confPath, explicit)
	if err != nil {
		return err
	}
	app, err := backends.OAuthApp(conf, backends.Setting(f.apiURL, "GHL_API_URL", conf))
	if err != nil {
		return err
	}
	if csv, err := backends.SocialCSVSetting(conf); err != nil {
		return err
	} else if csv && !f.scopeSet {
		// A mount of this config shows the social planner's CSV imports.
		f.scope += " " + csvScopes
	}
	if _, err := authcode.CheckRedirect(f.redirect); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.tokenFile), 0o700); err != nil {
		return err
	}
	if err := perms.CheckSecretDir("token file", f.tokenFile); err != nil {
		return err
	}
	if _, err := authcode.CheckAuthorizeURL(f.authorizeURL); err != nil {
		return err
	}
	code, verifier, err := authcode.Get(ctx, authcode.Request{
		AuthorizeURL: f.authorizeURL, Redirect: f.redirect, ClientID: app.ClientID, Scope: f.scope,
		NoBrowser: f.noBrowser, Timeout: f.timeout, In: stdin, Out: out,
	})
	if err != nil {
		return err
	}
	// The approval's wait is over: the exchange and the storing have a
	// time of their own, long enough to outlast a mount's refresh that
	// holds the lock (once the code is spent, the answer must be kept).
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), oauth.StoreTimeout)
	defer scancel()
	set, err := app.Exchange(sctx, code, f.redirect, f.userType, verifier)
	if err != nil {
		return fmt.Errorf("exchanging the code: %w", err)
	}
	// Under the lock a mount refreshing this file holds: its refresh of
	// the old login cannot overwrite this one.
	if err := oauth.StoreTokenSet(sctx, f.tokenFile, set); err != nil {
		return fmt.Errorf("storing the tokens: %w", err)
	}
	who := "location " + set.LocationID
	if set.UserType == "Company" {
		who = "agency (company) " + set.CompanyID
	}
	fmt.Fprintf(out, "Logged in: %s, scopes %q. Tokens stored in %s (expires %s; ghlfs mount refreshes it).\n",
		who, set.Scope, f.tokenFile, set.ExpiresAt.Local().Format(time.RFC1123))
	return nil
}
