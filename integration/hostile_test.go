package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Ids holding path characters and names holding control characters or
// longer than a directory entry: each item is shown under a readable name
// that reads back its own bytes, the folder lists without an error, and
// renames and removals reach the right item.
func TestHostileNamesAndIDs(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	dir := srv.AddFolder("", "hostile")
	long := strings.Repeat("l", 296) // + "1.png": 301 bytes
	type seeded struct{ id, name, shown, data string }
	items := []*seeded{
		{id: "ab/cd/0001", name: "slash-id.txt", shown: "slash-id.txt"},
		{id: "../0002", name: "dotdot-id.txt", shown: "dotdot-id.txt"},
		{id: "nl\nid", name: "newline-id.txt", shown: "newline-id.txt"},
		{id: "x/1", name: "dup.txt", shown: "dup.txt"},
		{id: "x/2", name: "dup.txt"}, // shown with a tag, checked below
		{name: "line\nbreak.txt", shown: "line␊break.txt"},
		{name: "\x1b[31mred.txt", shown: "␛[31mred.txt"},
		{name: "tab\tand\x7fdel", shown: "tab␉and␡del"},
		{name: long + "1.png"},
		{name: long + "2.png"},
	}
	for i, it := range items {
		it.data = strings.Repeat(string(rune('A'+i)), 100+i)
		if it.id != "" {
			srv.AddFileWithID(it.id, dir, it.name, "", []byte(it.data))
		} else {
			it.id = srv.AddFile(dir, it.name, "", []byte(it.data))
		}
		if strings.HasPrefix(it.name, long) {
			// Documented: start, "…", 8 hex digits of the name's SHA-256, extension.
			sum := sha256.Sum256([]byte(it.name))
			it.shown = strings.Repeat("l", 255-len("…")-8-len(".png")) + "…" + hex.EncodeToString(sum[:4]) + ".png"
		}
	}
	m := mountFS(t, srv, mountOpt{args: []string{"--cache-max-size", "10MB"}})
	names := lines(sh(t, "ls", "-A", m.path("hostile")))
	if len(names) != len(items) {
		t.Fatalf("ls shows %d names, want %d: %q", len(names), len(items), names)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "dup (") && strings.HasSuffix(n, ").txt") && items[4].shown == "" {
			items[4].shown = n
		}
	}
	local := t.TempDir()
	for _, it := range items {
		if !slices.Contains(names, it.shown) {
			t.Errorf("%q (id %q) is not shown as %q; ls shows %q", it.name, it.id, it.shown, names)
			continue
		}
		if len(it.shown) > 255 {
			t.Errorf("%q is %d bytes", it.shown, len(it.shown))
		}
		want := filepath.Join(local, "want")
		writeFile(t, want, []byte(it.data))
		sh(t, "cmp", want, m.path("hostile", it.shown))
	}
	if t.Failed() {
		t.FailNow()
	}

	// Renames and removals reach the right item.
	sh(t, "mv", m.path("hostile", "line␊break.txt"), m.path("hostile", "renamed␛.txt"))
	sh(t, "mv", m.path("hostile", "slash-id.txt"), m.path("hostile", "moved.txt"))
	sh(t, "rm", m.path("hostile", items[4].shown), m.path("hostile", items[9].shown), m.path("hostile", "newline-id.txt"))
	for id, want := range map[string]string{items[5].id: "renamed\x1b.txt", "ab/cd/0001": "moved.txt"} {
		if it, _ := srv.Item(id); it.Name != want || it.Status != ghltest.StatusActive {
			t.Errorf("%q: %+v, want named %q", id, it, want)
		}
	}
	for _, id := range []string{"x/2", items[9].id, "nl\nid"} {
		if it, _ := srv.Item(id); it.Status != ghltest.StatusTrashed {
			t.Errorf("%q: %s, want trashed", id, it.Status)
		}
	}
	if it, _ := srv.Item("x/1"); it.Status != ghltest.StatusActive {
		t.Errorf("the other dup.txt went too: %+v", it)
	}

	// A new name: a control character is refused, its picture gives it.
	if out, err := shErr("touch", m.path("hostile", "new\nfile.txt")); err == nil || !strings.Contains(out, "Invalid argument") {
		t.Errorf("touch of a name holding a newline: %v %s", err, out)
	}
	writeFile(t, m.path("hostile", "new␊file.txt"), []byte("new"))
	found := false
	for _, it := range srv.Items() {
		if it.ParentID == dir && it.Name == "new\nfile.txt" && it.Status == ghltest.StatusActive {
			found = true
		}
	}
	if !found {
		t.Errorf("no file named %q in the library", "new\nfile.txt")
	}
	names = lines(sh(t, "ls", "-A", m.path("hostile")))
	for _, n := range []string{"renamed␛.txt", "moved.txt", "new␊file.txt", "dup.txt", items[8].shown} {
		if !slices.Contains(names, n) {
			t.Errorf("%q is not shown: %q", n, names)
		}
	}
	if len(names) != len(items)-3+1 {
		t.Errorf("ls shows %q", names)
	}

	// Nothing escaped the cache dir's content folder, and no log line
	// holds a raw control character.
	entries, err := os.ReadDir(filepath.Join(m.cacheDir, "content"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("content cache: %v, %d entries", err, len(entries))
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			t.Errorf("content cache holds %q, not a file", e.Name())
		}
	}
	log := m.log.String()
	if strings.Contains(log, "level=ERROR") || strings.ContainsAny(log, "\x1b\x7f") {
		t.Errorf("the log:\n%q", log)
	}
}
