package ghltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Accepted values of the Version header.
var apiVersions = []string{"2021-07-28", "v3"}

// maxJSONBody bounds JSON request bodies (the service's body parser has a
// limit too).
const maxJSONBody = 1 << 20

// route is a matched API endpoint.
type route struct {
	key    string // Stats.ByEndpoint key
	handle func(s *Server, w http.ResponseWriter, r *http.Request, c call)
	id     string   // the {id} path segment
	auth   authKind // the tokens it takes
	scope  string   // the scope it needs
}

// authKind is the kind of token an endpoint takes.
type authKind int

const (
	authLocation    authKind = iota // a location's token (the media endpoints)
	authNone                        // none: the client's credentials are in the body (/oauth/token)
	authAgencyOAuth                 // an agency's OAuth token ("Agency-Access-Only")
	authAny                         // an agency's or a location's token
)

// call is what a handler is given besides the request.
type call struct {
	id  string    // the {id} path segment
	loc *Location // the location the token is for; nil for an agency's token
	who principal
}

// matchRoute finds the endpoint of a request; ok is false for a path the
// service has no route for. Like Express, a trailing slash is ignored.
func matchRoute(method, p string) (route, bool) {
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	switch {
	case method == http.MethodGet && p == "/medias/files":
		return route{key: EndpointList, handle: (*Server).handleList, scope: ScopeMediasReadonly}, true
	case method == http.MethodPost && p == "/medias/folder":
		return route{key: EndpointFolder, handle: (*Server).handleCreateFolder, scope: ScopeMediasWrite}, true
	case method == http.MethodPost && p == "/medias/upload-file":
		return route{key: EndpointUpload, handle: (*Server).handleUpload, scope: ScopeMediasWrite}, true
	case method == http.MethodPut && p == "/medias/update-files":
		return route{key: EndpointUpdateMany, handle: (*Server).handleUpdateMany, scope: ScopeMediasWrite}, true
	case method == http.MethodPut && p == "/medias/delete-files":
		return route{key: EndpointDeleteMany, handle: (*Server).handleDeleteMany, scope: ScopeMediasWrite}, true
	case method == http.MethodPost && p == "/oauth/token":
		return route{key: EndpointOAuthToken, handle: (*Server).handleToken, auth: authNone}, true
	case method == http.MethodPost && p == "/oauth/locationToken":
		return route{key: EndpointLocationToken, handle: (*Server).handleLocationToken, auth: authAgencyOAuth, scope: ScopeOAuthWrite}, true
	case method == http.MethodGet && p == "/oauth/installedLocations":
		return route{key: EndpointInstalledLocations, handle: (*Server).handleInstalledLocations, auth: authAgencyOAuth, scope: ScopeOAuthReadonly}, true
	case method == http.MethodGet && p == "/locations/search":
		return route{key: EndpointSearchLocations, handle: (*Server).handleSearchLocations, auth: authAny, scope: ScopeLocationsReadonly}, true
	}
	if rt, ok := matchCSVRoute(method, p); ok {
		return rt, true
	}
	// As in Express, the path is matched as it was sent, and the {id}
	// segment is then unescaped: an id may hold an escaped '/'.
	raw, ok := strings.CutPrefix(p, "/medias/")
	if !ok || raw == "" || strings.Contains(raw, "/") {
		return route{}, false
	}
	id, err := url.PathUnescape(raw)
	if err != nil {
		return route{}, false
	}
	switch method {
	case http.MethodPost:
		return route{key: EndpointRename, handle: (*Server).handleRename, id: id, scope: ScopeMediasWrite}, true
	case http.MethodDelete:
		return route{key: EndpointDelete, handle: (*Server).handleDelete, id: id, scope: ScopeMediasWrite}, true
	}
	return route{}, false
}

