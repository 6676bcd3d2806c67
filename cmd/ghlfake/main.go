// Command ghlfake serves a fake of the HighLevel Media Storage API (package
// remote/ghl/ghltest) on a local port, for trying ghlfs without the real
// service; with --service imagekit, a fake of ImageKit (package
// remote/imagekit/iktest: imagekit.go); with --service ocm, a fake of
// Oracle Content Management's Documents API (package remote/ocm/ocmtest:
// ocm.go).
//
//	ghlfake --listen 127.0.0.1:0 --token T --location L --seed demo
//	ghlfake --locations 3 --seed demo --token-ttl 20s --approve Company
//	IKFAKE_PRIVATE_KEY=K ghlfake --service imagekit --quirk cdn-stale
//	OCMFAKE_CLIENT_SECRET=S ghlfake --service ocm --demo --token-life 2m --quirk version-cap=3
//
// The first line it prints on stdout is "ghlfake listening on http://HOST:PORT".
// Logs go to stderr. SIGINT or SIGTERM stops it gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "ghlfake:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage error")

// config is what the command line asks for.
type config struct {
	listen  string
	verbose bool
	opts    ghltest.Options
}

// parseArgs reads the command line. The token comes from --token, else
// --token-file, else $GHLFAKE_TOKEN, else the default "demo-token".
func parseArgs(args []string, getenv func(string) string, stdout, stderr io.Writer) (config, error) {
	var (
		cfg       config
		tokenFile string
		f         ghltest.Faults
		latency   time.Duration
		storLat   time.Duration
		upDelay   time.Duration
		lf        locationFlags
	)
	fs := flag.NewFlagSet("ghlfake", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "address to listen on")
	fs.StringVar(&cfg.opts.Token, "token", "", "bearer token the API accepts (default $GHLFAKE_TOKEN or "+ghltest.DefaultToken+")")
	fs.StringVar(&tokenFile, "token-file", "", "read the token from this file")
	fs.StringVar(&cfg.opts.LocationID, "location", ghltest.DefaultLocationID, "location (sub-account) id served")
	fs.StringVar(&cfg.opts.Seed, "seed", "", `initial library: "" (empty) or "demo"`)
	fs.StringVar(&cfg.opts.DataDir, "data", "", "keep the library in this directory (default: memory only)")
	fs.IntVar(&cfg.opts.PageCap, "page-cap", ghltest.DefaultPageCap, "most items per list page")
	fs.BoolVar(&cfg.opts.MinimalFields, "minimal-fields", false, "leave size, contentType, createdAt, updatedAt (and root parentId) out of items")
	fs.IntVar(&cfg.opts.RateLimit, "rate-limit", ghltest.DefaultRateLimit, "requests per rate window; negative: no limit")
	fs.DurationVar(&cfg.opts.RateWindow, "rate-window", ghltest.DefaultRateWindow, "rate limit window")
	fs.IntVar(&cfg.opts.DailyLimit, "daily-limit", ghltest.DefaultDailyLimit, "requests per UTC day; negative: no limit")
	fs.Float64Var(&f.Fault500, "fault-500", 0, "fraction of API requests answered 500")
	fs.Float64Var(&f.Fault429, "fault-429", 0, "fraction of API requests answered 429")
	fs.BoolVar(&f.Fault429NoRetryAfter, "fault-429-no-retry-after", false, "injected 429s carry no Retry-After")
	fs.Float64Var(&f.FaultCut, "fault-cut", 0, "fraction of requests whose connection is cut")
	fs.DurationVar(&latency, "latency", 0, "delay added before every API request")
	fs.DurationVar(&storLat, "storage-latency", 0, "delay added before every storage request")
	fs.Int64Var(&f.StorageRate, "storage-rate", 0, "bytes per second per storage response (0: unlimited)")
	fs.Int64Var(&f.UploadRate, "upload-rate", 0, "bytes per second an upload's body is read at (0: unlimited)")
	fs.BoolVar(&f.Down, "down", false, "answer every request with 503")
	fs.BoolVar(&f.RejectUploads, "reject-uploads", false, "answer every upload with 400")
	fs.DurationVar(&upDelay, "upload-delay", 0, "delay before an upload is stored")
	fs.Func("quirk", "turn on a quirk of the real service's undocumented behaviour; repeatable ("+strings.Join(ghltest.KnownQuirks(), ", ")+"; clock-skew=DURATION, fetchall-lag=DURATION, locations-page-cap=N, csv-limit-cap=N)", func(v string) error {
		cfg.opts.Quirks = append(cfg.opts.Quirks, v)
		return nil
	})
	addLocationFlags(fs, &lf)
	fs.BoolVar(&cfg.verbose, "v", false, "log every request")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: ghlfake [flags]\n\nServes a fake HighLevel Media Storage API, and its OAuth endpoints (the authorize\npage stand-in is /v2/oauth/chooselocation, and /oauth/chooselocation).\nControl endpoints: GET /_ghlfake/stats, POST /_ghlfake/stats/reset, GET and POST /_ghlfake/faults, GET and POST\n/_ghlfake/quirks, POST /_ghlfake/restore, GET and POST /_ghlfake/social-csv, GET /_ghlfake/locations, POST /_ghlfake/locations/ID,\nPOST /_ghlfake/oauth/expire, POST /_ghlfake/oauth/revoke, GET and POST\n/_ghlfake/oauth/approval.\n\nOther services, each with its own flags (--service NAME --help):\n  --service imagekit  a fake ImageKit (API, upload host, CDN)\n  --service ocm       a fake Oracle Content Management Documents API 1.2 and its\n                      identity domain token endpoint; --demo for a library\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return cfg, err
	}
	if cfg.opts.Token == "" && tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return cfg, err
		}
		cfg.opts.Token = strings.TrimSpace(string(b))
		if cfg.opts.Token == "" {
			return cfg, fmt.Errorf("%s holds no token", tokenFile)
		}
	}
	if cfg.opts.Token == "" {
		cfg.opts.Token = getenv("GHLFAKE_TOKEN")
	}
	if cfg.opts.Token == "" {
		cfg.opts.Token = ghltest.DefaultToken
	}
	f.Latency = ghltest.Duration(latency)
	f.StorageLatency = ghltest.Duration(storLat)
	f.UploadDelay = ghltest.Duration(upDelay)
	cfg.opts.Faults = f
	if err := lf.apply(&cfg, getenv); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// parseFlags parses args with fs: help on stdout (flag.ErrHelp), a
