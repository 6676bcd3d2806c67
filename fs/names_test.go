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
		{"line\nbreak", "line␊break"},
		{"\x1b[31mred", "␛[31mred"},
		{"tab\there\x7f", "tab␉here␡"},
		{"\x01\x1f", "␁␟"},
		{"already ␊ and ␡", "already ‛␊ and ‛␡"},
		{"\xff\xe2/", "\xff\xe2／"},
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
// a name a directory can hold and a terminal shows as text, and that a
// name short enough to be shown whole maps back to itself.
func FuzzNameRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a/b", ".", "..", "．", "‛", "／", "␀", "\x00", "\xff\xfe/", "a‛", "‛／",
		"a\nb", "\x1b[0m", "␊", "\x7f", strings.Repeat("é", 200), strings.Repeat("/", 100) + ".png"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		shown, cut := shownName(name)
		if name != "" && (shown == "." || shown == ".." || shown == "") {
			t.Fatalf("shownName(%q) = %q", name, shown)
		}
		if len(shown) > maxNameLen {
			t.Fatalf("shownName(%q) is %d bytes", name, len(shown))
		}
		for i := 0; i < len(shown); i++ {
			if c := shown[i]; c == '/' || c < 0x20 || c == 0x7f {
				t.Fatalf("shownName(%q) = %q holds a byte a name cannot, or a control character", name, shown)
			}
		}
		if cut != (len(encodeName(name)) > maxNameLen) {
			t.Fatalf("shownName(%q): cut = %v", name, cut)
		}
		if !cut {
			if back := decodeName(shown); back != name {
				t.Fatalf("decodeName(shownName(%q)) = %q (shown %q)", name, back, shown)
			}
		}
		if utf8.ValidString(name) && !utf8.ValidString(shown) {
			t.Fatalf("shownName(%q) made invalid UTF-8", name)
		}
	})
}

// FuzzDirViewNames checks that in a folder, whatever its items' names and
// ids, every item is shown under its own name, which fits a directory
// entry, and looks up to that item.
func FuzzDirViewNames(f *testing.F) {
	long := strings.Repeat("x", 300)
	f.Add("a", "a", "id/1", "id/2")
	f.Add(long+"1", long+"2", "65a000000000000000000001", "65a000000000000000000002")
	f.Add(long, long, "k\n1", "k\n2")
	f.Add("", "", "../a", "../b")
	f.Add("(unnamed 00000001)", "", "x", "00000001")
	f.Fuzz(func(t *testing.T, name1, name2, key1, key2 string) {
		if key1 == key2 {
			return // keys are unique in a listing
		}
		l := &cache.Listing{Entries: []cache.Entry{{Key: key1, ID: key1, Name: name1}, {Key: key2, ID: key2, Name: name2}}}
		slices.SortFunc(l.Entries, func(a, b cache.Entry) int { return strings.Compare(a.Name+"\x00"+a.Key, b.Name+"\x00"+b.Key) })
		v := newDirView(l, nil)
		if len(v.names) != 2 || v.names[0] == v.names[1] {
			t.Fatalf("names %q for %q, %q", v.names, name1, name2)
		}
		for _, n := range v.names {
			if len(n) > maxNameLen || n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") || hasControl(n) {
				t.Fatalf("name %q (%d bytes) cannot be a directory entry", n, len(n))
			}
			e, ok := v.lookup(n)
			if !ok {
				t.Fatalf("%q does not look up", n)
			}
			if shown, cut := shownName(e.Name); !cut && shown == n && decodeName(n) != e.Name {
				t.Fatalf("%q maps to %q, not back to %q", n, decodeName(n), e.Name)
			}
		}
		if a, _ := v.lookup(v.names[0]); true {
			if b, _ := v.lookup(v.names[1]); a.Key == b.Key {
				t.Fatalf("both names look up %q", a.Key)
			}
		}
	})
}

