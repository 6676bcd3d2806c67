package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// davServer is one running ghlfs serve webdav.
type davServer struct {
	url      string // http://127.0.0.1:PORT/
	cacheDir string
	cmd      *exec.Cmd
	log      *logFile
	exited   chan struct{}
	exitErr  error
}

// serveDAV runs ghlfs serve webdav against srv, on a free loopback port
// unless args say otherwise, and returns once it serves.
func serveDAV(t testing.TB, srv *ghltest.Server, args ...string) *davServer {
	t.Helper()
	d, err := startDAV(t, srv, args...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// davOpt are the ways a test runs the server beyond its flags.
type davOpt struct {
	cacheDir string   // "": a new one
	env      []string // GHLFS_CRASH_AT=...
	plain    bool     // built without the race detector (plainDir)
	// svc, when set, is the service served instead of srv (the flags
	// and environment that name it and its library: backend_test.go).
	svc service
	// agency leaves --location out: an agency's token (--token-file in
	// args, the app in env) serves every location.
	agency bool
}

// startDAV is serveDAV that returns why ghlfs did not serve.
func startDAV(t testing.TB, srv *ghltest.Server, args ...string) (*davServer, error) {
	return startDAVWith(t, srv, davOpt{}, args...)
}

// startDAVWith is startDAV with o.
func startDAVWith(t testing.TB, srv *ghltest.Server, o davOpt, args ...string) (*davServer, error) {
	d := &davServer{cacheDir: o.cacheDir, log: newLogFile(t), exited: make(chan struct{})}
	if d.cacheDir == "" {
		d.cacheDir = t.TempDir()
	}
	svcArgs, svcEnv := []string{"--location", testLocation}, []string{"GHL_TOKEN=" + testToken}
	switch {
	case o.svc != nil:
		svcArgs, svcEnv = o.svc.mountArgs(), o.svc.mountEnv()
	case o.agency:
		svcArgs, svcEnv = []string{"--api-url", srv.URL}, []string{"GHL_TOKEN=not-this-one"}
	default:
		svcArgs = append(svcArgs, "--api-url", srv.URL)
	}
	all := append(append([]string{"serve", "webdav"}, svcArgs...), "--cache-dir", d.cacheDir,
		"--log-level", "debug", "--rate-limit", "0", "--write-back-delay", "0")
	if _, bench := t.(*testing.B); !bench {
		all = append(all, "--spare-files", "8") // as mountFS's
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--addr") }) {
		all = append(all, "--addr", "127.0.0.1:0")
	}
	bin := filepath.Join(binDir, "ghlfs")
	if o.plain {
		bin = filepath.Join(plainDir, "ghlfs")
	}
	d.cmd = exec.Command(bin, append(all, args...)...)
	d.cmd.Env = append(append(append(os.Environ(), svcEnv...), "XDG_CONFIG_HOME="+t.TempDir()), o.env...)
	d.cmd.Stderr = d.log.w
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		d.exitErr = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("ghlfs serve webdav logged:\n%s", d.log)
		}
	})
	re := regexp.MustCompile(`msg="serving WebDAV" url=(\S+)`)
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for off := 0; ; {
		var s string
		s, off = d.log.from(off)
		if m := re.FindStringSubmatch(s); m != nil {
			d.url = m[1]
			return d, nil
		}
		select {
		case <-d.exited:
			s, _ = d.log.from(0)
			return nil, fmt.Errorf("ghlfs serve webdav exited (%v):\n%s", d.exitErr, s)
		case <-deadline:
			d.cmd.Process.Kill()
			return nil, fmt.Errorf("ghlfs serve webdav did not serve within 30s")
		case <-tick.C:
		}
	}
}

// stop stops the server with SIGTERM and waits for it to exit.
func (d *davServer) stop() error {
	select {
	case <-d.exited:
		return d.exitErr
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("ghlfs serve webdav did not exit within 30s of SIGTERM")
	}
	return d.exitErr
}

// needTool fails under CI=true, and skips elsewhere, when prog is missing.
func needTool(t testing.TB, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is needed and missing (integration/tools.txt): %v", prog, err)
	}
	t.Skipf("no %s here: %v", prog, err)
	return ""
}