// usage error on stderr (errUsage), no argument left over.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return err
		}
		fs.SetOutput(stderr)
		fmt.Fprintln(stderr, "ghlfake:", err)
		fs.Usage()
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ghlfake: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	return nil
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	service, args, err := serviceOf(args)
	if err != nil {
		fmt.Fprintln(stderr, "ghlfake:", err)
		return errUsage
	}
	switch service {
	case "imagekit":
		return runImageKit(ctx, args, getenv, stdout, stderr)
	case "ocm":
		return runOCM(ctx, args, getenv, stdout, stderr)
	}
	cfg, err := parseArgs(args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	cfg.opts.Logger = newLogger(stderr, cfg.verbose)
	s, err := ghltest.New(cfg.opts)
	if err != nil {
		return err
	}
	if err := s.Start(cfg.listen); err != nil {
		return err
	}
	return serveUntil(ctx, stdout, "ghlfake listening on "+s.URL+"\n", cfg.opts.Logger, s.Close, s.Shutdown)
}

// newLogger logs to w, every request when verbose.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// serveUntil prints banner on stdout (the first line says where the fake
// listens), waits for ctx to end, and shuts the server down gracefully.
func serveUntil(ctx context.Context, stdout io.Writer, banner string, log *slog.Logger, closeNow func(), shutdown func(context.Context) error) error {
	if _, err := io.WriteString(stdout, banner); err != nil {
		closeNow()
		return err
	}
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	<-ctx.Done()
	log.Info("ghlfake: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
