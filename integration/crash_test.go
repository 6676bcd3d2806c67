package integration

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// crashPoints are the named steps of the write path (the state changes in
// cache/internal/pending and cache/internal/writeback) at which a test build of ghlfs stops itself as kill -9
// would, when GHLFS_CRASH_AT names one.
var crashPoints = []string{
	"writing",         // the first change is recorded; bytes are being written
	"complete",        // the last writer closed it
	"uploading",       // the upload is about to be sent
	"upload-answered", // the upload landed; its answer is not recorded yet
	"uploaded",        // the new copy is recorded as the name's owner
	"renamed",         // a rename made during the upload was sent
	"retiring",        // the superseded copy is about to go to the trash
	"retire-answered", // it went; that is not recorded yet
	"removed",         // the user removed the file; its copies are to go
	"done",            // nothing is left to do; the record is about to go
	"confirmed",       // an upload's answer was found in a listing; its listed id is recorded
	"copying",         // a rename the API cannot do is recorded: the bytes are to be copied in
	"copied",          // those bytes are in the spool; they are not recorded complete yet
}

// crashCase is one way of writing into the mount. run drives real tools
// and returns what the root of the library must hold (name -> bytes) once
// the bytes it wrote were complete, given which of its renames and
// removals went through (a close that failed because ghlfs died does not
// make the bytes incomplete: the crash point says whether they were).
type crashCase struct {
	name string
	// orig is the root as it was before (put in place through the fake).
	orig map[string][]byte
	// wrote is the complete content the case writes.
	wrote []byte
	// args are extra mount flags; needs, a way the fake must behave (its
	// quirks: backendFixture.quirks), "" none.
	args  []string
	needs behaviour
	run   func(t *testing.T, m *mount, svc service, src string) map[string][]byte
}

func crashCases() []crashCase {
	data := randomBytes(300_000, 7) // new content
	old := randomBytes(120_000, 8)  // the original
	patch := []byte("PATCHED-IN-PLACE")
	patched := slices.Clone(old)
	copy(patched[5000:], patch)
	return []crashCase{
		{name: "new", wrote: data, run: func(t *testing.T, m *mount, svc service, src string) map[string][]byte {
			shErr("cp", src, m.path("new.bin"))
			return map[string][]byte{"new.bin": data}
		}},
		{name: "replace", wrote: data, orig: map[string][]byte{"photo.png": old}, run: func(t *testing.T, m *mount, svc service, src string) map[string][]byte {
			shErr("cp", src, m.path("photo.png"))
			return map[string][]byte{"photo.png": data}
		}},
		{name: "write-into", wrote: patched, orig: map[string][]byte{"doc.pdf": old}, run: func(t *testing.T, m *mount, svc service, src string) map[string][]byte {
			p := filepath.Join(t.TempDir(), "patch")
			writeFile(t, p, patch)
			shErr("dd", "if="+p, "of="+m.path("doc.pdf"), "bs=1", "seek=5000", "conv=notrunc", "status=none")
			return map[string][]byte{"doc.pdf": patched}
		}},
		{name: "rename-during-upload", wrote: data, run: func(t *testing.T, m *mount, svc service, src string) map[string][]byte {
			svc.setFaults(faultSet{uploadDelay: 700 * time.Millisecond})
			defer svc.setFaults(faultSet{})
			cp := startCmd(t, "cp", src, m.path("a.bin"))
			mvErr := fmt.Errorf("ghlfs died first")
			if waitUploadOrExit(t, m, svc) {
				_, mvErr = shErr("mv", m.path("a.bin"), m.path("b.bin"))
			}
			cp.Wait()
			if mvErr != nil {
				return map[string][]byte{"a.bin": data}
			}
			return map[string][]byte{"b.bin": data}
		}},
		{name: "rm-during-upload", wrote: data, orig: map[string][]byte{"old.bin": old}, run: func(t *testing.T, m *mount, svc service, src string) map[string][]byte {
			svc.setFaults(faultSet{uploadDelay: 700 * time.Millisecond})
			defer svc.setFaults(faultSet{})
			cp := startCmd(t, "cp", src, m.path("old.bin"))
			rmErr := fmt.Errorf("ghlfs died first")
			if waitUploadOrExit(t, m, svc) {
				_, rmErr = shErr("rm", m.path("old.bin"))
			}
			cp.Wait()
			if rmErr == nil || crashedAt(m, "removed") {
				// Once recorded, the removal is done, even if ghlfs died
				// before it could answer rm.
				return map[string][]byte{}
			}
			return map[string][]byte{"old.bin": data}
		}},
		// The API cannot rename (HighLevel's update-404): mv uploads the
		// bytes again under the new name, and the old copy retires.
		{name: "rename-reupload", wrote: old, orig: map[string][]byte{"a.bin": old}, needs: noRename,
			run: func(t *testing.T, m *mount, svc service, src string) map[string][]byte {
				_, err := shErr("mv", m.path("a.bin"), m.path("b.bin"))
				if err == nil || crashedAt(m, "copying") {
					// Once recorded, the rename is done, even if ghlfs died
					// before it could answer mv.
					return map[string][]byte{"b.bin": old}
				}
				return map[string][]byte{"a.bin": old}
			}},
		{name: "save-through-temp", wrote: data, orig: map[string][]byte{"notes.md": old}, args: []string{"--write-back-delay", "300ms"},
			run: func(t *testing.T, m *mount, svc service, src string) map[string][]byte {
				shErr("cp", src, m.path(".notes.md.tmp"))
				if _, err := shErr("mv", m.path(".notes.md.tmp"), m.path("notes.md")); err != nil {
					return map[string][]byte{".notes.md.tmp": data, "notes.md": old}
				}
				return map[string][]byte{"notes.md": data}
			}},
	}
}

