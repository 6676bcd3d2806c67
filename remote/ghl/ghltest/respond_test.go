package ghltest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The fast JSON writer writes what encoding/json (without HTML escaping)
// writes, for every kind of string.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `a"b\c`, "tab\tnl\nret\rbs\bff\f", "\x00\x01\x1f\x7f", "café ✓ 日本",
		"<&>", "\u2028\u2029", "bad \xff utf-8 \xc3", "emoji 😀"}
	for _, s := range strs {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := string(appendJSONString(nil, s)); got+"\n" != want.String() {
			t.Errorf("%q: got %s, want %s", s, got, want.String())
		}
	}
	o := object{{"s", "x\"y"}, {"n", 3}, {"i", int64(-4)}, {"b", true}, {"nil", nil},
		{"list", []object{{{"a", 1}}, {}}}, {"strs", []string{"p", "q"}}, {"f", 1.5}}
	got, err := marshalJSON(o)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"s":"x\"y","n":3,"i":-4,"b":true,"nil":null,"list":[{"a":1},{}],"strs":["p","q"],"f":1.5}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
