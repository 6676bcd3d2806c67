package perms

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCheckPrivateModes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "it's a token")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode   os.FileMode
		secret bool
		fix    string // "" = accepted
	}{
		{0o600, true, ""},
		{0o400, true, ""},
		{0o640, true, "chmod 600"},
		{0o604, true, "chmod 600"},
		{0o644, false, ""},
		{0o664, false, "chmod go-w"},
		{0o646, false, "chmod go-w"},
	} {
		if err := os.Chmod(p, c.mode); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckPrivate("token file", p, fi, c.secret)
		switch {
		case c.fix == "" && err != nil:
			t.Errorf("mode %04o refused: %v", c.mode, err)
		case c.fix != "" && (err == nil || !strings.Contains(err.Error(), c.fix+` '`+strings.ReplaceAll(p, "'", `'\''`)+`'`)):
			t.Errorf("mode %04o (secret %v): %v; want the fix %q for the quoted path", c.mode, c.secret, err, c.fix)
		}
	}
}

// A token file's folder must keep others from putting a file of theirs in
// its place: ghlfs reads the file again at each refresh or 401.
func TestCheckSecretDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokens")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "token")
	if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode   os.FileMode
		refuse bool
	}{
		{0o700, false},
		{0o755, false},
		{0o775, true},
		{0o757, true},
		{0o777 | os.ModeSticky, false}, // as /tmp: no one else may rename or remove it
	} {
		if err := os.Chmod(dir, c.mode); err != nil {
			t.Fatal(err)
		}
		err := openSecret(p)
		switch {
		case !c.refuse && err != nil:
			t.Errorf("folder mode %v refused: %v", c.mode, err)
		case c.refuse && (err == nil || !strings.Contains(err.Error(), "chmod go-w "+dir)):
			t.Errorf("folder mode %v: %v; want a refusal naming chmod go-w %s", c.mode, err, dir)
		}
	}
	if os.Geteuid() != 0 {
		return // only root can give the folder away
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	if err := openSecret(p); err == nil || !strings.Contains(err.Error(), "belongs to 4321") {
		t.Errorf("a folder of another user's: %v; want a refusal", err)
	}
}

// Every folder on the way to a path is checked, those a symlink on the
// way leads through too; a sticky folder others may write to is fine
// when the entry in it is the user's.
func TestCheckFolders(t *testing.T) {
	base := t.TempDir()
	mine := filepath.Join(base, "mine", "cache")
	open := filepath.Join(base, "open")
	sticky := filepath.Join(base, "sticky")
	for _, d := range []string{mine, open, sticky} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(open, 0o777)
	os.Chmod(sticky, os.ModeSticky|0o777)
	if err := os.Symlink(filepath.Join(base, "mine"), filepath.Join(open, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(open, "x", "..", "link"), filepath.Join(base, "mine", "back")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(sticky, "own"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		bad  string // "" = accepted; else the folder the refusal names
	}{
		{mine, ""},
		{filepath.Join(mine, "not-yet", "made"), ""},
		{filepath.Join(open, "cache"), open},
		{filepath.Join(open, "link", "cache"), open},
		{filepath.Join(base, "mine", "back", "cache"), open},
		{filepath.Join(sticky, "own", "cache"), ""},
	} {
		err := checkFolders("cache dir", c.path, "risk")
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s refused: %v", c.path, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), "is in "+c.bad+",")):
			t.Errorf("%s: %v, want a refusal naming %s", c.path, err, c.bad)
		}
	}
	if os.Geteuid() != 0 {
		return
	}
	// In a sticky folder, an entry of another user's is theirs to replace.
	theirs := filepath.Join(sticky, "theirs")
	if err := os.Mkdir(theirs, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(theirs, 65534, 65534)
	if err := checkFolders("cache dir", filepath.Join(theirs, "cache"), "risk"); err == nil {
		t.Errorf("a cache dir below another user's folder in a sticky one was accepted")
	}
}

// A FIFO put where the log file (or the CPU profile) goes is refused at
// once, as any file that is not a regular one: opening it to write would
// wait for a reader for ever, and the mount with it. (With a reader
// there, the open would not wait, and the file is seen to be a FIFO.)
func TestCreatePrivateRefusesAFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "ghlfs.log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, reader := range []bool{false, true} {
		if reader {
			r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
		}
		for _, truncate := range []bool{false, true} {
			done := make(chan error, 1)
			go func() {
				f, err := CreatePrivate(fifo, truncate)
				if err == nil {
					f.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("reader %v, truncate %v: %v, want a refusal", reader, truncate, err)
				}
			case <-time.After(10 * time.Second):
				// Free the open that waits (a reader comes), then fail.
				if r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
					defer r.Close()
				}
				<-done
				t.Fatalf("reader %v, truncate %v: opening a FIFO as the log file waited for a reader", reader, truncate)
			}
		}
	}
}

// openSecret opens p as ghlfs opens a token file, and closes it.
func openSecret(p string) error {
	f, err := OpenPrivate("token file", p, true)
	if err == nil {
		f.Close()
	}
	return err
}
