package integration

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// Passthrough: a file read whole is kept on disk as one file (with
// --cache-max-size), and later opens of it are read by the kernel from
// that file directly. These tests tell a passthrough open from an
// ordinary one by what ghlfs sees of it: its debug log says
// "open PATH: passthrough" and, at release, how many READs reached it;
// and a dd with iflag=direct, which the kernel would send to ghlfs as
// READs on an ordinary open, sends none.

const passArgsCache = "100000000"

// waitLines waits until the log holds n lines with every one of words (a
// log line reaches the test through a pipe, after the tool's call
// returned; a release after close(2) returned), and returns them.
func waitLines(t testing.TB, m *mount, n int, words ...string) []string {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("%d log lines with %q", n, words), func() bool {
		got = logLines(m.log.String(), words...)
		return len(got) >= n
	})
	return got
}

// releases returns the "release PATH" debug lines logged so far for path.
func releases(m *mount, path string) []string {
	return logLines(m.log.String(), "msg=\"release "+path+"\"")
}

// passOpens counts the opens of path served by passthrough.
func passOpens(m *mount, path string) int {
	return len(logLines(m.log.String(), "msg=\"open "+path+": passthrough\""))
}

// directRead reads name with O_DIRECT (dd iflag=direct) into a local file
// and returns its bytes.
func directRead(t testing.TB, name string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "direct")
	sh(t, "dd", "if="+name, "of="+out, "bs=1M", "iflag=direct", "status=none")
	return readFile(t, out)
}

// waitWhole waits until the disk cache keeps the file id as one file: it
// is joined from its chunks in the background, after the read that
// fetched the last of them returned.
func waitWhole(t testing.TB, m *mount, id string) {
	t.Helper()
	// The kernel sends a file's RELEASE after close returns; an open while
	// an ordinary one is still counted cannot pass through.
	waitFor(t, "every open file released", func() bool {
		log := m.log.String()
		return len(logLines(log, "msg=\"release /")) >= len(logLines(log, "msg=\"open /"))
	})
	waitFor(t, "the whole copy of "+id+" on disk", func() bool {
		_, err := os.Stat(filepath.Join(m.cacheDir, "content", id+".all"))
		return err == nil
	})
}

// A file read whole is read by passthrough at its next open: no storage
// request, no READ reaching ghlfs (even with O_DIRECT), and the same bytes.
func TestPassthroughAfterWholeRead(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	data := randomBytes(3<<20, 41) // 12 chunks
	id := srv.AddFile("", "clip.mp4", "video/mp4", data)
	m := mountFS(t, srv, mountOpt{args: []string{"--cache-max-size", passArgsCache, "--passthrough"}})

	local := filepath.Join(t.TempDir(), "clip.mp4")
	writeFile(t, local, data)
	sh(t, "cmp", local, m.path("clip.mp4")) // cold: through ghlfs
	if passOpens(m, "/clip.mp4") != 0 {
		t.Fatal("the first open, of a file not on disk, was passed through")
	}
	waitWhole(t, m, id)

	resetStats(t, srv)
	sh(t, "cmp", local, m.path("clip.mp4"))
	if got := directRead(t, m.path("clip.mp4")); !bytes.Equal(got, data) {
		t.Fatalf("O_DIRECT read through passthrough: %d bytes, differ from the file's", len(got))
	}
	waitLines(t, m, 2, "msg=\"open /clip.mp4: passthrough\"")
	if n := passOpens(m, "/clip.mp4"); n != 2 {
		t.Fatalf("%d opens passed through, want 2\n%s", n, m.log)
	}
	rel := waitLines(t, m, 3, "msg=\"release /clip.mp4\"")
	for _, l := range rel[len(rel)-2:] {
		if !strings.Contains(l, "passthrough=true") || !strings.Contains(l, "reads=0 ") {
			t.Errorf("a passthrough open reached ghlfs: %s", l)
		}
	}
	if st := getStats(t, srv); st.StorageRequests != 0 || st.APIRequests != 0 {
		t.Errorf("re-reads from the disk cache sent %d storage and %d API requests", st.StorageRequests, st.APIRequests)
	}
	// The library is as it was.
	if got, _ := srv.Content(id); !bytes.Equal(got, data) {
		t.Error("the library's copy changed")
	}
}

// After the file is replaced by another client (a new file under the same
// name, the old one trashed), the mount reads the new bytes, never the old
// copy it keeps on disk, and passes the new copy through once it is read
// whole.
func TestPassthroughNeverServesAReplacedFile(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	old := randomBytes(1<<20, 42)
	oldID := srv.AddFile("", "logo.png", "image/png", old)
	m := mountFS(t, srv, mountOpt{args: []string{"--cache-max-size", passArgsCache, "--passthrough", "--poll-interval", "200ms", "--full-sync-interval", "1s", "--dir-cache-time", "1h"}})
	if got := readFile(t, m.path("logo.png")); !bytes.Equal(got, old) {
		t.Fatal("first read differs")
	}
	waitWhole(t, m, oldID)
	if got := readFile(t, m.path("logo.png")); !bytes.Equal(got, old) {
		t.Fatalf("the second read: %d bytes, not the file's", len(got))
	}
	waitLines(t, m, 1, "msg=\"open /logo.png: passthrough\"")

	// Another client uploads new bytes of the same size under the name and
	// trashes the old file.
	fresh := randomBytes(1<<20, 43)
	uploadAPI(t, srv, "logo.png", "image/png", fresh)
	apiDo(t, srv, "PUT", "/medias/delete-files", fmt.Sprintf(`{"altType":"location","altId":%q,"status":"trashed","filesToBeDeleted":[{"_id":%q}]}`, testLocation, oldID))
	waitFor(t, "the mount to read the new bytes", func() bool {
		got, err := os.ReadFile(m.path("logo.png"))
		if err == nil && !bytes.Equal(got, old) && !bytes.Equal(got, fresh) {
			t.Fatalf("logo.png reads %d bytes that are neither copy", len(got))
		}
		return err == nil && bytes.Equal(got, fresh)
	})
	passed := passOpens(m, "/logo.png")
	newID := ""
	for _, f := range readLibrary(srv).files {
		if f.Name == "logo.png" {
			newID = f.ID
		}
	}
	if newID == "" || newID == oldID {
		t.Fatalf("the library holds no new logo.png: %q", newID)
	}
	// Every open from here on reads the new bytes, by passthrough or not.
	for range 3 {
		if got := directRead(t, m.path("logo.png")); !bytes.Equal(got, fresh) {
			t.Fatal("a re-open after the replace read bytes other than the new ones")
		}
	}
	waitWhole(t, m, newID)
	if got := directRead(t, m.path("logo.png")); !bytes.Equal(got, fresh) {
		t.Fatal("a re-open of the new copy read other bytes")
	}
	t.Logf("opens passed through after the replace: %d", passOpens(m, "/logo.png")-passed)
}

