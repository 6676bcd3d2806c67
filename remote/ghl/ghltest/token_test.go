package ghltest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A rotated token: the old one gets 401 from the next request on, the new
// one works; the control endpoint never shows a token; an empty token
// restores the first.
func TestTokenRotation(t *testing.T) {
	s := start(t, Options{})
	s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, http.StatusOK)

	r := s.testDo(t, req{method: http.MethodPost, path: "/_ghlfake/token", json: map[string]string{"token": "pit-new"}}).expect(t, http.StatusOK)
	if strings.Contains(string(r.body), "pit-new") {
		t.Errorf("the answer shows the token: %s", r.body)
	}
	s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, http.StatusUnauthorized)
	s.testDo(t, req{path: "/medias/files", query: listQ("file", ""), headers: map[string]string{"Authorization": "Bearer pit-new"}}).expect(t, http.StatusOK)

	for _, bad := range []any{map[string]string{}, map[string]any{"token": 5}, map[string]string{"token": "a b"}, map[string]string{"token": "x", "other": "y"}} {
		s.testDo(t, req{method: http.MethodPost, path: "/_ghlfake/token", json: bad}).expect(t, http.StatusBadRequest)
	}
	s.testDo(t, req{path: "/_ghlfake/token"}).expect(t, http.StatusNotFound)

	s.SetToken("")
	s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, http.StatusOK)
}

// SetFileURL changes the url listings give, not the file's path, and the
// fake's storage still serves the file there.
func TestSetFileURL(t *testing.T) {
	s := start(t, Options{})
	id := s.AddFile("", "a.txt", "", []byte("abc"))
	s.SetFileURL(id, "http://192.0.2.1/elsewhere?X-Goog-Signature=sig")
	items := s.list(t, listQ("file", ""))
	if len(items) != 1 || items[0].URL != "http://192.0.2.1/elsewhere?X-Goog-Signature=sig" || !strings.HasSuffix(items[0].Path, id+".txt") {
		t.Fatalf("listing: %+v", items)
	}
	if it, _ := s.Item(id); it.URL != items[0].URL {
		t.Errorf("Item.URL %q", it.URL)
	}
	get(t, s.URL+"/storage/"+items[0].Path, nil).expect(t, http.StatusOK)
}

// Injected 429s announce the Retry-After they are told to, in whole
// seconds rounded up.
func TestFault429RetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", 24 * time.Hour: "86400", 1500 * time.Millisecond: "2"} {
		s := start(t, Options{Faults: Faults{Fault429: 1, Fault429RetryAfter: Duration(d)}})
		r := s.testDo(t, req{path: "/medias/files", query: listQ("file", "")}).expect(t, http.StatusTooManyRequests)
		if got := r.header.Get("Retry-After"); got != want {
			t.Errorf("%v: Retry-After %q, want %q", d, got, want)
		}
	}
	s := start(t, Options{})
	s.testDo(t, req{method: http.MethodPost, path: "/_ghlfake/faults", json: map[string]any{"fault_429_retry_after": "-1s"}}).expect(t, http.StatusBadRequest)
}
