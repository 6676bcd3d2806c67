package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/remote"
)

// Source is one library's counters.
type Source struct {
	Remote func() remote.Stats
	Cache  func() cache.Stats
}

// ghlfsCollector turns the sources' counters into const metrics at each
// scrape.
type ghlfsCollector struct {
	sources func() []Source

	apiCalls, storageRequests, retries, throttled, storageBytes *prometheus.Desc
	pacerWait, pacerGrants, pacerWaiting                        *prometheus.Desc
	hits, misses                                                *prometheus.Desc
	pendingUploads, pendingBytes, pendingFiles                  *prometheus.Desc
	uploads, uploadedBytes, uploadErrors                        *prometheus.Desc
}

func newGhlfsCollector(sources func() []Source) *ghlfsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ghlfs_"+name, help, labels, nil)
	}
	return &ghlfsCollector{
		sources:         sources,
		apiCalls:        d("api_calls_total", "API requests sent (each retry too), by endpoint and HTTP status (\"error\": no answer).", "endpoint", "status"),
		storageRequests: d("storage_requests_total", "Requests for file bytes or sizes sent to the storage host, by method and HTTP status (\"error\": no answer).", "method", "status"),
		retries:         d("retries_total", "Requests sent again after a failed one (429, 5xx, broken connection, renewed token, resumed read), by endpoint.", "endpoint"),
		throttled:       d("api_throttled_total", "API answers 429 Too Many Requests."),
		storageBytes:    d("storage_bytes_total", "Body bytes read from the storage host."),
		pacerWait:       d("pacer_wait_seconds_total", "Time API calls waited for a slot of the client's rate limit, by priority (foreground: a user waits on it).", "priority"),
		pacerGrants:     d("pacer_grants_total", "Slots of the client's rate limit handed out, by priority.", "priority"),
		pacerWaiting:    d("pacer_waiting", "API calls waiting for a slot of the client's rate limit now, by priority.", "priority"),
		hits:            d("content_cache_hits_total", "File chunks (256 KiB) readers found in the content cache, by tier (memory, disk).", "tier"),
		misses:          d("content_cache_misses_total", "File chunks readers waited for from the storage host."),
		pendingUploads:  d("pending_uploads", "Files whose bytes wait to be uploaded (or are being uploaded)."),
		pendingBytes:    d("pending_upload_bytes", "Bytes of the files waiting to be uploaded."),
		pendingFiles:    d("pending_files", "Files with any change still to send to the API (uploads, renames, old copies to trash)."),
		uploads:         d("uploads_total", "Uploads that landed."),
		uploadedBytes:   d("uploaded_bytes_total", "Bytes of the uploads that landed."),
		uploadErrors:    d("upload_errors_total", "Upload attempts that failed (each is tried again later)."),
	}
}

func (c *ghlfsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.apiCalls, c.storageRequests, c.retries, c.throttled, c.storageBytes,
		c.pacerWait, c.pacerGrants, c.pacerWaiting, c.hits, c.misses,
		c.pendingUploads, c.pendingBytes, c.pendingFiles, c.uploads, c.uploadedBytes, c.uploadErrors,
	} {
		ch <- d
	}
}

