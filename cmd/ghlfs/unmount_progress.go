package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/mounts"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/pidfile"
)

// unmountProgress shows, while "ghlfs unmount" waits, the uploads the
// serving ghlfs is finishing: redrawn in place on a terminal, else one
// line every few seconds.
type unmountProgress struct {
	w     io.Writer
	sock  string
	tty   bool
	width int // the terminal's columns; 0: unknown
	drawn int // lines drawn last time (terminal)
	calls int
}

// summaryEvery is how many calls of show (about a second apart) pass
// between two lines when the output is not a terminal.
const summaryEvery = 5

func newUnmountProgress(w io.Writer, sock string) *unmountProgress {
	p := &unmountProgress{w: w, sock: sock, tty: isTerminal(w)}
	if f, ok := w.(*os.File); ok && p.tty {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil {
			p.width = int(ws.Col)
		}
	}
	return p
}

// show is called about once a second while unmount waits.
func (p *unmountProgress) show() {
	p.calls++
	if !p.tty && (p.calls-1)%summaryEvery != 0 {
		return
	}
	rep, err := fetchStatus(p.sock)
	if err != nil {
		return // it is exiting
	}
	now := time.Now()
	if !p.tty {
		fmt.Fprintln(p.w, "ghlfs: unmounted; waiting for the uploads that are due: "+summaryLine(rep, now))
		return
	}
	lines := []string{"ghlfs: unmounted; waiting for the uploads that are due (ghlfs unmount --force stops waiting):"}
	for _, u := range rep.Uploads {
		lines = append(lines, "  "+uploadLine(u, now))
	}
	if len(rep.Uploads) == 0 {
		lines = append(lines, "  finishing")
	}
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\033[%dA\033[J", p.drawn) // up to the first line drawn, and clear below
	}
	for _, l := range lines {
		b.WriteString(p.fit(l) + "\n")
	}
	io.WriteString(p.w, b.String())
	p.drawn = len(lines)
}

// fit cuts a line to the terminal's width, so that none wraps (the
// redraw counts lines).
func (p *unmountProgress) fit(s string) string {
	if p.width <= 1 {
		return s
	}
	r := []rune(s)
	if len(r) < p.width {
		return s
	}
	return string(r[:p.width-2]) + "…"
}

// forceUnmount unmounts mp at once: the serving ghlfs is told not to wait
// for its uploads (they stay queued for the next mount), and unmount
// returns once it has exited.
func forceUnmount(mp string, p *pidfile.Proc, sock string, mounted bool, wait time.Duration) error {
	if p != nil && sock != "" {
		rep, _ := fetchStatus(sock)
		if err := askUnmount(sock, true); err == nil {
			if err := p.Stop(wait, false, func() {}); err != nil {
				return err
			}
			if n := len(rep.Uploads); n > 0 {
				fmt.Fprintf(os.Stderr, "ghlfs: unmounted without waiting: %s not uploaded yet stay queued in %s and go up at the next mount\n",
					count(n, "file"), clean(rep.CacheDir))
			}
			return nil
		}
	}
	if mounted {
		return mounts.Unmount(mp) // the ghlfs serving it finishes on its own
	}
	return fmt.Errorf("%s: the ghlfs still finishing its uploads (pid %d) cannot be told to stop; it exits within its --unmount-grace", mp, p.PID)
}
