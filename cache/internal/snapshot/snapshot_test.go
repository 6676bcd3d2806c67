package snapshot

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/renameio/v2"
	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/entry"
	"github.com/ghlfs/ghlfs/cache/internal/testlog"
)

const (
	testLoc = "loc0123456789abcdef"
	testAPI = "https://services.leadconnectorhq.com"
)

type snapEnv struct {
	t     *testing.T
	dir   string
	clock *clockwork.FakeClock
	log   *testlog.Buf
}

func newSnapEnv(t *testing.T) *snapEnv {
	return &snapEnv{t: t, dir: t.TempDir(), clock: clockwork.NewFakeClockAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), log: &testlog.Buf{}}
}

// open opens the snapshot of the env's dir as the library at loc, api;
// it is closed at the test's end.
func (e *snapEnv) open(loc, api string) *Snapshot {
	s := Open(Config{Dir: e.dir, Location: loc, API: api, Clock: e.clock, Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	e.t.Cleanup(func() { s.Close() })
	return s
}

// reopen closes s and loads the snapshot again, as the next mount would.
func (e *snapEnv) reopen(s *Snapshot) (*Snapshot, map[string]Folder) {
	e.t.Helper()
	if err := s.Close(); err != nil {
		e.t.Fatalf("close: %v", err)
	}
	s2 := e.open(s.location, s.api)
	got, err := s2.Load()
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	return s2, got
}

// onDisk decodes the snapshot file as it is now.
func (e *snapEnv) onDisk() map[string]Folder {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.dir, snapshotName))
	if err != nil {
		e.t.Fatal(err)
	}
	got, _, err := (&Snapshot{location: testLoc, api: testAPI}).decode(data)
	if err != nil {
		e.t.Fatalf("decode: %v", err)
	}
	return got
}

func fileEntry(parent, id, name, url string, size int64, mod time.Time) Entry {
	e := Entry{Key: id, ID: id, Name: name, ParentID: parent, Size: size, ModTime: mod}
	e.SetURL(url)
	return e
}

func sameFolders(t *testing.T, got, want map[string]Folder) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d folders, want %d", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Fatalf("folder %q missing", id)
		}
		if !g.Listed.Equal(w.Listed) {
			t.Errorf("folder %q listed at %v, want %v", id, g.Listed, w.Listed)
		}
		// Every entry loaded is marked as not yet checked against the
		// server (its url may be stale); the rest is as saved.
		entries := slices.Clone(g.Entries)
		for i := range entries {
			if !entries[i].Unchecked() {
				t.Errorf("folder %q: %s loaded as checked", id, entries[i].Name)
			}
			entries[i].SetUnchecked(false)
		}
		if !reflect.DeepEqual(entries, w.Entries) {
			t.Errorf("folder %q:\n got %+v\nwant %+v", id, entries, w.Entries)
		}
	}
}

