package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
	"github.com/ghlfs/ghlfs/remote/ghl/oauth"
)

// OAuth (issue 11): ghlfs login against the fake's authorize page and
// token endpoint, mounts that keep their tokens refreshed (refresh tokens
// are single use: the fake refuses one used twice, and counts it), and an
// agency's mount of every location.

// appEnv is the environment that names the fake's Marketplace app.
func appEnv(t *testing.T, srv *ghltest.Server) []string {
	return []string{"GHL_CLIENT_ID=" + srv.ClientID(), "GHL_CLIENT_SECRET=" + ghltest.DefaultClientSecret, "XDG_CONFIG_HOME=" + t.TempDir()}
}

// freeLoopbackPort is a port nothing listens on now.
func freeLoopbackPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// login runs ghlfs login as a user would: it prints the address to open;
// curl plays the browser (the fake's page approves and redirects), and
// the code comes back either to ghlfs's loopback redirect or, with paste,
// as the address the browser ended on, pasted on ghlfs's stdin. The page
// is the fake's stand-in at the docs' address, /v2/oauth/chooselocation,
// unless extra (more flags of ghlfs login) gives another --authorize-url.
func login(t *testing.T, srv *ghltest.Server, userType string, paste bool, extra ...string) string {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token.json")
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", freeLoopbackPort(t))
	args := []string{"login", "--no-browser", "--api-url", srv.URL,
		"--authorize-url", srv.URL + "/v2/oauth/chooselocation", "--redirect", redirect,
		"--user-type", userType, "--token-file", tokenFile, "--timeout", "1m"}
	cmd := exec.Command(binDir+"/ghlfs", append(args, extra...)...)
	cmd.Env = append(os.Environ(), appEnv(t, srv)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var said strings.Builder
	sc := bufio.NewScanner(out)
	var authURL string
	for sc.Scan() {
		said.WriteString(sc.Text() + "\n")
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, srv.URL+"/") && strings.Contains(l, "/oauth/chooselocation?") {
			authURL = l
			break
		}
	}
	if authURL == "" {
		t.Fatalf("ghlfs login printed no address to open:\n%s", said.String())
	}
	// PKCE: the page gets the verifier's challenge, never the verifier.
	if u, err := url.Parse(authURL); err != nil || len(u.Query().Get("code_challenge")) != 43 ||
		u.Query().Get("code_challenge_method") != "S256" || u.Query().Has("code_verifier") {
		t.Fatalf("the address to open asks for no PKCE S256 challenge: %s", authURL)
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(out)
		rest <- string(b)
	}()
	// The browser: the fake's page approves and sends it to the redirect.
	landed := strings.TrimSpace(sh(t, "curl", "-s", "-o", "/dev/null", "-w", "%{redirect_url}", authURL))
	if !strings.HasPrefix(landed, redirect+"?") || !strings.Contains(landed, "code=") {
		t.Fatalf("the authorize page sent the browser to %q", landed)
	}
	if paste {
		fmt.Fprintln(stdin, landed)
	} else {
		// Another page sends a code of its own to the loopback first:
		// without this login's state it is ignored, and the login waits on.
		if page := sh(t, "curl", "-s", redirect+"?code=forged-code"); !strings.Contains(page, "paste this page's address") {
			t.Errorf("a code without state: %q", page)
		}
		if page := sh(t, "curl", "-s", redirect+"?code=forged-code&state=not-ours"); !strings.Contains(page, "not this login's") {
			t.Errorf("a code with another state: %q", page)
		}
		if page := sh(t, "curl", "-s", landed); !strings.Contains(page, "logged in") {
			t.Errorf("the redirect page says %q", page)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ghlfs login: %v\n%s%s", err, said.String(), <-rest)
	}
	if msg := <-rest; !strings.Contains(msg, "Logged in") || strings.Contains(msg, ghltest.DefaultClientSecret) {
		t.Errorf("ghlfs login said:\n%s", msg)
	}
	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	return tokenFile
}

func readTokenSet(t *testing.T, path string) oauth.TokenSet {
	t.Helper()
	var set oauth.TokenSet
	if err := json.Unmarshal(readFile(t, path), &set); err != nil {
		t.Fatal(err)
	}
	return set
}

// ghlfs login, with the code sent back to its loopback listener and with
// the code pasted, then a mount with the tokens it stored.
func TestLogin(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	for _, paste := range []bool{false, true} {
		tokenFile := login(t, srv, "Location", paste)
		set := readTokenSet(t, tokenFile)
		if set.AccessToken == "" || set.RefreshToken == "" || set.UserType != "Location" || set.LocationID != testLocation || !set.ExpiresAt.After(time.Now()) {
			t.Fatalf("paste=%v: stored %+v", paste, set)
		}
	}
	if st := srv.Stats().OAuth; st.CodeGrants != 2 || st.CodeReused != 0 || st.CodeRefused != 0 {
		t.Errorf("the fake granted %d codes (%d reused, %d refused: a forged one sent?), want 2, 0, 0", st.CodeGrants, st.CodeReused, st.CodeRefused)
	}
	tokenFile := login(t, srv, "Location", false)
	m := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile}, env: appEnv(t, srv), token: "not-this-one"})
	if got, want := lsNames(t, m.dir), topNames(t, srv); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ls shows %q, the library has %q", got, want)
	}
}

