package integration

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// metricsURL is the /metrics url the mount logged it serves.
func metricsURL(t testing.TB, m *mount) string {
	t.Helper()
	re := regexp.MustCompile(`msg="serving metrics".* url=(http://\S+/metrics)`)
	if g := re.FindStringSubmatch(m.log.String()); g != nil {
		return g[1]
	}
	t.Fatalf("ghlfs logged no metrics url:\n%s", m.log)
	return ""
}

// scrape is one /metrics page read with curl: the text, and each series
// (name{labels}) with its value.
type scrape struct {
	text   string
	series map[string]float64
}

func scrapeMetrics(t testing.TB, url string) scrape {
	t.Helper()
	text := sh(t, "curl", "-sSf", url)
	s := scrape{text: text, series: map[string]float64{}}
	for _, line := range lines(text) {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("not a metric line: %q", line)
		}
		s.series[line[:i]] = v
	}
	return s
}

// sum adds up the series of metric name whose labels hold every one of
// labels (as `key="value"`).
func (s scrape) sum(name string, labels ...string) float64 {
	var n float64
	for k, v := range s.series {
		base, rest, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(rest, l)
		}
		if ok {
			n += v
		}
	}
	return n
}

// `curl /metrics` before and after ls, cat and cp on a mount: the API call
// counter grows by exactly the requests the fake served meanwhile, in
// total and by endpoint; so do the storage requests and bytes; the upload
// is counted, and no upload is pending once it landed. No label shows a
// name, an id, a url or the token.
func TestMetricsCountWhatTheServerServed(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	folder := srv.AddFolder("", "Reports")
	data := make([]byte, 700<<10) // three chunks of 256 KiB
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	fileID := srv.AddFile(folder, "q3-numbers.bin", "application/octet-stream", data)
	m := mountFS(t, srv, mountOpt{args: []string{"--metrics-addr", "127.0.0.1:0"}})
	m.awaitListed(t) // from here on the API sees only what the test does
	url := metricsURL(t, m)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("metrics served at %s, want loopback", url)
	}

	before, fb := scrapeMetrics(t, url), getStats(t, srv)
	sh(t, "ls", "-l", m.path("Reports"))
	if got := readFile(t, m.path("Reports", "q3-numbers.bin")); !bytes.Equal(got, data) {
		t.Fatal("cat read other bytes")
	}
	local := filepath.Join(t.TempDir(), "new-upload.txt")
	upload := bytes.Repeat([]byte("metrics\n"), 5000)
	writeFile(t, local, upload)
	sh(t, "cp", local, m.path("Reports", "new-upload.txt"))
	waitFor(t, "the spool to empty", func() bool { return len(spoolFiles(t, m.cacheDir)) == 0 })
	after, fa := scrapeMetrics(t, url), getStats(t, srv)
	// (Listed through the fake's API: after the counts were taken.)
	if rf := waitRemote(t, srv, "Reports/new-upload.txt"); rf.Size != int64(len(upload)) {
		t.Errorf("uploaded %+v, want %d bytes", rf, len(upload))
	}

	delta := func(name string, labels ...string) int {
		return int(after.sum(name, labels...) - before.sum(name, labels...))
	}
	calls := delta("ghlfs_api_calls_total")
	if want := fa.APIRequests - fb.APIRequests; calls != want || want == 0 {
		t.Errorf("ghlfs_api_calls_total grew by %d; the fake served %d API requests", calls, want)
	}
	for ep, n := range fa.ByEndpoint {
		if got, want := delta("ghlfs_api_calls_total", `endpoint="`+ep+`"`), n-fb.ByEndpoint[ep]; got != want {
			t.Errorf("%s: counted %d, the fake served %d", ep, got, want)
		}
	}
	if got := delta("ghlfs_api_calls_total", `endpoint="POST /medias/upload-file"`, `status="201"`); got != 1 {
		t.Errorf("the upload counted %d times as a 201", got)
	}
	if got, want := delta("ghlfs_storage_requests_total"), fa.StorageRequests-fb.StorageRequests; got != want || want == 0 {
		t.Errorf("ghlfs_storage_requests_total grew by %d; the fake served %d", got, want)
	}
	if got, want := delta("ghlfs_storage_bytes_total"), int(fa.StorageBytes-fb.StorageBytes); got != want || want < len(data) {
		t.Errorf("ghlfs_storage_bytes_total grew by %d; the fake sent %d (the file is %d)", got, want, len(data))
	}
	if got := delta("ghlfs_content_cache_misses_total"); got < 1 {
		t.Errorf("a cold cat counted %d content misses", got)
	}
	if got := delta("ghlfs_uploads_total"); got != 1 {
		t.Errorf("ghlfs_uploads_total grew by %d, want 1", got)
	}
	if got := delta("ghlfs_uploaded_bytes_total"); got != len(upload) {
		t.Errorf("ghlfs_uploaded_bytes_total grew by %d, want %d", got, len(upload))
	}
	for _, g := range []string{"ghlfs_pending_uploads", "ghlfs_pending_upload_bytes", "ghlfs_pending_files", "ghlfs_upload_errors_total"} {
		if v, ok := after.series[g]; !ok || v != 0 {
			t.Errorf("%s = %v (shown: %v) after the upload landed, want 0", g, v, ok)
		}
	}
	if after.sum("ghlfs_pacer_grants_total") < after.sum("ghlfs_api_calls_total") {
		t.Errorf("fewer pacer grants (%v) than API calls (%v)", after.sum("ghlfs_pacer_grants_total"), after.sum("ghlfs_api_calls_total"))
	}
	if after.sum("go_goroutines") == 0 || after.sum("process_resident_memory_bytes") == 0 {
		t.Error("no Go or process metrics")
	}
	for _, secret := range []string{"q3-numbers", "new-upload", "Reports", fileID, folder, testToken, testLocation, strings.TrimPrefix(srv.URL, "http://")} {
		if strings.Contains(after.text, secret) {
			t.Errorf("/metrics shows %q", secret)
		}
	}

	// The server goes with the mount.
	if err := m.stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := shErr("curl", "-sS", "-m", "5", url); err == nil {
		t.Errorf("metrics still served after the unmount:\n%s", out)
	}
}