// serveAPI runs one API request through the fault injection, the header
// checks and the rate limiter, in that order, and then its endpoint.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rt, found := matchRoute(r.Method, r.URL.EscapedPath())
	s.stats.api(rt.key)
	if skew := s.quirkSet().skew; skew != 0 {
		// net/http keeps a Date the handler set.
		w.Header().Set("Date", s.serverNow().UTC().Format(http.TimeFormat))
	}

	f := s.Faults()
	if f.Down || (f.FailDeletes && (rt.key == EndpointDelete || rt.key == EndpointDeleteMany)) {
		errDown(w)
		return
	}
	if f.SpareOAuth && rt.auth != authLocation {
		f = Faults{}
	}
	if !sleepCtx(r.Context(), time.Duration(f.Latency)) {
		return
	}
	if s.draw(f.Fault500) {
		writeJSON(w, http.StatusInternalServerError, object{
			{"statusCode", 500}, {"message", "Internal server error"}, {"traceId", s.traceID()},
		})
		return
	}
	if s.draw(f.Fault429) {
		if !f.Fault429NoRetryAfter {
			w.Header().Set("Retry-After", f.retryAfter())
		}
		writeError(w, http.StatusTooManyRequests, "Too many requests", "")
		return
	}
	if s.draw(f.FaultCut) || s.takeCut(rt.key) {
		// Carry the request out, then drop the connection unanswered.
		defer cutConnection(w, false)
		w = &discardWriter{h: http.Header{}}
	}

	if r.Header.Get("User-Agent") == "" {
		errForbiddenUA(w)
		return
	}
	if !found || routeRefused(s.quirkSet(), rt.key) {
		errRoute(w, r)
		return
	}
	if rt.auth == authNone {
		rt.handle(s, w, r, call{})
		return
	}
	who, ok := s.authenticate(r)
	if !ok {
		errUnauthorized(w)
		return
	}
	lim := s.company
	if who.loc == nil {
		s.oauth.companyRequests.Add(1)
	} else {
		who.loc.requests.Add(1)
		lim = who.loc.limiter
		if who.loc.down.Load() {
			errDown(w)
			return
		}
	}
	if !who.allowed(rt) {
		s.oauth.countScopeRefusal()
		errScope(w)
		return
	}
	if v := r.Header.Get("Version"); f.RefuseVersion || !slices.Contains(apiVersions, v) {
		lim.setHeaders(w.Header(), lim.peek())
		errVersion(w, v, s.quirkSet().has(QuirkVersion401))
		return
	}
	d := lim.admit()
	lim.setHeaders(w.Header(), d)
	if !d.ok {
		s.stats.limited()
		if d.daily {
			writeError(w, http.StatusTooManyRequests, "Daily API limit exceeded", "")
		} else {
			w.Header().Set("Retry-After", strconv.Itoa(d.retryAfter))
			writeError(w, http.StatusTooManyRequests, "Too many requests", "")
		}
		return
	}
	rt.handle(s, w, r, call{id: rt.id, loc: who.loc, who: who})
}

// checker collects class-validator style messages ("name should not be
// empty") for a 422 answer.
type checker struct {
	msgs []string
}

func (c *checker) add(msg string) { c.msgs = append(c.msgs, msg) }

func (c *checker) failed() bool { return len(c.msgs) > 0 }

// oneOf checks a required value against its allowed values.
func (c *checker) oneOf(name, v string, allowed ...string) {
	switch {
	case v == "":
		c.add(name + " should not be empty")
	case !slices.Contains(allowed, v):
		c.add(name + " must be one of the following values: " + strings.Join(allowed, ", "))
	}
}

// required checks that a value is present and not empty.
func (c *checker) required(name, v string) {
	if v == "" {
		c.add(name + " should not be empty")
	}
}

// onlyKeys reports every key not in allowed, as the service's
// forbidNonWhitelisted validation does: "property foo should not exist".
func (c *checker) onlyKeys(prefix string, keys []string, allowed ...string) {
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			c.add(prefix + "property " + k + " should not exist")
		}
	}
}

// queryFields reads string query parameters; only the first value of a
// repeated parameter counts.
type queryFields struct {
	q url.Values
}

func (qf queryFields) get(name string) string { return qf.q.Get(name) }

func (qf queryFields) keys() []string {
	var ks []string
	for k := range qf.q {
		ks = append(ks, k)
	}
	return ks
}

// jsonFields is a decoded JSON object body.
type jsonFields map[string]any

// str returns a string member, noting a message when it is required and
// missing or empty, or present and not a string.
func (jf jsonFields) str(c *checker, prefix, name string, required bool) string {
	v, ok := jf[name]
	if !ok || v == nil {
		if required {
			c.add(prefix + name + " should not be empty")
		}
		return ""
	}
	s, isString := v.(string)
	if !isString {
		c.add(prefix + name + " must be a string")
		return ""
	}
	if required && s == "" {
		c.add(prefix + name + " should not be empty")
	}
	return s
}

// objects returns an array member whose elements are objects.
func (jf jsonFields) objects(c *checker, name string) []jsonFields {
	v, ok := jf[name]
	if !ok || v == nil {
		c.add(name + " should not be empty")
		return nil
	}
	arr, isArray := v.([]any)
	if !isArray {
		c.add(name + " must be an array")
		return nil
	}
	if len(arr) == 0 {
		c.add(name + " should not be empty")
		return nil
	}
	out := make([]jsonFields, len(arr))
	for i, e := range arr {
		m, isObject := e.(map[string]any)
		if !isObject {
			c.add(name + "." + strconv.Itoa(i) + " must be an object")
			continue
		}
		out[i] = m
	}
	return out
}

func (jf jsonFields) keys() []string {
	var ks []string
	for k := range jf {
		ks = append(ks, k)
	}
	return ks
}

var errBodyTooBig = errors.New("body too large")

// readJSON decodes a JSON object body. A body that is not declared as JSON
// is read as {} (the service's body parser ignores it), so its fields come
// out missing. It answers 400 (or 413) itself and reports false when the
// body is not a JSON object.
func readJSON(w http.ResponseWriter, r *http.Request) (jsonFields, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err == nil && len(b) > maxJSONBody {
		err = errBodyTooBig
	}
	if err != nil {
		if errors.Is(err, errBodyTooBig) {
			errBodyTooLarge(w)
		} else {
			errBadRequest(w)
		}
		return nil, false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return jsonFields{}, true
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return jsonFields{}, true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil || dec.Decode(new(any)) != io.EOF {
		errBadRequest(w)
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		errBadRequest(w)
		return nil, false
	}
	return m, true
}
