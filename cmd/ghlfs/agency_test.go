package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A location's folder in an agency's cache dir never has the name of a
// file ghlfs keeps there, in any case: on a case-insensitive file system
// (macOS's by default, a FAT disk) "LOCK" is the lock file.
func TestLocationCacheDirNotACacheFile(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"lock", "LOCK", "Lock", "loc-1"} {
		got := locationCacheDir(dir, id)
		if filepath.Dir(got) != dir {
			t.Errorf("%q: %s is not in the cache dir", id, got)
		}
		for _, f := range agencyFiles {
			if strings.EqualFold(filepath.Base(got), f) {
				t.Errorf("%q: its folder %s is named as ghlfs's %s", id, got, f)
			}
		}
	}
	if got := locationCacheDir(dir, "loc-1"); got != filepath.Join(dir, "loc-1") {
		t.Errorf("loc-1: %s", got)
	}
	// On a case-sensitive file system an earlier ghlfs kept location
	// "Lock" in a folder of that name: it stays there (its queue too).
	if err := os.Mkdir(filepath.Join(dir, "Lock"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got := locationCacheDir(dir, "Lock"); got != filepath.Join(dir, "Lock") {
		t.Errorf("Lock, whose folder an earlier ghlfs made: %s", got)
	}
}
