package ocm

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/ghlfs/ghlfs/remote"
)

// errorBody is the Documents API's answer to a failure (doc
// Error-Messages.html, seed 004): errorCode a string ("0" success, -1 to
// -99 a failure), errorKey for programs, errorMessage and title for
// people ([Tk] prints title || errorMessage).
type errorBody struct {
	ErrorCode    json.RawMessage `json:"errorCode"`
	ErrorKey     string          `json:"errorKey"`
	ErrorMessage string          `json:"errorMessage"`
	Title        string          `json:"title"`
}

// Error codes of the doc (Error-Messages.html) and seed 004.
const (
	codeNotFound    = -16 // no folder or file of that name or id (404)
	codeExists      = -17 // the name is taken in the target folder
	codeAccessCode  = -18 // the link's access code is missing (seed 004)
	codePrivilege   = -20 // insufficient privileges (403)
	codeLinkInvalid = -26 // the link is invalid or expired (400)
)

// ErrLinkInvalid is the cause of a -26 (doc: "the link is invalid or
// expired", typically 400): the shared link or applink the backend works
// through was removed or has expired. It comes as a 401 no credential
// read again cures (remote.ErrUnauthorized and remote.ErrIncurable
// match it too): the core logs it once, and every call fails until the
// mount is given a new link.
var ErrLinkInvalid = errors.New("the shared link is invalid or expired")

// maxMessage bounds the service's message as an error carries it.
const maxMessage = 300

// errorCode reads an errorCode: a string of an integer (a JSON number
// taken too); ok false when there is none, or it is not one.
func errorCode(raw json.RawMessage) (int, bool) {
	s := strings.TrimSpace(string(raw))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// statusOf is the HTTP status a failure is handled as: the answer's,
// unless that says no more than "failed" (a 2xx under errorCode, a bare
// 400 or 500; a 403 for what is not a privilege) and the errorCode or
// errorKey says what. A reservation by another user is a 423
// (remote.ErrBusy); a link's missing access code a 401, so that the
// code is read again (Config.AccessCodeSource); a link invalid or
// expired a 401 too (parseError gives it the cause ErrLinkInvalid: no
// code read again cures it). A failure of no known code inside a 2xx is
// a 400: what the service refused for an unknown reason is never sent
// again.
func statusOf(status, code int, key string) int {
	generic := status/100 == 2 || status == http.StatusBadRequest || status == http.StatusInternalServerError
	k := strings.ToLower(key)
	switch {
	case (generic || status == http.StatusForbidden) && strings.Contains(k, "reserved"):
		return http.StatusLocked
	case (generic || status == http.StatusForbidden) && (code == codeAccessCode || code == codeLinkInvalid):
		return http.StatusUnauthorized
	case !generic:
		return status
	case code == codeNotFound:
		return http.StatusNotFound
	case code == codeExists:
		return http.StatusConflict
	case code == codePrivilege:
		return http.StatusForbidden
	case status/100 != 2:
		return status
	}
	return http.StatusBadRequest
}

// parseError is the *remote.Error of a failed answer: errorCode mapped
// onto a kind (statusOf), title || errorMessage as its message (bounded,
// control characters dropped), "errorCode N" as its Kind.
func parseError(method, endpoint string, resp *http.Response, body []byte) *remote.Error {
	e := remote.ErrorOf(method, endpoint, resp, nil)
	var b errorBody
	if body == nil || json.Unmarshal(body, &b) != nil {
		if body != nil {
			e.Message = remote.CleanText(remote.ErrorOf(method, endpoint, resp, body).Message, maxMessage)
		}
		return e
	}
	code, ok := errorCode(b.ErrorCode)
	if ok && code < 0 {
		e.Kind = "errorCode " + strconv.Itoa(code)
		e.Status = statusOf(resp.StatusCode, code, b.ErrorKey)
		if code == codeLinkInvalid && e.Status == http.StatusUnauthorized {
			e.Cause = ErrLinkInvalid
		}
	}
	e.Message = remote.CleanText(firstOf(b.Title, b.ErrorMessage), maxMessage)
	return e
}

// answerError reads a 2xx for a failure inside it: a negative errorCode
// (error-in-200: whether every failure also has a non-2xx status is
// unknown).
func answerError(method, endpoint string, resp *http.Response, body []byte) *remote.Error {
	if !bytes.Contains(body, []byte(`"errorCode"`)) {
		return nil
	}
	var b errorBody
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	if code, ok := errorCode(b.ErrorCode); !ok || code >= 0 {
		return nil
	}
	return parseError(method, endpoint, resp, body)
}

// incurable is the log line of a 401 no new token cures: the identity
// domain refused the client's credentials, or the link is dead.
func incurable(e *remote.Error) string {
	if errors.Is(e, ErrLinkInvalid) {
		return "the shared link is invalid or expired (removed, or past its expiry date): ask its owner for a new link and mount with it: " + e.Message
	}
	return "the identity domain refused the client credentials: check the client id and secret (and the app's scope) and mount again: " + e.Message
}

func firstOf(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}
