package ocmtest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
)

// DemoAccessCode is the access code of the demo library's public link.
const DemoAccessCode = "demo-code"

// Demo is what SeedDemo made that a person needs to use it.
type Demo struct {
	// SharedID is the folder the public link LinkID opens (contributor,
	// access code DemoAccessCode).
	SharedID, LinkID string
}

// SeedDemo fills the library with the demo (ghlfake --service ocm
// --demo): nested folders, a picture, text files, a file of three
// versions, one another user reserved, an empty file, a non-ASCII name,
// an empty folder, an item in the trash, and a shared folder behind a
// public link with an access code.
func (s *Server) SeedDemo() Demo {
	docs := s.AddFolder("", "Documents")
	reports := s.AddFolder(docs, "Reports")
	s.AddFolder(docs, "Empty")
	pics := s.AddFolder("", "Pictures")
	shared := s.AddFolder("", "Shared with partners")
	s.AddFile(reports, "plan.txt", []byte("Plan, first draft.\n"))
	s.AddFile(reports, "plan.txt", []byte("Plan, second draft: more detail.\n"))
	s.AddFile(reports, "plan.txt", []byte("Plan, final.\n"))
	locked := s.AddFile(docs, "budget.csv", []byte("item,amount\nrent,1200\nfood,400\n"))
	s.Reserve(locked, "colleague@example.com")
	s.AddFile(docs, "empty.txt", nil)
	s.AddFile(docs, "Übersicht – 2025.md", []byte("# Übersicht\n\nNon-ASCII name.\n"))
	s.AddFile(docs, "README", []byte("A file without an extension.\n"))
	s.AddFile(pics, "gradient.png", demoPNG())
	s.AddFile(shared, "brief.txt", []byte("Shared through a public link.\n"))
	old := s.AddFile(docs, "old notes.txt", []byte("In the trash.\n"))
	s.Remove(old)
	big := strings.Repeat(fmt.Sprintf("%079d\n", 0), 1<<14) // 1.25 MiB of lines: Range reads show
	s.AddFile(docs, "lines.txt", []byte(big))
	return Demo{SharedID: shared, LinkID: s.AddLink(shared, RoleContributor, DemoAccessCode)}
}

// demoPNG is a small gradient picture.
func demoPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 128, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
