package spool

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/cache/internal/listing"
	"github.com/ghlfs/ghlfs/cache/internal/testlog"
)

// golden is a record file as ghlfs wrote it before the spool was a
// package of its own (format 2): every field set but Failed.
const golden = `{"format":2,"location":"loc1","api":"https://api.example","key":"n:abc","state":"uploading","parentId":"p1","name":"a b.txt","modTime":"2025-03-04T06:06:07.000000008Z","content":3,"remoteId":"r1","remoteName":"old.txt","remoteUrl":"https://x/y","uploaded":2,"replaces":["r0"],"attempt":{"at":"2025-03-04T05:06:07.000000008Z","name":"a b.txt","parentId":"p1","size":42,"content":3},"claims":{"r1":{"parentId":"p1","name":"old.txt","url":"https://x/y","size":40,"at":"2025-03-04T05:06:07.000000008Z","sent":"2025-03-04T05:06:07.000000008Z"}},"size":42,"sum":12345,"due":"2025-03-04T05:06:07.000000008Z","supersedes":["s1"],"created":"2025-03-04T05:06:07.000000008Z"}`

func goldenRecord() RecordFile {
	t := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	mt := t.Add(time.Hour)
	return RecordFile{Format: 2, Location: "loc1", API: "https://api.example", Key: "n:abc", State: "uploading", ParentID: "p1", Name: "a b.txt",
		ModTime: &mt, Content: 3, RemoteID: "r1", RemoteName: "old.txt", RemoteURL: "https://x/y", Uploaded: 2, Replaces: []string{"r0"},
		Attempt: &Attempt{At: t, Name: "a b.txt", ParentID: "p1", Size: 42, Content: 3},
		Claims:  map[string]listing.Claim{"r1": {ParentID: "p1", Name: "old.txt", URL: "https://x/y", Size: 40, At: t, Sent: t}},
		Size:    42, Sum: 12345, Due: t, Supersedes: []string{"s1"}, Created: t}
}

func newSpool(t *testing.T) (*Spool, string, *testlog.Buf) {
	dir := t.TempDir()
	var logs testlog.Buf
	return New(dir, clockwork.NewFakeClock(), slog.New(slog.NewTextHandler(&logs, nil))), dir, &logs
}

// The record file's bytes are the format an earlier ghlfs wrote: a spool
// it left is read, and a record saved now reads the same to it.
func TestRecordFileFormat(t *testing.T) {
	s, dir, _ := newSpool(t)
	if err := os.MkdirAll(filepath.Join(dir, "spool"), 0o700); err != nil {
		t.Fatal(err)
	}
	rf := goldenRecord()
	if err := s.Save("id1", &rf, true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "spool", "id1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != golden {
		t.Fatalf("record file:\n%s\nwant:\n%s", b, golden)
	}
	if err := os.WriteFile(s.DataPath("id1"), []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	found, err := s.Recover(dir, Library{Location: "loc1", API: "https://api.example"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].ID != "id1" || found[0].Size != 10 || found[0].Data == nil {
		t.Fatalf("found %+v, want id1 with its 10 bytes", found)
	}
	found[0].Data.Close()
	if err := s.Save("id2", &found[0].File, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "spool", "id2.json")); string(b) != golden {
		t.Fatalf("record read back and saved again:\n%s\nwant:\n%s", b, golden)
	}
}

// A spool of another library is refused, and nothing of it is touched.
func TestRecoverRefusesAnotherLibrary(t *testing.T) {
	s, dir, _ := newSpool(t)
	os.MkdirAll(filepath.Join(dir, "spool"), 0o700)
	rf := goldenRecord()
	if err := s.Save("id1", &rf, true); err != nil {
		t.Fatal(err)
	}
	_, err := s.Recover(dir, Library{Location: "loc2", API: "https://api.example"})
	if err == nil || !strings.Contains(err.Error(), "another library") {
		t.Fatalf("Recover: %v, want a refusal naming another library", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "spool", "id1.json")); err != nil {
		t.Fatalf("the record went: %v", err)
	}
	if _, ok := ReadOwner(dir); ok {
		t.Fatal("the cache dir was claimed")
	}
}

// A record only noted on its bytes (NoteOn) is found at the next start,
// and of a note and a file, the one written last (the higher Seq) is the
// record; bytes whose note was dropped (Delete) are no record.
func TestRecoverTakesTheLatestNote(t *testing.T) {
	s, dir, _ := newSpool(t)
	if err := os.MkdirAll(filepath.Join(dir, "spool"), 0o700); err != nil {
		t.Fatal(err)
	}
	open := func(id string) *os.File {
		f, err := s.CreateData(id)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("bytes of " + id)
		return f
	}
	record := func(state string, seq uint64) *RecordFile {
		rf := RecordFile{Format: Format, Location: "loc1", API: "https://api.example", Key: "k", Name: "a.txt", State: state, Seq: seq}
		return &rf
	}
	// Noted only.
	a := open("a")
	if err := s.NoteOn("a", a, record("complete", 1)); err != nil {
		t.Fatal(err)
	}
	// Saved, then noted: the note is newer.
	b := open("b")
	if err := s.Save("b", record("uploaded", 1), true); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteOn("b", b, record("writing", 2)); err != nil {
		t.Fatal(err)
	}
	// Noted, then saved: the file is newer.
	c := open("c")
	if err := s.NoteOn("c", c, record("complete", 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("c", record("uploading", 2), true); err != nil {
		t.Fatal(err)
	}
	// Noted, then done: nothing.
	d := open("d")
	if err := s.NoteOn("d", d, record("complete", 1)); err != nil {
		t.Fatal(err)
	}
	s.Delete("d", "a.txt")
	for _, f := range []*os.File{a, b, c, d} {
		f.Close()
	}
	found, err := s.Recover(dir, Library{Location: "loc1", API: "https://api.example"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range found {
		got[r.ID] = r.File.State
		if r.Data == nil || r.Size != int64(len("bytes of "+r.ID)) {
			t.Errorf("record %s found without its bytes", r.ID)
		} else {
			r.Data.Close()
		}
	}
	want := map[string]string{"a": "complete", "b": "writing", "c": "uploading"}
	if len(got) != len(want) || got["a"] != want["a"] || got["b"] != want["b"] || got["c"] != want["c"] {
		t.Fatalf("found %v, want %v", got, want)
	}
	if _, err := os.Stat(s.DataPath("d")); !os.IsNotExist(err) {
		t.Errorf("the bytes of a record done are still in the spool: %v", err)
	}
}
