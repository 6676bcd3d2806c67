package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// SetAside moves the bytes of the record id (of the file name), which
// must not be uploaded, to recovered/, and says where in one log line.
func (s *Spool) SetAside(id, name, why string) {
	s.setAsidePath(s.DataPath(id), name, id, why)
}

// SetAsideAt is SetAside, saying where the bytes went at level (the
// failure itself may have been reported already).
func (s *Spool) SetAsideAt(level slog.Level, id, name, why string) {
	s.setAsideAt(level, s.DataPath(id), name, id, why)
}

// setAsidePath is SetAside for bytes at a path, outside any record.
func (s *Spool) setAsidePath(p, name, id, why string) {
	s.setAsideAt(slog.LevelWarn, p, name, id, why)
}

func (s *Spool) setAsideAt(level slog.Level, p, name, id, why string) {
	fi, err := os.Stat(p)
	if err != nil {
		return
	}
	if fi.Size() == 0 {
		os.Remove(p) // nothing to keep
		s.log.Debug("an empty file was not uploaded", "name", name, "why", why)
		return
	}
	if err := os.MkdirAll(s.rescue, 0o700); err != nil {
		s.log.Error(fmt.Sprintf("%s: %s; its bytes stay in %s: %v", name, why, p, err), "name", name)
		return
	}
	dest := filepath.Join(s.rescue, s.clock.Now().UTC().Format("20060102-150405")+"-"+id+"-"+safeFileName(name))
	if err := os.Rename(p, dest); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error(fmt.Sprintf("%s: %s; its bytes stay in %s: %v", name, why, p, err), "name", name)
		return
	}
	s.log.Log(context.Background(), level, fmt.Sprintf("%s was not uploaded (%s); its bytes are kept in %s", name, why, dest), "name", name, "path", dest)
}

// safeFileName makes an API name usable as one local file name.
func safeFileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c == '/' || c == 0 || c < 0x20 {
			b[i] = '_'
		}
	}
	if len(b) > 120 {
		b = b[:120]
	}
	if len(b) == 0 || string(b) == "." || string(b) == ".." {
		return "unnamed"
	}
	return string(b)
}
