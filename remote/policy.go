package remote

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Where requests may go. A file's url comes from the server and is
// untrusted: file bytes are fetched only over https from the storage hosts
// (CoreConfig.StorageHosts: the service's own and the user's), and a
// redirect is followed only to such a host. Plain http, and the API's own host and port as a
// storage host, are allowed only when the API itself is on loopback (tests,
// the demo). API requests follow redirects only within the API's scheme,
// host and port, so the token never goes anywhere else.

// ErrRefused matches a request this client would not send: a file url off
// the storage allow-list, or a redirect it will not follow. Nothing was
// sent, and sending it again cannot succeed.
var ErrRefused = errors.New("refused")

// RefusedError is a url this client will not fetch, and why.
type RefusedError struct {
	URL    string // without query, fragment or userinfo
	Reason string
}

func (e *RefusedError) Error() string { return e.URL + ": " + e.Reason }

// Is matches ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// maxRedirects bounds a chain of redirects, as net/http's default does.
const maxRedirects = 10

// hostPort is one entry of the storage allow-list; an empty port matches
// the scheme's default port.
type hostPort struct{ host, port string }

// storagePolicy decides which urls file bytes may be fetched from.
type storagePolicy struct {
	hosts []hostPort
	// apiHost is the API's host:port when the API is on loopback: then
	// plain http, and the API's own port on loopback (by any loopback
	// name: localhost, 127.0.0.1, [::1]) as a storage host, are allowed.
	// Empty otherwise.
	apiHost string
	apiPort string
}

// newStoragePolicy allows hosts, and the API's own host when it is on
// loopback.
func newStoragePolicy(api *url.URL, hosts []string) (*storagePolicy, error) {
	p := &storagePolicy{}
	if isLoopback(api.Hostname()) {
		p.apiHost = strings.ToLower(api.Host)
		p.apiPort = api.Port()
		if p.apiPort == "" {
			p.apiPort = defaultPort(api.Scheme)
		}
	}
	for _, h := range hosts {
		hp, err := parseStorageHost(h)
		if err != nil {
			return nil, err
		}
		if isLoopback(hp.host) && p.apiHost == "" {
			return nil, fmt.Errorf("storage host %q is on loopback, which is allowed only when the API is too", h)
		}
		p.hosts = append(p.hosts, hp)
	}
	return p, nil
}

// parseStorageHost reads "host" or "host:port".
func parseStorageHost(s string) (hostPort, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	bad := func(why string) (hostPort, error) {
		return hostPort{}, fmt.Errorf("storage host %q: %s (give a host name, as in storage.googleapis.com, or host:port)", s, why)
	}
	if s == "" || strings.ContainsAny(s, "/?#@ \t") {
		return bad("not a host name")
	}
	if h, port, err := net.SplitHostPort(s); err == nil {
		if h == "" || port == "" {
			return bad("empty host or port")
		}
		return hostPort{h, port}, nil
	}
	h := strings.Trim(s, "[]")
	if strings.Contains(h, ":") && net.ParseIP(h) == nil {
		return bad("bad port")
	}
	return hostPort{h, ""}, nil
}

// check returns a *RefusedError when raw may not be fetched.
func (p *storagePolicy) check(raw string) error {
	refuse := func(why string) error { return &RefusedError{URL: redactURL(raw), Reason: why} }
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return refuse("not an absolute url")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if p.apiHost == "" {
			return refuse("file bytes are fetched only over https")
		}
	default:
		return refuse("scheme " + u.Scheme + " is not fetched")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if p.apiHost != "" && isLoopback(host) && cmp.Or(port, defaultPort(u.Scheme)) == p.apiPort {
		return nil
	}
	for _, hp := range p.hosts {
		if hp.host != host {
			continue
		}
		if hp.port == port || (hp.port == "" && (port == "" || port == defaultPort(u.Scheme))) {
			return nil
		}
	}
	return refuse(fmt.Sprintf("host %s is not on the storage allow-list (%s)", u.Host, p.list()))
}

func (p *storagePolicy) list() string {
	var out []string
	if p.apiHost != "" {
		out = append(out, p.apiHost)
	}
	for _, hp := range p.hosts {
		if hp.port != "" {
			out = append(out, net.JoinHostPort(hp.host, hp.port))
		} else {
			out = append(out, hp.host)
		}
	}
	return strings.Join(out, ", ")
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// isLoopback reports whether host (no port) names this machine.
func isLoopback(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "localhost" {
		return true // x.localhost is left to DNS by Go's resolver: not trusted
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckAPIURL refuses an API base that is not https, unless on loopback.
func CheckAPIURL(u *url.URL) error { return checkAPIURL(u) }

func checkAPIURL(u *url.URL) error {
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil
	}
	return fmt.Errorf("remote: API URL %s: must be https (plain http only for a server on loopback)", redactURL(u.String()))
}

// storageRedirect follows a storage redirect only to an allowed url, and
// drops the Referer, which would carry the signed url to the next host.
func (p *storagePolicy) storageRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return &RefusedError{URL: redactURL(via[0].URL.String()), Reason: fmt.Sprintf("more than %d redirects", maxRedirects)}
	}
	if err := p.check(req.URL.String()); err != nil {
		var r *RefusedError
		if errors.As(err, &r) {
			r.Reason = "redirected there from " + redactURL(via[0].URL.String()) + ": " + r.Reason
		}
		return err
	}
	req.Header.Del("Referer")
	req.Header.Del("Authorization") // never set on storage requests; stays so
	return nil
}

// APIRedirect is an http.Client's CheckRedirect for requests that carry
// credentials: it follows a redirect only within the API's scheme, host
// and port, so that the token (and an upload's bytes) never go anywhere
// else. net/http alone would keep the token on a redirect to another
// port or scheme of the same host, or to a subdomain.
func APIRedirect(req *http.Request, via []*http.Request) error { return apiRedirect(req, via) }

func apiRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if len(via) >= maxRedirects {
		return &RefusedError{URL: redactURL(first.String()), Reason: fmt.Sprintf("more than %d redirects", maxRedirects)}
	}
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		req.Header.Del("Authorization")
		return &RefusedError{URL: redactURL(req.URL.String()),
			Reason: "the API redirected to another scheme or host; not followed, so the token goes nowhere else"}
	}
	req.Header.Del("Referer")
	return nil
}

// RedactURL drops a URL's query and fragment, where signed storage URLs
// keep their credentials, and any userinfo: what may go in a log line or
// an error.
func RedactURL(raw string) string { return redactURL(raw) }

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Unparsable: cut at the first ? or #, and drop what precedes an @.
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i] + "?…"
		}
		if i := strings.IndexByte(raw, '@'); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				raw = raw[:j+3] + raw[i+1:]
			}
		}
		return raw
	}
	hidden := u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	s := u.String()
	if hidden {
		s += "?…"
	}
	return s
}

// RedactErr strips query strings and userinfo from the urls an error of
// net/http carries (a *url.Error holds the whole url, signature and all),
// so that no error of a backend can put them in a log line.
func RedactErr(err error) error { return redactErr(err) }

func redactErr(err error) error {
	redactTree(err, 0)
	return err
}

func redactTree(err error, depth int) {
	if err == nil || depth > 32 {
		return
	}
	if ue, ok := err.(*url.Error); ok {
		ue.URL = redactURL(ue.URL)
	}
	switch w := err.(type) {
	case interface{ Unwrap() error }:
		redactTree(w.Unwrap(), depth+1)
	case interface{ Unwrap() []error }:
		for _, e := range w.Unwrap() {
			redactTree(e, depth+1)
		}
	}
}
