package remote

import (
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
	// ErrExists: the name is taken, on a service whose names are unique
	// in a folder (Caps.UniqueNames): a rename or a move onto it, or a
	// create the service does not turn into a version (409 Conflict).
	ErrExists = errors.New("the name is taken")
	// ErrListTooLong: a listing brought more items than the client takes
	// (Config.MaxListItems).
	ErrListTooLong = errors.New("listing too long")
	// ErrAnswerTooLarge: one answer's body was larger than MaxAnswerBytes.
	ErrAnswerTooLarge = errors.New("answer too large")
	// ErrListUnstable: no pass over a listing's pages lined up (see
	// Backend.List, Backend.ListUpdated), so what was read may miss items.
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
	// ErrUnconfirmed: no listing of its folder shows a file an upload's
	// answer named (by its id, its url, or its name, size and time), or
	// more than one file could be it (ErrAmbiguousUpload). Nothing is
	// known of it: it is neither taken as gone nor acted on.
	ErrUnconfirmed = errors.New("the library does not list the upload")
	// ErrAmbiguousUpload comes with ErrUnconfirmed when more than one
	// listed file could be the upload, and no rule tells which: none is
	// taken.
	ErrAmbiguousUpload = errors.New("more than one listed file could be the upload")
	// ErrMisplaced is the failure of a create into a folder on a service
	// that puts new items in the root whatever parentId says (public
	// reports say it has happened). Such a service cannot hold files in
	// folders through the API; the root still works.
	ErrMisplaced = errors.New("the service ignores the folder new items are created in")
	// ErrBusy: the item is in a state the call cannot change (the current
	// version of a file, which RemoveVersion never removes; a file
	// another user reserved: a 423 Locked).
	ErrBusy = errors.New("the item is in use")
	// ErrNotSupported: the service has no way to do what was asked (a
	// move, on a service that cannot move an item to another folder:
	// Caps.Move).
	ErrNotSupported = errors.New("the service cannot do this")
)

// ErrLoginNeeded: the stored refresh token was refused; the user must log
// in again. It matches ErrUnauthorized.
var ErrLoginNeeded = fmt.Errorf("%w: the stored OAuth refresh token was refused; run ghlfs login again", ErrUnauthorized)

// NotDoneError is a bulk call's answer that some items were not done
// ({"deleted": false}, say): the per-id result of a removal or a rename.
// After a retry that can mean they were done by the first attempt: the
// caller knows best how to check.
type NotDoneError struct {
	Call string // e.g. "PUT /medias/delete-files"
	IDs  []string
	// Reasons holds, by id of IDs, the service's own message where it
	// gave one (ImageKit's errors[].error), for the one log line each.
	Reasons map[string]string
	// Missing are the ids of IDs the service said it does not hold
	// (ImageKit's missingFileIds): gone already, whoever removed them,
	// where the others were refused.
	Missing []string
}

func (e *NotDoneError) Error() string {
	return fmt.Sprintf("%s: the API did not act on %s", e.Call, strings.Join(e.IDs, ", "))
}

// Reason is the service's message for id, or "" when it gave none.
func (e *NotDoneError) Reason(id string) string { return e.Reasons[id] }

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
	// IDs are the ids a failed answer named as the cause, where the
	// service names some (ImageKit's bulk delete: missingFileIds, of
	// which it deleted none).
	IDs []string
	// NoRoute marks a 404 that is the service's answer to a call it has
	// no route for (for this token), not to an item it does not have: it
	// matches ErrRouteMissing, never ErrNotFound.
	NoRoute bool
}

// maxErrorText bounds each text of the server's an *Error shows (its
// message, its trace id).
const maxErrorText = 1024

// Error names the call, the status and the server's message. What the
// server wrote is shown cleaned (CleanText): the backends keep it as the
// body had it, to read causes from, and an error ends in a log line or
// on a terminal (a command's failure).
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.Endpoint, e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + CleanText(e.Message, maxErrorText))
	}
	if e.TraceID != "" {
		b.WriteString(" (traceId " + CleanText(e.TraceID, maxErrorText) + ")")
	}
	return b.String()
}

// Is matches the sentinel errors of this package.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return (e.Status == http.StatusNotFound || e.Status == http.StatusGone) && !e.NoRoute
	case ErrRouteMissing:
		return e.NoRoute
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrInvalid:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
	case ErrTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	case ErrExists:
		return e.Status == http.StatusConflict
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrQuotaExhausted:
		return e.Status == http.StatusTooManyRequests && e.Daily
	case ErrUnavailable:
		return e.Status >= 500
	case ErrBusy:
		return e.Status == http.StatusLocked
	case ErrIncurable:
		return e.Cause != nil
	}
	return e.Cause != nil && target == e.Cause
}

// retryable reports whether the same request may succeed if sent again.
func (e *Error) retryable() bool {
	if e.Status == http.StatusTooManyRequests {
		return !e.Daily
	}
	return (e.Status >= 500 && e.Status != http.StatusNotImplemented) || e.Status == http.StatusRequestTimeout
}

// ErrorOf is the *Error of a failed answer as any service gives it: its
// status and Retry-After, and a short excerpt of its body as the message
// (the default Hooks.ParseError; a backend reads its own error bodies).
func ErrorOf(method, endpoint string, resp *http.Response, body []byte) *Error {
	e := &Error{Method: method, Endpoint: endpoint, Status: resp.StatusCode}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if t := strings.TrimSpace(string(body)); t != "" {
		// A body the backend does not read (a proxy's page, a storage
		// host's XML): a short excerpt.
		if len(t) > 200 {
			t = t[:200] + "…"
		}
		e.Message = t
	}
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
