package integration

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/imagekit/iktest"
)

// The ImageKit rows (1i, 4i, 7i) beside HighLevel's of the same number:
// the same measures on a mount of iktest. Pacing is HighLevel's rows'
// (--rate-limit 100: 100 calls per 10 s, a burst of 10 then 9 a second),
// and the fake's windows the same per endpoint, so the rows compare; the
// backend's own default (20 a second) is not what is measured.

// benchIK starts an iktest fake with the rate limit given (0: none).
func benchIK(b *testing.B, rateLimit int) ikService {
	srv, err := iktest.NewServer(iktest.Options{RateLimit: rateLimit, RateInterval: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	return ikService{srv: srv}
}

// ikCallsBy is the fake's counts by endpoint, uploads and the CDN
// included, as "n endpoint" joined, most first.
func ikCallsBy(srv *iktest.Server) (total int, by string) {
	type count struct {
		ep string
		n  int
	}
	var cs []count
	for _, ep := range append(ikAPIEndpoints, iktest.EndpointUpload) {
		if n := srv.Calls(ep); n > 0 {
			cs = append(cs, count{ep, n})
			total += n
		}
	}
	slices.SortStableFunc(cs, func(a, b count) int { return b.n - a.n })
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%d %s", c.n, c.ep))
	}
	return total, strings.Join(parts, ", ")
}

// (1i): a 25 MB file read through an ImageKit mount, cold, against a
// direct GET of the url the listing gives with tr=orig-true (the
// original's bytes, as ghlfs asks for them) from the fake's CDN.
func benchIKSequentialRead(b *testing.B) []benchRow {
	svc := benchIK(b, 0)
	const size, n = 25 << 20, 5
	var names []string
	for i := range n {
		name := fmt.Sprintf("video%d.mp4", i)
		svc.srv.AddFile("", name, randomBytes(size, uint64(i)))
		names = append(names, name)
	}
	url := ""
	for _, it := range svc.list(b, "/") {
		if it.Name == names[0] {
			url = it.URL + "?tr=orig-true"
		}
	}
	m := mountService(b, svc, mountOpt{args: []string{"--log-level", "info", "--rate-limit", "100"}, env: benchProfile(b)})
	cdn := svc.srv.Calls(iktest.EndpointCDN)
	direct, cold := coldVsDirect(b, m, names, size, func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		return req
	})
	reads := svc.srv.Calls(iktest.EndpointCDN) - cdn - n // the direct GETs too
	r := direct.Seconds() / cold.Seconds()
	return []benchRow{
		{"1i", "ImageKit: sequential read of 25 MB, cold, vs a direct GET of url?tr=orig-true", fmt.Sprintf("%.2f (%s vs %s; %.0f MB/s; %.1f CDN requests a file)", r, cold.Round(time.Millisecond), direct.Round(time.Millisecond), size/cold.Seconds()/1e6, float64(reads)/n), "≥ 0.80", r >= 0.8},
	}
}

// benchProfile is the environment that makes ghlfs write a CPU profile
// where GHLFS_BENCH_CPUPROFILE says (go tool pprof), if it says.
func benchProfile(b *testing.B) []string {
	if p := os.Getenv("GHLFS_BENCH_CPUPROFILE"); p != "" {
		return []string{"GHLFS_CPUPROFILE=" + p}
	}
	return nil
}

// (7i): cp -r of 500 small files into an ImageKit mount, with the fake's
// rate limit on (uploads are not limited on ImageKit, nor paced by ghlfs).
func benchIKCopyMany(b *testing.B) []benchRow {
	svc := benchIK(b, 100)
	m := mountService(b, svc, mountOpt{args: []string{"--log-level", "info", "--rate-limit", "100"}})
	sh(b, "ls", m.dir) // the root's listing, outside the measure
	src := smallFiles(b)
	svc.srv.ResetCalls()
	start := time.Now()
	out, err := shErr("cp", "-r", src, m.path("notes"))
	took := time.Since(start)
	calls, by := ikCallsBy(svc.srv)
	uploads := svc.srv.Calls(iktest.EndpointUpload)
	sent429 := svc.srv.Calls(iktest.RateLimited)
	saw429 := err != nil || strings.Contains(out, "Resource temporarily unavailable")
	if n := len(svc.list(b, "/notes/batch0/")); n != 100 {
		b.Fatalf("the library holds %d files in notes/batch0, want 100 (cp: %v %s)", n, err, out)
	}
	return []benchRow{
		{"7i", "ImageKit: cp -r of 500 small files: calls per file", fmt.Sprintf("%.2f (%d in %s: %s; API calls paced at 100 per 10 s, uploads not)", float64(calls)/500, calls, took.Round(time.Millisecond), by), "", false},
		{"7i", "ImageKit: cp -r of 500 small files: calls per file beyond its upload", fmt.Sprintf("%.2f", float64(calls-uploads)/500), "", false},
		{"7i", "ImageKit: cp -r of 500 small files: 429s that reached the tool", fmt.Sprintf("%v (the fake sent %d)", map[bool]int{true: 1, false: 0}[saw429], sent429), "0", !saw429},
	}
}