// crashedAt reports whether ghlfs died at point, once it has died if it
// is dying (a tool's call failed because it did).
func crashedAt(m *mount, point string) bool {
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		return false
	}
	return strings.Contains(m.log.String(), "crash point "+point+" ")
}

// waitUploadOrExit waits until the fake is receiving an upload, or ghlfs
// has died; it reports whether the upload began with ghlfs alive.
func waitUploadOrExit(t *testing.T, m *mount, svc service) bool {
	t.Helper()
	alive := true
	waitFor(t, "an upload to begin", func() bool {
		select {
		case <-m.exited:
			alive = false
			return true
		default:
		}
		return svc.counts(t).uploads > 0
	})
	return alive
}

// TestCrashAtEveryPoint kills ghlfs at every crash point of every way of
// writing, mounts again, and checks the library through the service's own
// API: the name holds exactly the last complete content, once (or the
// original, when the change was still being written); no fragment was
// ever uploaded (no copy, no version); the original went to the trash only
// after its replacement landed; and nothing is left pending. Each backend
// (backends()) runs the table, under its name.
func TestCrashAtEveryPoint(t *testing.T) {
	// Not parallel: its cases run in parallel among themselves.
	for _, fx := range backends() {
		for _, c := range crashCases() {
			for _, point := range crashPoints {
				t.Run(fx.name()+"/"+c.name+"/"+point, func(t *testing.T) {
					t.Parallel()
					crashOnce(t, fx, c, point)
				})
			}
		}
	}
}

// version names one version of a file: its id, and its Rev ("" where
// every upload is a new id).
type version struct{ id, rev string }