// A file with bytes waiting for upload is read through ghlfs, from those
// bytes, never from the disk's copy of what the library holds; and while
// a passthrough reader holds a file, opening it to write fails with
// ETXTBSY (the kernel cannot mix the two), and succeeds once it is closed.
func TestPassthroughNotForPendingBytes(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	data := randomBytes(1<<20, 44)
	id := srv.AddFile("", "doc.pdf", "application/pdf", data)
	m := mountFS(t, srv, mountOpt{args: []string{"--cache-max-size", passArgsCache, "--passthrough", "--write-back-delay", "1h"}})
	readFile(t, m.path("doc.pdf"))
	waitWhole(t, m, id)

	// A passthrough reader holds the file: a writer is turned away.
	held, err := os.Open(m.path("doc.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	waitLines(t, m, 1, "msg=\"open /doc.pdf: passthrough\"")
	src := filepath.Join(t.TempDir(), "new.pdf")
	edited := append([]byte("edited "), data[7:]...)
	writeFile(t, src, edited)
	out, err := shErr("cp", src, m.path("doc.pdf"))
	if err == nil || !strings.Contains(out, "Text file busy") {
		t.Errorf("cp onto a file held by a passthrough reader: %v %s", err, out)
	}
	waitLines(t, m, 1, "level=WARN", "open /doc.pdf", "passthrough")
	// What the holder reads is still the file's bytes.
	got := make([]byte, len(data))
	if n, err := held.ReadAt(got, 0); n != len(data) || !bytes.Equal(got, data) {
		t.Errorf("the held file read %d bytes (%v), not the file's", n, err)
	}
	held.Close()

	sh(t, "cp", src, m.path("doc.pdf")) // pending for an hour
	before := passOpens(m, "/doc.pdf")
	released := len(waitLines(t, m, 3, "msg=\"release /doc.pdf\"")) // the first read, the holder, cp
	if got := directRead(t, m.path("doc.pdf")); !bytes.Equal(got, edited) {
		t.Errorf("a file with pending bytes read %d bytes, not the pending ones", len(got))
	}
	sh(t, "cmp", src, m.path("doc.pdf"))
	if passOpens(m, "/doc.pdf") != before {
		t.Error("a file with pending bytes was passed through")
	}
	rel := waitLines(t, m, released+2, "msg=\"release /doc.pdf\"")
	if last := rel[released]; !strings.Contains(last, "passthrough=false") || strings.Contains(last, "reads=0 ") {
		t.Errorf("the O_DIRECT read did not go through ghlfs: %s", last)
	}
	if last := rel[len(rel)-1]; !strings.Contains(last, "passthrough=false") || strings.Contains(last, "reads=0 ") {
		t.Errorf("the last read did not go through ghlfs: %s", last)
	}
	// The library still holds the old bytes: nothing was uploaded yet.
	if got, _ := srv.Content(id); !bytes.Equal(got, data) {
		t.Error("the library's copy changed before the write-back delay")
	}
}

// With passthrough off (the default: the kernel is not even offered
// it, as on a kernel without it), a file wholly on disk is read through
// ghlfs, from the disk, with the right bytes and no storage request.
func TestPassthroughOff(t *testing.T) {
	t.Parallel()
	srv := fake(t, ghltest.Options{})
	data := randomBytes(2<<20, 45)
	id := srv.AddFile("", "song.mp3", "audio/mpeg", data)
	m := mountFS(t, srv, mountOpt{args: []string{"--cache-max-size", passArgsCache}})
	readFile(t, m.path("song.mp3"))
	waitWhole(t, m, id)
	resetStats(t, srv)
	if got := directRead(t, m.path("song.mp3")); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the file's", len(got))
	}
	if passOpens(m, "/song.mp3") != 0 {
		t.Error("an open was passed through without --passthrough")
	}
	rel := waitLines(t, m, 2, "msg=\"release /song.mp3\"")
	if last := rel[len(rel)-1]; strings.Contains(last, "reads=0 ") {
		t.Errorf("the O_DIRECT read did not reach ghlfs: %s", last)
	}
	if st := getStats(t, srv); st.StorageRequests != 0 {
		t.Errorf("a read of a file on disk sent %d storage requests", st.StorageRequests)
	}
}

// uploadAPI uploads a file to the root as another client would.
func uploadAPI(t testing.TB, srv *ghltest.Server, name, contentType string, data []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("name", name)
	part, _ := mw.CreateFormFile("file", name)
	part.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/medias/upload-file", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Version", "2021-07-28")
	req.Header.Set("User-Agent", "another-client")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("upload: %s", resp.Status)
	}
}
