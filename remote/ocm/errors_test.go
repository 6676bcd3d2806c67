package ocm

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
)

// TestParseError: errorCode (a string) and errorKey map onto remote's
// kinds, in a failed answer and inside a 200 (error-in-200); the
// message is title || errorMessage.
func TestParseError(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   error
	}{
		{404, `{"errorCode":"-16","errorMessage":"gone"}`, remote.ErrNotFound},
		{200, `{"errorCode":"-16","errorMessage":"gone"}`, remote.ErrNotFound},
		{200, `{"errorCode":-16}`, remote.ErrNotFound},
		{409, `{"errorCode":"-17"}`, remote.ErrExists},
		{200, `{"errorCode":"-17"}`, remote.ErrExists},
		{400, `{"errorCode":"-17"}`, remote.ErrExists},
		{403, `{"errorCode":"-20","title":"denied"}`, remote.ErrForbidden},
		{200, `{"errorCode":"-20"}`, remote.ErrForbidden},
		{403, `{"errorCode":"-18"}`, remote.ErrUnauthorized},
		{200, `{"errorCode":"-18"}`, remote.ErrUnauthorized},
		{403, `{"errorCode":"-26","errorKey":"!csFldUnableToProcess!csItemReservedByOtherUser,x"}`, remote.ErrBusy},
		{200, `{"errorCode":"-26","errorKey":"!csItemReservedByOtherUser"}`, remote.ErrBusy},
		{400, `{"errorCode":"-26","errorKey":"!csLinkExpired"}`, ErrLinkInvalid},
		{200, `{"errorCode":"-26"}`, ErrLinkInvalid},
		{403, `{"errorCode":"-26"}`, ErrLinkInvalid},
		{400, `{"errorCode":"-26"}`, remote.ErrUnauthorized},
		{400, `{"errorCode":"-1","errorKey":"!csFldUnableToProcess!csItemReservedByOtherUser,x"}`, remote.ErrBusy},
		{403, `{"errorCode":"-1","errorKey":"!csFldUnableToProcess!csItemReservedByOtherUser,x"}`, remote.ErrBusy},
		{200, `{"errorCode":"-1"}`, remote.ErrInvalid},
		{200, `{"errorCode":"-99"}`, remote.ErrInvalid},
		{500, `{"errorCode":"-1"}`, remote.ErrUnavailable},
		{404, `<html>no</html>`, remote.ErrNotFound},
	} {
		resp := &http.Response{StatusCode: c.status, Header: http.Header{}}
		var e *remote.Error
		if c.status/100 == 2 {
			e = answerError("GET", "/x", resp, []byte(c.body))
		} else {
			e = parseError("GET", "/x", resp, []byte(c.body))
		}
		if e == nil || !errors.Is(e, c.want) {
			t.Errorf("%d %s: %v, want %v", c.status, c.body, e, c.want)
		}
	}
	for _, ok := range []string{`{"errorCode":"0","id":"x"}`, `{"id":"x"}`, `{"errorCode":"abc"}`, `not json "errorCode"`} {
		if e := answerError("GET", "/x", &http.Response{StatusCode: 200}, []byte(ok)); e != nil {
			t.Errorf("%s read as a failure: %v", ok, e)
		}
	}
	e := parseError("GET", "/x", &http.Response{StatusCode: 403, Header: http.Header{}}, []byte(`{"errorCode":"-20","title":"","errorMessage":"the message"}`))
	if e.Message != "the message" || e.Kind != "errorCode -20" {
		t.Errorf("message %q, kind %q", e.Message, e.Kind)
	}
}

// TestNumbers: numbers arrive as strings of digits; nothing else is one.
func TestNumbers(t *testing.T) {
	for in, want := range map[string]num{
		`"13"`: {13, true}, `13`: {13, true}, `"0"`: {0, true}, `"-1"`: {}, `"1e3"`: {}, `"1.5"`: {}, `""`: {},
		`"9999999999999999999"`: {}, `null`: {}, `" 7"`: {}, `"0x10"`: {},
	} {
		var got num
		if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]bool{`"1"`: true, `"0"`: false, `1`: true, `true`: true, `false`: false} {
		var f flag
		if err := json.Unmarshal([]byte(in), &f); err != nil || f.v != want || !f.set {
			t.Errorf("hasMore %s: %+v, %v", in, f, err)
		}
	}
	for _, bad := range []string{`"2"`, `"yes"`, `null`, `""`} {
		var f flag
		if err := json.Unmarshal([]byte(bad), &f); err == nil && f.set {
			t.Errorf("hasMore %s taken as %v", bad, f.v)
		}
	}
}

// TestValidName: the names OCM may refuse or rewrite are refused as
// remote.ErrInvalid; others pass.
func TestValidName(t *testing.T) {
	for _, n := range []string{"", ".", "..", "a/b", `a\b`, "a:b", "a*b", "a?b", `a"b`, "a<b", "a|b", "tab\there", " lead", "trail ", "dot.", string(make([]byte, 256))} {
		if err := ValidName(n, false); !errors.Is(err, remote.ErrInvalid) {
			t.Errorf("ValidName(%q) = %v, want ErrInvalid", n, err)
		}
	}
	for _, n := range []string{"a.txt", "two words.txt", "accent-é.txt", "emoji-😀.txt", "hash#and&amp.txt", "a(2).txt", ".hidden"} {
		if err := ValidName(n, false); err != nil {
			t.Errorf("ValidName(%q) = %v", n, err)
		}
	}
}
