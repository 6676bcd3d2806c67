package integration

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// The demo library, browsed and read with real tools, in both field modes
// and under a page cap lower than the client's page size.
func TestReadDemoLibrary(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		opts ghltest.Options
	}{
		{"full-fields", ghltest.Options{Seed: "demo"}},
		{"minimal-fields", ghltest.Options{Seed: "demo", MinimalFields: true}},
		{"page-cap-3", ghltest.Options{Seed: "demo", PageCap: 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fake(t, c.opts)
			m := mountFS(t, srv, mountOpt{})
			checkMountMatches(t, srv, m)

			// cp -r out of the mount gives a tree diff -r finds identical.
			out := t.TempDir()
			sh(t, "cp", "-r", m.dir+"/.", out)
			sh(t, "diff", "-r", m.dir, out)

			// du adds up the sizes of the library.
			var sum int64
			for _, f := range readLibrary(srv).files {
				sum += f.Size
			}
			du := strings.Fields(sh(t, "du", "-sb", "--apparent-size", m.dir))[0]
			dirs := int64(len(readLibrary(srv).folders)+1) * 4096
			if du != itoa(sum+dirs) {
				t.Errorf("du -sb: %s, want %d (files) + %d (dirs)", du, sum, dirs)
			}
		})
	}
}

// Names the API allows but a directory cannot hold, and names shared by
// two files, are shown under distinct names that stay the same.
func TestDemoNames(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{Seed: "demo"})
	m := mountFS(t, srv, mountOpt{})
	lib := readLibrary(srv)

	sawSlash, sawDup := false, false
	for _, folderID := range append([]string{""}, ids(lib.folders)...) {
		dir := m.path(lib.dirPath(folderID))
		first := sh(t, "ls", "-la", dir)
		if again := sh(t, "ls", "-la", dir); again != first {
			t.Errorf("ls -la %s changed between two runs:\n%s\n%s", dir, first, again)
		}
		files := lib.filesIn(folderID)
		for _, f := range files {
			if strings.Contains(f.Name, "/") {
				sawSlash = true
				want, _ := srv.Content(f.ID)
				if got := readFile(t, path.Join(dir, strings.ReplaceAll(f.Name, "/", "／"))); string(got) != string(want) {
					t.Errorf("%q: wrong bytes", f.Name)
				}
			}
			if countName(files, f.Name) == 2 {
				sawDup = true
				// The older keeps the name; the other shows the end of its id.
				var twins []ghltest.Item
				for _, g := range files {
					if g.Name == f.Name {
						twins = append(twins, g)
					}
				}
				slices.SortFunc(twins, func(a, b ghltest.Item) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
				ext := path.Ext(f.Name)
				other := strings.TrimSuffix(f.Name, ext) + " (" + twins[1].ID[len(twins[1].ID)-8:] + ")" + ext
				for name, it := range map[string]ghltest.Item{f.Name: twins[0], other: twins[1]} {
					want, _ := srv.Content(it.ID)
					if got := readFile(t, path.Join(dir, name)); string(got) != string(want) {
						t.Errorf("%s: not the bytes of %s", name, it.ID)
					}
				}
			}
		}
		for _, sub := range lib.folders {
			if sub.ParentID == folderID && strings.Contains(sub.Name, "/") {
				sawSlash = true
				if fi, err := os.Stat(path.Join(dir, strings.ReplaceAll(sub.Name, "/", "／"))); err != nil || !fi.IsDir() {
					t.Errorf("folder %q not shown: %v", sub.Name, err)
				}
			}
		}
	}
	if !sawSlash || !sawDup {
		t.Fatalf("the demo library lacks a name with '/' (%v) or a shared name (%v)", sawSlash, sawDup)
	}

	// Modification times come from the API.
	for _, f := range lib.files {
		if countName(lib.filesIn(f.ParentID), f.Name) > 1 {
			continue
		}
		p := m.path(lib.dirPath(f.ParentID), shown(f.Name))
		got := strings.TrimSpace(sh(t, "stat", "-c", "%Y", p))
		if got != itoa(f.UpdatedAt.Unix()) {
			t.Errorf("%s: mtime %s, want %d", p, got, f.UpdatedAt.Unix())
		}
	}
}

// head -c 100 of a 20 MB file reads a small range, not the file.
func TestHeadReadsLittle(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{Seed: "demo"})
	m := mountFS(t, srv, mountOpt{})
	big := biggestFile(readLibrary(srv))
	if big.Size < 15<<20 {
		t.Fatalf("the demo's biggest file is %d bytes; want about 20 MB", big.Size)
	}
	p := m.path(readLibrary(srv).dirPath(big.ParentID), shown(big.Name))
	sh(t, "stat", p) // the listing, outside the measure
	resetStats(t, srv)
	got := sh(t, "head", "-c", "100", p)
	want, _ := srv.Content(big.ID)
	if got != string(want[:100]) {
		t.Fatal("head -c 100 read the wrong bytes")
	}
	st := getStats(t, srv)
	t.Logf("head -c 100 of %d bytes: %d bytes in %d storage requests", big.Size, st.StorageBytes, st.StorageRequests)
	if st.StorageBytes >= 1_000_000 {
		t.Errorf("head -c 100 transferred %d bytes from storage; want under 1 MB", st.StorageBytes)
	}
}