// A cp -r of 300 files over ten lives of the access token: no error
// reaches cp, every file lands, and no refresh token is used twice (the
// fake refuses a reused one, and counts it).
func TestRefreshAcrossExpiries(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	const ttl = time.Second
	srv := fake(t, ghltest.Options{Seed: "demo", TokenTTL: ttl})
	tokenFile := login(t, srv, "Location", false)
	m := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile}, env: appEnv(t, srv), token: "not-this-one"})
	src := t.TempDir()
	const n = 300
	for i := range n {
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%03d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)))
	}
	start := time.Now()
	refreshes := srv.Stats().OAuth.Refreshes
	// One cp -r; every 25 files that land, the fake also expires every
	// access token at once (on top of their one-second lives), so the copy
	// spans at least ten expiries whatever its pace (the tenth at 250 of
	// the 300 files).
	cp := exec.Command("cp", "-r", src, m.path("batch"))
	out := &syncBuffer{}
	cp.Stdout, cp.Stderr = out, out
	if err := cp.Start(); err != nil {
		t.Fatal(err)
	}
	copied := make(chan error, 1)
	go func() { copied <- cp.Wait() }()
	expiries, base := 0, len(srv.Items())
	var cpErr error
wait:
	for {
		select {
		case cpErr = <-copied:
			break wait
		case <-time.After(10 * time.Millisecond):
		}
		if landed := len(srv.Items()) - base; landed >= (expiries+1)*25 && expiries < 11 {
			srv.ExpireAccessTokens()
			expiries++
		}
	}
	if cpErr != nil {
		t.Fatalf("cp -r: %v\n%s", cpErr, out)
	}
	st := srv.Stats().OAuth
	if st.RefreshReused != 0 || st.RefreshRefused != 0 {
		t.Errorf("refresh tokens reused %d, refused %d; want 0", st.RefreshReused, st.RefreshRefused)
	}
	if expiries < 10 {
		t.Fatalf("the copy ended after %d forced expiries; want 10", expiries)
	}
	if st.Refreshes-refreshes < 10 {
		t.Errorf("%d refreshes over %v (tokens of %v, %d expired early), want 10 or more", st.Refreshes-refreshes, time.Since(start), ttl, expiries)
	}
	tree := remoteTree(t, srv)
	for i := range n {
		if rf, ok := tree[fmt.Sprintf("batch/f%03d.txt", i)]; !ok || rf.Size != int64(len(fmt.Sprintf("file %d\n", i))) {
			t.Fatalf("f%03d.txt: %+v (listed %v)", i, rf, ok)
		}
	}
	if set := readTokenSet(t, tokenFile); !set.ExpiresAt.After(start) {
		t.Errorf("the token file was not kept refreshed: %+v", set)
	}
}