// TestSnapshotRoundTrip: every field of every kind of entry comes back;
// pending entries and entries of the write-back queue are not kept.
func TestSnapshotRoundTrip(t *testing.T) {
	e := newSnapEnv(t)
	s := e.open(testLoc, testAPI)
	if got, err := s.Load(); err != nil || len(got) != 0 {
		t.Fatalf("load of no snapshot: %v, %v", got, err)
	}
	mod := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
	const store = "https://storage.googleapis.com/msgsndr/" + testLoc + "/media/"
	dir := Entry{Key: "f00000000000000000000001", ID: "f00000000000000000000001", Name: "Photos", IsDir: true, Size: -1, ModTime: mod}
	system := Entry{Key: "f00000000000000000000002", ID: "f00000000000000000000002", Name: "App", IsDir: true, System: true, Size: -1, ModTime: mod}
	root := []Entry{
		dir,
		system,
		fileEntry("", "a00000000000000000000001", "a.jpg", store+"a00000000000000000000001.jpg", 12345, mod),
		fileEntry("", "a00000000000000000000002", "b c.png", store+"a00000000000000000000002.png", -1, time.Time{}),
		fileEntry("", "a00000000000000000000003", "élan ✓.txt", "https://cdn.example.com/other/url?x=1", 0, mod.Add(time.Hour)),
		fileEntry("", "a00000000000000000000004", "no url", "", 7, mod),
		{Key: "pending-key", Name: "pending.txt", Size: -1, Pending: true},
		{Key: "queued", ID: "", Name: "queued.txt", Size: 3},
	}
	root[2].SetContentType("image/jpeg")
	root[2].SetCreated(time.Date(2024, 12, 31, 23, 59, 59, 123000000, time.UTC))
	root[3].SetContentType("image/png")
	root[4].SetContentType("text/plain; charset=utf-8")
	root[4].SetCreated(mod)
	root[5].SetContentType("image/jpeg") // shared with root[2]: written once
	kept := root[:6]
	replaced := fileEntry("f00000000000000000000001", "b00000000000000000000002", "same key.jpg", store+"b00000000000000000000002.jpg", 99, mod)
	replaced.Key = "b00000000000000000000001" // replaced bytes: a new id under the old key
	elsewhere := fileEntry("somewhere-else", "b00000000000000000000003", "odd parent", store+"b00000000000000000000003", 1, mod)
	sub := []Entry{replaced, elsewhere}
	listed := e.clock.Now()
	s.Put("", root, listed)
	s.Put(dir.ID, sub, listed.Add(time.Second))
	s.Put("empty", nil, listed.Add(2*time.Second))

	s2, got := e.reopen(s)
	want := map[string]Folder{
		"":      {Entries: kept, Listed: listed},
		dir.ID:  {Entries: sub, Listed: listed.Add(time.Second)},
		"empty": {Listed: listed.Add(2 * time.Second)},
	}
	got["empty"] = Folder{Listed: got["empty"].Listed} // nil, not empty
	sameFolders(t, got, want)
	for i, e := range got[""].Entries {
		if e.URL() != kept[i].URL() {
			t.Errorf("%s: URL %q, want %q", e.Name, e.URL(), kept[i].URL())
		}
		if e.ContentType() != kept[i].ContentType() || !e.Created().Equal(kept[i].Created()) {
			t.Errorf("%s: content type %q created %v, want %q %v", e.Name, e.ContentType(), e.Created(), kept[i].ContentType(), kept[i].Created())
		}
	}
	if got[""].Entries[2].ContentTypeHandle() != got[""].Entries[5].ContentTypeHandle() {
		t.Errorf("one content type loaded twice, not shared")
	}

	// The loaded folders are the state later writes start from.
	s2.Put("new", nil, listed)
	_, got = e.reopen(s2)
	if len(got) != 4 {
		t.Fatalf("after a put on a loaded snapshot: %d folders, want 4", len(got))
	}
	if n := len(e.log.Lines("WARN")) + len(e.log.Lines("INFO")); n != 0 {
		t.Errorf("log lines: %q", append(e.log.Lines("WARN"), e.log.Lines("INFO")...))
	}
}

func TestSnapshotDrop(t *testing.T) {
	e := newSnapEnv(t)
	s := e.open(testLoc, testAPI)
	s.Put("a", []Entry{fileEntry("a", "a1", "x", "", 1, time.Time{})}, e.clock.Now())
	s.Put("b", []Entry{fileEntry("b", "b1", "y", "", 1, time.Time{})}, e.clock.Now())
	s.Drop("a")
	s.Drop("never")
	_, got := e.reopen(s)
	if _, ok := got["a"]; ok || len(got) != 1 {
		t.Fatalf("after drop: %v", got)
	}
}

