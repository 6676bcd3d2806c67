package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote/imagekit/iktest"
)

// The ImageKit fake: ghlfake --service imagekit. The API, the upload
// host and the CDN on one address; the private key from
// $IKFAKE_PRIVATE_KEY or --key-file, never the command line.

// serviceOf reads --service from args: "highlevel" (the default),
// "imagekit" or "ocm", and the args less it.
func serviceOf(args []string) (string, []string, error) {
	service := "highlevel"
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "service" {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return "", nil, errors.New("--service needs a value: highlevel, imagekit or ocm")
			}
			i++
			val = args[i]
		}
		service = val
	}
	switch service {
	case "highlevel", "ghl", "imagekit", "ocm":
		return service, rest, nil
	}
	return "", nil, fmt.Errorf("--service %q: highlevel, imagekit or ocm", service)
}

// ikConfig is what the command line asks of the ImageKit fake.
type ikConfig struct {
	listen  string
	verbose bool
	opts    iktest.Options
	faults  iktest.Faults
}

func parseImageKitArgs(args []string, getenv func(string) string, stdout, stderr io.Writer) (ikConfig, error) {
	var cfg ikConfig
	var keyFile string
	fs := flag.NewFlagSet("ghlfake --service imagekit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "address to listen on")
	fs.StringVar(&keyFile, "key-file", "", "read the private key from this file (default $IKFAKE_PRIVATE_KEY, else "+iktest.DefaultKey+")")
	fs.StringVar(&cfg.opts.EndpointID, "endpoint-id", iktest.DefaultEndpointID, "the url endpoint's id: files are served at URL/ID/<path>")
	fs.IntVar(&cfg.opts.RateLimit, "rate-limit", 0, "requests per endpoint per rate interval (uploads not limited); 0: no limit")
	fs.DurationVar(&cfg.opts.RateInterval, "rate-interval", iktest.DefaultRateInterval, "the rate limit's interval")
	fs.IntVar(&cfg.opts.JobPolls, "job-polls", iktest.DefaultJobPolls, "polls a folder job answers Pending")
	fs.IntVar(&cfg.opts.StaleReads, "stale-reads", iktest.DefaultStaleReads, "reads a url's old copy is served after a change (cdn-stale)")
	fs.Int64Var(&cfg.opts.MaxUpload, "max-upload", iktest.DefaultMaxUpload, "largest upload (not a video)")
	fs.Int64Var(&cfg.opts.MaxVideo, "max-video", iktest.DefaultMaxVideo, "largest video upload")
	fs.Float64Var(&cfg.faults.Fault500, "fault-500", 0, "fraction of API and upload requests answered 500")
	fs.Float64Var(&cfg.faults.FaultCut, "fault-cut", 0, "fraction of API and upload requests carried out and then cut")
	fs.Float64Var(&cfg.faults.Fault429, "fault-429", 0, "fraction of API requests answered 429 (X-RateLimit-Reset: 100 ms)")
	fs.BoolVar(&cfg.faults.Down, "down", false, "answer every request with 503")
	fs.Func("quirk", "turn on a quirk of the service's unknown behaviour; repeatable ("+strings.Join(iktest.KnownQuirks(), ", ")+")", func(v string) error {
		cfg.opts.Quirks = append(cfg.opts.Quirks, v)
		return nil
	})
	fs.BoolVar(&cfg.verbose, "v", false, "log every request")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ghlfake --service imagekit [flags]\n\nServes a fake ImageKit: the API (/v1/...), the upload host (/api/v1/files/upload) and\nthe CDN (/ID/<path>) on one address. The private key comes from $IKFAKE_PRIVATE_KEY or\n--key-file, never the command line.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return cfg, err
	}
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return cfg, err
		}
		if cfg.opts.PrivateKey = strings.TrimSpace(string(b)); cfg.opts.PrivateKey == "" {
			return cfg, fmt.Errorf("%s holds no key", keyFile)
		}
	}
	if cfg.opts.PrivateKey == "" {
		cfg.opts.PrivateKey = getenv("IKFAKE_PRIVATE_KEY")
	}
	return cfg, nil
}

// runImageKit serves the ImageKit fake until ctx ends.
func runImageKit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseImageKitArgs(args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	s, err := iktest.New(cfg.opts)
	if err != nil {
		return err
	}
	s.SetFaults(cfg.faults)
	return serveHandler(ctx, cfg.listen, s, newLogger(stderr, cfg.verbose), stdout, func(addr string) string {
		s.SetAddr(addr)
		return "ghlfake listening on " + s.URL + "\nurl endpoint " + s.Endpoint + "\n"
	})
}

// serveHandler serves h (a fake of New, not yet serving) on listen until
// ctx ends: ready, given the address, readies the fake and says the
// banner serveUntil prints.
func serveHandler(ctx context.Context, listen string, h http.Handler, log *slog.Logger, stdout io.Writer, ready func(addr string) string) error {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: logged(h, log), ReadHeaderTimeout: 10 * time.Second}
	banner := ready(l.Addr().String())
	go srv.Serve(l)
	return serveUntil(ctx, stdout, banner, log, func() { srv.Close() }, srv.Shutdown)
}

// logged logs each request at debug level (no header: the key is one).
func logged(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Debug("request", "method", r.Method, "path", r.URL.Path)
		h.ServeHTTP(w, r)
	})
}
