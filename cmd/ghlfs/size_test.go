package main

import "testing"

func TestSizeFlag(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		out  string
	}{
		{"0", 0, "0"},
		{"268435456", 256 << 20, "256M"},
		{"256M", 256 << 20, "256M"},
		{"256MiB", 256 << 20, "256M"},
		{"10G", 10 << 30, "10G"},
		{"10g", 10 << 30, "10G"},
		{"25MB", 25_000_000, "25MB"},
		{"25000000", 25_000_000, "25MB"},
		{"1.5K", 1536, "1536"},
		{"1000", 1000, "1KB"},
		{"12345", 12345, "12345"},
		{"512B", 512, "512"},
		{"1T", 1 << 40, "1T"},
	} {
		var s sizeFlag
		if err := s.Set(c.in); err != nil {
			t.Errorf("Set(%q): %v", c.in, err)
			continue
		}
		if int64(s) != c.want || s.String() != c.out {
			t.Errorf("Set(%q) = %d %q, want %d %q", c.in, int64(s), s.String(), c.want, c.out)
		}
	}
	for _, bad := range []string{"", "M", "-1", "10X", "ten", "1e30", "5iB"} {
		var s sizeFlag
		if err := s.Set(bad); err == nil {
			t.Errorf("Set(%q) = %d, want an error", bad, int64(s))
		}
	}
}
