package ghltest

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// The demo library (Seed "demo"): nested folders, real pictures, PDFs, text
// files, a 20 MB tar archive, and the awkward cases a filesystem client
// must handle — two files with one name in one folder, a file and a folder
// whose names hold "/", a file without extension, an empty file, a
// non-ASCII name and an empty folder. Ids, times and bytes are the same on
// every run; the bytes are built once per process and shared.

// demoItem is one item of the demo library.
type demoItem struct {
	id, parentID, name, typ, contentType string
	createdAt, updatedAt                 time.Time
	data                                 []byte
}

var (
	demoOnce  sync.Once
	demoItems []demoItem
)

// demoLibrary returns the demo library, building it on first use.
func demoLibrary() []demoItem {
	demoOnce.Do(func() { demoItems = buildDemo() })
	return demoItems
}

// seedDemo puts the demo library into st.
func seedDemo(st *store) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, d := range demoLibrary() {
		it := &item{
			id:          d.id,
			name:        d.name,
			typ:         d.typ,
			parentID:    d.parentID,
			status:      StatusActive,
			contentType: d.contentType,
			size:        int64(len(d.data)),
			createdAt:   d.createdAt,
			updatedAt:   d.updatedAt,
			data:        d.data,
		}
		if d.typ == TypeFile {
			it.objectPath = objectPath(st.loc, d.id, d.name)
		}
		st.items[it.id] = it
	}
}

// The demo tree. Folders are named by a key; files name their folder's key
// ("" = root).
var demoFolders = []struct{ key, parent, name string }{
	{"logos", "", "Logos"},
	{"campaigns", "", "Campaigns"},
	{"summer", "campaigns", "Summer 2025"},
	{"social", "summer", "Social"},
	{"winter", "campaigns", "Winter 2025"},
	{"docs", "", "Documents"},
	{"archive", "docs", "Archive"}, // stays empty
	{"backups", "", "Backups"},
	{"clients", "", "Clients"},
	{"acme", "clients", "Acme Corp"},
	{"photos", "acme", "Photos"},
	{"q1q2", "", "Q1/Q2 Reports"}, // a "/" in a folder name
}

const (
	ctText = "text/plain; charset=utf-8"
	ctMD   = "text/markdown; charset=utf-8"
	ctCSV  = "text/csv; charset=utf-8"
	ctPNG  = "image/png"
	ctJPEG = "image/jpeg"
	ctPDF  = "application/pdf"
	ctTar  = "application/x-tar"
)

var demoFiles = []struct {
	folder, name, contentType string
	gen                       func() []byte
}{
	{"", "README.txt", ctText, func() []byte { return []byte(demoReadme) }},
	{"", "welcome.png", ctPNG, func() []byte { return demoPNG(1200, 800, 1) }},
	{"logos", "logo.png", ctPNG, func() []byte { return demoPNG(640, 640, 2) }},
	{"logos", "logo.png", ctPNG, func() []byte { return demoPNG(640, 640, 3) }}, // same name, other picture
	{"logos", "icon.png", ctPNG, func() []byte { return demoPNG(512, 512, 4) }},
	{"summer", "banner.jpg", ctJPEG, func() []byte { return demoJPEG(1200, 800, 5) }},
	{"summer", "hero.png", ctPNG, func() []byte { return demoPNG(1200, 800, 6) }},
	{"summer", "before/after.jpg", ctJPEG, func() []byte { return demoJPEG(1200, 800, 7) }}, // a "/" in a file name
	{"social", "instagram-1.jpg", ctJPEG, func() []byte { return demoJPEG(1080, 1080, 8) }},
	{"social", "instagram-2.jpg", ctJPEG, func() []byte { return demoJPEG(1080, 1080, 9) }},
	{"social", "facebook-cover.png", ctPNG, func() []byte { return demoPNG(820, 360, 10) }},
	{"social", "captions.txt", ctText, func() []byte { return []byte(demoCaptions) }},
	{"winter", "teaser.jpg", ctJPEG, func() []byte { return demoJPEG(1200, 800, 11) }},
	{"winter", "plan.md", ctMD, func() []byte { return []byte(demoPlan) }},
	{"docs", "Brochure.pdf", ctPDF, func() []byte { return demoPDF("Summer 2025 Brochure", demoBrochureLines) }},
	{"docs", "notes.md", ctMD, func() []byte { return []byte(demoNotes) }},
	{"docs", "contacts.csv", ctCSV, func() []byte { return demoContactsCSV(60) }},
	{"docs", "price-list.csv", ctCSV, func() []byte { return []byte(demoPriceList) }},
	{"docs", "LICENSE", ctText, func() []byte { return []byte(demoLicense) }}, // no extension
	{"docs", "empty.txt", ctText, func() []byte { return []byte{} }},
	{"docs", "café menu.txt", ctText, func() []byte { return []byte(demoMenu) }},
	{"backups", "assets-2025.tar", ctTar, demoTar},
	{"acme", "contract.pdf", ctPDF, func() []byte { return demoPDF("Service Agreement - Acme Corp", demoContractLines) }},
	{"acme", "brief.md", ctMD, func() []byte { return []byte(demoBrief) }},
	{"photos", "office-1.jpg", ctJPEG, func() []byte { return demoJPEG(1200, 800, 12) }},
	{"photos", "office-2.jpg", ctJPEG, func() []byte { return demoJPEG(1200, 800, 13) }},
	{"photos", "team.png", ctPNG, func() []byte { return demoPNG(1000, 700, 14) }},
	{"q1q2", "summary.csv", ctCSV, func() []byte { return []byte(demoSummary) }},
	{"q1q2", "report.txt", ctText, func() []byte { return []byte(demoReport) }},
}