// TestSnapshotOtherLibrary: a snapshot of another location, another API
// or another format version is ignored with one INFO line.
func TestSnapshotOtherLibrary(t *testing.T) {
	for _, tc := range []struct{ name, loc, api string }{
		{"location", "otherLocation", testAPI},
		{"API", testLoc, "http://127.0.0.1:1234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSnapEnv(t)
			s := e.open(testLoc, testAPI)
			s.Put("", []Entry{fileEntry("", "a1", "x", "", 1, time.Time{})}, e.clock.Now())
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := e.open(tc.loc, tc.api).Load()
			if err != nil || len(got) != 0 {
				t.Fatalf("load: %v, %v", got, err)
			}
			if info := e.log.Lines("INFO"); len(info) != 1 || !strings.Contains(info[0], "ignored") {
				t.Errorf("INFO lines: %q", info)
			}
			if warn := e.log.Lines("WARN"); len(warn) != 0 {
				t.Errorf("WARN lines: %q", warn)
			}
		})
	}
	for _, v := range []uint64{snapshotVersion - 1, snapshotVersion + 1} {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			e := newSnapEnv(t)
			// A whole snapshot of this library in format v: for the one
			// before, its header and a folder as that format wrote it.
			b := binary.AppendUvarint([]byte(snapshotMagic), v)
			b = appendSnapString(b, testLoc)
			b = appendSnapString(b, testAPI)
			b = binary.AppendUvarint(b, 1)
			folder := appendSnapString(nil, "")
			folder = binary.AppendVarint(folder, 0)
			folder = binary.AppendUvarint(folder, 0) // no URL parts
			folder = binary.AppendUvarint(folder, 1) // one entry
			folder = append(folder, 0)
			folder = appendSnapString(folder, "a1")
			folder = appendSnapString(folder, "x")
			folder = binary.AppendVarint(folder, 1)
			folder = binary.AppendVarint(folder, 0)
			folder = appendSnapString(folder, "")
			b = binary.AppendUvarint(b, uint64(len(folder)))
			b = append(b, folder...)
			b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, snapCRC))
			if err := os.WriteFile(filepath.Join(e.dir, snapshotName), b, 0o600); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(e.dir, cleanName), nil, 0o600)
			if HasSavedListings(e.dir, testLoc, testAPI) {
				t.Errorf("HasSavedListings: true for a snapshot in format %d", v)
			}
			got, err := e.open(testLoc, testAPI).Load()
			if err != nil || len(got) != 0 {
				t.Fatalf("load: %v, %v", got, err)
			}
			if info := e.log.Lines("INFO"); len(info) != 1 || !strings.Contains(info[0], fmt.Sprintf("format %d", v)) {
				t.Errorf("INFO lines: %q", info)
			}
			if warn := e.log.Lines("WARN"); len(warn) != 0 {
				t.Errorf("WARN lines: %q", warn)
			}
		})
	}
}

// synthEntries makes n realistic entries in folders folders: ids of 24
// hex digits, names of 20 to 40 characters, storage URLs of ~100 bytes.
func synthEntries(n, folders int) map[string][]Entry {
	rng := rand.New(rand.NewPCG(1, 2))
	hex := func() string { return fmt.Sprintf("%08x%016x", rng.Uint32(), rng.Uint64()) }
	out := make(map[string][]Entry, folders)
	ids := []string{""}
	for len(ids) < folders {
		ids = append(ids, hex())
	}
	exts := []string{".jpg", ".png", ".pdf", ".mp4", ".txt"}
	types := []string{"image/jpeg", "image/png", "application/pdf", "video/mp4", "text/plain"}
	const store = "https://storage.googleapis.com/msgsndr/" + testLoc + "/media/"
	mod := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		parent := ids[i%folders]
		var e Entry
		if i < folders-1 { // each folder but the root is in the root
			id := ids[i+1]
			e = Entry{Key: id, ID: id, Name: fmt.Sprintf("folder %d of the library", i), ParentID: "", IsDir: true, Size: -1, ModTime: mod}
			parent = ""
		} else {
			id := hex()
			x := rng.IntN(len(exts))
			name := fmt.Sprintf("%s %d%s", strings.Repeat("photo-", 2+rng.IntN(5)), i, exts[x])
			e = fileEntry(parent, id, name, store+id+exts[x], rng.Int64N(50<<20), mod.Add(time.Duration(rng.Int64N(1e15))))
			e.SetContentType(types[x])
			e.SetCreated(e.ModTime) // most files were never changed
			if rng.IntN(10) == 0 {
				e.SetCreated(e.ModTime.Add(-time.Duration(rng.Int64N(1e15))))
			}
		}
		out[parent] = append(out[parent], e)
	}
	for _, es := range out {
		entry.Sort(es)
	}
	return out
}

