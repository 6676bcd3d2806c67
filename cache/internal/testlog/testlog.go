// Package testlog collects what a logger writes, for the tests of the
// cache and its parts to read back; nothing but tests imports it.
package testlog

import (
	"bytes"
	"strings"
	"sync"
)

// Buf collects a text logger's lines (slog.NewTextHandler(buf, ...)).
type Buf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Lines returns the lines logged at level ("INFO", "WARN").
func (l *Buf) Lines(level string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, "level="+level+" ") {
			out = append(out, line)
		}
	}
	return out
}
