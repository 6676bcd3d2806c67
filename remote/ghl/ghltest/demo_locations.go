package ghltest

import (
	"fmt"
	"hash/fnv"
	"time"
)

// The demo library of a location other than the first: the same tree and
// the same bytes as the classic one (shared, not copied), with
//
//   - ids of its own (made from its location id, so the same on every run),
//   - times shifted by 1 to 60 days, also from its id,
//   - a README.txt that names the location, and
//   - one more root file, "About <location name>.txt", holding the
//     location's name, id and address,
//
// so that a test tells the libraries apart by a listing (the About file),
// by a size (README.txt) and by every id.

// demoAboutName is the name of a derived demo library's extra root file.
func demoAboutName(locName string) string { return "About " + locName + ".txt" }

// seedDemoFor puts the demo library derived for st's location into st.
func seedDemoFor(st *store, name, address string) {
	h := fnv.New64a()
	h.Write([]byte(st.loc))
	sum := h.Sum64()
	ids := &idGen{counter: uint32(sum>>40) & 0xffffff}
	for i := range ids.machine {
		ids.machine[i] = byte(sum >> (8 * i))
	}
	ids.machine[0] ^= 0x5a // never the classic library's generator
	shift := time.Duration(1+sum%60) * 24 * time.Hour

	readme := []byte(fmt.Sprintf("%s\nThis is the library of the location %q (id %s).\n", demoReadme, name, st.loc))
	about := []byte(fmt.Sprintf("Location: %s\nId: %s\nAddress: %s\n", name, st.loc, address))

	st.mu.Lock()
	defer st.mu.Unlock()
	newIDs := map[string]string{}
	var last time.Time
	for _, d := range demoLibrary() {
		c, u := d.createdAt.Add(shift), d.updatedAt.Add(shift)
		if c.After(last) {
			last = c
		}
		id := ids.next(c)
		newIDs[d.id] = id
		it := &item{
			id:          id,
			name:        d.name,
			typ:         d.typ,
			parentID:    newIDs[d.parentID],
			status:      StatusActive,
			contentType: d.contentType,
			createdAt:   c,
			updatedAt:   u,
			data:        d.data,
		}
		if d.typ == TypeFile && d.parentID == "" && d.name == "README.txt" {
			it.data = readme
		}
		st.items[id] = it
	}
	t := last.Add(time.Hour)
	id := ids.next(t)
	st.items[id] = &item{id: id, name: demoAboutName(name), typ: TypeFile, status: StatusActive,
		contentType: ctText, createdAt: t, updatedAt: t, data: about}
	for _, it := range st.items {
		if it.typ == TypeFile {
			it.size = int64(len(it.data))
			it.objectPath = objectPath(st.loc, it.id, it.name)
		}
	}
}