// writeSynth writes a snapshot of synthEntries(n, folders) in dir.
func writeSynth(tb testing.TB, dir string, n, folders int) {
	s := Open(Config{Dir: dir, Location: testLoc, API: testAPI, Clock: clockwork.NewFakeClock()})
	for id, es := range synthEntries(n, folders) {
		s.Put(id, es, time.Now())
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
}

// TestSnapshotTruncated: a snapshot cut anywhere, or with a byte changed,
// is ignored with one WARN line.
func TestSnapshotTruncated(t *testing.T) {
	e := newSnapEnv(t)
	writeSynth(t, e.dir, 2000, 20)
	path := filepath.Join(e.dir, snapshotName)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(whole)
	damaged[len(damaged)/2] ^= 0x40
	cases := map[string][]byte{"damaged": damaged, "longer": append(bytes.Clone(whole), 0)}
	for i := range 10 {
		cases[fmt.Sprintf("cut at %d/10", i)] = whole[:len(whole)*i/10]
	}
	cases["cut by one byte"] = whole[:len(whole)-1]
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			e.log = &testlog.Buf{}
			got, err := e.open(testLoc, testAPI).Load()
			if err != nil || len(got) != 0 {
				t.Fatalf("load: %d folders, %v", len(got), err)
			}
			if warn := e.log.Lines("WARN"); len(warn) != 1 {
				t.Errorf("WARN lines: %q", warn)
			}
		})
	}
}

// TestSnapshotCrashMidWrite: a write cut short by a crash leaves its
// temporary file, never a damaged snapshot; the next mount reads the
// previous snapshot and removes the temporary file.
func TestSnapshotCrashMidWrite(t *testing.T) {
	e := newSnapEnv(t)
	s := e.open(testLoc, testAPI)
	want := map[string]Folder{"": {Entries: []Entry{fileEntry("", "a1", "kept.txt", "", 5, time.Time{})}, Listed: e.clock.Now()}}
	s.Put("", want[""].Entries, want[""].Listed)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The crash: a write that got half way.
	pf, err := renameio.NewPendingFile(filepath.Join(e.dir, snapshotName), renameio.WithTempDir(e.dir))
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := os.ReadFile(filepath.Join(e.dir, snapshotName))
	pf.Write(whole[:len(whole)/2])
	pf.File.Close()
	if left, _ := filepath.Glob(filepath.Join(e.dir, "."+snapshotName+"*")); len(left) != 1 {
		t.Fatalf("temporary files: %q", left)
	}

	got, err := e.open(testLoc, testAPI).Load()
	if err != nil {
		t.Fatal(err)
	}
	sameFolders(t, got, want)
	if left, _ := filepath.Glob(filepath.Join(e.dir, "."+snapshotName+"*")); len(left) != 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// TestSnapshotDebounce: under a stream of changes the snapshot is written
// at most once per interval, each time with the state of that moment.
func TestSnapshotDebounce(t *testing.T) {
	e := newSnapEnv(t)
	s := e.open(testLoc, testAPI)
	wrote := make(chan error, 100)
	s.saved = func(err error) { wrote <- err }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wait := func() {
		t.Helper()
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("no write")
		}
	}
	version := func(i int) []Entry {
		return []Entry{fileEntry("", "a1", fmt.Sprintf("v%d", i), "", int64(i), time.Time{})}
	}

	s.Put("", version(0), e.clock.Now())
	wait() // the first change is written at once
	const steps = 10
	for i := 1; i <= 3*steps; i++ {
		s.Put("", version(i), e.clock.Now())
		s.Put(fmt.Sprintf("f%d", i), nil, e.clock.Now())
		if err := e.clock.BlockUntilContext(ctx, 1); err != nil { // the writer waits for the interval's end
			t.Fatal(err)
		}
		if n := s.writes.Load(); n != int64(1+(i-1)/steps) {
			t.Fatalf("step %d: %d writes", i, n)
		}
		e.clock.Advance(snapshotInterval / steps)
		if i%steps == 0 {
			wait()
			if got := e.onDisk()[""].Entries[0].Name; got != fmt.Sprintf("v%d", i) {
				t.Fatalf("step %d: the snapshot holds %s", i, got)
			}
		}
	}
	if n := s.writes.Load(); n != 4 {
		t.Fatalf("%d writes, want 4", n)
	}
}

