package remote

import (
	"maps"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeListsContentTypes: the README's table of the types ghlfs
// sends is the code's table, extension for extension.
func TestReadmeListsContentTypes(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "\n### Content types\n")
	if start < 0 {
		t.Fatal(`README.md has no "### Content types" section`)
	}
	s = s[start+1:]
	if end := strings.Index(s[1:], "\n#"); end >= 0 {
		s = s[:end+1]
	}
	readme := map[string]string{}
	entry := regexp.MustCompile("((?:`\\.[a-z0-9]+` )+)→ `([^`]+)`")
	ext := regexp.MustCompile("`(\\.[a-z0-9]+)`")
	for _, m := range entry.FindAllStringSubmatch(s, -1) {
		for _, e := range ext.FindAllStringSubmatch(m[1], -1) {
			if prev, dup := readme[e[1]]; dup {
				t.Errorf("the README gives %s twice (%s, %s)", e[1], prev, m[2])
			}
			readme[e[1]] = m[2]
		}
	}
	if code := ContentTypes(); !maps.Equal(readme, code) {
		for e, typ := range code {
			if readme[e] != typ {
				t.Errorf("%s: the code sends %q, the README says %q", e, typ, readme[e])
			}
		}
		for e, typ := range readme {
			if _, ok := code[e]; !ok {
				t.Errorf("%s: the README says %q, the code has no type for it", e, typ)
			}
		}
	}
}