func biggestFile(l *library) ghltest.Item {
	var big ghltest.Item
	for _, f := range l.files {
		if f.Size > big.Size {
			big = f
		}
	}
	return big
}

// A cold find costs two list calls per folder (folders and files) plus
// extra pages; the same find within the cache time costs none.
func TestFindAPICalls(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{Seed: "demo"})
	m := mountFS(t, srv, mountOpt{})
	folders := len(readLibrary(srv).folders) + 1 // and the root
	resetStats(t, srv)
	first := sh(t, "find", m.dir)
	cold := getStats(t, srv)
	second := sh(t, "find", m.dir)
	warm := getStats(t, srv)
	t.Logf("find over %d folders: cold %d API calls (%v), warm %d", folders, cold.APIRequests, cold.ByEndpoint, warm.APIRequests-cold.APIRequests)
	if first != second {
		t.Errorf("two finds differ")
	}
	if cold.APIRequests > 2*folders+6 {
		t.Errorf("cold find: %d API calls for %d folders; want at most 2 per folder plus a few confirming pages", cold.APIRequests, folders)
	}
	if cold.ByEndpoint["GET /medias/files"] != cold.APIRequests {
		t.Errorf("find made calls other than listings: %v", cold.ByEndpoint)
	}
	if warm.APIRequests != cold.APIRequests {
		t.Errorf("warm find: %d API calls; want 0", warm.APIRequests-cold.APIRequests)
	}
}

// A wrong token: the mount refuses, with the API's message, and exits.
func TestWrongTokenRefused(t *testing.T) {
	t.Parallel()
	needFUSE(t)
	srv := fake(t, ghltest.Options{Seed: "demo"})
	// In the foreground, and as a --daemon, whose parent reports what its
	// child met.
	for _, extra := range [][]string{nil, {"--daemon", "--log-file", filepath.Join(t.TempDir(), "log")}} {
		dir := t.TempDir()
		args := append([]string{"mount", "--location", testLocation, "--api-url", srv.URL, "--cache-dir", t.TempDir()}, extra...)
		out, err := shEnv([]string{"GHL_TOKEN=wrong-token"}, binDir+"/ghlfs", append(args, dir)...)
		if err == nil {
			syscall.Unmount(dir, syscall.MNT_DETACH)
			t.Fatalf("mount %q with a wrong token succeeded:\n%s", extra, out)
		}
		if !strings.Contains(out, "Invalid token: access token is invalid") {
			t.Errorf("%q: the error does not carry the API's message:\n%s", extra, out)
		}
		if strings.Contains(out, "wrong-token") {
			t.Errorf("%q: the token was printed:\n%s", extra, out)
		}
		if isMounted(dir) {
			t.Errorf("%q: mounted anyway", extra)
		}
	}
}

// SIGTERM unmounts cleanly and ghlfs exits 0; so does ghlfs unmount.
func TestCleanUnmount(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{Seed: "demo"})
	m := mountFS(t, srv, mountOpt{})
	sh(t, "ls", m.dir)
	if err := m.stop(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, m.log)
	}

	m2 := mountFS(t, srv, mountOpt{})
	sh(t, "ls", m2.dir)
	sh(t, binDir+"/ghlfs", "unmount", m2.dir)
	select {
	case <-m2.exited:
		if m2.exitErr != nil {
			t.Fatalf("ghlfs exited with %v after ghlfs unmount\n%s", m2.exitErr, m2.log)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ghlfs still running after ghlfs unmount")
	}
	if isMounted(m2.dir) {
		t.Fatal("still mounted")
	}

	// ghlfs unmount returns once the files due are uploaded, whatever the
	// write-back delay.
	m3 := mountFS(t, srv, mountOpt{args: []string{"--write-back-delay", "1h"}})
	writeFile(t, m3.path("late.txt"), []byte("uploaded at unmount"))
	if _, ok := remoteTree(t, srv)["late.txt"]; ok {
		t.Fatal("uploaded before the delay")
	}
	sh(t, binDir+"/ghlfs", "unmount", m3.dir)
	if rf, ok := remoteTree(t, srv)["late.txt"]; !ok || string(download(t, rf.URL)) != "uploaded at unmount" {
		t.Fatalf("after ghlfs unmount returned, the library holds %+v\n%s", rf, m3.log)
	}
	<-m3.exited

	// It refuses what is not a ghlfs mount.
	if out, err := shErr(binDir+"/ghlfs", "unmount", t.TempDir()); err == nil || !strings.Contains(out, "not a ghlfs mount") {
		t.Errorf("unmount of a plain directory: %v %s", err, out)
	}
}