// TestSnapshotCloseWritesLast: close writes what changed since the last
// write, without waiting for the interval.
func TestSnapshotCloseWritesLast(t *testing.T) {
	e := newSnapEnv(t)
	s := e.open(testLoc, testAPI)
	wrote := make(chan error, 10)
	s.saved = func(err error) { wrote <- err }
	s.Put("a", nil, e.clock.Now())
	<-wrote
	s.Put("b", nil, e.clock.Now())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := e.onDisk(); len(got) != 2 {
		t.Fatalf("after close: %d folders, want 2", len(got))
	}
	if n := s.writes.Load(); n != 2 {
		t.Fatalf("%d writes, want 2", n)
	}
	if err := s.Close(); err != nil { // twice is harmless
		t.Fatal(err)
	}
}

// TestSnapshotWriteFails: a failing write is logged once and tried
// again after the interval until it succeeds, which is logged.
func TestSnapshotWriteFails(t *testing.T) {
	e := newSnapEnv(t)
	s := e.open(testLoc, testAPI)
	saved := make(chan error, 10)
	s.saved = func(err error) { saved <- err }
	block := filepath.Join(e.dir, snapshotName, "x") // the snapshot's name taken by a folder
	if err := os.MkdirAll(block, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.Put("a", nil, e.clock.Now())
	for i := range 3 {
		if err := <-saved; err == nil {
			t.Fatalf("write %d succeeded", i)
		}
		if i == 2 {
			if err := os.RemoveAll(filepath.Join(e.dir, snapshotName)); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(snapshotInterval)
	}
	if err := <-saved; err != nil {
		t.Fatalf("write after the disk was fixed: %v", err)
	}
	if got := e.onDisk(); len(got) != 1 {
		t.Fatalf("%d folders", len(got))
	}
	if warn := e.log.Lines("WARN"); len(warn) != 1 {
		t.Errorf("WARN lines: %q", warn)
	}
	if info := e.log.Lines("INFO"); len(info) != 1 || !strings.Contains(info[0], "saved again") {
		t.Errorf("INFO lines: %q", info)
	}
}

// TestSnapshotOutOfBounds: a folder with an entry past the bounds load
// checks is left out; the others are kept.
func TestSnapshotOutOfBounds(t *testing.T) {
	e := newSnapEnv(t)
	s := e.open(testLoc, testAPI)
	s.Put("bad", []Entry{fileEntry("bad", "a1", strings.Repeat("n", 5000), "", 1, time.Time{})}, e.clock.Now())
	s.Put("good", []Entry{fileEntry("good", "a2", "fine", "", 1, time.Time{})}, e.clock.Now())
	_, got := e.reopen(s)
	if _, ok := got["good"]; !ok || len(got) != 1 {
		t.Fatalf("folders: %v", got)
	}
}

// hostileSnapshot is a snapshot with a valid header and checksum around
// body (a folder count and the folders).
func hostileSnapshot(body []byte) []byte {
	b := binary.AppendUvarint([]byte(snapshotMagic), snapshotVersion)
	b = appendSnapString(b, testLoc)
	b = appendSnapString(b, testAPI)
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, snapCRC))
}

