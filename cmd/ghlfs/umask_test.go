package main

import "testing"

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