// dav sends one request to the server.
func (d *davServer) dav(t testing.TB, method, p string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(d.url, "/")+p, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, p, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// libraryTree is the fake's library as paths: its active items, each
// file with its bytes' size and sum.
func libraryTree(t testing.TB, srv *ghltest.Server) map[string]node {
	t.Helper()
	byID := map[string]ghltest.Item{}
	for _, it := range srv.Items() {
		if it.Status == "active" {
			byID[it.ID] = it
		}
	}
	out := map[string]node{}
	for _, it := range byID {
		var parts []string
		for id := it.ID; id != ""; {
			p, ok := byID[id]
			if !ok {
				t.Fatalf("%s (%s): active in a folder that is not", it.Name, it.ID)
			}
			parts = append([]string{p.Name}, parts...)
			id = p.ParentID
		}
		rel := path.Join(parts...)
		n := node{dir: it.Type == "folder"}
		if !n.dir {
			data, _ := srv.Content(it.ID)
			n.size, n.sum = int64(len(data)), sha(data)
		}
		if prev, dup := out[rel]; dup {
			t.Fatalf("%s: twice in the library (%v and %v)", rel, prev, n)
		}
		out[rel] = n
	}
	return out
}

// under is the part of tree under dir, its paths relative to dir.
func under(tree map[string]node, dir string) map[string]node {
	out := map[string]node{}
	for p, n := range tree {
		if rel, ok := strings.CutPrefix(p, dir+"/"); ok {
			out[rel] = n
		}
	}
	return out
}

// TestWebDAVSemantics checks what the server adds to x/net/webdav: an
// ETag that changes with the content, a PUT in chunks, MOVE without
// Overwrite taken as T, PROPFIND of depth infinity refused, Finder's
// dotfiles kept out of the library (and sent with --upload-dotfiles).
func TestWebDAVSemantics(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	d := serveDAV(t, srv)

	// A PUT of unknown length: chunked transfer encoding.
	put := func(p string, data []byte) *http.Response {
		pr, pw := io.Pipe()
		go func() {
			for b := data; len(b) > 0; b = b[min(len(b), 7000):] {
				pw.Write(b[:min(len(b), 7000)])
			}
			pw.Close()
		}()
		resp, _ := d.dav(t, "PUT", p, pr)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %s", p, resp.Status)
		}
		if len(resp.TransferEncoding) > 0 {
			t.Logf("answered with %v", resp.TransferEncoding)
		}
		return resp
	}
	one := bytes.Repeat([]byte("first version "), 10000)
	two := bytes.Repeat([]byte("second, longer version "), 10000)
	// A file's ETag names its copy in the library once its bytes left
	// the write-back queue (before, its pending bytes: "p-..."); it
	// changes once then, and whenever the content does.
	settled := func(p string) (string, []byte) {
		var etag string
		var body []byte
		waitFor(t, "the ETag of "+p+" to name its uploaded copy", func() bool {
			var resp *http.Response
			resp, body = d.dav(t, "GET", p, nil)
			etag = resp.Header.Get("ETag")
			return !strings.HasPrefix(etag, `"p-`)
		})
		return etag, body
	}
	put("/a.txt", one)
	e1, got := settled("/a.txt")
	if !bytes.Equal(got, one) || e1 == "" {
		t.Fatalf("GET after PUT: %d bytes, ETag %q", len(got), e1)
	}
	if lib := libraryTree(t, srv); lib["a.txt"].sum != sha(one) {
		t.Fatalf("the library holds %v for a.txt, want the PUT's bytes", lib["a.txt"])
	}
	put("/a.txt", two)
	e2, got := settled("/a.txt")
	if !bytes.Equal(got, two) || e2 == "" || e2 == e1 {
		t.Fatalf("GET after a second PUT: %d bytes, ETag %q (was %q): the ETag must change with the content", len(got), e2, e1)
	}
	if resp, _ := d.dav(t, "GET", "/a.txt", nil, "If-None-Match", e2); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("GET If-None-Match the current ETag: %s, want 304", resp.Status)
	}

	// A PUT cut half way leaves the file as it was, and uploads nothing.
	conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(d.url, "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 1<<20)
	conn.Write(bytes.Repeat([]byte("half"), 1<<17))
	conn.Close()
	waitFor(t, "the cut PUT to end", func() bool {
		return strings.Contains(d.log.String(), "PUT cut short")
	})
	if _, got := d.dav(t, "GET", "/a.txt", nil); !bytes.Equal(got, two) {
		t.Fatalf("after a PUT cut half way, GET gives %d bytes, want the %d of before", len(got), len(two))
	}
	for _, it := range srv.Items() {
		if strings.HasPrefix(it.Name, ".ghlfs-put-") || (it.Name == "a.txt" && it.Status == "active" && it.Size != int64(len(two))) {
			t.Fatalf("a PUT cut half way reached the library: %+v", it)
		}
	}

	// MOVE without Overwrite onto an existing file replaces it.
	put("/b.txt", []byte("to be replaced"))
	resp, _ := d.dav(t, "MOVE", "/a.txt", nil, "Destination", d.url+"b.txt")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("MOVE without Overwrite onto an existing file: %s, want 204 (Overwrite: T)", resp.Status)
	}
	if lib := libraryTree(t, srv); lib["b.txt"].sum != sha(two) || lib["a.txt"] != (node{}) {
		t.Fatalf("after the MOVE the library holds a.txt %v, b.txt %v", lib["a.txt"], lib["b.txt"])
	}
	// With Overwrite: F it is refused, as the RFC says.
	put("/c.txt", []byte("c"))
	if resp, _ := d.dav(t, "MOVE", "/c.txt", nil, "Destination", d.url+"b.txt", "Overwrite", "F"); resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("MOVE with Overwrite: F onto an existing file: %s, want 412", resp.Status)
	}

	// PROPFIND: depth infinity (or no Depth, which means it) refused.
	for _, depth := range []string{"", "infinity"} {
		var hdr []string
		if depth != "" {
			hdr = []string{"Depth", depth}
		}
		resp, body := d.dav(t, "PROPFIND", "/", nil, hdr...)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "propfind-finite-depth") {
			t.Fatalf("PROPFIND Depth %q: %s %s, want 403 with DAV:propfind-finite-depth", depth, resp.Status, body)
		}
	}
	if resp, body := d.dav(t, "PROPFIND", "/", nil, "Depth", "1"); resp.StatusCode != http.StatusMultiStatus || !strings.Contains(string(body), "/b.txt") {
		t.Fatalf("PROPFIND Depth 1: %s %s", resp.Status, body)
	}

	// Finder's files stay local.
	if resp, _ := d.dav(t, "MKCOL", "/photos", nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCOL: %s", resp.Status)
	}
	put("/photos/._x.jpg", []byte("appledouble"))
	put("/photos/.DS_Store", []byte("view settings"))
	if _, got := d.dav(t, "GET", "/photos/._x.jpg", nil); string(got) != "appledouble" {
		t.Fatalf("GET of a local dotfile: %q", got)
	}
	if _, body := d.dav(t, "PROPFIND", "/photos/", nil, "Depth", "1"); !strings.Contains(string(body), ".DS_Store") || !strings.Contains(string(body), "._x.jpg") {
		t.Fatalf("PROPFIND does not list the local dotfiles: %s", body)
	}
	for p := range libraryTree(t, srv) {
		if strings.Contains(p, ".DS_Store") || strings.Contains(p, "._") {
			t.Fatalf("%s was uploaded to the library", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(d.cacheDir, "webdav-local", "photos", ".DS_Store")); err != nil || string(b) != "view settings" {
		t.Fatalf("the local .DS_Store under the cache dir: %q, %v", b, err)
	}
	// A folder removed takes its local files along.
	if resp, _ := d.dav(t, "DELETE", "/photos/", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE of a folder holding only local dotfiles: %s", resp.Status)
	}
	if _, err := os.Stat(filepath.Join(d.cacheDir, "webdav-local", "photos")); !os.IsNotExist(err) {
		t.Fatalf("the folder's local files outlived it: %v", err)
	}

	// Names as a mount shows them (put in the library before the server
	// starts: a listing is trusted for a minute). A name holding '/' is
	// shown, and reached, with '／' (U+FF0F) in its place.
	names := fake(t, ghltest.Options{})
	names.AddFile("", "a/b.png", "image/png", []byte("slash"))
	names.AddFile("", "dup.png", "image/png", []byte("one"))
	names.AddFile("", "dup.png", "image/png", []byte("two"))
	dn := serveDAV(t, names)
	if _, body := dn.dav(t, "PROPFIND", "/", nil, "Depth", "1"); !strings.Contains(string(body), url.PathEscape("a／b.png")) {
		t.Fatalf("PROPFIND does not list a/b.png as a／b.png: %s", body)
	}
	if resp, got := dn.dav(t, "GET", "/"+url.PathEscape("a／b.png"), nil); string(got) != "slash" {
		t.Fatalf("GET of a／b.png: %s %q", resp.Status, got)
	}
	// Two items of one name are both shown, one of them tagged; each is
	// reached by its name.
	_, body := dn.dav(t, "PROPFIND", "/", nil, "Depth", "1")
	hrefs := regexp.MustCompile(`<D:href>(/dup[^<]*)</D:href>`).FindAllStringSubmatch(string(body), -1)
	var dups []string
	for _, h := range hrefs {
		_, got := dn.dav(t, "GET", h[1], nil)
		dups = append(dups, string(got))
	}
	if slices.Sort(dups); len(hrefs) != 2 || !slices.Equal(dups, []string{"one", "two"}) {
		t.Fatalf("two files named dup.png are shown as %v, holding %q", hrefs, dups)
	}

	// With --upload-dotfiles they go up like any other file.
	srv2 := fake(t, ghltest.Options{})
	d2 := serveDAV(t, srv2, "--upload-dotfiles")
	resp, _ = d2.dav(t, "PUT", "/.DS_Store", strings.NewReader("up"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT .DS_Store with --upload-dotfiles: %s", resp.Status)
	}
	if lib := libraryTree(t, srv2); lib[".DS_Store"].sum != sha([]byte("up")) {
		t.Fatalf("with --upload-dotfiles the library holds %v for .DS_Store", lib[".DS_Store"])
	}
}

// TestWebDAVSafeByDefault checks that off loopback the server needs
// authentication and TLS, or --insecure-no-tls, and then refuses a
// request without good credentials.
func TestWebDAVSafeByDefault(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := "--addr=0.0.0.0:" + port
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{addr}, "authentication is needed"},
		{[]string{addr, "--user", "ann", "--password-file", pw}, "TLS is needed"},
	} {
		if _, err := startDAV(t, srv, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("serve webdav %v: %v, want a refusal saying %q", c.args, err, c.want)
		}
	}
	d := serveDAV(t, srv, addr, "--user", "ann", "--password-file", pw, "--insecure-no-tls")
	if !strings.Contains(d.log.String(), "insecure-no-tls") || !strings.Contains(d.log.String(), "level=WARN") {
		t.Fatalf("no warning logged for --insecure-no-tls:\n%s", d.log)
	}
	if strings.Contains(d.log.String(), "s3cret-pass") {
		t.Fatal("the password was logged")
	}
	// With TLS, the same: https, credentials asked.
	certFile, keyFile, pool := selfSigned(t)
	tlsPort := freePort(t)
	dt := serveDAV(t, srv, "--addr=0.0.0.0:"+tlsPort, "--user", "ann", "--password-file", pw, "--cert", certFile, "--key", keyFile)
	if !strings.HasPrefix(dt.url, "https://") || strings.Contains(dt.log.String(), "insecure") {
		t.Fatalf("served with --cert at %s, log:\n%s", dt.url, dt.log)
	}
	tc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, c := range []struct {
		pass string
		want int
	}{{"", http.StatusUnauthorized}, {"s3cret-pass", http.StatusMultiStatus}} {
		req, _ := http.NewRequest("PROPFIND", "https://127.0.0.1:"+tlsPort+"/", nil)
		req.Header.Set("Depth", "0")
		if c.pass != "" {
			req.SetBasicAuth("ann", c.pass)
		}
		resp, err := tc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("PROPFIND over https with password %q: %s, want %d", c.pass, resp.Status, c.want)
		}
	}

	u := "http://127.0.0.1:" + port + "/"
	req, _ := http.NewRequest("PROPFIND", u, nil)
	req.Header.Set("Depth", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("PROPFIND without credentials: %s, want 401 asking for Basic", resp.Status)
	}
	for _, c := range []struct {
		pass string
		want int
	}{{"wrong", http.StatusUnauthorized}, {"s3cret-pass", http.StatusMultiStatus}} {
		req, _ := http.NewRequest("PROPFIND", u, nil)
		req.Header.Set("Depth", "0")
		req.SetBasicAuth("ann", c.pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("PROPFIND with password %q: %s, want %d", c.pass, resp.Status, c.want)
		}
	}
}

