package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Kinds of failure the layers above tell apart. An *Error matches the one
// that fits its status with errors.Is.
var (
	ErrNotFound       = errors.New("not found")
	ErrUnauthorized   = errors.New("unauthorized")
	ErrForbidden      = errors.New("forbidden")
	ErrInvalid        = errors.New("rejected as invalid")
	ErrTooLarge       = errors.New("too large")
	ErrRateLimited    = errors.New("rate limited")
	ErrQuotaExhausted = errors.New("daily API quota exhausted")
	ErrUnavailable    = errors.New("service unavailable")
	// ErrListTooLong: a listing brought more items than the client takes
	// (Config.MaxListItems).
	ErrListTooLong = errors.New("listing too long")
	// ErrAnswerTooLarge: one answer's body was larger than MaxAnswerBytes.
	ErrAnswerTooLarge = errors.New("answer too large")
	// ErrListUnstable: no pass over a listing's pages lined up (see
	// ListEach), so what was read may miss items.
	ErrListUnstable = errors.New("listing unstable")
	// ErrOrderIgnored: a listing by last change (ListUpdated) came back in
	// another order, or without updatedAt, or the server refused that
	// order: the caller must find changes another way.
	ErrOrderIgnored = errors.New("the server does not list by updatedAt")
	// ErrRouteMissing: the service answered a call as a path it has no
	// route for (NestJS's 404 "Cannot POST /medias/x"), not as an item it
	// does not have: the call can never work for this token, and says
	// nothing of the item. It never matches ErrNotFound.
	ErrRouteMissing = errors.New("the API has no such route for this token")
	// ErrUnpaged: a listing by last change (ListUpdated) came as the whole
	// library in one answer, too large to ask for at every poll: the
	// caller should find changes another way.
	ErrUnpaged = errors.New("the server answers the whole library at once")
)

// Causes of a 401 that another token of the same login cannot cure (a
// refresh, a token file read again, a location token minted again): the
// call itself asks what the token may not give. An *Error whose message
// names one matches it, and ErrIncurable, with errors.Is (as well as
// ErrUnauthorized). Field reports (../shared/ghl-field-reports.md) give
// the service's words: "The token is not authorized for this scope.",
// "Your token grants access to location X but you're requesting Y", and
// "version header is invalid" / "was not found".
var (
	// ErrIncurable matches each of the causes below.
	ErrIncurable = errors.New("refused for a reason a new token cannot cure")
	// ErrScope: the token lacks the scope the endpoint needs (or is of
	// the wrong kind for it: an agency's token on a location's endpoint).
	ErrScope = errors.New("the token is not authorized for this scope")
	// ErrWrongLocation: the token is for another location than the one
	// asked for.
	ErrWrongLocation = errors.New("the token is for another location")
	// ErrVersion: the API refused the Version header sent.
	ErrVersion = errors.New("the API refused the Version header")
)

// Error is a non-2xx answer of the API or the storage host.
type Error struct {
	Method   string
	Endpoint string // the path pattern, e.g. "/medias/{id}"
	Status   int
	// Message is the API's "message", with an array joined by "; ".
	Message string
	// Messages holds each message when the API sent an array.
	Messages []string
	// Kind is the API's "error" field, e.g. "Unauthorized".
	Kind    string
	TraceID string
	// RetryAfter is the Retry-After header, zero when absent.
	RetryAfter time.Duration
	// Daily is set on a 429 caused by the daily quota.
	Daily bool
	// Cause is, for a 401 whose message says why in a way no new token
	// can cure, ErrScope, ErrWrongLocation or ErrVersion; else nil.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.Endpoint, e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.TraceID != "" {
		b.WriteString(" (traceId " + e.TraceID + ")")
	}
	return b.String()
}

// Is matches the sentinel errors of this package.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return (e.Status == http.StatusNotFound || e.Status == http.StatusGone) && !e.routeMissing()
	case ErrRouteMissing:
		return e.routeMissing()
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrInvalid:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
	case ErrTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrQuotaExhausted:
		return e.Status == http.StatusTooManyRequests && e.Daily
	case ErrUnavailable:
		return e.Status >= 500
	case ErrIncurable:
		return e.Cause != nil
	}
	return e.Cause != nil && target == e.Cause
}

// maxCauseMessage bounds the message read for a 401's cause: the
// service's are one sentence.
const maxCauseMessage = 1024

// authCause reads a 401's message for a cause a new token cannot cure
// (ErrScope, ErrWrongLocation, ErrVersion), loosely, without regard to
// case: the service's words are known from field reports only, and may
// change. A message that names none (an expired, revoked or unknown
// token: "Invalid JWT", "Invalid token: access token is invalid") gives
// nil, and the token is renewed as before.
func authCause(status int, msg string) error {
	if status != http.StatusUnauthorized || len(msg) > maxCauseMessage {
		return nil
	}
	m := strings.ToLower(msg)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(m, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("expired", "invalid token", "invalid jwt", "jwt expired", "token is invalid", "malformed"):
		// The token itself: a new one may well do.
		return nil
	case has("version") && has("header", "invalid", "not found", "missing", "unsupported", "required"):
		return ErrVersion
	case has("scope"):
		return ErrScope
	case has("location") && has("grants access", "requesting", "not have access", "no access", "does not belong", "another location", "not authorized for"):
		return ErrWrongLocation
	}
	return nil
}

// routeMissing reports whether a 404 is the framework's answer to a path
// it has no route for ("Cannot POST /medias/x"), rather than the
// endpoint's answer that an item is unknown ("Media not found").
func (e *Error) routeMissing() bool {
	return e.Status == http.StatusNotFound && e.Method != "" && strings.HasPrefix(e.Message, "Cannot "+e.Method+" /")
}

// retryable reports whether the same request may succeed if sent again.
func (e *Error) retryable() bool {
	if e.Status == http.StatusTooManyRequests {
		return !e.Daily
	}
	return (e.Status >= 500 && e.Status != http.StatusNotImplemented) || e.Status == http.StatusRequestTimeout
}

// parseError builds an *Error from a failed response and its body.
func parseError(method, endpoint string, resp *http.Response, body []byte) *Error {
	e := &Error{Method: method, Endpoint: endpoint, Status: resp.StatusCode}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("X-RateLimit-Daily-Remaining") == "0" {
		e.Daily = true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) == nil {
		if raw, ok := m["message"]; ok {
			var s string
			var list []string
			switch {
			case json.Unmarshal(raw, &s) == nil:
				e.Message = s
			case json.Unmarshal(raw, &list) == nil:
				e.Messages = list
				e.Message = strings.Join(list, "; ")
			default:
				e.Message = string(bytes.TrimSpace(raw))
			}
		}
		e.Kind = firstString(m["error"])
		e.TraceID = firstString(m["traceId"])
		if e.Message == "" {
			e.Message = e.Kind
		}
	} else if t := strings.TrimSpace(string(body)); t != "" {
		// Not JSON (a proxy's page, a storage host's XML): keep a short excerpt.
		if len(t) > 200 {
			t = t[:200] + "…"
		}
		e.Message = t
	}
	if e.Status == http.StatusTooManyRequests && strings.Contains(strings.ToLower(e.Message), "daily") {
		e.Daily = true
	}
	e.Cause = authCause(e.Status, e.Message)
	return e
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var secs float64
	if _, err := fmt.Sscanf(v, "%g", &secs); err == nil && secs >= 0 {
		// Clamped before the conversion: a huge value (or Inf) would
		// overflow to a negative wait and slip past the cap.
		return time.Duration(min(secs, 1e6) * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
