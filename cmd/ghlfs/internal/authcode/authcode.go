package authcode

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
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/peercred"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
	"github.com/ghlfs/ghlfs/remote/ghl/oauth"
)

// Request is one approval to ask the user for.
type Request struct {
	AuthorizeURL string // the page where the app is approved (CheckAuthorizeURL)
	Redirect     string // the app's redirect URI, listened on (CheckRedirect)
	ClientID     string
	Scope        string // space-separated
	NoBrowser    bool   // print the address, open no browser
	Timeout      time.Duration
	In           io.Reader // where a pasted address (or code) is read
	Out          io.Writer // what the user is told
}

// CheckRedirect parses a redirect URI ghlfs can listen on: http, on
// loopback, with a port.
func CheckRedirect(uri string) (*url.URL, error) {
	redirect, err := url.Parse(uri)
	if err != nil || redirect.Scheme != "http" || !isLoopbackHost(redirect.Hostname()) || redirect.Port() == "" {
		return nil, fmt.Errorf("--redirect must be an http URI on loopback with a port, such as http://127.0.0.1:53682/callback, not %q", uri)
	}
	return redirect, nil
}

// CheckAuthorizeURL parses the address of the page where the app is
// approved: https, or http on loopback.
func CheckAuthorizeURL(s string) (*url.URL, error) {
	authURL, err := url.Parse(s)
	if err != nil || (authURL.Scheme != "https" && !(authURL.Scheme == "http" && isLoopbackHost(authURL.Hostname()))) {
		return nil, fmt.Errorf("--authorize-url must be https (or http on loopback), not %q", s)
	}
	return authURL, nil
}

// Get asks the user to approve the app, and returns the code the
// approval gives, with the PKCE verifier to exchange it with. It listens
// on the redirect URI until then (r.Timeout at most), and reads a pasted
// address or code from r.In meanwhile.
func Get(ctx context.Context, r Request) (string, string, error) {
	state := randomState()
	authURL, err := CheckAuthorizeURL(r.AuthorizeURL)
	if err != nil {
		return "", "", err
	}
	redirect, err := CheckRedirect(r.Redirect)
	if err != nil {
		return "", "", err
	}
	q := authURL.Query()
	q.Set("response_type", "code")
	q.Set("client_id", r.ClientID)
	q.Set("redirect_uri", r.Redirect)
	q.Set("scope", r.Scope)
	q.Set("state", state)
	// PKCE: a code that reaches anyone else is of no use to them.
	verifier := oauth.NewPKCEVerifier()
	q.Set("code_challenge", oauth.PKCEChallenge(verifier))
	q.Set("code_challenge_method", "S256")
	authURL.RawQuery = q.Encode()

	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	codes := make(chan string, 2)
	failures := make(chan error, 2)
	notes := make(chan string, 4)
	// The browser is given a start page of the loopback listener, which
	// sends it on to the address (startPage).
	var start *startPage
	if !r.NoBrowser {
		start = &startPage{path: "/ghlfs-login-" + randomState(), to: authURL.String(), notes: notes, failures: failures}
	}

	// The loopback redirect: one code with our state, then done.
	lns, err := listenRedirect(redirect.Host)
	if err != nil {
		return "", "", err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if start != nil && req.URL.Path == start.path {
			start.serve(w, req)
			return
		}
		if req.URL.Path != cmpPath(redirect.Path) {
			http.NotFound(w, req)
			return
		}
		q := req.URL.Query()
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

	fmt.Fprintf(r.Out, "Open this address, and approve the app:\n\n  %s\n\n", authURL)
	if start != nil {
		if err := openBrowser("http://" + redirect.Host + start.path); err != nil {
			fmt.Fprintf(r.Out, "ghlfs: no browser opened (%v); open the address yourself\n", err)
		}
	}
	fmt.Fprintln(r.Out, "Waiting for the approval. Or paste the address the browser ended on (or the code), then Enter:")
	go func() {
		sc := bufio.NewScanner(r.In)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if u, err := url.Parse(line); err == nil && u.RawQuery != "" {
				code, err := codeFrom(u.Query(), state)
				if err != nil {
					fmt.Fprintln(r.Out, "ghlfs:", err)
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
			return "", "", err
		case note := <-notes:
			fmt.Fprintln(r.Out, note)
		case <-ctx.Done():
			return "", "", fmt.Errorf("no approval within %v", r.Timeout)
		}
	}
	return code, verifier, nil
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
