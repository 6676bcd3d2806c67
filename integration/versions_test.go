package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The .versions view on a real mount, for every backend: where the
// service keeps a file's versions (traits.keepsVersions), ls, stat, cmp,
// getfattr, rm, cp, mkdir and touch on it, checked against the fake's
// own state (its items and content); elsewhere, no view.
func TestVersionsView(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name(), func(t *testing.T) {
			t.Parallel()
			svc := b.start(t, fakeOpts{})
			m := mountService(t, svc, mountOpt{})
			if svc.traits().keepsVersions {
				versionsView(t, svc, m)
			} else {
				noVersionsView(t, svc, m)
			}
		})
	}
}

// inC runs a tool in the C locale (its messages in English), returning its
// output and error.
func inC(name string, args ...string) (string, error) {
	return shEnv([]string{"LC_ALL=C"}, name, args...)
}

// versionsOnFake is, by content, the versions the fake holds of file id
// (its current one too): the index in data of each version's bytes, to
// its Rev; a version holding none of them fails the test.
func versionsOnFake(t *testing.T, svc service, id string, data [][]byte) map[int]string {
	t.Helper()
	out := map[int]string{}
	for _, it := range svc.items() {
		if it.ID != id || (it.Status != statusActive && it.Status != statusOldVersion) {
			continue
		}
		b, ok := svc.content(id, it.Rev)
		i := slices.IndexFunc(data, func(d []byte) bool { return bytes.Equal(d, b) })
		if !ok || i < 0 {
			t.Fatalf("the fake holds a version %s of %s whose %d bytes are none written", it.Rev, id, len(b))
		}
		if _, twice := out[i]; twice {
			t.Fatalf("the fake holds two versions of %s with bytes #%d", id, i+1)
		}
		out[i] = it.Rev
	}
	return out
}

