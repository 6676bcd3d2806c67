package integration

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Big files: videos up to 500 MB go up with Version v3, streamed from the
// spool; anything else stops at 25,000,000 bytes (or --max-upload-size),
// with EFBIG at the first write past it, and a file already over its
// limit cannot be opened to change it.

// rssBound is what ghlfs may hold resident while it uploads a big video.
const rssBound = 100 << 20

// bigVideoSize is the video of TestBigVideoUploadsStreaming: four times
// rssBound, so that a copy of the file held in memory would break it.
const bigVideoSize = 400 << 20

// randomFile writes size random bytes to a new file in dir with dd and
// returns its path and SHA-256.
func randomFile(t *testing.T, name string, size int64) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	sh(t, "sh", "-c", fmt.Sprintf("head -c %d /dev/urandom > '%s'", size, p))
	return p, fileSum(t, p)
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// urlSum streams a file from the fake's storage host and returns its size
// and SHA-256.
func urlSum(t *testing.T, url string) (int64, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

// uploadVersions reads the fake's count of uploads by Version through its
// stats endpoint.
func uploadVersions(t *testing.T, srv *ghltest.Server) map[string]int64 {
	t.Helper()
	resp, err := http.Get(srv.URL + "/_ghlfake/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		UploadVersions map[string]int64 `json:"upload_versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.UploadVersions
}

// vmHWM is the peak resident memory of a process (VmHWM), in bytes.
func vmHWM(t testing.TB, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// problems are the log lines at WARN or ERROR that mention s.
func problems(log, s string) []string {
	var out []string
	for _, line := range lines(log) {
		if strings.Contains(line, s) && (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) {
			out = append(out, line)
		}
	}
	return out
}

// A video far larger than ghlfs's memory bound is copied in: it lands
// whole, sent once with Version v3, and ghlfs's resident memory stays
// under the bound (the bytes stream from the spool file).
func TestBigVideoUploadsStreaming(t *testing.T) {
	t.Parallel()
	const size = bigVideoSize
	src, sum := randomFile(t, "clip.mp4", size)
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	resetStats(t, srv)

	sh(t, "cp", src, m.path("clip.mp4")) // uploads at close (--write-back-delay 0)
	hwm := vmHWM(t, m.cmd.Process.Pid)

	rf, ok := remoteTree(t, srv)["clip.mp4"]
	if !ok || rf.Size != size {
		t.Fatalf("the library holds %+v, want %d bytes", rf, size)
	}
	if n, got := urlSum(t, rf.URL); n != size || got != sum {
		t.Errorf("the library's clip.mp4 has %d bytes, sha256 %s; want %d, %s", n, got, size, sum)
	}
	if it, _ := srv.Item(rf.ID); !strings.HasPrefix(it.ContentType, "video/mp4") {
		t.Errorf("stored as %q", it.ContentType)
	}
	if v := uploadVersions(t, srv); v["v3"] != 1 || v["2021-07-28"] != 0 {
		t.Errorf("uploads by Version: %v, want one v3", v)
	}
	t.Logf("%d MB video: ghlfs's VmHWM %.1f MB", size>>20, float64(hwm)/(1<<20))
	if hwm >= rssBound {
		t.Errorf("ghlfs's resident memory peaked at %.1f MB while uploading %d MB (bound %d MB)", float64(hwm)/(1<<20), size>>20, rssBound>>20)
	}
	if out := sh(t, "stat", "-c", "%s", m.path("clip.mp4")); strings.TrimSpace(out) != itoa(size) {
		t.Errorf("the mount shows %s bytes", out)
	}
	if p := problems(m.log.String(), "clip.mp4"); len(p) != 0 {
		t.Errorf("problems logged: %q", p)
	}
}

// A 30 MB picture: cp fails with EFBIG at the first write past
// 25,000,000 bytes, nothing is uploaded, the library has no such file,
// and one WARN line names the file and the limit.
func TestBigPictureRefused(t *testing.T) {
	t.Parallel()
	src, _ := randomFile(t, "photo.png", 30_000_000)
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{})
	resetStats(t, srv)

	out, err := shErr("cp", src, m.path("photo.png"))
	if err == nil || !strings.Contains(out, "File too large") {
		t.Fatalf("cp of 30 MB: %v\n%s", err, out)
	}
	if n := getStats(t, srv).ByEndpoint["POST /medias/upload-file"]; n != 0 {
		t.Errorf("%d uploads", n)
	}
	if rf, ok := remoteTree(t, srv)["photo.png"]; ok {
		t.Errorf("photo.png is in the library: %+v", rf)
	}
	p := problems(m.log.String(), "photo.png")
	if len(p) != 1 || !strings.Contains(p[0], "level=WARN") || !strings.Contains(p[0], "25000000") {
		t.Errorf("want one WARN line naming photo.png and the limit, got %q", p)
	}
	// The bytes written before the limit are kept, and the log says where
	// (once the kernel released the file, which follows cp's close).
	waitFor(t, "the bytes written to be kept in recovered/", func() bool {
		kept, _ := filepath.Glob(filepath.Join(m.cacheDir, "recovered", "*photo.png"))
		return len(kept) == 1 && strings.Contains(m.log.String(), kept[0])
	})
	if fi, err := os.Stat(src); err != nil || fi.Size() != 30_000_000 {
		t.Errorf("the source: %v %v", fi, err)
	}
}

// Appending to a file already over its limit fails at the open with
// EFBIG, before a byte of it is downloaded; replacing it is fine.
func TestAppendToAFileOverItsLimit(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	big := bytes.Repeat([]byte("0123456789"), 2_600_000) // 26,000,000 bytes
	srv.AddFile("", "big.png", "image/png", big)
	m := mountFS(t, srv, mountOpt{})
	sh(t, "ls", "-l", m.dir)
	resetStats(t, srv)

	for _, c := range []string{
		"echo x >> " + m.path("big.png"),
		"exec 3<>" + m.path("big.png"), // O_RDWR, as an editor's save in place
	} {
		out, err := shErr("sh", "-c", c)
		if err == nil || !strings.Contains(out, "File too large") {
			t.Errorf("%s: %v\n%s", c, err, out)
		}
	}
	st := getStats(t, srv)
	if st.StorageBytes != 0 || st.ByEndpoint["POST /medias/upload-file"] != 0 {
		t.Errorf("%d bytes downloaded, %d uploads", st.StorageBytes, st.ByEndpoint["POST /medias/upload-file"])
	}
	p := problems(m.log.String(), "big.png")
	if len(p) != 2 || !strings.Contains(p[0], "level=WARN") || !strings.Contains(p[0], "25000000") {
		t.Errorf("want a WARN line per open naming big.png and the limit, got %q", p)
	}
	if rf := remoteTree(t, srv)["big.png"]; rf.Size != int64(len(big)) {
		t.Errorf("the library's big.png: %+v", rf)
	}
	// Reading it, and replacing it, still work.
	if out := sh(t, "stat", "-c", "%s", m.path("big.png")); strings.TrimSpace(out) != itoa(int64(len(big))) {
		t.Errorf("stat: %s", out)
	}
	sh(t, "sh", "-c", "echo small > "+m.path("big.png"))
	waitFor(t, "the replaced big.png to retire", func() bool {
		tree := remoteTree(t, srv)
		return len(tree) == 1 && tree["big.png"].Size == 6
	})
}

// --max-upload-size lowers the limit of pictures and other files; a video
// above it goes up with v3.
func TestMaxUploadSizeFlag(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	m := mountFS(t, srv, mountOpt{args: []string{"--max-upload-size", "1MB"}})
	atLimit, sum := randomFile(t, "ok.bin", 1_000_000)
	over, _ := randomFile(t, "over.bin", 1_000_001)
	video, vsum := randomFile(t, "clip.webm", 2_000_000)
	resetStats(t, srv)

	sh(t, "cp", atLimit, m.path("ok.bin"))
	if out, err := shErr("cp", over, m.path("over.bin")); err == nil || !strings.Contains(out, "File too large") {
		t.Errorf("cp of 1,000,001 bytes: %v\n%s", err, out)
	}
	sh(t, "cp", video, m.path("clip.webm"))

	tree := remoteTree(t, srv)
	if _, got := urlSum(t, tree["ok.bin"].URL); got != sum {
		t.Errorf("ok.bin: %+v", tree["ok.bin"])
	}
	if _, ok := tree["over.bin"]; ok {
		t.Error("over.bin is in the library")
	}
	if _, got := urlSum(t, tree["clip.webm"].URL); got != vsum {
		t.Errorf("clip.webm: %+v", tree["clip.webm"])
	}
	if v := uploadVersions(t, srv); v["v3"] != 1 || v["2021-07-28"] != 1 {
		t.Errorf("uploads by Version: %v, want one of each", v)
	}
	if p := problems(m.log.String(), "over.bin"); len(p) != 1 || !strings.Contains(p[0], "1000000") {
		t.Errorf("log lines on over.bin: %q", p)
	}
}