// kill -9 right after a refresh: the next mount uses the set stored
// before the new token was used.
func TestKillAfterRefresh(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo", TokenTTL: 2 * time.Second})
	tokenFile := login(t, srv, "Location", false)
	before := readTokenSet(t, tokenFile)
	cacheDir := t.TempDir()
	m := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile}, env: appEnv(t, srv), token: "not-this-one", cacheDir: cacheDir})
	// Each file written is an upload, which needs a live token.
	i := 0
	waitFor(t, "a refresh", func() bool {
		i++
		writeFile(t, m.path(fmt.Sprintf("before-kill-%d.txt", i)), []byte("x"))
		return strings.Contains(m.log.String(), "refreshed the OAuth access token")
	})
	m.kill()
	after := readTokenSet(t, tokenFile)
	if after.RefreshToken == before.RefreshToken {
		t.Fatal("the token file still holds the first refresh token after a refresh")
	}
	srv.ExpireAccessTokens()
	m2 := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile}, env: appEnv(t, srv), token: "not-this-one", cacheDir: cacheDir})
	sh(t, "ls", m2.path("Documents"))
	writeFile(t, m2.path("after-kill.txt"), []byte("x"))
	waitRemote(t, srv, "after-kill.txt")
	if st := srv.Stats().OAuth; st.RefreshReused != 0 || st.RefreshRefused != 0 {
		t.Errorf("refresh tokens reused %d, refused %d; want 0", st.RefreshReused, st.RefreshRefused)
	}
}

// Two ghlfs processes on one token file refresh in turn: whoever comes
// second uses what the first stored.
// Under each OAuth quirk: a refresh that revokes the grant's earlier
// access tokens (the other process's token dies at once), one where a
// reused refresh token revokes the whole login, and NestJS-shaped errors.
func TestTwoMountsShareTokenFile(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	for _, q := range []string{"", ghltest.QuirkRefreshRevokesAccess, ghltest.QuirkRefreshReuseRevokes, ghltest.QuirkOAuthNestErrors} {
		t.Run(quirkName(q), func(t *testing.T) { twoMountsShareTokenFile(t, q) })
	}
}

// quirkName names a subtest after its quirk.
func quirkName(quirk string) string {
	if quirk == "" {
		return "no-quirk"
	}
	return quirk
}

func twoMountsShareTokenFile(t *testing.T, quirk string) {
	opts := ghltest.Options{Seed: "demo", TokenTTL: time.Second}
	if quirk != "" {
		opts.Quirks = []string{quirk}
	}
	srv := fake(t, opts)
	tokenFile := login(t, srv, "Location", false)
	a := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile, "--dir-cache-time", "0s"}, env: appEnv(t, srv), token: "not-this-one"})
	b := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile, "--dir-cache-time", "0s"}, env: appEnv(t, srv), token: "not-this-one"})
	start := srv.Stats().OAuth.Refreshes
	for i := 0; srv.Stats().OAuth.Refreshes-start < 6; i++ {
		if i > 2000 {
			t.Fatal("no refreshes")
		}
		for _, m := range []*mount{a, b} {
			writeFile(t, m.path(fmt.Sprintf("from-%p-%d.txt", m, i)), []byte("x"))
			sh(t, "ls", m.path("Documents"))
		}
	}
	if st := srv.Stats().OAuth; st.RefreshReused != 0 || st.RefreshRefused != 0 {
		t.Errorf("refresh tokens reused %d, refused %d; want 0", st.RefreshReused, st.RefreshRefused)
	}
	for _, m := range []*mount{a, b} {
		if l := logLines(m.log.String(), "level=ERROR"); len(l) > 0 {
			t.Errorf("errors logged: %q", l)
		}
	}
}

// A login revoked in HighLevel: calls fail with EACCES, one log line says
// to log in again, and ghlfs does not keep asking.
func TestRevokedLoginAsksForLogin(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	for _, q := range []string{"", ghltest.QuirkOAuthNestErrors} {
		t.Run(quirkName(q), func(t *testing.T) { revokedLoginAsksForLogin(t, q) })
	}
}

func revokedLoginAsksForLogin(t *testing.T, quirk string) {
	opts := ghltest.Options{Seed: "demo"}
	if quirk != "" {
		opts.Quirks = []string{quirk}
	}
	srv := fake(t, opts)
	tokenFile := login(t, srv, "Location", false)
	m := mountFS(t, srv, mountOpt{args: []string{"--token-file", tokenFile, "--list-all=false"}, env: appEnv(t, srv), token: "not-this-one"})
	srv.RevokeGrants()
	for range 3 {
		out, err := shErr("ls", m.path("Documents"))
		if err == nil || !strings.Contains(out, "Permission denied") {
			t.Fatalf("ls after the login was revoked: %v %s", err, out)
		}
	}
	if l := logLines(m.log.String(), "level=ERROR", "ghlfs login"); len(l) != 1 {
		t.Errorf("%d ERROR lines saying to log in again, want 1: %q", len(l), l)
	}
	if st := srv.Stats().OAuth; st.RefreshRefused != 1 {
		t.Errorf("%d refreshes refused, want 1 (no loop)", st.RefreshRefused)
	}
}