func (c *ghlfsCollector) Collect(ch chan<- prometheus.Metric) {
	calls := map[[2]string]int64{}   // endpoint, status
	storage := map[[2]string]int64{} // method, status
	retries := map[string]int64{}
	var throttled, storageBytes int64
	var fg, bg remote.PriorityStats
	var cs cache.Stats
	for _, src := range c.sources() {
		rs := src.Remote()
		for k, v := range rs.Calls {
			status := "error"
			if k.Status != 0 {
				status = strconv.Itoa(k.Status)
			}
			if k.IsStorage() {
				method, _, _ := strings.Cut(k.Endpoint, " ")
				storage[[2]string{method, status}] += v
			} else {
				calls[[2]string{k.Endpoint, status}] += v
			}
		}
		for ep, v := range rs.Retries {
			retries[ep] += v
		}
		throttled += rs.Throttled
		storageBytes += rs.StorageBytes
		addPriority(&fg, rs.Pacer.Foreground)
		addPriority(&bg, rs.Pacer.Background)
		s := src.Cache()
		cs.MemoryHits += s.MemoryHits
		cs.DiskHits += s.DiskHits
		cs.Misses += s.Misses
		cs.PendingUploads += s.PendingUploads
		cs.PendingBytes += s.PendingBytes
		cs.PendingFiles += s.PendingFiles
		cs.Uploads += s.Uploads
		cs.UploadedBytes += s.UploadedBytes
		cs.UploadErrors += s.UploadErrors
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for k, v := range calls {
		counter(c.apiCalls, float64(v), k[0], k[1])
	}
	for k, v := range storage {
		counter(c.storageRequests, float64(v), k[0], k[1])
	}
	for ep, v := range retries {
		counter(c.retries, float64(v), ep)
	}
	counter(c.throttled, float64(throttled))
	counter(c.storageBytes, float64(storageBytes))
	for _, p := range []struct {
		name string
		s    remote.PriorityStats
	}{{"foreground", fg}, {"background", bg}} {
		counter(c.pacerWait, p.s.Waited.Seconds(), p.name)
		counter(c.pacerGrants, float64(p.s.Granted), p.name)
		gauge(c.pacerWaiting, float64(p.s.Waiting), p.name)
	}
	counter(c.hits, float64(cs.MemoryHits), "memory")
	counter(c.hits, float64(cs.DiskHits), "disk")
	counter(c.misses, float64(cs.Misses))
	gauge(c.pendingUploads, float64(cs.PendingUploads))
	gauge(c.pendingBytes, float64(cs.PendingBytes))
	gauge(c.pendingFiles, float64(cs.PendingFiles))
	counter(c.uploads, float64(cs.Uploads))
	counter(c.uploadedBytes, float64(cs.UploadedBytes))
	counter(c.uploadErrors, float64(cs.UploadErrors))
}

func addPriority(sum *remote.PriorityStats, s remote.PriorityStats) {
	sum.Granted += s.Granted
	sum.Cancelled += s.Cancelled
	sum.Waited += s.Waited
	sum.MaxWait = max(sum.MaxWait, s.MaxWait)
	sum.Waiting += s.Waiting
}

// SetSources makes the metrics those of sources (each library's, and
// the OAuth app's requests).
func (s *Server) SetSources(sources []Source) { s.sources.Store(&sources) }

// Handler serves the ghlfs metrics of the sources, and the Go
// runtime's and the process's, in a registry of its own.
func Handler(sources func() []Source, log *slog.Logger) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		newGhlfsCollector(sources),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		// A scrape reads every library's counters: more at once than a
		// few scrapers send (a client flooding an address open to the
		// network) get 503 rather than the mount's CPU and memory.
		MaxRequestsInFlight: maxInFlight,
	}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ghlfs: metrics at /metrics")
	})
	return mux, nil
}

// maxInFlight is how many scrapes are served at once.
const maxInFlight = 4

// maxConns is how many connections the metrics server holds at
// once (a scraper keeps one, idle between scrapes): more wait in the
// listen queue, rather than cost the mount a goroutine and buffers each
// (a client opening thousands, on an address open to the network).
const maxConns = 16

// Server serves /metrics until Close.
type Server struct {
	Addr    string // the address listened on
	srv     *http.Server
	done    chan struct{} // closed when Serve has returned
	sources atomic.Pointer[[]Source]
}

// Start listens on addr (--metrics-addr) and serves the metrics
// there, in one goroutine that Close stops. It is called before anything
// is mounted, so that an address that cannot be had fails the mount; the
// libraries' counters are shown once SetSources is told of them.
func Start(addr string, log *slog.Logger) (*Server, error) {
	s := &Server{done: make(chan struct{})}
	h, err := Handler(func() []Source {
		if p := s.sources.Load(); p != nil {
			return *p
		}
		return nil
	}, log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	s.Addr = ln.Addr().String()
	ln = netutil.LimitListener(ln, maxConns)
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the metrics server stopped", "err", err)
		}
	}()
	return s, nil
}

// Close stops the server: scrapes under way get a few seconds to finish.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.done
}
