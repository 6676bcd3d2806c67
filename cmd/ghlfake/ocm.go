package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
)

// The Oracle Content Management fake: ghlfake --service ocm. The
// Documents API and the identity domain's token endpoint on one address;
// the client secret, the password and a static token from the
// environment or files, never the command line.

// ocmConfig is what the command line asks of the OCM fake.
type ocmConfig struct {
	listen  string
	verbose bool
	demo    bool
	opts    ocmtest.Options
	faults  ocmtest.Faults
}

const ocmUsage = `Usage: ghlfake --service ocm [flags]

Serves a fake Oracle Content Management Documents API 1.2 (URL/documents/api/1.2/...)
and its identity domain's token endpoint (POST URL/oauth2/v1/token) on one address.

Credentials come from the environment or files, never the command line:
  client id      --client-id, else $OCMFAKE_CLIENT_ID, else ` + ocmtest.DefaultClientID + `
  client secret  --client-secret-file, else $OCMFAKE_CLIENT_SECRET, else the default
  password       --password-file, else $OCMFAKE_PASSWORD (password grant of --user)
  static token   --token-file, else $OCMFAKE_TOKEN: a bearer that never expires
Tokens: Basic client id:secret, grant_type=client_credentials (or password), a scope
ending in urn:opc:cec:all; they live --token-life.

--demo fills the library (folders, versions, a reserved file, the trash) and opens a
public link over "Shared with partners" (contributor, access code "` + ocmtest.DemoAccessCode + `",
sent as the cookie dAccessCode-<linkID>).

Control endpoints (no credentials): GET /_ocmfake/items, GET /_ocmfake/content?id=&rev=,
GET /_ocmfake/calls, POST /_ocmfake/calls/reset, GET and POST /_ocmfake/faults, GET and
POST /_ocmfake/quirks, POST /_ocmfake/folders, POST /_ocmfake/files?parentID=&name=,
POST /_ocmfake/remove, /restore, /purge, /reserve, POST /_ocmfake/tokens/expire,
POST /_ocmfake/links, /links/remove, POST /_ocmfake/applinks.

Flags:
`

func parseOCMArgs(args []string, getenv func(string) string, stdout, stderr io.Writer) (ocmConfig, error) {
	var cfg ocmConfig
	var secretFile, passwordFile, tokenFile string
	fs := flag.NewFlagSet("ghlfake --service ocm", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "address to listen on")
	fs.StringVar(&cfg.opts.ClientID, "client-id", "", "the identity domain application's client id (default $OCMFAKE_CLIENT_ID, else "+ocmtest.DefaultClientID+")")
	fs.StringVar(&secretFile, "client-secret-file", "", "read the client secret from this file (default $OCMFAKE_CLIENT_SECRET)")
	fs.StringVar(&cfg.opts.User, "user", ocmtest.DefaultUser, "the account's login name (tokens act as it)")
	fs.StringVar(&passwordFile, "password-file", "", "read the password grant's password from this file (default $OCMFAKE_PASSWORD)")
	fs.StringVar(&tokenFile, "token-file", "", "read a static bearer token from this file (default $OCMFAKE_TOKEN)")
	fs.DurationVar(&cfg.opts.TokenLife, "token-life", ocmtest.DefaultTokenLife, "how long a token of the token endpoint lives")
	fs.IntVar(&cfg.opts.VersionCap, "version-cap", 0, "versions kept per file, the oldest deleted (0: no cap)")
	fs.BoolVar(&cfg.demo, "demo", false, "fill the library with the demo and open a public link")
	fs.Float64Var(&cfg.faults.Fault500, "fault-500", 0, "fraction of API requests answered 500")
	fs.Float64Var(&cfg.faults.FaultCut, "fault-cut", 0, "fraction of API requests carried out and then cut")
	fs.Float64Var(&cfg.faults.Fault429, "fault-429", 0, "fraction of API requests answered 429 (Retry-After: 1)")
	fs.DurationVar(&cfg.faults.UploadDelay, "upload-delay", 0, "delay before an upload is stored")
	fs.BoolVar(&cfg.faults.Down, "down", false, "answer every request with 503")
	fs.Func("quirk", "turn on a quirk of the service's unknown behaviour; repeatable ("+strings.Join(ocmtest.KnownQuirks(), ", ")+")", func(v string) error {
		cfg.opts.Quirks = append(cfg.opts.Quirks, v)
		return nil
	})
	fs.BoolVar(&cfg.verbose, "v", false, "log every request")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), ocmUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return cfg, err
	}
	var err error
	if cfg.opts.ClientID == "" {
		cfg.opts.ClientID = getenv("OCMFAKE_CLIENT_ID")
	}
	if cfg.opts.ClientSecret, err = secretOf(secretFile, "OCMFAKE_CLIENT_SECRET", getenv); err != nil {
		return cfg, err
	}
	if cfg.opts.Password, err = secretOf(passwordFile, "OCMFAKE_PASSWORD", getenv); err != nil {
		return cfg, err
	}
	if cfg.opts.StaticToken, err = secretOf(tokenFile, "OCMFAKE_TOKEN", getenv); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// secretOf reads a secret from file when one is named (it must hold
// one), else from the environment variable env ("" when unset).
func secretOf(file, env string, getenv func(string) string) (string, error) {
	if file == "" {
		return getenv(env), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s holds nothing", file)
	}
	return v, nil
}

// runOCM serves the OCM fake until ctx ends.
func runOCM(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseOCMArgs(args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	s, err := ocmtest.New(cfg.opts)
	if err != nil {
		return err
	}
	s.SetFaults(cfg.faults)
	return serveHandler(ctx, cfg.listen, s, newLogger(stderr, cfg.verbose), stdout, func(addr string) string {
		s.SetAddr(addr)
		banner := "ghlfake listening on " + s.URL + "\napi " + s.URL + ocmtest.BasePath + "\ntoken endpoint " + s.URL + ocmtest.TokenPath + "\n"
		if cfg.demo {
			d := s.SeedDemo()
			banner += "demo public link " + d.LinkID + " over folder " + d.SharedID + "\n"
		}
		return banner
	})
}
