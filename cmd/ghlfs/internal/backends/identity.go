package backends

import (
	"net"
	"net/url"
	"strings"
)

// ID is what names a library in its cache dir (cache.Options' Location,
// API, LegacyAPI, EarlierAPI), and what the first call checks.
type ID struct {
	Location, API, Legacy, Earlier string
	Checked                        string // "token and location", ...
}

// APIIdentity names the service behind an API URL: the library's
// identity, with the location, in its saved listings, the write-back
// queue's records (never uploaded to another service) and the cache dir's
// owner. It is the URL's scheme, host, port and path: two services on one
// host (two fakes on loopback, say) are two libraries. It is normalised
// as a URL's authority is compared: the host in lower case, a default
// port (443 for https, 80 for http) left out, so that https://HOST:443
// and https://host are one library. Credentials and a query stay out: it
// is logged.
func APIIdentity(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return "(unparsable API URL)" // ghl.New refuses it first
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		port = ""
	}
	switch {
	case port != "":
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"):
		host = "[" + host + "]" // an IPv6 address
	}
	return strings.TrimRight(u.Scheme+"://"+host+u.Path, "/")
}

// EarlierAPIIdentity is the identity the previous ghlfs gave this very
// API URL, before identities were normalised (its host as written, a
// default port kept), when it differs from APIIdentity's; "" otherwise.
// It names the same service: what a cache dir holds under it is this
// library's.
func EarlierAPIIdentity(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return ""
	}
	if id := strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"); id != APIIdentity(apiURL) {
		return id
	}
	return ""
}

// LegacyAPIIdentity is the identity ghlfs gave a service on loopback
// before it kept the port (issue 16): its scheme and host alone; "" for
// any other service, whose identity did not change. What a cache dir
// holds under it may be another server's: records are set aside, never
// uploaded, and saved listings are not shown.
func LegacyAPIIdentity(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
		return u.Scheme + "://" + u.Hostname()
	}
	return ""
}