// litmusKnown are the litmus tests the server fails, each for a reason
// the README gives (x/net/webdav's, or what a media library cannot hold).
var litmusKnown = map[string]bool{
	"propfind_invalid2":     true, // x/net/webdav's XML parser takes an undeclared namespace prefix
	"fail_complex_cond_put": true, // x/net/webdav checks no entity tag in an If header
	"lock_shared":           true, // x/net/webdav's lock system has exclusive locks only
}

// TestWebDAVLitmus runs litmus's basic, copymove, props and locks groups
// against the server, and logs the counts; every failure must be one
// litmusKnown explains.
func TestWebDAVLitmus(t *testing.T) {
	t.Parallel()
	litmus := needTool(t, "litmus")
	srv := fake(t, ghltest.Options{})
	d := serveDAV(t, srv)
	if resp, _ := d.dav(t, "MKCOL", "/litmus/", nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCOL /litmus/: %s", resp.Status)
	}
	summary := regexp.MustCompile(`summary for .(\w+).: of (\d+) tests run: (\d+) passed, (\d+) failed`)
	failed := regexp.MustCompile(`(?m)^\s*\d+\. (\w+)\.*\s+FAIL`)
	for _, group := range []string{"basic", "copymove", "props", "locks"} {
		cmd := exec.Command(litmus, d.url+"litmus/")
		cmd.Env = append(os.Environ(), "TESTS="+group)
		cmd.Dir = t.TempDir() // its debug.log
		out, _ := cmd.CombinedOutput()
		m := summary.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("litmus %s gave no summary:\n%s", group, out)
		}
		t.Logf("litmus %s: of %s tests run, %s passed, %s failed", group, m[2], m[3], m[4])
		for _, f := range failed.FindAllStringSubmatch(string(out), -1) {
			if !litmusKnown[f[1]] {
				t.Errorf("litmus %s: %s failed, and the README does not explain it:\n%s", group, f[1], out)
			}
		}
	}
}

