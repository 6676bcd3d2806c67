package fs

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ghlfs/ghlfs/cache"
)

func TestNameEscaping(t *testing.T) {
	cases := []struct{ remote, shown string }{
		{"plain.png", "plain.png"},
		{"before/after.jpg", "before／after.jpg"},
		{"Q1/Q2 Reports", "Q1／Q2 Reports"},
		{".", "．"},
		{"..", "．．"},
		{"．", "‛．"},
		{"a／b", "a‛／b"},
		{"‛", "‛‛"},
		{"nul\x00byte", "nul␀byte"},
		{"...", "..."},
		{".hidden", ".hidden"},
	}
	for _, c := range cases {
		if got := encodeName(c.remote); got != c.shown {
			t.Errorf("encodeName(%q) = %q, want %q", c.remote, got, c.shown)
		}
		if got := decodeName(c.shown); got != c.remote {
			t.Errorf("decodeName(%q) = %q, want %q", c.shown, got, c.remote)
		}
	}
}

// FuzzNameRoundTrip checks that every name the API may hold is shown under
// a name a directory can hold, and maps back to itself.
func FuzzNameRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a/b", ".", "..", "．", "‛", "／", "␀", "\x00", "\xff\xfe/", "a‛", "‛／"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		shown := encodeName(name)
		if name != "" && (shown == "." || shown == "..") {
			t.Fatalf("encodeName(%q) = %q", name, shown)
		}
		for i := 0; i < len(shown); i++ {
			if shown[i] == '/' || shown[i] == 0 {
				t.Fatalf("encodeName(%q) = %q holds a byte a name cannot", name, shown)
			}
		}
		if back := decodeName(shown); back != name {
			t.Fatalf("decodeName(encodeName(%q)) = %q (shown %q)", name, back, shown)
		}
		if utf8.ValidString(name) && !utf8.ValidString(shown) {
			t.Fatalf("encodeName(%q) made invalid UTF-8", name)
		}
	})
}

func TestDirViewDuplicates(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &cache.Listing{Entries: []cache.Entry{
		{ID: "65a000000000000000000002", Name: "logo.png", ModTime: t0.Add(time.Hour)},
		{ID: "65a000000000000000000001", Name: "logo.png", ModTime: t0},
		{ID: "65a000000000000000000003", Name: "a/b", IsDir: true},
		{ID: "65a000000000000000000004", Name: "logo (00000002).png", ModTime: t0},
	}}
	for i := range l.Entries {
		l.Entries[i].Key = l.Entries[i].ID // a key is the id until the mount replaces the bytes
	}
	slices.SortFunc(l.Entries, func(a, b cache.Entry) int { return strings.Compare(a.Name+"\x00"+a.Key, b.Name+"\x00"+b.Key) })
	v := newDirView(l)
	want := map[string]string{
		"logo.png":                            "65a000000000000000000001",
		"logo (00000002).png":                 "65a000000000000000000004",
		"logo (65a000000000000000000002).png": "65a000000000000000000002",
		"a／b":                                 "65a000000000000000000003",
	}
	if len(v.names) != len(want) {
		t.Fatalf("names %q, want %d", v.names, len(want))
	}
	for name, id := range want {
		if e, ok := v.lookup(name); !ok || e.Key != id {
			t.Errorf("%q -> %q, want %q", name, e.Key, id)
		}
	}
	// The same listing in another order gives the same names.
	// Another fetch of the same folder gives the same names.
	l2 := &cache.Listing{Entries: slices.Clone(l.Entries)}
	v2 := newDirView(l2)
	for i := range v.names {
		if v.names[i] != v2.names[i] {
			t.Fatalf("names differ with order: %q vs %q", v.names, v2.names)
		}
	}
}
