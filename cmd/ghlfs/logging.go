package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"sync"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/perms"
)

// newLogger makes the mount's logger: text lines to stderr, or appended
// to --log-file; a --daemon child without --log-file logs to syslog (the
// journal, where systemd runs), or when there is none, to ghlfs.log in the
// cache dir.
func newLogger(level, logFile string, daemonChild bool, cacheDir string) (*slog.Logger, io.Closer, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch {
	case logFile != "" && logFile != "-":
		f, err := openLogFile(logFile)
		if err != nil {
			return nil, nil, err
		}
		return slog.New(slog.NewTextHandler(f, opts)), f, nil
	case daemonChild && logFile == "":
		if w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "ghlfs"); err == nil {
			return slog.New(newSyslogHandler(w, opts)), w, nil
		}
		f, err := openLogFile(cacheDir + "/ghlfs.log")
		if err != nil {
			return nil, nil, err
		}
		return slog.New(slog.NewTextHandler(f, opts)), f, nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), io.NopCloser(nil), nil
}

// openLogFile opens a log file to append to, private to its owner.
func openLogFile(path string) (*os.File, error) {
	f, err := perms.CreatePrivate(path, false)
	if err != nil {
		return nil, fmt.Errorf("--log-file: %w", err)
	}
	return f, nil
}

// syslogHandler writes each record as one syslog message, at the priority
// of its level; syslog adds the time.
type syslogHandler struct {
	inner slog.Handler
	sink  *syslogSink
}

type syslogSink struct {
	mu    sync.Mutex
	w     *syslog.Writer
	level slog.Level
}

func (s *syslogSink) Write(p []byte) (int, error) {
	msg := string(p)
	var err error
	switch {
	case s.level >= slog.LevelError:
		err = s.w.Err(msg)
	case s.level >= slog.LevelWarn:
		err = s.w.Warning(msg)
	case s.level >= slog.LevelInfo:
		err = s.w.Info(msg)
	default:
		err = s.w.Debug(msg)
	}
	return len(p), err
}

func newSyslogHandler(w *syslog.Writer, opts *slog.HandlerOptions) *syslogHandler {
	sink := &syslogSink{w: w}
	o := *opts
	o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	return &syslogHandler{inner: slog.NewTextHandler(sink, &o), sink: sink}
}

func (h *syslogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	h.sink.level = r.Level
	return h.inner.Handle(ctx, r)
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &syslogHandler{inner: h.inner.WithAttrs(as), sink: h.sink}
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	return &syslogHandler{inner: h.inner.WithGroup(name), sink: h.sink}
}