// TestWebDAVRclone copies a folder to the server, which asks for a
// user, with rclone, as a WebDAV client configured by its environment
// alone (no secret on a command line), and back: the library holds it
// and the copy back is byte for byte the original.
func TestWebDAVRclone(t *testing.T) {
	t.Parallel()
	rcloneBin := needTool(t, "rclone")
	srv := fake(t, ghltest.Options{})
	// With a user: the password reaches rclone through its environment,
	// obscured by rclone itself from its standard input.
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("rclone-pass"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := serveDAV(t, srv, "--user", "rc", "--password-file", pwFile)
	ob := exec.Command(rcloneBin, "obscure", "-")
	ob.Stdin = strings.NewReader("rclone-pass")
	obscured, err := ob.Output()
	if err != nil {
		t.Fatalf("rclone obscure: %v", err)
	}
	src := t.TempDir()
	rng := rand.New(rand.NewPCG(23, 1))
	for i := range 12 {
		rel := filepath.Join([]string{"", "sub", "sub/deeper"}[i%3], fmt.Sprintf("f%02d.bin", i))
		data := make([]byte, rng.IntN(600<<10))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755)
		if err := os.WriteFile(filepath.Join(src, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rcloneRun := func(args ...string) {
		cmd := exec.Command(rcloneBin, append(args, "--config", filepath.Join(t.TempDir(), "none.conf"))...)
		cmd.Env = append(os.Environ(), "RCLONE_WEBDAV_URL="+d.url, "RCLONE_WEBDAV_VENDOR=other",
			"RCLONE_WEBDAV_USER=rc", "RCLONE_WEBDAV_PASS="+strings.TrimSpace(string(obscured)))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rclone %v: %v\n%s", args, err, out)
		}
	}
	rcloneRun("copy", src, ":webdav:trip")
	want, err := walkTree(src)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.log.String(), "rclone-pass") {
		t.Fatal("the password was logged")
	}
	if got := under(libraryTree(t, srv), "trip"); !maps2Equal(got, want) {
		t.Fatalf("the library after rclone copy:\n%s", diffTrees(got, want))
	}
	back := t.TempDir()
	rcloneRun("copy", ":webdav:trip", back)
	got, err := walkTree(back)
	if err != nil {
		t.Fatal(err)
	}
	if !maps2Equal(got, want) {
		t.Fatalf("rclone's copy back:\n%s", diffTrees(got, want))
	}
}

func maps2Equal(a, b map[string]node) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestWebDAVDavfs2 mounts the served library with davfs2 and applies
// one seeded random sequence of operations (fsrand's, those a WebDAV
// client can carry: mkdir, create, overwrite, rename and move, unlink,
// rm -r) to it and to a local tree; once davfs2 is unmounted (it sends
// what it cached) the library, read through the fake's API, must hold
// exactly the local tree.
func TestWebDAVDavfs2(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	needTool(t, "mount.davfs")
	srv := fake(t, ghltest.Options{})
	d := serveDAV(t, srv)
	conf := filepath.Join(t.TempDir(), "davfs2.conf")
	// mount.davfs runs as the user davfs2, which must reach its cache.
	cache, err := os.MkdirTemp("", "davfs2-cache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(cache) })
	if err := os.Chmod(cache, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("ask_auth 0\nuse_locks 1\ncache_dir "+cache+"\ndelay_upload 0\nfile_refresh 0\ndir_refresh 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "davfs", "-o", "conf="+conf, d.url, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount -t davfs: %v\n%s", err, out)
	}
	mounted := true
	unmount := func() {
		if mounted {
			if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v\n%s", mnt, err, out)
				syscall.Unmount(mnt, syscall.MNT_DETACH)
			}
			mounted = false
		}
	}
	t.Cleanup(unmount)
	local := t.TempDir()

	seed, _ := fsrandParams(t)
	rng := rand.New(rand.NewPCG(seed, 23))
	var dirs, files []string
	dirs = append(dirs, "")
	name := func() string { return fmt.Sprintf("n%03d", rng.IntN(1000)) }
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	both := func(desc string, do func(root string) outcome) {
		want := do(local)
		got := do(mnt)
		if want.errno() != got.errno() {
			t.Fatalf("seed %d: %s: davfs2 gave %v, the local tree %v", seed, desc, got, want)
		}
	}
	const nops = 150
	for i := range nops {
		switch op := rng.IntN(10); {
		case op < 2 && len(dirs) < 12:
			rel := path.Join(pick(dirs), "d"+name())
			if _, err := os.Lstat(filepath.Join(local, rel)); err == nil {
				continue
			}
			both(fmt.Sprintf("%d mkdir %s", i, rel), func(root string) outcome { return doMkdir(root, rel) })
			dirs = append(dirs, rel)
		case op < 5 || len(files) == 0:
			rel := path.Join(pick(dirs), "f"+name()+".bin")
			if fi, err := os.Lstat(filepath.Join(local, rel)); err == nil && fi.IsDir() {
				continue
			}
			data := make([]byte, rng.IntN(300<<10))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			both(fmt.Sprintf("%d write %s (%d bytes)", i, rel, len(data)), func(root string) outcome { return doCreate(root, rel, data, false) })
			if !slices.Contains(files, rel) {
				files = append(files, rel)
			}
		case (op < 7 || op == 8) && len(dirs) > 1 && rng.IntN(4) == 0:
			// A folder renamed or moved, with all it holds.
			from := dirs[1+rng.IntN(len(dirs)-1)]
			into := pick(dirs)
			if into == from || strings.HasPrefix(into, from+"/") {
				continue
			}
			to := path.Join(into, "d"+name())
			if _, err := os.Lstat(filepath.Join(local, to)); err == nil {
				continue
			}
			both(fmt.Sprintf("%d rename folder %s %s", i, from, to), func(root string) outcome { return doRename(root, from, to) })
			moved := func(s []string) {
				for k, p := range s {
					if p == from || strings.HasPrefix(p, from+"/") {
						s[k] = to + strings.TrimPrefix(p, from)
					}
				}
			}
			moved(dirs)
			moved(files)
		case op < 7 || op == 8:
			from := pick(files)
			to := path.Join(pick(dirs), "f"+name()+".bin")
			if _, err := os.Lstat(filepath.Join(local, to)); err == nil || from == to {
				continue
			}
			both(fmt.Sprintf("%d rename %s %s", i, from, to), func(root string) outcome { return doRename(root, from, to) })
			files = slices.DeleteFunc(files, func(s string) bool { return s == from })
			files = append(files, to)
		case op < 8 || (op == 9 && rng.IntN(3) > 0):
			rel := pick(files)
			both(fmt.Sprintf("%d unlink %s", i, rel), func(root string) outcome { return doUnlink(root, rel) })
			files = slices.DeleteFunc(files, func(s string) bool { return s == rel })
		default:
			if len(dirs) < 2 {
				continue
			}
			rel := dirs[1+rng.IntN(len(dirs)-1)]
			both(fmt.Sprintf("%d rm -r %s", i, rel), func(root string) outcome { return removeTree(root, rel) })
			gone := func(s string) bool { return s == rel || strings.HasPrefix(s, rel+"/") }
			dirs = slices.DeleteFunc(dirs, gone)
			files = slices.DeleteFunc(files, gone)
		}
	}
	got, err := walkTree(mnt)
	if err != nil {
		t.Fatal(err)
	}
	delete(got, "lost+found") // davfs2's own
	want, err := walkTree(local)
	if err != nil {
		t.Fatal(err)
	}
	if !maps2Equal(got, want) {
		t.Fatalf("seed %d: the davfs2 mount after %d operations:\n%s", seed, nops, diffTrees(got, want))
	}
	unmount()
	lib := libraryTree(t, srv)
	t.Logf("seed %d: %d operations through davfs2; the library holds %d items, as the local tree", seed, nops, len(lib))
	if !maps2Equal(lib, want) {
		t.Fatalf("seed %d: the library after %d operations through davfs2:\n%s", seed, nops, diffTrees(lib, want))
	}
}

// TestWebDAVStatusUnmount checks that ghlfs status shows a served
// library by its URL, and ghlfs unmount URL stops it.
func TestWebDAVStatusUnmount(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	d := serveDAV(t, srv)
	bin := filepath.Join(binDir, "ghlfs")
	out := sh(t, bin, "status", d.url)
	if !strings.Contains(out, d.url) || !strings.Contains(out, "uploads:") {
		t.Fatalf("ghlfs status %s:\n%s", d.url, out)
	}
	if out := sh(t, bin, "status"); !strings.Contains(out, d.url) {
		t.Fatalf("ghlfs status does not list the served library:\n%s", out)
	}
	sh(t, bin, "unmount", d.url)
	select {
	case <-d.exited:
	default:
		t.Fatal("ghlfs unmount returned with the server still running")
	}
}

// freePort is a TCP port free on every address, at the time asked.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its
// key, and returns their files and a pool that trusts it.
func selfSigned(t testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ghlfs test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestWebDAVCrashAtEveryPoint is the crash-point table's new file and
// replace through a WebDAV PUT: the server is killed at every point of
// the write path, started again on the same cache dir, and the library,
// read through the fake's API, must hold the original (killed while the
// body was being written) or the PUT's bytes, once, and never a
// fragment nor the name a PUT writes under.
func TestWebDAVCrashAtEveryPoint(t *testing.T) {
	t.Parallel()
	data := randomBytes(300_000, 7)
	old := randomBytes(120_000, 8)
	for _, c := range []struct {
		name string
		orig []byte // the file as it was; nil: none
	}{{"new", nil}, {"replace", old}} {
		for _, point := range crashPoints {
			t.Run(c.name+"/"+point, func(t *testing.T) {
				t.Parallel()
				srv := fake(t, ghltest.Options{})
				if c.orig != nil {
					srv.AddFile("", "f.bin", "application/octet-stream", c.orig)
				}
				d, err := startDAVWith(t, srv, davOpt{plain: true, env: []string{"GHLFS_CRASH_AT=" + point}})
				if err != nil {
					t.Fatal(err)
				}
				req, _ := http.NewRequest("PUT", d.url+"f.bin", bytes.NewReader(data))
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
				crashed := false
				waitFor(t, "the server to crash or finish", func() bool {
					select {
					case <-d.exited:
						crashed = true
						return true
					default:
					}
					return len(spoolFiles(t, d.cacheDir)) == 0
				})
				t.Logf("crashed at %s: %v", point, crashed)
				if crashed && !strings.Contains(d.log.String(), "crash point "+point) {
					t.Fatalf("ghlfs died, but not at %s:\n%s", point, d.log)
				}
				d.stop()
				d2, err := startDAVWith(t, srv, davOpt{plain: true, cacheDir: d.cacheDir})
				if err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, d2.cacheDir)) == 0 })
				want := data
				if crashed && point == "writing" {
					want = c.orig
				}
				var active [][]byte
				uploads := map[string]int{}
				for _, it := range srv.Items() {
					b, _ := srv.Content(it.ID)
					if strings.HasPrefix(it.Name, ".ghlfs-put-") {
						t.Errorf("a PUT's own name reached the library: %s (%s)", it.Name, it.Status)
					}
					if !bytes.Equal(b, data) && !bytes.Equal(b, c.orig) {
						t.Errorf("a fragment reached the library: %s (%s, %d bytes)", it.Name, it.Status, len(b))
					}
					if bytes.Equal(b, data) {
						uploads[it.ID]++
					}
					if it.Status == "active" && it.Type == "file" {
						active = append(active, b)
					}
				}
				if len(uploads) > 1 {
					t.Errorf("the PUT's bytes were uploaded %d times", len(uploads))
				}
				switch {
				case want == nil && len(active) != 0:
					t.Errorf("crashed=%v at %s: the library holds %d files, want none", crashed, point, len(active))
				case want != nil && (len(active) != 1 || !bytes.Equal(active[0], want)):
					t.Errorf("crashed=%v at %s: the library holds %d files, want f.bin with %d bytes", crashed, point, len(active), len(want))
				}
				if want != nil {
					if _, got := d2.dav(t, "GET", "/f.bin", nil); !bytes.Equal(got, want) {
						t.Errorf("GET after the restart: %d bytes, want %d", len(got), len(want))
					}
				}
				if t.Failed() {
					t.Logf("first server:\n%s", d.log)
				}
			})
		}
	}
}

