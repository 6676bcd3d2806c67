package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// benchWebDAV (20): ghlfs serve webdav against the best the same run
// does: a GET of 25 MB through the server (a different file each time:
// nothing cached) against a direct GET of the file's URL; a PUT of 20 MB
// (uploaded before it answers: --write-back-delay 0) against a direct
// upload; a PROPFIND of depth 1 of a folder of 10,000 files, cold, with
// the API calls it took.
func benchWebDAV(b *testing.B) []benchRow {
	srv := fake(b, ghltest.Options{})
	const size = 25 << 20
	var names []string
	for i := range 3 {
		name := fmt.Sprintf("video%d.mp4", i)
		srv.AddFile("", name, "video/mp4", randomBytes(size, uint64(20+i)))
		names = append(names, name)
	}
	d := serveDAV(b, srv, "--log-level", "info", "--rate-limit", "100")
	url := readLibrary(srv).files[0].URL
	get := func(u string) {
		resp, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != size {
			b.Fatalf("GET %s: %s, %d bytes", u, resp.Status, n)
		}
	}
	direct := timeIt(func() { get(url) })
	i := 0
	viaDAV := timeIt(func() {
		get(d.url + names[i])
		i++
	})
	r1 := direct.Seconds() / viaDAV.Seconds()

	data := randomBytes(20<<20, 9)
	j := 0
	put := timeIt(func() {
		req, _ := http.NewRequest("PUT", d.url+"clip"+strconv.Itoa(j)+".mov", bytes.NewReader(data))
		j++
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatalf("PUT: %v %v", resp, err)
		}
		resp.Body.Close()
	})
	directPut := directUpload(b, srv, data)
	r2 := directPut.Seconds() / put.Seconds()

	big := fake(b, ghltest.Options{RateLimit: 100, RateWindow: 10 * time.Second})
	dir := big.AddFolder("", "big")
	for i := range 10000 {
		big.AddFile(dir, fmt.Sprintf("asset-%05d.png", i), "image/png", []byte(strconv.Itoa(i)))
	}
	bd := serveDAV(b, big, "--log-level", "info", "--rate-limit", "100", "--list-all=false")
	propfind := func() string {
		req, _ := http.NewRequest("PROPFIND", bd.url+"big/", nil)
		req.Header.Set("Depth", "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMultiStatus {
			b.Fatalf("PROPFIND: %s", resp.Status)
		}
		return string(body)
	}
	req, _ := http.NewRequest("PROPFIND", bd.url, nil) // the root's listing, outside the measure
	req.Header.Set("Depth", "1")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	resetStats(b, big)
	start := time.Now()
	out := propfind()
	took := time.Since(start)
	st := getStats(b, big)
	if n := strings.Count(out, "<D:response>"); n != 10001 {
		b.Fatalf("PROPFIND listed %d items", n)
	}
	pages := 10000/100 + 1 + 1 // file pages, a confirming page, the folders' page
	warm := timeIt(func() { propfind() })
	return []benchRow{
		{"20", "WebDAV: GET of 25 MB through ghlfs serve webdav, cold, vs a direct GET of its URL", fmt.Sprintf("%.2f (%s vs %s)", r1, viaDAV.Round(time.Millisecond), direct.Round(time.Millisecond)), "≥ 0.80", r1 >= 0.8},
		{"20", "WebDAV: PUT of 20 MB (answered once uploaded) vs a direct multipart upload", fmt.Sprintf("%.2f (%s vs %s)", r2, put.Round(time.Millisecond), directPut.Round(time.Millisecond)), "", false},
		{"20", "WebDAV: PROPFIND depth 1 of a folder of 10,000 files: API calls (cold)", fmt.Sprintf("%d in %s (%d pages of 100, paced at 100 per 10 s; %d answered 429 and asked again)", st.APIRequests, took.Round(time.Millisecond), pages, st.RateLimited), "no call beyond the listing's pages (and a 429's retry)", st.APIRequests-st.RateLimited <= pages && st.ByEndpoint["GET /medias/files"] == st.APIRequests},
		{"20", "WebDAV: the same PROPFIND, warm", warm.Round(time.Millisecond).String(), "", false},
	}
}
