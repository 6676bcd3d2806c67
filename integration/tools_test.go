package integration

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeInstallLine: the README's apt-get line names the package of
// every program the tests run (integration/tools.txt), so that a new
// user's make test does not fail for want of one that CI installed.
func TestReadmeInstallLine(t *testing.T) {
	// Not parallel: it reads files only, at once.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The line a user copies: packages up to a comment or the line's end.
	m := regexp.MustCompile(`(?m)^apt-get install -y ([^#\n]+)`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no apt-get install -y ... line")
	}
	named := map[string]bool{}
	for _, p := range strings.Fields(string(m[1])) {
		named[p] = true
	}
	f, err := os.Open("tools.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 2 {
			t.Fatalf("tools.txt: want PROGRAM PACKAGE, got %q", sc.Text())
		}
		n++
		if !named[fields[1]] {
			t.Errorf("the tests run %s (package %s), which the README's apt-get line does not name", fields[0], fields[1])
		}
	}
	if n == 0 {
		t.Fatal("tools.txt lists no program")
	}
}
