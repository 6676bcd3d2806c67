package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/peercred"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
	"github.com/ghlfs/ghlfs/remote/ghl"
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
			if f.userType == "Company" && !cmd.Flags().Changed("scope") {
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
	fl.StringVar(&f.scope, "scope", "medias.readonly medias.write", "scopes to ask for, space-separated (Company adds oauth.readonly oauth.write locations.readonly)")
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

// oauthApp reads the app's credentials from the environment or config.
func oauthApp(conf map[string]string, apiURL string) (ghl.OAuthApp, error) {
	id := setting("", "GHL_CLIENT_ID", conf)
	secret := setting("", "GHL_CLIENT_SECRET", conf)
	if f := setting("", "GHL_CLIENT_SECRET_FILE", conf); secret == "" && f != "" {
		s, err := readSecretFile("client secret file", f)
		if err != nil {
			return ghl.OAuthApp{}, err
		}
		secret = s
	}
	if id == "" || secret == "" {
		return ghl.OAuthApp{}, errors.New("no OAuth app: set GHL_CLIENT_ID and GHL_CLIENT_SECRET (or GHL_CLIENT_SECRET_FILE) in the environment or the config file")
	}
	return ghl.OAuthApp{ClientID: id, ClientSecret: secret, BaseURL: rcBase(apiURL)}, nil
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
	app, err := oauthApp(conf, setting(f.apiURL, "GHL_API_URL", conf))
	if err != nil {
		return err
	}
	redirect, err := url.Parse(f.redirect)
	if err != nil || redirect.Scheme != "http" || !isLoopbackHost(redirect.Hostname()) || redirect.Port() == "" {
		return fmt.Errorf("--redirect must be an http URI on loopback with a port, such as http://127.0.0.1:53682/callback, not %q", f.redirect)
	}
	if err := os.MkdirAll(filepath.Dir(f.tokenFile), 0o700); err != nil {
		return err
	}
	if err := perms.CheckSecretDir("token file", f.tokenFile); err != nil {
		return err
	}
	state := randomState()
	authURL, err := url.Parse(f.authorizeURL)
	if err != nil || (authURL.Scheme != "https" && !(authURL.Scheme == "http" && isLoopbackHost(authURL.Hostname()))) {
		return fmt.Errorf("--authorize-url must be https (or http on loopback), not %q", f.authorizeURL)
	}
	q := authURL.Query()
	q.Set("response_type", "code")
	q.Set("client_id", app.ClientID)
	q.Set("redirect_uri", f.redirect)
	q.Set("scope", f.scope)
	q.Set("state", state)
	// PKCE: a code that reaches anyone else is of no use to them.
	verifier := ghl.NewPKCEVerifier()
	q.Set("code_challenge", ghl.PKCEChallenge(verifier))
	q.Set("code_challenge_method", "S256")
	authURL.RawQuery = q.Encode()

	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	codes := make(chan string, 2)
	failures := make(chan error, 2)
	notes := make(chan string, 4)
	// The browser is given a start page of the loopback listener, which
	// sends it on to the address (startPage).
	var start *startPage
	if !f.noBrowser {
		start = &startPage{path: "/ghlfs-login-" + randomState(), to: authURL.String(), notes: notes, failures: failures}
	}

	// The loopback redirect: one code with our state, then done.
	lns, err := listenRedirect(redirect.Host)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if start != nil && r.URL.Path == start.path {
			start.serve(w, r)
			return
		}
		if r.URL.Path != cmpPath(redirect.Path) {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if q.Get("state") != state {
			// Only this login's own answer is taken from the loopback:
			// any page the browser visits can send it here (a code of
			// another account would mount, and upload into, someone
			// else's library). One without state is pasted instead.
			w.WriteHeader(http.StatusBadRequest)
			if q.Get("state") == "" {
				fmt.Fprint(w, "<p>This answer carries no state, so ghlfs cannot tell it is its own login's. If you approved the app just now, paste this page's address into the terminal where ghlfs login waits.</p>")
			} else {
				fmt.Fprint(w, "<p>This answer is not this login's (another login, or a forged request): ghlfs ignored it.</p>")
			}
			return
		}
		code, err := codeFrom(q, state)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<p>ghlfs login failed: %s</p>", html.EscapeString(err.Error()))
			select {
			case failures <- err:
			default:
			}
			return
		}
		fmt.Fprint(w, "<p>ghlfs is logged in. You may close this page.</p>")
		select {
		case codes <- code:
		default:
		}
	})}
	for _, ln := range lns {
		go srv.Serve(ln)
	}
	defer func() {
		// The page under way (the last one, saying how it ended) is
		// finished first, for a moment at most.
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer scancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()

	fmt.Fprintf(out, "Open this address, and approve the app:\n\n  %s\n\n", authURL)
	if start != nil {
		if err := openBrowser("http://" + redirect.Host + start.path); err != nil {
			fmt.Fprintf(out, "ghlfs: no browser opened (%v); open the address yourself\n", err)
		}
	}
	fmt.Fprintln(out, "Waiting for the approval. Or paste the address the browser ended on (or the code), then Enter:")
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if u, err := url.Parse(line); err == nil && u.RawQuery != "" {
				code, err := codeFrom(u.Query(), state)
				if err != nil {
					fmt.Fprintln(out, "ghlfs:", err)
					continue
				}
				codes <- code
				return
			}
			codes <- line
			return
		}
	}()

	var code string
	for code == "" {
		select {
		case code = <-codes:
		case err := <-failures:
			return err
		case note := <-notes:
			fmt.Fprintln(out, note)
		case <-ctx.Done():
			return fmt.Errorf("no approval within %v", f.timeout)
		}
	}
	// The approval's wait is over: the exchange and the storing have a
	// time of their own, long enough to outlast a mount's refresh that
	// holds the lock (once the code is spent, the answer must be kept).
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), ghl.StoreTimeout)
	defer scancel()
	set, err := app.Exchange(sctx, code, f.redirect, f.userType, verifier)
	if err != nil {
		return fmt.Errorf("exchanging the code: %w", err)
	}
	// Under the lock a mount refreshing this file holds: its refresh of
	// the old login cannot overwrite this one.
	if err := ghl.StoreTokenSet(sctx, f.tokenFile, set); err != nil {
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

// listenRedirect listens on the --redirect address host (HOST:PORT): for
// localhost on both 127.0.0.1 and ::1, since a browser may try either
// first. Another program (maybe another user's) holding either would be
// handed the code: that is an error. A machine without ::1 has no such
// address for anyone to hold.
func listenRedirect(host string) ([]net.Listener, error) {
	addrs := []string{host}
	if h, port, err := net.SplitHostPort(host); err == nil && h == "localhost" {
		addrs = []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}
	}
	var lns []net.Listener
	for i, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil && i > 0 && (errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)) {
			continue
		}
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("cannot listen on %s, the --redirect address (%v): another program holds it, and the browser would hand it the code. Stop that program, or pass --redirect with another port the app lists", a, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// codeFrom takes the code from a redirect's query, checking its state.
func codeFrom(q url.Values, state string) (string, error) {
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("the approval was refused: %s %s", e, q.Get("error_description"))
	}
	if q.Get("state") != "" && q.Get("state") != state {
		return "", errors.New("the answer's state is not this login's (another login, or a forged request)")
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		return "", errors.New("the answer carries no code")
	}
	return code, nil
}

func cmpPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func randomState() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// startPage is the page the browser is sent to first: a random path of
// the login's loopback listener, which sends it on to the authorize
// address. The address holds the login's state (and PKCE challenge): it
// must not be on a command line, which every user of the machine can
// read (ps), and xdg-open hands its argument on to the browser's. The
// start page's address is on the command line instead, so it is served
// once, and, where the kernel says who owns the other end of the
// connection (Linux), to this user alone: another user is refused (and
// the login goes on); a second opening stops the login, since whoever
// opened it first may have the state. A browser sandboxed from the
// user's files (snap, flatpak) reaches it as any page on loopback.
type startPage struct {
	path, to string
	notes    chan<- string // what the login says meanwhile
	failures chan<- error  // what stops it

	mu     sync.Mutex
	opened bool // guarded by mu
}

func (p *startPage) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet {
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if uid, ok := requestPeerUID(r); ok && uid != os.Getuid() {
		http.Error(w, "This is another user's login: ghlfs refused it.", http.StatusForbidden)
		select {
		case p.notes <- fmt.Sprintf("ghlfs: another user (%s) opened this login's start page, and was refused", perms.UserName(uid)):
		default:
		}
		return
	}
	p.mu.Lock()
	again := p.opened
	p.opened = true
	p.mu.Unlock()
	if again {
		http.Error(w, "This login's start page was opened already: ghlfs login stopped, since whoever opened it first may have its address. Run ghlfs login again.", http.StatusGone)
		select {
		case p.failures <- errors.New("the login's start page was opened twice: whoever opened it first may have this login's address and state, so the login stopped. Run ghlfs login again"):
		default:
		}
		return
	}
	http.Redirect(w, r, p.to, http.StatusFound)
}

// requestPeerUID is the uid of the program that sent r over loopback,
// where the kernel tells it.
func requestPeerUID(r *http.Request) (int, bool) {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	peer, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if !ok || err != nil {
		return 0, false
	}
	return peercred.LoopbackUID(peer, local)
}

// openBrowser opens u where a desktop is there to show it, with xdg-open
// (or macOS's open), whose command line every user can read: u is the
// login's start page, never the authorize address.
func openBrowser(u string) error {
	var prog string
	switch {
	case runtime.GOOS == "darwin":
		prog = "open"
	case os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "":
		prog = "xdg-open"
	default:
		return nil
	}
	cmd := exec.Command(prog, u)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // a browser it starts may stay in the foreground
	return nil
}