// buildDemo lays out the library: folders first, each file after its
// folder, at increasing times from January 2025; then it builds the bytes,
// in parallel.
func buildDemo() []demoItem {
	rng := rand.New(rand.NewPCG(2025, 0x9417))
	ids := &idGen{counter: uint32(rng.Uint64()) & 0xffffff}
	for i := range ids.machine {
		ids.machine[i] = byte(rng.Uint64())
	}
	t := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	next := func() time.Time {
		t = t.Add(time.Duration(6+rng.IntN(48))*time.Hour + time.Duration(rng.IntN(3600*1000))*time.Millisecond)
		return t
	}

	var out []demoItem
	folderIDs := map[string]string{}
	for _, f := range demoFolders {
		c := next()
		id := ids.next(c)
		folderIDs[f.key] = id
		out = append(out, demoItem{id: id, parentID: folderIDs[f.parent], name: f.name, typ: TypeFolder, createdAt: c, updatedAt: c})
	}
	first := len(out)
	for i, f := range demoFiles {
		c := next()
		u := c
		if i%4 == 3 { // some files were changed later
			u = c.Add(time.Duration(1+rng.IntN(30))*24*time.Hour + time.Duration(rng.IntN(86400*1000))*time.Millisecond)
		}
		out = append(out, demoItem{id: ids.next(c), parentID: folderIDs[f.folder], name: f.name, typ: TypeFile,
			contentType: f.contentType, createdAt: c, updatedAt: u})
	}

	var wg sync.WaitGroup
	for i, f := range demoFiles {
		wg.Go(func() { out[first+i].data = f.gen() })
	}
	wg.Wait()
	return out
}

// demoPicture draws a w×h picture: a diagonal gradient with noise of
// ±noise levels, and translucent circles, rectangles and stripes, all chosen
// by seed.
func demoPicture(w, h int, seed uint64, noise int) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	c0, c1 := demoColor(r, 255), demoColor(r, 255)
	for y := range h {
		for x := range w {
			t := float64(x*h+y*w) / float64(2*w*h)
			n := int(r.Uint32()%uint32(2*noise+1)) - noise
			o := img.PixOffset(x, y)
			img.Pix[o+0] = clampByte(lerp(c0.R, c1.R, t) + n)
			img.Pix[o+1] = clampByte(lerp(c0.G, c1.G, t) + n)
			img.Pix[o+2] = clampByte(lerp(c0.B, c1.B, t) + n)
			img.Pix[o+3] = 255
		}
	}
	for range 5 + r.IntN(5) {
		c := demoColor(r, uint8(120+r.IntN(100)))
		switch r.IntN(3) {
		case 0: // circle
			cx, cy := r.IntN(w), r.IntN(h)
			rad := (min(w, h) / 12) + r.IntN(min(w, h)/4)
			fill(img, image.Rect(cx-rad, cy-rad, cx+rad, cy+rad), c, func(x, y int) bool {
				dx, dy := x-cx, y-cy
				return dx*dx+dy*dy <= rad*rad
			})
		case 1: // rectangle
			x0, y0 := r.IntN(w), r.IntN(h)
			fill(img, image.Rect(x0, y0, x0+w/8+r.IntN(w/3), y0+h/8+r.IntN(h/3)), c, nil)
		default: // diagonal stripes
			period, width := 24+r.IntN(40), 6+r.IntN(12)
			x0, y0 := r.IntN(w), r.IntN(h)
			fill(img, image.Rect(x0, y0, x0+w/4+r.IntN(w/3), y0+h/4+r.IntN(h/3)), c, func(x, y int) bool {
				return (x+y)%period < width
			})
		}
	}
	return img
}

func demoColor(r *rand.Rand, a uint8) color.NRGBA {
	return color.NRGBA{R: uint8(r.IntN(256)), G: uint8(r.IntN(256)), B: uint8(r.IntN(256)), A: a}
}