// propSet and propGet set and ask a client's own property.
const (
	propSet = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:test"><D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>`
	propGet = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:test"><D:prop><Z:colour/></D:prop></D:propfind>`
)

// TestWebDAVBackends serves each backend's fake and makes folders,
// writes, moves across folders (a move where the service moves, a copy
// and a removal on HighLevel), replaces and removes through WebDAV: the
// library, read through the service's own API, holds the result.
func TestWebDAVBackends(t *testing.T) {
	t.Parallel()
	for _, fx := range backends() {
		t.Run(fx.name(), func(t *testing.T) {
			t.Parallel()
			svc := fx.start(t, fakeOpts{})
			d, err := startDAVWith(t, nil, davOpt{svc: svc})
			if err != nil {
				t.Fatal(err)
			}
			x, y := randomBytes(200_000, 31), randomBytes(90_000, 32)
			for _, s := range []struct {
				method, path string
				body         []byte
				hdr          []string
				want         int
			}{
				{"MKCOL", "/inbox", nil, nil, http.StatusCreated},
				{"MKCOL", "/done", nil, nil, http.StatusCreated},
				{"PUT", "/inbox/x.bin", x, nil, http.StatusCreated},
				{"PUT", "/inbox/gone.bin", y, nil, http.StatusCreated},
				{"PROPPATCH", "/inbox/x.bin", []byte(propSet), nil, http.StatusMultiStatus},
				{"MOVE", "/inbox/x.bin", nil, []string{"Destination", d.url + "done/x.bin"}, http.StatusCreated},
				{"PUT", "/done/y.bin", x, nil, http.StatusCreated},
				{"PUT", "/done/y.bin", y, nil, http.StatusCreated},
				{"DELETE", "/inbox/gone.bin", nil, nil, http.StatusNoContent},
			} {
				var body io.Reader
				if s.body != nil {
					body = bytes.NewReader(s.body)
				}
				if resp, msg := d.dav(t, s.method, s.path, body, s.hdr...); resp.StatusCode != s.want {
					t.Fatalf("%s %s: %s %s, want %d", s.method, s.path, resp.Status, msg, s.want)
				}
			}
			// A client's property moves with its file, moved or copied.
			if _, body := d.dav(t, "PROPFIND", "/done/x.bin", strings.NewReader(propGet), "Depth", "0"); !strings.Contains(string(body), "blue") {
				t.Fatalf("the property set on x.bin did not follow it across folders: %s", body)
			}
			want := map[string][]byte{"inbox": nil, "done": nil, "done/x.bin": x, "done/y.bin": y}
			got := map[string][]byte{}
			for p, f := range svc.tree(t) {
				if f.Type == "folder" {
					got[p] = nil
					continue
				}
				got[p], _ = svc.content(f.ID, "")
			}
			if !sameTree(got, want) {
				t.Fatalf("the library holds %s, want %s", describe(got), describe(want))
			}
			for p, b := range want {
				if b == nil {
					continue
				}
				if _, body := d.dav(t, "GET", "/"+p, nil); !bytes.Equal(body, b) {
					t.Fatalf("GET /%s: %d bytes, want %d", p, len(body), len(b))
				}
			}
		})
	}
}

