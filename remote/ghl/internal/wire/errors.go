package wire

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/internal/loosejson"
)

// The hooks the request core reads this service by (remote.Hooks): its
// error bodies (NestJS's shape), and its rate-limit headers.

// ParseError builds an *Error from a failed response and its body: the
// NestJS shape, {"statusCode":..,"message":..,"error":..}, with a message
// that may be an array; anything else is kept as a short excerpt.
func ParseError(method, endpoint string, resp *http.Response, body []byte) *remote.Error {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		// Not JSON (a proxy's page, a storage host's XML): the core keeps
		// a short excerpt.
		e := remote.ErrorOf(method, endpoint, resp, body)
		readCauses(e, resp)
		return e
	}
	e := remote.ErrorOf(method, endpoint, resp, nil)
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
	e.Kind = loosejson.FirstString(m["error"])
	e.TraceID = loosejson.FirstString(m["traceId"])
	if e.Message == "" {
		e.Message = e.Kind
	}
	readCauses(e, resp)
	return e
}

// readCauses reads what a failed answer means beyond its status: a 429 of
// the daily quota (by its header or its message), a 401 of a cause no new
// token cures, a 404 of a route the service does not have.
func readCauses(e *remote.Error, resp *http.Response) {
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("X-RateLimit-Daily-Remaining") == "0" {
		e.Daily = true
	}
	if e.Status == http.StatusTooManyRequests && strings.Contains(strings.ToLower(e.Message), "daily") {
		e.Daily = true
	}
	e.Cause = AuthCause(e.Status, e.Message)
	e.NoRoute = routeMissing(e)
}

// maxCauseMessage bounds the message read for a 401's cause: the
// service's are one sentence.
const maxCauseMessage = 1024

// AuthCause reads a 401's message for a cause a new token cannot cure
// (remote.ErrScope, remote.ErrWrongLocation, remote.ErrVersion), loosely, without regard to
// case: the service's words are known from field reports only, and may
// change. A message that names none (an expired, revoked or unknown
// token: "Invalid JWT", "Invalid token: access token is invalid") gives
// nil, and the token is renewed as before.
func AuthCause(status int, msg string) error {
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
		return remote.ErrVersion
	case has("scope"):
		return remote.ErrScope
	case has("location") && has("grants access", "requesting", "not have access", "no access", "does not belong", "another location", "not authorized for"):
		return remote.ErrWrongLocation
	}
	return nil
}

// routeMissing reports whether a 404 is the framework's answer to a path
// it has no route for ("Cannot POST /medias/x"), rather than the
// endpoint's answer that an item is unknown ("Media not found").
func routeMissing(e *remote.Error) bool {
	return e.Status == http.StatusNotFound && e.Method != "" && strings.HasPrefix(e.Message, "Cannot "+e.Method+" /")
}

// RateWindow reads the burst limit's headers for the pacer:
// X-RateLimit-Remaining of X-RateLimit-Max requests are left in a window
// of X-RateLimit-Interval-Milliseconds.
func RateWindow(h http.Header) (remote.RateWindow, bool) {
	remaining, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	maxReq, err2 := strconv.Atoi(h.Get("X-RateLimit-Max"))
	intervalMS, err3 := strconv.ParseInt(h.Get("X-RateLimit-Interval-Milliseconds"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return remote.RateWindow{}, false
	}
	return remote.RateWindow{Remaining: remaining, Max: maxReq, IntervalMS: intervalMS}, true
}

// ServerLimits reads every rate-limit header of an answer, for a status
// display: the burst limit's (X-RateLimit-Max, -Remaining,
// -Interval-Milliseconds) and the daily one's (X-RateLimit-Limit-Daily,
// -Daily-Remaining, -Daily-Reset, in epoch milliseconds).
func ServerLimits(h http.Header) (remote.ServerLimits, bool) {
	num := func(name string) (int64, bool) {
		v, err := strconv.ParseInt(h.Get(name), 10, 64)
		return v, err == nil && v >= 0
	}
	var l remote.ServerLimits
	var ok bool
	var any bool
	if l.Max, ok = num("X-RateLimit-Max"); ok {
		any = true
	}
	if l.Remaining, ok = num("X-RateLimit-Remaining"); ok {
		any = true
	}
	if ms, ok := num("X-RateLimit-Interval-Milliseconds"); ok && ms < int64(24*time.Hour/time.Millisecond) {
		l.Interval = time.Duration(ms) * time.Millisecond
		any = true
	}
	if l.DailyLimit, ok = num("X-RateLimit-Limit-Daily"); ok {
		any = true
	}
	if l.DailyRemaining, ok = num("X-RateLimit-Daily-Remaining"); ok {
		any = true
	}
	if ms, ok := num("X-RateLimit-Daily-Reset"); ok && ms < 1<<50 {
		l.DailyReset = time.UnixMilli(ms)
		any = true
	}
	return l, any
}