// Long names are cut to fit, keep their start and extension, stay apart
// from each other, and look up to their item; a hostile key never makes
// a tag holding a path character.
func TestLongAndHostileNames(t *testing.T) {
	long := strings.Repeat("Sommerkampagne ", 20) // 300 bytes
	l := &cache.Listing{Entries: []cache.Entry{
		{Key: "id/1", ID: "id/1", Name: long + "A.png"},
		{Key: "id/2", ID: "id/2", Name: long + "B.png"},
		{Key: "id\n3", ID: "id\n3", Name: "dup.png"},
		{Key: "id\n4", ID: "id\n4", Name: "dup.png"},
		{Key: "../5", ID: "../5", Name: ""},
	}}
	slices.SortFunc(l.Entries, func(a, b cache.Entry) int { return strings.Compare(a.Name+"\x00"+a.Key, b.Name+"\x00"+b.Key) })
	v := newDirView(l, nil)
	seen := map[string]bool{}
	for _, n := range v.names {
		e, _ := v.lookup(n)
		seen[e.Key] = true
		if len(n) > maxNameLen || strings.ContainsAny(n, "/\n") {
			t.Errorf("%q (%d bytes) for %q", n, len(n), e.Key)
		}
		if strings.HasPrefix(e.Name, long) && (!strings.HasPrefix(n, "Sommerkampagne") || !strings.HasSuffix(n, ".png") || !strings.Contains(n, "…")) {
			t.Errorf("long name shown as %q", n)
		}
	}
	if len(seen) != len(l.Entries) {
		t.Errorf("names %q show %d items of %d", v.names, len(seen), len(l.Entries))
	}
	// The same listing gives the same names.
	if v2 := newDirView(&cache.Listing{Entries: slices.Clone(l.Entries)}, nil); !slices.Equal(v.names, v2.names) {
		t.Errorf("names changed: %q vs %q", v.names, v2.names)
	}
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
	v := newDirView(l, nil)
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
	v2 := newDirView(l2, nil)
	for i := range v.names {
		if v.names[i] != v2.names[i] {
			t.Fatalf("names differ with order: %q vs %q", v.names, v2.names)
		}
	}
}

// A name a tool gives is taken only if it is how the API name it stands
// for is shown: a stray quote ("x‛y") would make the API name "xy", land
// on another file's name, and never be found under the name given.
func TestNewNameMustShowAsGiven(t *testing.T) {
	for name, want := range map[string]string{
		"plain.txt": "plain.txt",
		"a／b":       "a/b",
		"‛／":        "／",
		"x‛y":       "",
		"a‛":        "",
		"..":        "",
		"a\nb":      "",
	} {
		got, errno := newName(name)
		if want == "" {
			if errno == 0 {
				t.Errorf("newName(%q) = %q, want an error", name, got)
			}
			continue
		}
		if errno != 0 || got != want {
			t.Errorf("newName(%q) = %q, %v; want %q", name, got, errno, want)
		}
	}
}

func TestShownPath(t *testing.T) {
	got := ShownPath([]string{"Clients", "Acme/Corp", "bad\x1b[31mname.png"})
	if want := "Clients/Acme／Corp/bad␛[31mname.png"; got != want {
		t.Errorf("ShownPath = %q, want %q", got, want)
	}
}

// An item that comes to share a name with one shown under it (a copy
// restored from the trash, whose times are older) is the one tagged: a
// name stays with the item that had it. Without a view before, the
// oldest keeps it.
func TestDirViewNameStaysWithItsItem(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	current := cache.Entry{Key: "65a000000000000000000002", ID: "65a000000000000000000002", Name: "logo.png", ModTime: t0.Add(time.Hour)}
	restored := cache.Entry{Key: "65a000000000000000000001", ID: "65a000000000000000000001", Name: "logo.png", ModTime: t0}
	before := newDirView(&cache.Listing{Entries: []cache.Entry{current}}, nil)
	after := &cache.Listing{Entries: []cache.Entry{restored, current}}
	v := newDirView(after, before)
	if e, _ := v.lookup("logo.png"); e.Key != current.Key {
		t.Fatalf("logo.png is %s, want the file shown under it before", e.Key)
	}
	if e, ok := v.lookup("logo (00000001).png"); !ok || e.Key != restored.Key {
		t.Fatalf("the restored copy is not tagged: %q", v.names)
	}
	if e, _ := newDirView(after, nil).lookup("logo.png"); e.Key != restored.Key {
		t.Fatalf("without a view before, logo.png is %s, want the oldest", e.Key)
	}
	// And the next listing keeps it so.
	if e, _ := newDirView(&cache.Listing{Entries: slices.Clone(after.Entries)}, v).lookup("logo.png"); e.Key != current.Key {
		t.Fatalf("the next view gives logo.png to %s", e.Key)
	}
}