// An address that cannot be listened on fails the mount, with a message
// naming the flag, before anything is mounted.
func TestMetricsAddressInUseFailsTheMount(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(binDir, "ghlfs"), "mount", "--location", testLocation, "--api-url", srv.URL,
		"--cache-dir", t.TempDir(), "--metrics-addr", ln.Addr().String(), dir)
	cmd.Env = append(os.Environ(), "GHL_TOKEN="+testToken, "XDG_CONFIG_HOME="+t.TempDir())
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("ghlfs did not exit within 30s")
	}
	if err == nil || !strings.Contains(string(out), "--metrics-addr") || !strings.Contains(string(out), "address already in use") {
		t.Errorf("ghlfs mount: %v\n%s", err, out)
	}
	if isMounted(dir) {
		syscall.Unmount(dir, syscall.MNT_DETACH)
		t.Error("mounted all the same")
	}
	if n := getStats(t, srv).APIRequests; n != 0 {
		t.Errorf("%d API calls before failing", n)
	}
}

// An agency's mount counts its OAuth requests too (the list of its
// locations, a token minted for each, the agency's token refreshed once
// every access token expired): ghlfs_api_calls_total holds, by endpoint,
// exactly what the fake served since the mount.
func TestMetricsCountOAuthRequests(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv, locs, tokenFile := agencyFake(t, 2)
	fb := getStats(t, srv) // ghlfs login's requests are not the mount's
	m := mountFS(t, srv, mountOpt{agency: true, args: []string{"--token-file", tokenFile, "--metrics-addr", "127.0.0.1:0"},
		env: appEnv(t, srv), token: "not-this-one"})
	url := metricsURL(t, m)
	for _, l := range locs {
		sh(t, "ls", m.path(l.Name))
	}
	// Every access token dies: the next upload needs a new location
	// token, minted with a refreshed agency token.
	srv.ExpireAccessTokens()
	writeFile(t, m.path(locs[0].Name, "after-expiry.txt"), []byte("x"))
	waitFor(t, "the upload to land", func() bool {
		for _, it := range srv.Location(locs[0].ID).Items() {
			if it.Name == "after-expiry.txt" {
				return true
			}
		}
		return false
	})

	oauth := []string{ghltest.EndpointOAuthToken, ghltest.EndpointLocationToken, ghltest.EndpointInstalledLocations, ghltest.EndpointSearchLocations}
	served := func(st stats) map[string]int {
		out := map[string]int{}
		for _, ep := range oauth {
			out[ep] = st.ByEndpoint[ep] - fb.ByEndpoint[ep]
		}
		return out
	}
	// Another location's poller may mint its token at any moment: compare
	// a scrape with the fake's counts taken on both sides of it, equal.
	var want map[string]int
	var got scrape
	waitFor(t, "a scrape between two equal counts of the fake", func() bool {
		before := served(getStats(t, srv))
		got = scrapeMetrics(t, url)
		want = served(getStats(t, srv))
		return fmt.Sprint(before) == fmt.Sprint(want)
	})
	for _, ep := range oauth {
		if n := int(got.sum("ghlfs_api_calls_total", `endpoint="`+ep+`"`)); n != want[ep] {
			t.Errorf("%s: counted %d, the fake served %d", ep, n, want[ep])
		}
	}
	if want[ghltest.EndpointOAuthToken] < 1 || want[ghltest.EndpointLocationToken] < len(locs)+1 {
		t.Errorf("the fake served %v: want a refresh, and a location token for each location and one more after the expiry", want)
	}
	if n := got.sum("ghlfs_api_calls_total", `endpoint="POST /oauth/token"`, `status="200"`); n < 1 {
		t.Errorf("no refresh counted as a 200:\n%s", got.text)
	}
}