func versionsView(t *testing.T, svc service, m *mount) {
	local := t.TempDir()
	data := [][]byte{randomBytes(100_000, 1), randomBytes(300_000, 2), randomBytes(50_000, 3)}
	var files []string
	for i, d := range data {
		f := filepath.Join(local, "v"+itoa(int64(i+1)))
		writeFile(t, f, d)
		files = append(files, f)
	}
	docs := m.path("Docs")
	sh(t, "mkdir", docs)
	for _, f := range files {
		sh(t, "cp", f, filepath.Join(docs, "doc.txt"))
	}
	id := svc.tree(t)["Docs/doc.txt"].ID
	revs := versionsOnFake(t, svc, id, data)
	if len(revs) != 3 {
		t.Fatalf("the fake holds %d versions of doc.txt after three cp, want 3", len(revs))
	}
	view := filepath.Join(docs, ".versions")
	vdir := filepath.Join(view, "doc.txt")

	if got := lines(sh(t, "ls", "-a", docs)); !slices.Equal(got, []string{".", "..", "doc.txt"}) {
		t.Errorf("ls -a Docs: %q, want .versions hidden", got)
	}
	if got := lines(sh(t, "ls", view)); !slices.Equal(got, []string{"doc.txt"}) {
		t.Errorf("ls Docs/.versions: %q", got)
	}
	if got := lines(sh(t, "ls", vdir)); !slices.Equal(got, []string{"v1.txt", "v2.txt", "v3.txt"}) {
		t.Errorf("ls Docs/.versions/doc.txt: %q", got)
	}
	want := []string{"v1.txt 100000", "v2.txt 300000", "v3.txt 50000"}
	if got := lines(sh(t, "sh", "-c", `cd "$1" && stat -c '%n %s' *`, "sh", vdir)); !slices.Equal(got, want) {
		t.Errorf("sizes: %q, want %q", got, want)
	}

	// Each version reads its own bytes, those the fake holds under its
	// Rev, which its xattr names.
	for i, f := range files {
		v := filepath.Join(vdir, "v"+itoa(int64(i+1))+".txt")
		if out, err := inC("cmp", v, f); err != nil {
			t.Errorf("cmp %s with the bytes of upload %d: %v %s", v, i+1, err, out)
		}
		if b, ok := svc.content(id, revs[i]); !ok || !bytes.Equal(b, data[i]) {
			t.Errorf("the fake's version %s: %d bytes, not upload %d's", revs[i], len(b), i+1)
		}
		attrs := sh(t, "getfattr", "--absolute-names", "-d", "-m", "-", v)
		if !strings.Contains(attrs, `.version.id="`+revs[i]+`"`) || !strings.Contains(attrs, `.version.num="`+itoa(int64(i+1))+`"`) ||
			!strings.Contains(attrs, `.id="`+id+`"`) || strings.Contains(attrs, "version.current") != (i == 2) {
			t.Errorf("getfattr %s:\n%s\nwant the file's id %s, the version's %s, number %d", v, attrs, id, revs[i], i+1)
		}
	}

	// rm of an old version removes it alone; of the current: EBUSY, and
	// nothing changes.
	sh(t, "rm", filepath.Join(vdir, "v1.txt"))
	if _, ok := svc.content(id, revs[0]); ok {
		t.Errorf("after rm v1.txt the fake still holds version %s", revs[0])
	}
	after := versionsOnFake(t, svc, id, data)
	if len(after) != 2 || after[1] != revs[1] || after[2] != revs[2] {
		t.Errorf("after rm v1.txt the fake holds %v, want versions 2 and 3 of %v", after, revs)
	}
	if out, err := inC("rm", filepath.Join(vdir, "v3.txt")); err == nil || !strings.Contains(out, "Device or resource busy") {
		t.Errorf("rm of the current version: %v %q, want EBUSY", err, out)
	}
	if now := versionsOnFake(t, svc, id, data); len(now) != 2 || now[2] != revs[2] || svc.tree(t)["Docs/doc.txt"].Size != int64(len(data[2])) {
		t.Errorf("a refused rm of the current version changed the fake: %v", now)
	}
	if l := loudLines(m, "v3.txt"); len(l) != 1 || !strings.Contains(l[0], "level=INFO") || !strings.Contains(l[0], "rm doc.txt removes it") {
		t.Errorf("log of the refused rm: %q, want one INFO line saying how", l)
	}
	if got := lines(sh(t, "ls", vdir)); !slices.Equal(got, []string{"v2.txt", "v3.txt"}) {
		t.Errorf("ls after rm v1.txt: %q", got)
	}

	// Every other change inside: EROFS, nothing sent.
	for _, cmd := range [][]string{
		{"mkdir", filepath.Join(view, "New")},
		{"mkdir", filepath.Join(vdir, "New")},
		{"touch", filepath.Join(view, "new.txt")},
		{"touch", filepath.Join(vdir, "v2.txt")},
		{"mv", filepath.Join(vdir, "v2.txt"), filepath.Join(vdir, "v9.txt")},
		{"sh", "-c", `echo x >> "$1"`, "sh", filepath.Join(vdir, "v2.txt")},
	} {
		if out, err := inC(cmd[0], cmd[1:]...); err == nil || !strings.Contains(out, "Read-only file system") {
			t.Errorf("%s: %v %q, want EROFS", strings.Join(cmd, " "), err, out)
		}
	}
	if now := versionsOnFake(t, svc, id, data); len(now) != 2 || len(svc.tree(t)) != 2 {
		t.Errorf("refused changes changed the fake: %v, %v", now, svc.tree(t))
	}

	// A restore: cp of v2 onto the file makes v2's bytes the newest
	// version.
	sh(t, "cp", filepath.Join(vdir, "v2.txt"), filepath.Join(docs, "doc.txt"))
	if b, ok := svc.content(id, ""); !ok || !bytes.Equal(b, data[1]) {
		t.Errorf("after the restore the fake's current bytes are %d bytes, not version 2's", len(b))
	}
	n := 0
	for _, it := range svc.items() {
		if it.ID == id && (it.Status == statusActive || it.Status == statusOldVersion) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("after the restore the fake holds %d versions, want 3 (2, 3, and the new one)", n)
	}
	if got := lines(sh(t, "ls", vdir)); !slices.Equal(got, []string{"v2.txt", "v3.txt", "v4.txt"}) {
		t.Errorf("ls after the restore: %q", got)
	}
	if out, err := inC("cmp", filepath.Join(vdir, "v4.txt"), files[1]); err != nil {
		t.Errorf("cmp v4.txt with version 2's bytes: %v %s", err, out)
	}
	if l := logLines(m.log.String(), "level=ERROR"); len(l) != 0 {
		t.Errorf("ERROR lines:\n%s", strings.Join(l, "\n"))
	}
}

// noVersionsView: a service that keeps no versions shows no view; an
// item named .versions is an ordinary one.
func noVersionsView(t *testing.T, svc service, m *mount) {
	docs := m.path("Docs")
	sh(t, "mkdir", docs)
	writeFile(t, filepath.Join(docs, "doc.txt"), []byte("one"))
	if out, err := inC("ls", filepath.Join(docs, ".versions")); err == nil || !strings.Contains(out, "No such file or directory") {
		t.Errorf("ls Docs/.versions: %v %q, want ENOENT", err, out)
	}
	sh(t, "mkdir", filepath.Join(docs, ".versions"))
	writeFile(t, filepath.Join(docs, ".versions", "kept.txt"), []byte("kept"))
	if got := lines(sh(t, "ls", "-a", docs)); !slices.Equal(got, []string{".", "..", ".versions", "doc.txt"}) {
		t.Errorf("ls -a Docs: %q", got)
	}
	if f, ok := svc.tree(t)["Docs/.versions/kept.txt"]; !ok || f.Size != 4 {
		t.Errorf("the fake holds %v, want Docs/.versions/kept.txt", svc.tree(t))
	}
	if _, err := os.Stat(filepath.Join(docs, ".versions", "doc.txt")); err == nil {
		t.Errorf("a folder named .versions shows the folder's files")
	}
}
