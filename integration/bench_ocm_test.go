package integration

import (
	"cmp"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
)

// The OCM rows (1o, 4o, 7o) beside HighLevel's and ImageKit's of the same
// number: the same measures on a mount of ocmtest, through client
// credentials. Pacing is HighLevel's rows' (--rate-limit 100: 100 calls
// per 10 s, a burst of 10 then 9 a second), so the rows compare; the
// backend's own default (10 a second) is not what is measured. OCM
// publishes no rate limit, and the fake enforces none.

// benchOCM starts an ocmtest fake for a benchmark.
func benchOCM(b *testing.B) ocmService { return startOCM(b, ocmtest.Options{}, faultSet{}) }

// ocmCallsBy is the fake's counts by endpoint (the token endpoint's and
// the downloads included), as "n endpoint" joined, most first, and the
// uploads among them.
func ocmCallsBy(srv *ocmtest.Server) (total, uploads int, by string) {
	type count struct {
		ep string
		n  int
	}
	var cs []count
	for ep, n := range srv.AllCalls() {
		switch ep {
		case ocmtest.UploadsReceived, ocmtest.Unauthorized, ocmtest.RateLimited:
			continue
		case ocmtest.EndpointUpload, ocmtest.EndpointUploadVersion:
			uploads += n
		}
		cs = append(cs, count{ep, n})
		total += n
	}
	slices.SortFunc(cs, func(a, b count) int { return cmp.Or(b.n-a.n, strings.Compare(a.ep, b.ep)) })
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%d %s", c.n, c.ep))
	}
	return total, uploads, strings.Join(parts, ", ")
}

// (1o): a 25 MB file read through an OCM mount, cold, against a direct
// GET of the same bytes (GET files/{id}/data with a bearer token) from
// the fake's API host. OCM's bytes come from the API host, so its reads
// are paced as its calls are: the row is measured paced as the others
// (--rate-limit 100), and unpaced (--rate-limit 0), which is the read
// path's own speed.
func benchOCMSequentialRead(b *testing.B) []benchRow {
	var rows []benchRow
	for _, pace := range []string{"100", "0"} {
		r, result := ocmColdRead(b, pace)
		what, target := "OCM: sequential read of 25 MB, cold, vs a direct GET of files/{id}/data, paced at 100 per 10 s", ""
		if pace == "0" {
			what, target = "OCM: … the same, unpaced (--rate-limit 0)", "≥ 0.80"
		}
		rows = append(rows, benchRow{"1o", what, result, target, target != "" && r >= 0.8})
	}
	return rows
}

// ocmColdRead measures row 1o under --rate-limit pace: the ratio, and
// the row's result.
func ocmColdRead(b *testing.B, pace string) (float64, string) {
	svc := benchOCM(b)
	const size, n = 25 << 20, 5
	var names, ids []string
	for i := range n {
		name := fmt.Sprintf("video%d.mp4", i)
		ids = append(ids, svc.srv.AddFile("", name, randomBytes(size, uint64(i))))
		names = append(names, name)
	}
	m := mountService(b, svc, mountOpt{args: []string{"--log-level", "info", "--rate-limit", pace}, env: benchProfile(b)})
	url := svc.srv.URL + ocmtest.BasePath + "files/" + ids[0] + "/data"
	before := svc.srv.Calls(ocmtest.EndpointDownload)
	// Medians of five, as row 1i.
	direct, cold := coldVsDirect(b, m, names, size, func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+ocmFixtureToken)
		return req
	})
	reads := svc.srv.Calls(ocmtest.EndpointDownload) - before - n // the direct GETs too
	r := direct.Seconds() / cold.Seconds()
	return r, fmt.Sprintf("%.2f (%s vs %s; %.0f MB/s; %.1f ranged GETs a file)", r, cold.Round(time.Millisecond), direct.Round(time.Millisecond), size/cold.Seconds()/1e6, float64(reads)/n)
}

// (7o): cp -r of 500 small files into an OCM mount, paced at 100 calls
// per 10 s: calls per file, and beyond its upload.
func benchOCMCopyMany(b *testing.B) []benchRow {
	svc := benchOCM(b)
	m := mountService(b, svc, mountOpt{args: []string{"--log-level", "info", "--rate-limit", "100"}})
	sh(b, "ls", m.dir) // the root's listing, outside the measure
	src := smallFiles(b)
	svc.srv.ResetCalls()
	start := time.Now()
	out, err := shErr("cp", "-r", src, m.path("notes"))
	took := time.Since(start)
	calls, uploads, by := ocmCallsBy(svc.srv)
	if err != nil {
		b.Fatalf("cp -r: %v %s", err, out)
	}
	if n := len(svc.list(b, ocmItem(b, svc.srv, "notes/batch0").ID)); n != 100 {
		b.Fatalf("the library holds %d files in notes/batch0, want 100", n)
	}
	return []benchRow{
		{"7o", "OCM: cp -r of 500 small files: calls per file", fmt.Sprintf("%.2f (%d in %s: %s; paced at 100 per 10 s)", float64(calls)/500, calls, took.Round(time.Millisecond), by), "", false},
		{"7o", "OCM: cp -r of 500 small files: calls per file beyond its upload", fmt.Sprintf("%.2f", float64(calls-uploads)/500), "", false},
	}
}

// ocmItem is the item at rel in the fake, failing the test when there is
// none.
func ocmItem(t testing.TB, srv *ocmtest.Server, rel string) ocmtest.Item {
	t.Helper()
	it, ok := srv.ByPath(rel)
	if !ok {
		t.Fatalf("the library holds nothing at %s", rel)
	}
	return it
}

// (4o): find and stat over 100 folders of 100 files on OCM, paced: API
// calls cold and warm against the listing's pages (a folder is one
// listing of its files and folders, up to 1000 a page, by offset; no
// listing of the whole library), the cold walk's time against the pages
// at the pacer's rate, and the warm walk against a local copy.
func benchOCMWalk(b *testing.B) []benchRow {
	svc := benchOCM(b)
	walkLibrary(svc)
	m := mountService(b, svc, mountOpt{args: []string{"--log-level", "info", "--rate-limit", "100"}})
	svc.srv.ResetCalls()
	walk := "find " + m.dir + " -exec stat -c '%s %Y' {} + > /dev/null"
	start := time.Now()
	sh(b, "sh", "-c", walk)
	coldTime := time.Since(start)
	cold, _, coldBy := ocmCallsBy(svc.srv)
	warmTime := timeIt(func() { sh(b, "sh", "-c", walk) })
	warm, _, _ := ocmCallsBy(svc.srv)
	warm -= cold

	// The same tree on the local disk, made directly: a copy through the
	// mount would read 10,000 files from the API host, paced.
	local := b.TempDir()
	for d := range 100 {
		dir := filepath.Join(local, fmt.Sprintf("folder%03d", d))
		os.Mkdir(dir, 0o755)
		for f := range 100 {
			writeFile(b, filepath.Join(dir, fmt.Sprintf("file%03d.txt", f)), []byte(strconv.Itoa(d*100+f)))
		}
	}
	localTime := timeIt(func() { sh(b, "sh", "-c", "find "+local+" -exec stat -c '%s %Y' {} + > /dev/null") })

	// One page for the root (its 100 folders) and one for each folder (its
	// 100 files): hasMore "0" says a page is the last.
	return pacedWalkRows("4o", "OCM", cold, warm, coldBy, coldTime, warmTime, localTime)
}
