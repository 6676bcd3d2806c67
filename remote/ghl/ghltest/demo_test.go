package ghltest

import (
	"archive/tar"
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDemoSeed(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Seed: "demo"})
	items := s.Items()
	byPath := map[string][]Item{} // "A/B/name" -> items
	var pathOf func(it Item) string
	index := map[string]Item{}
	for _, it := range items {
		index[it.ID] = it
	}
	pathOf = func(it Item) string {
		if it.ParentID == "" {
			return it.Name
		}
		return pathOf(index[it.ParentID]) + "\x00" + it.Name
	}
	files := 0
	for _, it := range items {
		byPath[pathOf(it)] = append(byPath[pathOf(it)], it)
		if it.Type == TypeFile {
			files++
		}
		if it.Status != StatusActive || it.CreatedAt.Year() != 2025 {
			t.Errorf("%s: status %s, created %v", it.Name, it.Status, it.CreatedAt)
		}
	}
	if files < 20 || files > 40 {
		t.Errorf("%d files, want 20 to 40", files)
	}
	one := func(parts ...string) Item {
		t.Helper()
		got := byPath[strings.Join(parts, "\x00")]
		if len(got) != 1 {
			t.Fatalf("%q: %d items", parts, len(got))
		}
		return got[0]
	}
	content := func(it Item) []byte {
		b, _ := s.Content(it.ID)
		return b
	}

	t.Run("awkward names", func(t *testing.T) {
		logos := byPath["Logos\x00logo.png"]
		if len(logos) != 2 || bytes.Equal(content(logos[0]), content(logos[1])) {
			t.Errorf("want two different logo.png in Logos, got %d", len(logos))
		}
		if it := one("Campaigns", "Summer 2025", "before/after.jpg"); it.Type != TypeFile {
			t.Errorf("before/after.jpg is a %s", it.Type)
		}
		q := one("Q1/Q2 Reports")
		if q.Type != TypeFolder || len(s.list(t, listQ("file", q.ID))) == 0 {
			t.Errorf("Q1/Q2 Reports: %+v", q)
		}
		one("Clients", "Acme Corp", "Photos", "office-1.jpg")
		one("Documents", "Archive")
		if it := one("Documents", "empty.txt"); it.Size != 0 {
			t.Errorf("empty.txt has %d bytes", it.Size)
		}
		one("Documents", "LICENSE")
		one("Documents", "café menu.txt")
	})

	t.Run("pictures decode", func(t *testing.T) {
		n := 0
		for _, it := range items {
			var decode func(io.Reader) (image.Image, error)
			switch it.ContentType {
			case "image/png":
				decode = png.Decode
			case "image/jpeg":
				decode = jpeg.Decode
			default:
				continue
			}
			n++
			img, err := decode(bytes.NewReader(content(it)))
			if err != nil {
				t.Errorf("%s: %v", it.Name, err)
				continue
			}
			if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 300 {
				t.Errorf("%s is only %v", it.Name, b)
			}
			if it.Size < 50<<10 || it.Size > 1<<20 {
				t.Errorf("%s has %d bytes, want 50 KB to 1 MB", it.Name, it.Size)
			}
		}
		if n < 8 {
			t.Errorf("only %d pictures", n)
		}
	})

	t.Run("tar archive", func(t *testing.T) {
		it := one("Backups", "assets-2025.tar")
		if it.Size < 19<<20 || it.Size > 22<<20 {
			t.Errorf("size %d, want about 20 MB", it.Size)
		}
		tr := tar.NewReader(bytes.NewReader(content(it)))
		var total int64
		entries := 0
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			nb, err := io.Copy(io.Discard, tr)
			if err != nil || nb != h.Size {
				t.Fatalf("%s: %d of %d bytes, %v", h.Name, nb, h.Size, err)
			}
			total += nb
			entries++
		}
		if entries < 10 || total < 18<<20 {
			t.Errorf("%d entries, %d bytes", entries, total)
		}
	})

	t.Run("PDFs", func(t *testing.T) {
		for _, it := range items {
			if it.ContentType == "application/pdf" {
				checkPDF(t, it.Name, content(it))
			}
		}
	})

	t.Run("deterministic", func(t *testing.T) {
		other := start(t, Options{Seed: "demo", LocationID: "elsewhere"})
		a, b := s.Items(), other.Items()
		if len(a) != len(b) {
			t.Fatalf("%d vs %d items", len(a), len(b))
		}
		for i := range a {
			if a[i].ID != b[i].ID || a[i].Name != b[i].Name || !a[i].CreatedAt.Equal(b[i].CreatedAt) || a[i].Size != b[i].Size {
				t.Errorf("item %d differs: %+v / %+v", i, a[i], b[i])
			}
		}
	})
}

// checkPDF checks a PDF's header, trailer and that every xref offset points
// at its object.
func checkPDF(t *testing.T, name string, b []byte) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Errorf("%s: no PDF header or trailer", name)
		return
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Errorf("%s: no startxref", name)
		return
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n0 ")) {
		t.Errorf("%s: startxref %d does not point at the xref table", name, xref)
		return
	}
	lines := strings.Split(string(b[xref:]), "\n")
	count, _ := strconv.Atoi(strings.Fields(lines[1])[1])
	for i := 1; i < count; i++ {
		entry := lines[2+i]
		if len(entry) != 19 { // 20 bytes with the "\n"
			t.Errorf("%s: xref entry %q is not 20 bytes", name, entry)
		}
		off, _ := strconv.Atoi(entry[:10])
		if want := strconv.Itoa(i) + " 0 obj"; !bytes.HasPrefix(b[off:], []byte(want)) {
			t.Errorf("%s: xref of object %d points at %q", name, i, b[off:min(off+10, len(b))])
		}
	}
	if m := regexp.MustCompile(`/Length (\d+) >>\nstream\n`).FindSubmatchIndex(b); m != nil {
		n, _ := strconv.Atoi(string(b[m[2]:m[3]]))
		if !bytes.HasPrefix(b[m[1]+n:], []byte("\nendstream")) {
			t.Errorf("%s: stream /Length %d is wrong", name, n)
		}
	} else {
		t.Errorf("%s: no content stream", name)
	}
}

func TestDemoLibraryShape(t *testing.T) {
	folders := map[string]bool{}
	for _, f := range demoFolders {
		folders[f.key] = true
	}
	depth := 0
	for _, f := range demoFolders {
		d := 1
		for p := f.parent; p != ""; d++ {
			i := slices.IndexFunc(demoFolders, func(g struct{ key, parent, name string }) bool { return g.key == p })
			p = demoFolders[i].parent
		}
		depth = max(depth, d)
	}
	if depth < 3 {
		t.Errorf("folders nest %d deep, want 3", depth)
	}
	for _, f := range demoFiles {
		if f.folder != "" && !folders[f.folder] {
			t.Errorf("%s is in unknown folder %q", f.name, f.folder)
		}
	}
}
