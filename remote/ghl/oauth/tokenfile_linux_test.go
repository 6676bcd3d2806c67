package oauth

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A token set is written beside the token file and nowhere else: not
// even for a moment in $TMPDIR, where a crash would leave a refresh token
// in a folder everyone may list, outside the one the user chose.
func TestSaveTokenSetWritesNothingInTMPDIR(t *testing.T) {
	tmp := t.TempDir() // on the token's file system: a rename from it works
	t.Setenv("TMPDIR", tmp)
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skip("no inotify:", err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, tmp, unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokens.json")
	set := TokenSet{AccessToken: "a", RefreshToken: "r", ExpiresAt: time.Now().Add(time.Hour)}
	for range 2 { // made, then replaced
		if err := SaveTokenSet(path, set); err != nil {
			t.Fatal(err)
		}
	}
	// The events of the calls, which have returned, are queued by now.
	buf := make([]byte, 64<<10)
	n, err := unix.Read(fd, buf)
	if err != unix.EAGAIN {
		var made []string
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			l := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+l]
			made = append(made, string(bytes.TrimRight(name, "\x00")))
			off += unix.SizeofInotifyEvent + l
		}
		t.Fatalf("saving the token set made files in $TMPDIR: %q (%v)", made, err)
	}
	if got, err := ReadTokenSet(path); err != nil || got.RefreshToken != "r" {
		t.Fatalf("read back: %+v %v", got, err)
	}
}