// (4i): find and stat over 100 folders of 100 files on ImageKit, paced:
// API calls cold and warm against the listing's pages (one listing of a
// folder holds its files and folders; a page of up to 1000, by skip; no
// listing of the whole library), the cold walk's time against the pages
// at the pacer's rate, and the warm walk against a local copy.
func benchIKWalk(b *testing.B) []benchRow {
	svc := benchIK(b, 100)
	walkLibrary(svc)
	m := mountService(b, svc, mountOpt{args: []string{"--log-level", "info", "--rate-limit", "100"}})
	svc.srv.ResetCalls()
	walk := "find " + m.dir + " -exec stat -c '%s %Y' {} + > /dev/null"
	start := time.Now()
	sh(b, "sh", "-c", walk)
	coldTime := time.Since(start)
	cold, coldBy := ikCallsBy(svc.srv)
	warmTime := timeIt(func() { sh(b, "sh", "-c", walk) })
	warm, _ := ikCallsBy(svc.srv)
	warm -= cold

	local := b.TempDir()
	sh(b, "cp", "-r", m.dir+"/.", local)
	localTime := timeIt(func() { sh(b, "sh", "-c", "find "+local+" -exec stat -c '%s %Y' {} + > /dev/null") })

	// One page for the root (its 100 folders) and one for each folder (its
	// 100 files): a page shorter than the 1000 asked for is the last.
	return pacedWalkRows("4i", "ImageKit", cold, warm, coldBy, coldTime, warmTime, localTime)
}

// walkLibrary fills svc's library with rows 4i and 4o's tree: 100
// folders of 100 small files, as another client would.
func walkLibrary(svc service) {
	for d := range 100 {
		dir := svc.addFolder("", fmt.Sprintf("folder%03d", d))
		for f := range 100 {
			svc.addFile(dir, fmt.Sprintf("file%03d.txt", f), []byte(strconv.Itoa(d*100+f)))
		}
	}
}

// pacedWalkRows are rows 4i and 4o of a walk over walkLibrary's tree,
// paced at 100 calls per 10 s, one listing page a folder: the calls cold
// and warm against the pages, the cold walk's time against the pages at
// the pacer's rate (10 at once, then 9 a second), and the warm walk
// against the same walk on a local copy.
func pacedWalkRows(row, who string, cold, warm int, coldBy string, coldTime, warmTime, localTime time.Duration) []benchRow {
	const pages = 1 + 100
	floor := (pages - 10) * time.Second / 9
	paced := floor.Seconds() / coldTime.Seconds()
	return []benchRow{
		{row, who + ": find + stat, 100 folders × 100 files: API calls cold / warm", fmt.Sprintf("%d / %d (the pages: %d; cold: %s)", cold, warm, pages, coldBy), "cold ≤ pages; warm 0", cold <= pages && warm == 0},
		{row, who + ": … the cold walk's time vs the pages at the pacer's rate (10 at once, then 9 a second)", fmt.Sprintf("%.2f (%s vs %s)", paced, coldTime.Round(time.Millisecond), floor.Round(time.Millisecond)), "≥ 0.80", paced >= 0.8},
		{row, who + ": find + stat, warm, vs the same walk on a local copy", fmt.Sprintf("%.2f (%s vs %s)", localTime.Seconds()/warmTime.Seconds(), warmTime.Round(time.Millisecond), localTime.Round(time.Millisecond)), "", false},
	}
}
