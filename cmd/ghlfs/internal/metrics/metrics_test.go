package metrics

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/remote"
)

// The collector sums the libraries of a mount, puts API calls and storage
// requests in their own metrics, names a call with no answer "error", and
// gives counters and gauges their types.
func TestMetricsCollectorSumsLibraries(t *testing.T) {
	lib := func(calls map[remote.CallKey]int64, cs cache.Stats) Source {
		return Source{
			Remote: func() remote.Stats {
				return remote.Stats{Calls: calls, Retries: map[string]int64{"GET /medias/files": 1}, Throttled: 1, StorageBytes: 100,
					Pacer: remote.PacerStats{Foreground: remote.PriorityStats{Granted: 3, Waited: 1500 * time.Millisecond, Waiting: 1}}}
			},
			Cache: func() cache.Stats { return cs },
		}
	}
	h, err := Handler(func() []Source {
		return []Source{
			lib(map[remote.CallKey]int64{{Endpoint: "GET /medias/files", Status: 200}: 5, {Endpoint: "GET /medias/files", Status: 0}: 1, {Endpoint: remote.StorageGet, Status: 206}: 2},
				cache.Stats{MemoryHits: 4, Misses: 2, PendingUploads: 1, PendingBytes: 10, PendingFiles: 1, Uploads: 3}),
			lib(map[remote.CallKey]int64{{Endpoint: "GET /medias/files", Status: 200}: 2, {Endpoint: remote.StorageHead, Status: 200}: 1},
				cache.Stats{DiskHits: 1, PendingUploads: 2, PendingBytes: 5, PendingFiles: 2, UploadErrors: 1}),
		}
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`ghlfs_api_calls_total{endpoint="GET /medias/files",status="200"} 7`,
		`ghlfs_api_calls_total{endpoint="GET /medias/files",status="error"} 1`,
		`ghlfs_storage_requests_total{method="GET",status="206"} 2`,
		`ghlfs_storage_requests_total{method="HEAD",status="200"} 1`,
		`ghlfs_retries_total{endpoint="GET /medias/files"} 2`,
		`ghlfs_api_throttled_total 2`,
		`ghlfs_storage_bytes_total 200`,
		`ghlfs_pacer_wait_seconds_total{priority="foreground"} 3`,
		`ghlfs_pacer_grants_total{priority="foreground"} 6`,
		`ghlfs_pacer_waiting{priority="foreground"} 2`,
		`ghlfs_content_cache_hits_total{tier="memory"} 4`,
		`ghlfs_content_cache_hits_total{tier="disk"} 1`,
		`ghlfs_content_cache_misses_total 2`,
		`ghlfs_pending_uploads 3`,
		`ghlfs_pending_upload_bytes 15`,
		`ghlfs_pending_files 3`,
		`ghlfs_uploads_total 3`,
		`ghlfs_upload_errors_total 1`,
		`# TYPE ghlfs_api_calls_total counter`,
		`# TYPE ghlfs_pending_uploads gauge`,
		`# TYPE ghlfs_pacer_waiting gauge`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, `endpoint="GET storage"`) {
		t.Error("storage requests among the API calls")
	}
}

// At most maxInFlight scrapes are served at once: one more gets
// 503 at once, rather than the mount's CPU and memory.
func TestMetricsLimitsScrapesInFlight(t *testing.T) {
	entered := make(chan struct{}, 2*maxInFlight)
	release := make(chan struct{})
	h, err := Handler(func() []Source {
		entered <- struct{}{}
		<-release
		return nil
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(release)
	codes := make(chan int, 2*maxInFlight)
	get := func() {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}
	for range maxInFlight {
		go get()
	}
	for range maxInFlight {
		<-entered // each scrape is under way, held
	}
	go get()
	select {
	case code := <-codes:
		if code != http.StatusServiceUnavailable {
			t.Errorf("a scrape beyond the limit: %d, want 503", code)
		}
	case <-entered:
		t.Errorf("a scrape beyond the limit of %d was served", maxInFlight)
	}
}

// At most maxConns connections are held at once: with that many
// open (idle between scrapes), one more is not served until one closes.
func TestMetricsLimitsConnections(t *testing.T) {
	s, err := Start("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// scrape sends one request on c and reads its answer, within d.
	scrape := func(c net.Conn, d time.Duration) error {
		c.SetDeadline(time.Now().Add(d))
		if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: ghlfs\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	var held []net.Conn
	for range maxConns {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := scrape(c, 10*time.Second); err != nil {
			t.Fatalf("scrape %d: %v", len(held), err)
		}
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", s.Addr) // the kernel's listen queue takes it
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if err := scrape(extra, 500*time.Millisecond); err == nil {
		t.Fatalf("a connection beyond %d was served", maxConns)
	}
	held[0].Close()
	late, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	extra.Close() // its answer, if any, is late: it gave up
	if err := scrape(late, 10*time.Second); err != nil {
		t.Errorf("once a connection closed, another was not served: %v", err)
	}
}