func lerp(a, b uint8, t float64) int {
	return int(math.Round(float64(a) + (float64(b)-float64(a))*t))
}

func clampByte(v int) uint8 {
	return uint8(min(max(v, 0), 255))
}

// fill blends c over the pixels of rect (clipped) for which inside holds
// (all of them when inside is nil).
func fill(img *image.NRGBA, rect image.Rectangle, c color.NRGBA, inside func(x, y int) bool) {
	rect = rect.Intersect(img.Bounds())
	a := int(c.A)
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			if inside != nil && !inside(x, y) {
				continue
			}
			o := img.PixOffset(x, y)
			img.Pix[o+0] = uint8((int(c.R)*a + int(img.Pix[o+0])*(255-a)) / 255)
			img.Pix[o+1] = uint8((int(c.G)*a + int(img.Pix[o+1])*(255-a)) / 255)
			img.Pix[o+2] = uint8((int(c.B)*a + int(img.Pix[o+2])*(255-a)) / 255)
		}
	}
}

func demoPNG(w, h int, seed uint64) []byte {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, demoPicture(w, h, seed, 1)); err != nil {
		panic(err) // cannot happen with a bytes.Buffer
	}
	return b.Bytes()
}

func demoJPEG(w, h int, seed uint64) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, demoPicture(w, h, seed, 4), &jpeg.Options{Quality: 85}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// demoPDF builds a one-page PDF 1.4 document with a title and lines of
// text in Helvetica; the cross-reference table holds the exact offsets.
func demoPDF(title string, lines []string) []byte {
	var content strings.Builder
	fmt.Fprintf(&content, "BT\n/F2 22 Tf\n72 720 Td\n(%s) Tj\nET\n", pdfEscape(title))
	content.WriteString("BT\n/F1 12 Tf\n16 TL\n72 684 Td\n")
	for _, l := range lines {
		fmt.Fprintf(&content, "(%s) '\n", pdfEscape(l))
	}
	content.WriteString("ET\n")

	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Title (%s) /Producer (ghlfake demo) /CreationDate (D:20250301100000Z) >>", pdfEscape(title)),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

func pdfEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`).Replace(s)
}

// demoTar builds assets-2025.tar: about 20 MB of pseudo-random "assets"
// with a manifest, as a real tar archive.
func demoTar() []byte {
	rng := rand.New(rand.NewPCG(20, 25))
	src := rand.NewPCG(2025, 0x7a5)
	mod := time.Date(2025, 6, 30, 23, 15, 0, 0, time.UTC)

	type entry struct {
		name string
		size int
	}
	var entries []entry
	dirs := []string{"images", "video", "fonts", "exports"}
	exts := []string{".raw", ".bin", ".dat", ".pak"}
	for i := range 20 {
		d := dirs[i%len(dirs)]
		entries = append(entries, entry{
			name: fmt.Sprintf("assets-2025/%s/asset-%03d%s", d, i+1, exts[i%len(exts)]),
			size: 1<<20 - 48<<10 + rng.IntN(96<<10),
		})
	}
	var manifest strings.Builder
	manifest.WriteString("assets-2025 backup manifest\n\n")
	for _, e := range entries {
		fmt.Fprintf(&manifest, "%9d  %s\n", e.size, e.name)
	}

	var b bytes.Buffer
	b.Grow(21 << 20)
	tw := tar.NewWriter(&b)
	must := func(err error) {
		if err != nil {
			panic(err) // cannot happen with a bytes.Buffer
		}
	}
	must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "assets-2025/", Mode: 0o755, ModTime: mod, Format: tar.FormatPAX}))
	for _, d := range dirs {
		must(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "assets-2025/" + d + "/", Mode: 0o755, ModTime: mod, Format: tar.FormatPAX}))
	}
	must(tw.WriteHeader(&tar.Header{Name: "assets-2025/MANIFEST.txt", Mode: 0o644, Size: int64(manifest.Len()), ModTime: mod, Format: tar.FormatPAX}))
	_, err := tw.Write([]byte(manifest.String()))
	must(err)
	buf := make([]byte, 1<<20+64<<10+8)
	for _, e := range entries {
		must(tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(e.size), ModTime: mod, Format: tar.FormatPAX}))
		for i := 0; i < e.size; i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], src.Uint64())
		}
		_, err := tw.Write(buf[:e.size])
		must(err)
	}
	must(tw.Close())
	return b.Bytes()
}

func demoContactsCSV(n int) []byte {
	first := []string{"Ava", "Liam", "Maya", "Noah", "Zoe", "Omar", "Ines", "Kenji", "Sofia", "Lucas", "Priya", "Mateo"}
	last := []string{"Garcia", "Smith", "Okafor", "Nguyen", "Rossi", "Müller", "Kowalski", "Tanaka", "Silva", "Dubois", "Haddad"}
	tags := []string{"lead", "customer", "vip", "newsletter", "partner"}
	r := rand.New(rand.NewPCG(60, 61))
	var b strings.Builder
	b.WriteString("id,first_name,last_name,email,phone,tag,created\n")
	for i := range n {
		f, l := first[r.IntN(len(first))], last[r.IntN(len(last))]
		fmt.Fprintf(&b, "%d,%s,%s,%s.%s%d@example.com,+1-555-%04d,%s,2025-%02d-%02d\n",
			1001+i, f, l, strings.ToLower(f), strings.ToLower(strings.ReplaceAll(l, "ü", "u")), i,
			r.IntN(10000), tags[r.IntN(len(tags))], 1+r.IntN(6), 1+r.IntN(28))
	}
	return []byte(b.String())
}

const demoReadme = `Welcome to the ghlfake demo media library
==========================================

This library is served by ghlfake, a fake of the HighLevel Media Storage API.
It holds a few folders and files to try a client on:

  Logos/            two different pictures both named logo.png
  Campaigns/        nested folders, pictures, a file named "before/after.jpg"
  Documents/        a PDF, Markdown and CSV files, an empty file, a file
                    without extension, a name with an accent, an empty folder
  Backups/          assets-2025.tar, about 20 MB
  Clients/          three levels of folders
  Q1/Q2 Reports     a folder whose name holds a slash

Every byte of it is generated, and the same on every run.
`

const demoCaptions = `Summer 2025 - social captions

1. Sun's out, deals out. 20% off everything this week only. #summer2025
2. New season, new look. Swipe to see what's inside.
3. Tag a friend who needs a beach day.
4. Last call: the summer sale ends Sunday at midnight.
`

const demoPlan = `# Winter 2025 campaign plan

## Goals
- 1,500 new leads by the end of January
- Re-engage customers who bought in the summer

## Timeline
| Week | What |
| ---- | ---- |
| 48   | Teaser on social |
| 49   | Email launch |
| 50   | Retargeting ads |
| 51   | Holiday offer |

## Assets
- teaser.jpg (1200x800)
- email header (to do)
`

const demoNotes = `# Notes

- Brochure.pdf is the printed version of the summer offer.
- contacts.csv was exported from the CRM on 2025-02-14.
- Ask Acme Corp for the signed contract (see Clients/Acme Corp).

> Remember: the media library has no "move"; re-upload to change folders.
`

const demoPriceList = `sku,product,price_usd,unit
SKU-001,Starter plan,97.00,month
SKU-002,Unlimited plan,297.00,month
SKU-003,Agency Pro,497.00,month
SKU-010,Logo design,450.00,once
SKU-011,Landing page,1200.00,once
SKU-020,"Photo shoot, half day",650.00,once
`

const demoLicense = `Demo content license

The files of the ghlfake demo library are generated by a program. You may use,
copy and change them for any purpose, without any warranty.
`

const demoMenu = `Café menu
---------
Espresso ........... 2.50
Cappuccino ......... 3.40
Crème brûlée ....... 4.90
Croissant .......... 2.20
Thé vert ........... 2.80
`

const demoBrief = `# Acme Corp - creative brief

**Client:** Acme Corp
**Contact:** Wile E. Coyote
**Deadline:** 2025-04-30

Acme wants a photo series of its new office for the website and social
channels. Bright, friendly, people at work. See the Photos folder.
`

const demoSummary = `quarter,leads,customers,revenue_usd
Q1 2025,1240,88,58210.50
Q2 2025,1518,121,77904.00
`

const demoReport = `Q1/Q2 2025 report
=================

Leads grew 22% from Q1 to Q2, customers 37%, revenue 34%.
The summer campaign (see Campaigns/Summer 2025) started in Q2 and brought
most of the growth. Numbers: summary.csv in this folder.
`

var demoBrochureLines = []string{
	"Make this summer your best season yet.",
	"",
	"Everything your business needs to win new customers:",
	"  - Websites and funnels that convert",
	"  - Email and SMS campaigns on autopilot",
	"  - One inbox for every conversation",
	"  - Booking, payments and reviews in one place",
	"",
	"Summer offer: 20% off the first three months of any plan.",
	"Valid from June 1 to August 31, 2025.",
	"",
	"Questions? Write to hello@example.com.",
}

var demoContractLines = []string{
	"This Service Agreement is made on March 3, 2025 between",
	"Example Agency LLC (the Agency) and Acme Corp (the Client).",
	"",
	"1. Services. The Agency provides photography and design services",
	"   as described in the creative brief.",
	"2. Fees. The Client pays USD 4,500 in two instalments.",
	"3. Term. This agreement ends on June 30, 2025.",
	"4. Ownership. Delivered photographs belong to the Client.",
	"",
	"Signed: ______________________   ______________________",
}
