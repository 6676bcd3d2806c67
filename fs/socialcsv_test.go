package fs

import (
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ghlfs/ghlfs/cache"
)

// An import's file is named by its day, its file's name and its id,
// escaped and cut as every name; names stay apart and map back.
func TestCSVFileNames(t *testing.T) {
	at := time.Date(2025, 2, 3, 23, 30, 0, 0, time.FixedZone("X", -5*3600))
	if got := csvFileName(cache.CSVImport{ID: "65f92e55cc884f0d0845e447", FileName: "Spring campaign.csv", CreatedAt: at}); got != "2025-02-04_Spring campaign.csv~65f92e55cc884f0d0845e447.json" {
		t.Errorf("name %q (the day is UTC's)", got)
	}
	if got := csvFileName(cache.CSVImport{ID: "x", FileName: "a.csv"}); got != "undated_a.csv~x.json" {
		t.Errorf("undated: %q", got)
	}
	long := strings.Repeat("very long campaign name ", 20) + ".csv"
	imports := []cache.CSVImport{
		{ID: "id1", FileName: "Q1/Q2\n\x1b[2J.csv", CreatedAt: at},
		{ID: "id2", FileName: long, CreatedAt: at},
		{ID: "id3", FileName: long, CreatedAt: at},
	}
	l := &cache.Listing{}
	for _, imp := range imports {
		l.Entries = append(l.Entries, cache.Entry{Key: csvKeyPrefix + imp.ID, ID: imp.ID, Name: csvFileName(imp)})
	}
	v := newDirView(l, nil)
	if len(v.names) != 3 {
		t.Fatalf("names %q", v.names)
	}
	for _, n := range v.names {
		if len(n) > maxNameLen || !utf8.ValidString(n) || hasControl(n) || strings.Contains(n, "/") || !strings.HasSuffix(n, ".json") {
			t.Errorf("name %q", n)
		}
		if _, ok := v.lookup(n); !ok {
			t.Errorf("%q does not map back", n)
		}
	}
}

// The xattrs of an import: its id, status, post count and account ids (a
// JSON array); none where the listing said nothing; none on the folder.
func TestCSVXattrs(t *testing.T) {
	f := &FS{xattrPrefix: defaultXattrPrefix}
	imp := &cache.CSVImport{ID: "id1", Status: "completed", Count: 6, AccountIDs: []string{"a", `b"c`}}
	for name, want := range map[string]string{
		"user.ghl.id": "id1", "user.ghl.csv.status": "completed", "user.ghl.csv.count": "6", "user.ghl.csv.accountIds": `["a","b\"c"]`,
	} {
		buf := make([]byte, 256)
		n, errno := f.csvXattr(name, imp, buf)
		if errno != 0 || string(buf[:n]) != want {
			t.Errorf("%s = %q (%v), want %q", name, buf[:n], errno, want)
		}
	}
	if _, errno := f.csvXattr("user.ghl.csv.count", &cache.CSVImport{ID: "x", Count: -1}, make([]byte, 64)); errno != errNoAttr {
		t.Errorf("an unknown count: %v", errno)
	}
	if _, errno := f.csvXattr("security.selinux", imp, nil); errno != syscall.ENOTSUP {
		t.Errorf("security.selinux: %v", errno)
	}
	if n, errno := f.csvXattr("user.ghl.csv.status", imp, nil); errno != syscall.ERANGE || n != uint32(len("completed")) {
		t.Errorf("size probe: %d, %v", n, errno)
	}
	n, _ := f.csvXattrs(imp, nil)
	buf := make([]byte, n)
	f.csvXattrs(imp, buf)
	if got := string(buf); got != "user.ghl.id\x00user.ghl.csv.status\x00user.ghl.csv.count\x00user.ghl.csv.accountIds\x00" {
		t.Errorf("list %q", got)
	}
	if n, errno := f.csvXattrs(nil, nil); n != 0 || errno != 0 {
		t.Errorf("the folder lists %d bytes, %v", n, errno)
	}
	huge := &cache.CSVImport{ID: "x", AccountIDs: make([]string, 1000)}
	for i := range huge.AccountIDs {
		huge.AccountIDs[i] = strings.Repeat("a", 100)
	}
	if _, errno := f.csvXattr("user.ghl.csv.accountIds", huge, make([]byte, 1<<20)); errno != errNoAttr {
		t.Errorf("an over-long value: %v", errno)
	}
}