func crashOnce(t *testing.T, fx backendFixture, c crashCase, point string) {
	var quirks []string
	if c.needs != "" {
		q, ok := fx.quirks(c.needs)
		if !ok {
			t.Skipf("the %s fake has no way to behave so: %s", fx.name(), c.needs)
		}
		quirks = q
	}
	svc := fx.start(t, fakeOpts{quirks: quirks})
	origIDs := map[string]string{}
	for name, b := range c.orig {
		origIDs[name] = svc.addFile("", name, b)
	}
	orig := map[version]bool{}
	for _, it := range svc.items() {
		if !it.Folder && origIDs[it.Name] == it.ID {
			orig[version{it.ID, it.Rev}] = true
		}
	}
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, randomBytes(300_000, 7))
	m := mountService(t, svc, mountOpt{plain: true, args: c.args, env: []string{"GHLFS_CRASH_AT=" + point}})
	want := c.run(t, m, svc, src)
	// Whatever was still to do happens now, or ghlfs dies at the point.
	crashed := false
	waitFor(t, "ghlfs to crash or finish", func() bool {
		select {
		case <-m.exited:
			crashed = true
			return true
		default:
		}
		return len(spoolFiles(t, m.cacheDir)) == 0
	})
	t.Logf("crashed at %s: %v", point, crashed)
	if crashed {
		m.reap()
		if !strings.Contains(m.log.String(), "crash point "+point) {
			t.Fatalf("ghlfs died, but not at %s:\n%s", point, m.log)
		}
	} else {
		m.stop()
	}

	// Mount again, as a user would, and let it finish.
	m2 := mountService(t, svc, mountOpt{plain: true, cacheDir: m.cacheDir})
	waitFor(t, "the queue to empty", func() bool { return len(spoolFiles(t, m2.cacheDir)) == 0 })

	// The library as another client sees it, through the service's API.
	lib := map[string][]byte{}
	for p, f := range svc.tree(t) {
		if f.Type != "file" {
			continue
		}
		if strings.Contains(p, " #") {
			t.Errorf("two active files named %s", p)
			continue
		}
		lib[p], _ = svc.content(f.ID, "")
	}
	var all []libItem
	for _, it := range svc.items() {
		if !it.Folder {
			all = append(all, it)
		}
	}
	// Only a crash while the bytes were being written leaves them
	// incomplete; from "complete" on, they are the file.
	complete := !crashed || point != "writing"
	expect := c.orig
	if complete {
		expect = want
	}
	if expect == nil {
		expect = map[string][]byte{}
	}
	if !sameTree(lib, expect) {
		t.Errorf("crashed=%v: the library holds %s, want %s", crashed, describe(lib), describe(expect))
	}
	// The mount shows the same.
	shownTree := map[string][]byte{}
	for _, n := range lines(sh(t, "ls", "-A", m2.dir)) {
		shownTree[n] = readFile(t, m2.path(n))
	}
	if !sameTree(shownTree, lib) {
		t.Errorf("the mount shows %s, the library holds %s", describe(shownTree), describe(lib))
	}
	// Nothing but originals and complete contents ever reached the
	// library, and each complete content once.
	allowed := [][]byte{}
	for _, b := range c.orig {
		allowed = append(allowed, b)
	}
	allowed = append(allowed, c.wrote)
	uploads := map[string]int{}
	for _, it := range all {
		b, _ := svc.content(it.ID, it.Rev)
		if !slices.ContainsFunc(allowed, func(a []byte) bool { return bytes.Equal(a, b) }) {
			t.Errorf("a fragment reached the library: %s (%s, %d bytes)", it.Name, it.Status, len(b))
		}
		if !orig[version{it.ID, it.Rev}] {
			uploads[sha(b)]++
		}
	}
	for sum, n := range uploads {
		if n > 1 {
			t.Errorf("content %s… uploaded %d times", sum[:8], n)
		}
	}
	// An original goes to the trash only once its replacement landed.
	for _, it := range all {
		if orig[version{it.ID, it.Rev}] && it.Status != statusActive && !complete {
			t.Errorf("the original %s is %s, but its change never completed", it.Name, it.Status)
		}
	}
	if t.Failed() {
		t.Logf("items: %+v", all)
		t.Logf("first ghlfs:\n%s", m.log)
	}
}

func sameTree(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func describe(tree map[string][]byte) string {
	var parts []string
	for k, v := range tree {
		parts = append(parts, fmt.Sprintf("%s(%d bytes, %s…)", k, len(v), sha(v)[:8]))
	}
	slices.Sort(parts)
	return "[" + strings.Join(parts, " ") + "]"
}
