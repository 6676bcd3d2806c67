package main

import (
	"errors"
	"strconv"
	"strings"
)

// sizeFlag is a byte count given with an optional suffix: K, M, G, T (and
// KiB, MiB, GiB, TiB) count in powers of 1024 as rclone's do; KB, MB, GB,
// TB in powers of 1000, as the API's "25 MB" limit is read. A plain
// number is bytes. It prints in the largest unit that gives it exactly.
type sizeFlag int64

var sizeUnits = []struct {
	suffix string
	bytes  int64
}{
	{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
}

func (s *sizeFlag) String() string {
	n := int64(*s)
	if n == 0 {
		return "0"
	}
	for _, u := range sizeUnits {
		if n%u.bytes == 0 {
			return strconv.FormatInt(n/u.bytes, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (s *sizeFlag) Set(v string) error {
	t := strings.ToUpper(strings.TrimSpace(v))
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "IB"):
		t = strings.TrimSuffix(t, "IB")
		mult = 0 // binary, from the letter below
	case strings.HasSuffix(t, "B") && len(t) > 1 && strings.ContainsAny(t[len(t)-2:len(t)-1], "KMGT"):
		t = strings.TrimSuffix(t, "B")
		mult = -1 // decimal
	case strings.HasSuffix(t, "B"):
		t = strings.TrimSuffix(t, "B")
	}
	if i := len(t) - 1; i >= 0 && strings.ContainsRune("KMGT", rune(t[i])) {
		exp := strings.IndexByte("KMGT", t[i]) + 1
		t = t[:i]
		base := int64(1024)
		if mult == -1 {
			base = 1000
		}
		mult = 1
		for range exp {
			mult *= base
		}
	} else if mult != 1 {
		return errors.New("want a size such as 512M, 10G or 25MB")
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return errors.New("want a size such as 512M, 10G or 25MB")
	}
	*s = sizeFlag(n * float64(mult))
	return nil
}

func (s *sizeFlag) Type() string { return "size" }
