package webdav

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/ghlfs/ghlfs/fs"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		in   string
		dirs []string
		base string
	}{
		{"/", nil, ""},
		{"", nil, ""},
		{"/a", nil, "a"},
		{"/a/b/c/", []string{"a", "b"}, "c"},
		{"/a/../b", nil, "b"},
		{"//a//b", []string{"a"}, "b"},
	} {
		dirs, base := split(c.in)
		if strings.Join(dirs, "|") != strings.Join(c.dirs, "|") || base != c.base {
			t.Errorf("split(%q) = %q, %q; want %q, %q", c.in, dirs, base, c.dirs, c.base)
		}
	}
}

func TestIsDotfile(t *testing.T) {
	for name, want := range map[string]bool{".DS_Store": true, "._photo.jpg": true, "._": true, ".hidden": false, "photo._x": false, "DS_Store": false} {
		if isDotfile(name) != want {
			t.Errorf("isDotfile(%q) = %v", name, !want)
		}
	}
}

func TestHtpasswd(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("pw1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ReadHtpasswd(strings.NewReader("# users\nann:" + string(h) + "\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, pass string
		want       bool
	}{{"ann", "pw1", true}, {"ann", "pw1", true}, {"ann", "pw2", false}, {"bob", "pw1", false}, {"", "", false}} {
		if got := a.check(c.user, c.pass); got != c.want {
			t.Errorf("check(%q, %q) = %v", c.user, c.pass, got)
		}
	}
	for _, bad := range []string{"ann:{SHA}abc=\n", "ann\n", "", "ann:$apr1$x$y\n"} {
		if _, err := ReadHtpasswd(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadHtpasswd(%q) took it", bad)
		}
	}
}

func TestAuthWrap(t *testing.T) {
	a, err := NewAuth("ann", "secret")
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := a.wrap(ok, slog.New(slog.DiscardHandler))
	for _, c := range []struct {
		user, pass string
		set        bool
		want       int
	}{{"", "", false, http.StatusUnauthorized}, {"ann", "nope", true, http.StatusUnauthorized}, {"ann", "secret", true, http.StatusTeapot}} {
		r := httptest.NewRequest("PROPFIND", "/", nil)
		if c.set {
			r.SetBasicAuth(c.user, c.pass)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s/%s: %d, want %d", c.user, c.pass, w.Code, c.want)
		}
		if w.Code == http.StatusUnauthorized && !strings.Contains(w.Header().Get("WWW-Authenticate"), "Basic") {
			t.Errorf("401 without a Basic challenge")
		}
	}
	if _, err := NewAuth("a:b", "x"); err == nil {
		t.Error("a user name with ':' taken")
	}
}

func TestRefuseInfinity(t *testing.T) {
	f := &FS{opts: Options{}, log: slog.New(slog.DiscardHandler)}
	h := f.Handler(nil)
	for _, depth := range []string{"", "infinity", "Infinity"} {
		r := httptest.NewRequest("PROPFIND", "/", nil)
		if depth != "" {
			r.Header.Set("Depth", depth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "<D:propfind-finite-depth/>") {
			t.Errorf("Depth %q: %d %s", depth, w.Code, w.Body)
		}
	}
	ro := &FS{opts: Options{ReadOnly: true}, log: slog.New(slog.DiscardHandler)}
	w := httptest.NewRecorder()
	ro.Handler(nil).ServeHTTP(w, httptest.NewRequest("PUT", "/x", strings.NewReader("x")))
	if w.Code != http.StatusForbidden {
		t.Errorf("PUT read-only: %d, want 403", w.Code)
	}
}

// An agency's root lists its locations under the mount's names (a '/'
// escaped, a shared name tagged) and takes no change; locations that
// failed to open (no store) are empty folders.
func TestAgencyRoot(t *testing.T) {
	locs := []Location{
		{Location: fs.Location{ID: "l1", Name: "Shop"}},
		{Location: fs.Location{ID: "l2", Name: "Shop"}},
		{Location: fs.Location{ID: "l3", Name: "A/B"}},
		{Location: fs.Location{ID: "l1", Name: "again"}},
	}
	h := NewAgency(locs, Options{}).Handler(nil)
	serve := func(method, p string, hdr ...string) *httptest.ResponseRecorder {
		var body io.Reader
		if method == "PUT" {
			body = strings.NewReader("x")
		}
		r := httptest.NewRequest(method, p, body)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := serve("PROPFIND", "/", "Depth", "1")
	if w.Code != http.StatusMultiStatus {
		t.Fatalf("PROPFIND /: %d", w.Code)
	}
	var got []string
	for _, m := range regexp.MustCompile(`<D:href>([^<]*)</D:href>`).FindAllStringSubmatch(w.Body.String(), -1) {
		p, err := url.PathUnescape(m[1])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	want := []string{"/", "/A／B/", "/Shop (l2)/", "/Shop/"}
	if slices.Sort(got); !slices.Equal(got, want) {
		t.Errorf("PROPFIND / lists %q, want %q", got, want)
	}
	if w := serve("PROPFIND", "/Shop", "Depth", "1"); w.Code != http.StatusMultiStatus || strings.Count(w.Body.String(), "<D:href>") != 1 {
		t.Errorf("PROPFIND of a failed location: %d %s", w.Code, w.Body)
	}
	for _, c := range []struct {
		method, path, dest string
		want               int
	}{
		{"PUT", "/a.txt", "", http.StatusForbidden},
		{"MKCOL", "/New", "", http.StatusForbidden},
		{"MKCOL", "/Shop", "", http.StatusForbidden},
		{"DELETE", "/Shop", "", http.StatusForbidden},
		{"DELETE", "/", "", http.StatusForbidden},
		{"LOCK", "/new.txt", "", http.StatusForbidden},
		{"MOVE", "/Shop", "/Other", http.StatusForbidden},
		{"MOVE", "/Shop/a", "/a", http.StatusForbidden},
		{"MOVE", "/Shop/a", "/A%EF%BC%8FB/a", http.StatusBadGateway},
		{"COPY", "/Shop/a", "/A%EF%BC%8FB/a", http.StatusBadGateway},
		{"GET", "/Nowhere/a", "", http.StatusNotFound},
		{"PUT", "/Shop/a", "", http.StatusForbidden},
		{"MKCOL", "/Shop/d", "", http.StatusForbidden},
		{"GET", "/Shop/a", "", http.StatusNotFound},
		{"MOVE", "/Shop/a", "/Shop/b", http.StatusForbidden},
	} {
		var hdr []string
		if c.dest != "" {
			hdr = []string{"Destination", "http://example.com" + c.dest}
		}
		if w := serve(c.method, c.path, hdr...); w.Code != c.want {
			t.Errorf("%s %s %s: %d, want %d", c.method, c.path, c.dest, w.Code, c.want)
		}
	}
}
