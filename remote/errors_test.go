package remote

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The kinds an *Error matches, by its status and what the backend read
// into it: a 404 the service answers for a route it lacks is never "not
// found", a daily 429 is the quota, a 401 of a cause no token cures is
// incurable.
func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		e          *Error
		is, isNot  []error
		retryable  bool
		statusText string
	}{
		{&Error{Status: 404}, []error{ErrNotFound}, []error{ErrRouteMissing, ErrInvalid}, false, "Not Found"},
		{&Error{Status: 410}, []error{ErrNotFound}, nil, false, "Gone"},
		{&Error{Status: 404, NoRoute: true}, []error{ErrRouteMissing}, []error{ErrNotFound}, false, ""},
		{&Error{Status: 400}, []error{ErrInvalid}, []error{ErrNotFound}, false, ""},
		{&Error{Status: 422}, []error{ErrInvalid}, nil, false, ""},
		{&Error{Status: 413}, []error{ErrTooLarge}, nil, false, ""},
		{&Error{Status: 409}, []error{ErrExists}, []error{ErrInvalid, ErrNotFound}, false, "Conflict"},
		{&Error{Status: 403}, []error{ErrForbidden}, []error{ErrUnauthorized}, false, ""},
		{&Error{Status: 401}, []error{ErrUnauthorized}, []error{ErrIncurable, ErrScope}, false, ""},
		{&Error{Status: 401, Cause: ErrScope}, []error{ErrUnauthorized, ErrIncurable, ErrScope}, []error{ErrVersion}, false, ""},
		{&Error{Status: 429}, []error{ErrRateLimited}, []error{ErrQuotaExhausted}, true, ""},
		{&Error{Status: 429, Daily: true}, []error{ErrRateLimited, ErrQuotaExhausted}, nil, false, ""},
		{&Error{Status: 503}, []error{ErrUnavailable}, nil, true, ""},
		{&Error{Status: 501}, []error{ErrUnavailable}, nil, false, ""},
		{&Error{Status: 408}, nil, []error{ErrUnavailable}, true, ""},
	} {
		for _, k := range tc.is {
			if !errors.Is(tc.e, k) {
				t.Errorf("%d %+v is not %v", tc.e.Status, tc.e, k)
			}
		}
		for _, k := range tc.isNot {
			if errors.Is(tc.e, k) {
				t.Errorf("%d %+v is %v", tc.e.Status, tc.e, k)
			}
		}
		if tc.e.retryable() != tc.retryable {
			t.Errorf("%d %+v: retryable %v", tc.e.Status, tc.e, !tc.retryable)
		}
		if tc.statusText != "" && !strings.Contains(tc.e.Error(), tc.statusText) {
			t.Errorf("%q does not name the status", tc.e.Error())
		}
	}
}

// ErrorOf, the default reading of a failed answer: its status and
// Retry-After, and the body's first 200 characters.
func TestErrorOf(t *testing.T) {
	resp := &http.Response{StatusCode: 502, Header: http.Header{"Retry-After": {"7"}}}
	e := ErrorOf("GET", "/x", resp, []byte("  <html>"+strings.Repeat("b", 300)+"</html>\n"))
	if e.Status != 502 || e.RetryAfter != 7*time.Second || e.Method != "GET" || e.Endpoint != "/x" {
		t.Errorf("%+v", e)
	}
	if !strings.HasPrefix(e.Message, "<html>bbb") || len(e.Message) != 200+len("…") {
		t.Errorf("message %q", e.Message)
	}
	if e := ErrorOf("HEAD", "storage", &http.Response{StatusCode: 404, Header: http.Header{}}, nil); e.Message != "" || !errors.Is(e, ErrNotFound) {
		t.Errorf("%+v", e)
	}
}

// A message the server wrote reaches a log line or a terminal (ghlfs
// social-csv import prints it) only cleaned: no control character (an
// escape sequence would drive the terminal), invalid UTF-8 dropped, and
// bounded, however the backend read it from the body.
func TestErrorMessageIsCleaned(t *testing.T) {
	e := &Error{Method: "GET", Endpoint: "/x", Status: 400,
		Message: "bad\x1b]0;owned\x07 row\r\n" + strings.Repeat("m", 10_000) + "\xff", TraceID: "t\x1b[2J"}
	s := e.Error()
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
		t.Errorf("control characters in %q", s)
	}
	if len(s) > 2*maxErrorText+100 {
		t.Errorf("%d bytes", len(s))
	}
	if !strings.Contains(s, "bad]0;owned row") {
		t.Errorf("the message is lost: %.80q", s)
	}
}