// TestSnapshotHostile: counts and lengths past what the file holds are
// refused before anything is made for them.
func TestSnapshotHostile(t *testing.T) {
	huge := uint64(1) << 60
	folder := func(parts ...[]byte) []byte {
		chunk := bytes.Join(parts, nil)
		return append(binary.AppendUvarint(binary.AppendUvarint(nil, 1), uint64(len(chunk))), chunk...)
	}
	u := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	v := func(v int64) []byte { return binary.AppendVarint(nil, v) }
	cases := map[string][]byte{
		"folders":       u(huge),
		"folder length": append(u(1), u(huge)...),
		"strings":       folder(u(0), v(0), u(huge)),
		"entries":       folder(u(0), v(0), u(0), u(huge)),
		"entries fit":   folder(u(0), v(0), u(0), u(3_000_000), make([]byte, 100)),
		"id length":     folder(u(0), v(0), u(0), u(1), []byte{0}, u(huge), make([]byte, 10)),
		"url index":     folder(u(0), v(0), u(0), u(1), []byte{snapURLHasID}, u(1), []byte("i"), u(0), v(0), v(0), u(5), u(0)),
		"flags":         folder(u(0), v(0), u(0), u(1), []byte{0x80}, u(1), []byte("i"), u(0), v(0), v(0), u(0)),
		"no id":         folder(u(0), v(0), u(0), u(1), []byte{0}, u(0), u(0), v(0), v(0), u(0), u(0)),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			e := newSnapEnv(t)
			if err := os.WriteFile(filepath.Join(e.dir, snapshotName), hostileSnapshot(body), 0o600); err != nil {
				t.Fatal(err)
			}
			s := e.open(testLoc, testAPI)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, err := s.Load()
			runtime.ReadMemStats(&after)
			if err != nil || len(got) != 0 {
				t.Fatalf("load: %v, %v", got, err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("load allocated %d bytes", n)
			}
			if warn := e.log.Lines("WARN"); len(warn) != 1 {
				t.Errorf("WARN lines: %q", warn)
			}
		})
	}
}

// TestSnapshotLargeMemory: 100,000 entries in 1,000 folders load into
// well under 100 MB of heap. (The time it takes is measured by
// BenchmarkSnapshotLoad.)
func TestSnapshotLargeMemory(t *testing.T) {
	dir := t.TempDir()
	writeSynth(t, dir, 100_000, 1_000)
	fi, err := os.Stat(filepath.Join(dir, snapshotName))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	s := Open(Config{Dir: dir, Location: testLoc, API: testAPI, Clock: clockwork.NewFakeClock()})
	got, err := s.Load()
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := 0
	for _, sf := range got {
		n += len(sf.Entries)
	}
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d entries in %d folders: file %.1f MB, loaded in %v, heap %.1f MB", n, len(got), float64(fi.Size())/1e6, took, float64(heap)/1e6)
	if n != 100_000 || len(got) != 1_000 {
		t.Fatalf("%d entries in %d folders", n, len(got))
	}
	if heap > 50<<20 {
		t.Errorf("heap after load: %d bytes", heap)
	}
	runtime.KeepAlive(got)
	s.Close()
}