// TestWebDAVLockThenPut is what Finder does with a new file: LOCK its
// name (x/net/webdav makes an empty file there), PUT, UNLOCK. With a
// write-back delay the empty file never reaches the library: one upload,
// of the PUT's bytes.
func TestWebDAVLockThenPut(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	d := serveDAV(t, srv, "--write-back-delay", "2s")
	lockBody := `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>`
	resp, _ := d.dav(t, "LOCK", "/new.bin", strings.NewReader(lockBody), "Timeout", "Second-60", "Content-Type", "application/xml")
	token := resp.Header.Get("Lock-Token")
	if resp.StatusCode != http.StatusCreated || token == "" {
		t.Fatalf("LOCK of a new name: %s, token %q", resp.Status, token)
	}
	data := randomBytes(100_000, 41)
	if resp, _ := d.dav(t, "PUT", "/new.bin", bytes.NewReader(data)); resp.StatusCode != http.StatusLocked {
		t.Fatalf("PUT without the lock's token: %s, want 423", resp.Status)
	}
	if resp, _ := d.dav(t, "PUT", "/new.bin", bytes.NewReader(data), "If", "("+token+")"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT with the lock's token: %s", resp.Status)
	}
	if resp, _ := d.dav(t, "UNLOCK", "/new.bin", nil, "Lock-Token", token); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("UNLOCK: %s", resp.Status)
	}
	waitFor(t, "new.bin to be uploaded", func() bool { return libraryTree(t, srv)["new.bin"].sum == sha(data) })
	var items []ghltest.Item
	for _, it := range srv.Items() {
		if it.Type == "file" {
			items = append(items, it)
		}
	}
	if len(items) != 1 {
		t.Fatalf("the library holds %d files, removed ones too, want the one PUT: %+v", len(items), items)
	}
}

