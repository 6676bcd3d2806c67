package remote

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/jonboulle/clockwork"
)

// ClientOptions are what every backend built on the core takes the same
// way (ImageKit's and OCM's Config embed them): how it sends (its user
// agent, HTTP client, pace and patience), how much it asks and takes (its
// page, its bounds) and where it logs and what clock it goes by. A mount
// makes them of its flags once (cmd/ghlfs); each backend fills what is
// left zero with its own defaults (Defaults).
type ClientOptions struct {
	UserAgent  string
	HTTPClient *http.Client
	// PageSize is the limit a listing asks for (default the backend's).
	PageSize int
	// RateLimit requests per RateWindow is the client's own budget for
	// API calls (default 20 a second: neither ImageKit nor OCM publishes
	// one); negative: none.
	RateLimit    int
	RateWindow   time.Duration
	RetryTimeout time.Duration // default 2m
	// MaxRetryAfter caps the pause a 429's wait (Retry-After, or the
	// service's own header) imposes (default 60s).
	MaxRetryAfter time.Duration
	// MaxUploadSize is the largest upload the backend claims to take
	// (default the backend's: a plan's limit, or none known).
	MaxUploadSize int64
	// MaxListItems bounds one listing (default DefaultMaxListItems).
	MaxListItems int
	Logger       *slog.Logger
	Clock        clockwork.Clock
}

// Defaults fills the options left zero: PageSize (also one over maxPage)
// with page, the rate with 20 a second, MaxListItems, a Logger that
// discards and the real Clock. MaxUploadSize and the core's own defaults
// (RetryTimeout, MaxRetryAfter) are left as they are.
func (o *ClientOptions) Defaults(page, maxPage int) {
	if o.PageSize <= 0 || o.PageSize > maxPage {
		o.PageSize = page
	}
	if o.RateLimit == 0 {
		o.RateLimit, o.RateWindow = 20, time.Second
	}
	if o.RateWindow <= 0 {
		o.RateWindow = time.Second
	}
	if o.MaxListItems == 0 {
		o.MaxListItems = DefaultMaxListItems
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
}

// CoreConfig is the request core's config of the options, for the API
// at base: the rest (its storage hosts, authorizer, hooks) is the
// backend's to add.
func (o *ClientOptions) CoreConfig(base *url.URL) CoreConfig {
	return CoreConfig{Base: base, UserAgent: o.UserAgent, HTTPClient: o.HTTPClient, RateLimit: o.RateLimit, RateWindow: o.RateWindow,
		RetryTimeout: o.RetryTimeout, MaxRetryAfter: o.MaxRetryAfter, Logger: o.Logger, Clock: o.Clock}
}
