package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUmaskFlag(t *testing.T) {
	for in, want := range map[string]uint32{"022": 0o022, "0o027": 0o027, "0": 0, "777": 0o777, "7": 0o007} {
		var u umaskFlag
		if err := u.Set(in); err != nil || uint32(u) != want {
			t.Errorf("Set(%q) = %03o, %v; want %03o", in, uint32(u), err, want)
		}
	}
	for _, in := range []string{"1000", "8", "abc", "-1", "0x12"} {
		var u umaskFlag
		if err := u.Set(in); err == nil {
			t.Errorf("Set(%q) accepted as %03o", in, uint32(u))
		}
	}
	if got := processUmask(); got > 0o777 {
		t.Errorf("processUmask() = %o", got)
	}
}

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
		err = checkPrivate("token file", p, fi, c.secret)
		switch {
		case c.fix == "" && err != nil:
			t.Errorf("mode %04o refused: %v", c.mode, err)
		case c.fix != "" && (err == nil || !strings.Contains(err.Error(), c.fix+` '`+strings.ReplaceAll(p, "'", `'\''`)+`'`)):
			t.Errorf("mode %04o (secret %v): %v; want the fix %q for the quoted path", c.mode, c.secret, err, c.fix)
		}
	}
}