func BenchmarkSnapshotLoad(b *testing.B) {
	dir := b.TempDir()
	writeSynth(b, dir, 100_000, 1_000)
	fi, err := os.Stat(filepath.Join(dir, snapshotName))
	if err != nil {
		b.Fatal(err)
	}
	var heap uint64
	b.ResetTimer()
	for range b.N {
		var before, after runtime.MemStats
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := Open(Config{Dir: dir, Location: testLoc, API: testAPI, Clock: clockwork.NewFakeClock()})
		b.StartTimer()
		got, err := s.Load()
		if err != nil || len(got) != 1_000 {
			b.Fatal(len(got), err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(got)
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
	b.ReportMetric(float64(heap)/1e6, "heap-MB")
}

func BenchmarkSnapshotWrite(b *testing.B) {
	dir := b.TempDir()
	folders := make(map[string]Folder)
	for id, es := range synthEntries(100_000, 1_000) {
		folders[id] = Folder{Entries: es, Listed: time.Now()}
	}
	s := Open(Config{Dir: dir, Location: testLoc, API: testAPI, Clock: clockwork.NewFakeClock()})
	defer s.Close()
	b.ResetTimer()
	for range b.N {
		if err := s.write(folders, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSnapshotMemoryBounded: a snapshot crafted to cost far more memory
// than its size (entries, folders or strings of a few bytes each: 19
// times the file for entries, so that a 512 MiB file would cost 10 GB)
// is refused before it is made, within a few times the file's size; a
// real one loads.
func TestSnapshotMemoryBounded(t *testing.T) {
	u := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	v := func(v int64) []byte { return binary.AppendVarint(nil, v) }
	block := func(parts ...[]byte) []byte {
		chunk := bytes.Join(parts, nil)
		return append(u(uint64(len(chunk))), chunk...)
	}
	const n = 900_000
	entry := bytes.Join([][]byte{{0}, u(1), []byte("i"), u(0), v(0), v(0), u(0), u(0)}, nil) // 8 bytes
	var folders []byte
	for i := range n {
		id := strconv.FormatInt(int64(i), 36)
		folders = append(folders, block(u(uint64(len(id))), []byte(id), v(0), u(0), u(0), u(0))...) // about 10 bytes
	}
	cases := map[string][]byte{
		"entries": append(u(1), block(u(0), v(0), u(0), u(0), u(n), bytes.Repeat(entry, n))...),
		"folders": append(u(n), folders...),
		"strings": append(u(1), block(u(0), v(0), u(n), bytes.Repeat(u(0), n), u(0), u(0))...),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			e := newSnapEnv(t)
			file := hostileSnapshot(body)
			if err := os.WriteFile(filepath.Join(e.dir, snapshotName), file, 0o600); err != nil {
				t.Fatal(err)
			}
			s := e.open(testLoc, testAPI)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			got, err := s.Load()
			runtime.ReadMemStats(&after)
			if err != nil || len(got) != 0 {
				t.Fatalf("load: %d folders, %v", len(got), err)
			}
			// The file's bytes, their copy as the folders' strings, and
			// what the bound allows beyond them.
			limit := uint64((2+snapMemoryRatio)*len(file) + snapMemorySlack)
			if n := after.TotalAlloc - before.TotalAlloc; n > limit {
				t.Errorf("load of a %d-byte file allocated %d bytes (%.1f times), want at most %d", len(file), n, float64(n)/float64(len(file)), limit)
			}
			if warn := e.log.Lines("WARN"); len(warn) != 1 {
				t.Errorf("WARN lines: %q", warn)
			}
		})
	}
	t.Run("a real one", func(t *testing.T) {
		e := newSnapEnv(t)
		writeSynth(t, e.dir, 20_000, 2_000)
		if _, got := e.reopen(e.open(testLoc, testAPI)); len(got) != 2_000 {
			t.Errorf("%d folders loaded, want 2000 (warnings: %q)", len(got), e.log.Lines("WARN"))
		}
	})
}

// The changes handed to the next mount come back as they were.
func TestSnapshotKeepsChanges(t *testing.T) {
	e := newSnapEnv(t)
	s := e.open(testLoc, testAPI)
	at := e.clock.Now()
	put := fileEntry("f1", "a00000000000000000000001", "new.txt", "https://storage.googleapis.com/msgsndr/x/media/a00000000000000000000001.txt", 3, at)
	put.SetContentType("text/plain")
	put.SetCreated(at)
	in := []Change{
		{Folder: "f1", Kind: Put, Entry: put, At: at},
		{Folder: "", Kind: Drop, ID: "a00000000000000000000003", At: at.Add(time.Second)},
		{Folder: "f1", Kind: Rename, ID: "a00000000000000000000004", Name: "renamed ✓.txt", At: at.Add(2 * time.Second)},
	}
	s.SetChanges(in)
	s2, _ := e.reopen(s)
	got := s2.LoadedChanges()
	if len(got) != 3 {
		t.Fatalf("%d changes back, want 3: %+v", len(got), got)
	}
	for i, g := range got {
		w := in[i]
		if w.Kind == Put {
			// Like every entry an earlier mount saved, unchecked until
			// its folder is listed again (a refused read of its url
			// lists it again).
			if !g.Entry.Unchecked() {
				t.Errorf("change %d: an entry read back from the file is not marked unchecked", i)
			}
			w.Entry.SetUnchecked(true)
		}
		if g.Folder != w.Folder || g.Kind != w.Kind || g.ID != w.ID || g.Name != w.Name || !g.At.Equal(w.At) ||
			!reflect.DeepEqual(g.Entry, w.Entry) {
			t.Errorf("change %d: got %+v, want %+v", i, g, w)
		}
	}
	// A mount that ends with none leaves none.
	s2.SetChanges(nil)
	s3, _ := e.reopen(s2)
	if got := s3.LoadedChanges(); len(got) != 0 {
		t.Fatalf("changes left: %+v", got)
	}
}
