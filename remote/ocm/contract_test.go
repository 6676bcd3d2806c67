package ocm_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ocm"
	"github.com/ghlfs/ghlfs/remote/ocm/ocmtest"
	"github.com/ghlfs/ghlfs/remote/remotetest"
)

// The backend keeps the contract against its fake with no quirk on, and
// with each quirk on alone (a parameterised one at a value that bites:
// two versions kept, pages of three items).

const contractPage = 10

// quirkValue is the value a parameterised quirk is run at.
var quirkValue = map[string]string{ocmtest.QuirkVersionCap: "2", ocmtest.QuirkPageCap: "3"}

// fallbacks are, per quirk, the errors the backend documents for a call
// the quirk makes impossible.
var fallbacks = map[string]map[remotetest.Op][]error{}

// knownBugs are the cases the backend fails under a quirk, by quirk.
var knownBugs = map[string]map[string]string{}

// contractQuirks are the quirks the contract runs under: each known one,
// its parameter set.
func contractQuirks() []string {
	var out []string
	for _, q := range ocmtest.KnownQuirks() {
		if name, _, ok := strings.Cut(q, "="); ok {
			q = name + "=" + quirkValue[name]
		}
		out = append(out, q)
	}
	return out
}

func TestContract(t *testing.T) {
	for _, q := range append([]string{""}, contractQuirks()...) {
		name := q
		if name == "" {
			name = "no-quirk"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			remotetest.Run(t, contractFixture(q))
		})
	}
}

// start starts a fake with options o and a backend against it, through
// the identity domain's client credentials.
func start(t *testing.T, o ocmtest.Options, cfg ocm.Config) (*ocmtest.Server, *ocm.Backend) {
	t.Helper()
	srv, err := ocmtest.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg.APIURL = srv.URL
	if cfg.Token == "" && cfg.LinkID == "" && cfg.AppLinkID == "" {
		cfg.TokenURL, cfg.ClientID, cfg.ClientSecret, cfg.Scope = srv.URL+ocmtest.TokenPath, srv.ClientID(), srv.ClientSecret(), srv.Scope()
	}
	cfg.RateLimit = -1
	if cfg.PageSize == 0 {
		cfg.PageSize = contractPage
	}
	if cfg.RetryTimeout == 0 {
		cfg.RetryTimeout = 20 * time.Second
	}
	b, err := ocm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, b
}

func contractFixture(quirk string) remotetest.Fixture {
	return func(t *testing.T) remotetest.Instance {
		var quirks []string
		if quirk != "" {
			quirks = []string{quirk}
		}
		srv, b := start(t, ocmtest.Options{Quirks: quirks}, ocm.Config{})
		name, _, _ := strings.Cut(quirk, "=")
		return remotetest.Instance{Backend: b, Fake: ocmtest.ContractFake{Server: srv}, PageSize: contractPage,
			MayFail: fallbacks[name], Known: knownBugs[name]}
	}
}

// reader opens data.
func reader(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}