// TestWebDAVReadOnly serves with --read-only: reads work, every change
// is 403 and nothing reaches the library.
func TestWebDAVReadOnly(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	srv.AddFile("", "keep.png", "image/png", []byte("kept"))
	d := serveDAV(t, srv, "--read-only")
	if _, got := d.dav(t, "GET", "/keep.png", nil); string(got) != "kept" {
		t.Fatalf("GET on a read-only server: %q", got)
	}
	for _, c := range [][]string{{"PUT", "/new.png"}, {"MKCOL", "/dir"}, {"DELETE", "/keep.png"}, {"MOVE", "/keep.png", d.url + "moved.png"}} {
		var hdr []string
		if len(c) == 3 {
			hdr = []string{"Destination", c[2]}
		}
		if resp, _ := d.dav(t, c[0], c[1], strings.NewReader(""), hdr...); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s %s on a read-only server: %s, want 403", c[0], c[1], resp.Status)
		}
	}
	if lib := libraryTree(t, srv); len(lib) != 1 || lib["keep.png"].sum != sha([]byte("kept")) {
		t.Fatalf("the library after refused changes: %v", lib)
	}
}

// An agency's token serves every location, as its mount shows them: the
// root lists one folder per location, a PUT below one lands in that
// location's library alone, and the root takes no change; a location
// down at the start is an empty folder that takes none either.
func TestWebDAVAgency(t *testing.T) {
	t.Parallel()
	locs := ghltest.DemoLocations(3)
	locs[0].ID = testLocation
	srv := fake(t, ghltest.Options{Seed: "demo", Locations: locs, Approve: "Company"})
	tokenFile := login(t, srv, "Company", false)
	srv.Location(locs[2].ID).SetDown(true)
	d, err := startDAVWith(t, srv, davOpt{agency: true, env: appEnv(t, srv)}, "--token-file", tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := d.dav(t, "PROPFIND", "/", nil, "Depth", "1")
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND / answered %s", resp.Status)
	}
	var got []string
	for _, m := range regexp.MustCompile(`<D:href>([^<]*)</D:href>`).FindAllStringSubmatch(string(body), -1) {
		p, err := url.PathUnescape(m[1])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	want := []string{"/"}
	for _, l := range locs {
		want = append(want, "/"+l.Name+"/")
	}
	if slices.Sort(got); !slices.Equal(got, want) {
		t.Fatalf("PROPFIND / lists %q, want %q", got, want)
	}
	loc2 := "/" + url.PathEscape(locs[1].Name)
	if resp, _ := d.dav(t, "PUT", loc2+"/a.txt", strings.NewReader("for location 2\n")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s/a.txt answered %s", loc2, resp.Status)
	}
	for i, l := range locs {
		var found []string
		loc := srv.Location(l.ID)
		for _, it := range loc.Items() {
			if it.Name == "a.txt" && it.Status == "active" {
				b, _ := loc.Content(it.ID)
				found = append(found, string(b))
			}
		}
		if i == 1 && (len(found) != 1 || found[0] != "for location 2\n") {
			t.Errorf("a.txt in %s: %q, want it once with the bytes put", l.Name, found)
		}
		if i != 1 && len(found) != 0 {
			t.Errorf("a.txt landed in %s too: %q", l.Name, found)
		}
	}
	if _, got := d.dav(t, "GET", loc2+"/a.txt", nil); string(got) != "for location 2\n" {
		t.Errorf("GET %s/a.txt: %q", loc2, got)
	}
	loc1 := "/" + url.PathEscape(locs[0].Name)
	loc3 := "/" + url.PathEscape(locs[2].Name)
	if resp, body := d.dav(t, "PROPFIND", loc3+"/", nil, "Depth", "1"); resp.StatusCode != http.StatusMultiStatus || strings.Count(string(body), "<D:href>") != 1 {
		t.Errorf("PROPFIND of the location that was down: %s\n%s", resp.Status, body)
	}
	if l := logLines(d.log.String(), locs[2].ID, "empty folder"); len(l) != 1 {
		t.Errorf("%d log lines about the location that was down, want 1", len(l))
	}
	for _, c := range []struct {
		method, path, dest string
		want               int
	}{
		{"PUT", "/a.txt", "", http.StatusForbidden},
		{"MKCOL", "/New Client", "", http.StatusForbidden},
		{"DELETE", loc1, "", http.StatusForbidden},
		{"MOVE", loc1, "/Renamed", http.StatusForbidden},
		{"MOVE", loc2 + "/a.txt", "/a.txt", http.StatusForbidden},
		{"MOVE", loc2 + "/a.txt", loc1 + "/a.txt", http.StatusBadGateway},
		{"COPY", loc2 + "/a.txt", loc1 + "/a.txt", http.StatusBadGateway},
		{"PUT", loc3 + "/b.txt", "", http.StatusForbidden},
	} {
		var hdr []string
		if c.dest != "" {
			hdr = []string{"Destination", strings.TrimSuffix(d.url, "/") + strings.ReplaceAll(c.dest, " ", "%20")}
		}
		if resp, _ := d.dav(t, c.method, strings.ReplaceAll(c.path, " ", "%20"), strings.NewReader("x"), hdr...); resp.StatusCode != c.want {
			t.Errorf("%s %s %s answered %s, want %d", c.method, c.path, c.dest, resp.Status, c.want)
		}
	}
	for _, l := range locs {
		for _, it := range srv.Location(l.ID).Items() {
			if it.Status == "active" && it.ParentID == "" && it.Name == "a.txt" && l.ID != locs[1].ID {
				t.Errorf("a refused change left a.txt in %s", l.Name)
			}
		}
	}
	if _, got := d.dav(t, "GET", loc2+"/a.txt", nil); string(got) != "for location 2\n" {
		t.Errorf("GET %s/a.txt after the refused moves: %q", loc2, got)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
}