// An agency's mount: one folder per location, each its own library; a
// copy into one lands there only; a location that fails shows empty and
// leaves the others working; each location's calls stay under its own
// limit.
func TestAgencyMount(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	locs := ghltest.DemoLocations(4)
	locs[0].ID = testLocation
	srv := fake(t, ghltest.Options{Seed: "demo", Locations: locs, Approve: "Company", RateLimit: 100})
	tokenFile := login(t, srv, "Company", false)
	if set := readTokenSet(t, tokenFile); set.UserType != "Company" || set.CompanyID != srv.CompanyID() {
		t.Fatalf("stored %+v", set)
	}
	// The fourth location is down when ghlfs mounts.
	down := srv.Location(locs[3].ID)
	down.SetDown(true)
	m := mountFS(t, srv, mountOpt{agency: true, args: []string{"--token-file", tokenFile, "--rate-limit", "100"}, env: appEnv(t, srv), token: "not-this-one"})
	var names []string
	for _, l := range locs {
		names = append(names, l.Name)
	}
	sort.Strings(names)
	if got := lsNames(t, m.dir); strings.Join(got, "|") != strings.Join(names, "|") {
		t.Fatalf("the agency's root shows %q, want %q", got, names)
	}
	for _, l := range locs[:3] {
		loc := srv.Location(l.ID)
		var want []string
		for _, it := range loc.Items() {
			if it.ParentID == "" && !strings.Contains(it.Name, "/") {
				want = append(want, it.Name)
			}
		}
		sort.Strings(want)
		var got []string
		for _, n := range lsNames(t, m.path(l.Name)) {
			if !strings.Contains(n, "／") {
				got = append(got, n)
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s shows %q, its library has %q", l.Name, got, want)
		}
	}
	if got := lsNames(t, m.path(locs[3].Name)); len(got) != 0 {
		t.Errorf("the location that was down shows %q, want nothing", got)
	}
	if l := logLines(m.log.String(), locs[3].ID, "empty folder"); len(l) != 1 {
		t.Errorf("%d log lines about the failed location, want 1", len(l))
	}
	// A copy into the second location lands there only.
	writeFile(t, m.path(locs[1].Name, "agency-copy.txt"), []byte("for location 2\n"))
	for i, l := range locs[:3] {
		found := false
		for _, it := range srv.Location(l.ID).Items() {
			found = found || it.Name == "agency-copy.txt"
		}
		if found != (i == 1) {
			t.Errorf("agency-copy.txt in %s: %v", l.Name, found)
		}
	}
	// Between locations is between folders: mv copies.
	sh(t, "mv", m.path(locs[1].Name, "agency-copy.txt"), m.path(locs[2].Name, "moved.txt"))
	if got := string(readFile(t, m.path(locs[2].Name, "moved.txt"))); got != "for location 2\n" {
		t.Errorf("moved.txt reads %q", got)
	}
	if out, err := shErr("mkdir", m.path("New Client")); err == nil || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("mkdir at the agency's root: %v %s", err, out)
	}
	for id, st := range srv.Stats().Locations {
		if st.MaxInWindow > 100 || st.RateLimited > 0 {
			t.Errorf("location %s: %d calls in one window, %d 429s", id, st.MaxInWindow, st.RateLimited)
		}
	}
	if err := m.stop(); err != nil {
		t.Fatal(err)
	}
	if isMounted(m.dir) {
		t.Fatal("still mounted")
	}
	// With the agency's tokens, --location still mounts one location.
	one := mountFS(t, srv, mountOpt{agency: true, args: []string{"--token-file", tokenFile, "--location", locs[2].ID}, env: appEnv(t, srv), token: "not-this-one"})
	if got := string(readFile(t, one.path("moved.txt"))); got != "for location 2\n" {
		t.Errorf("--location %s: moved.txt reads %q", locs[2].ID, got)
	}
	if _, err := os.Stat(one.path(locs[0].Name)); !os.IsNotExist(err) {
		t.Errorf("--location mounted the agency's root: %v", err)
	}
}
