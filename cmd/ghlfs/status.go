package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/mounts"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/peercred"
	"github.com/ghlfs/ghlfs/cmd/ghlfs/internal/pidfile"
)

func newStatusCmd() *cobra.Command {
	var watch, asJSON bool
	cmd := &cobra.Command{
		Use:   "status [flags] [MOUNTPOINT]",
		Short: "Show what a mount is doing: uploads, API calls, cache",
		Long: `Shows what a ghlfs mount is doing: each file waiting to be uploaded (with a
progress bar, bytes sent of its size, rate and time left), each failed upload
with the API's message and its next try, the API calls of the last 10 s and of
today against the published limits (100 per 10 s, 200,000 a day, per
location), and the sizes of the caches. Without MOUNTPOINT, every ghlfs mount
of this user.

--json prints the status of MOUNTPOINT as one JSON object (without
MOUNTPOINT, an array of them); the field names are stable (see the README).
--watch prints it again every second until interrupted (on a terminal, in
place; with --json, one object per line).`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeDirs,
		RunE: func(cmd *cobra.Command, args []string) error {
			mp := ""
			if len(args) == 1 {
				abs, err := mountpointArg(args[0])
				if err != nil {
					return err
				}
				mp = abs
			}
			return runStatus(cmd.OutOrStdout(), mp, watch, asJSON)
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "print the status again every second, until interrupted")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON, for scripts")
	return cmd
}

func runStatus(w io.Writer, mountpoint string, watch, asJSON bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tty := watch && !asJSON && isTerminal(w)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for first := true; ; first = false {
		var reports []statusReport
		var problems []string
		if mountpoint != "" {
			rep, err := statusOf(mountpoint)
			if err != nil && (first || !watch) {
				return err
			}
			if err != nil {
				fmt.Fprintf(w, "%s: %v\n", mountpoint, err)
				return nil // it went away while watched
			}
			reports = append(reports, rep)
		} else {
			var err error
			if reports, problems, err = allStatuses(); err != nil {
				return err
			}
		}
		switch {
		case asJSON && mountpoint != "":
			json.NewEncoder(w).Encode(reports[0])
		case asJSON:
			if reports == nil {
				reports = []statusReport{}
			}
			json.NewEncoder(w).Encode(reports)
		default:
			var b strings.Builder
			if tty {
				b.WriteString("\033[H\033[2J") // to the top, and clear
			} else if !first {
				b.WriteString("\n")
			}
			if len(reports) == 0 && len(problems) == 0 {
				b.WriteString("no ghlfs mounts\n")
			}
			for i, rep := range reports {
				if i > 0 {
					b.WriteString("\n")
				}
				writeReport(&b, rep, time.Now())
			}
			for _, p := range problems {
				b.WriteString(p + "\n")
			}
			io.WriteString(w, b.String())
		}
		if !watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// statusOf asks the ghlfs serving mountpoint for its status.
func statusOf(mountpoint string) (statusReport, error) {
	pid, sock, ok := controlSocket(mountpoint)
	if !ok {
		if mounted, err := mounts.IsGhlfs(mountpoint); err == nil && !mounted {
			return statusReport{}, fmt.Errorf("%s is not a ghlfs mount", mountpoint)
		}
		return statusReport{}, fmt.Errorf("%s: no status to read (no control socket: a ghlfs older than this one, or another user's mount)", mountpoint)
	}
	rep, err := fetchStatus(sock)
	if err == nil && (rep.PID != pid || rep.Mountpoint != mountpoint) {
		err = fmt.Errorf("%s: its pid file is stale", mountpoint)
	}
	return rep, err
}

// allStatuses asks every ghlfs mount of this user: those of the mount
// table, and those unmounted but still finishing their uploads. A mount
// that cannot be asked is a line of problems.
func allStatuses() ([]statusReport, []string, error) {
	mps, err := mounts.UserMounts()
	if err != nil && !errors.Is(err, mounts.ErrNoMountTable) {
		return nil, nil, err
	}
	// Mounts unmounted and still finishing their uploads have a pid
	// file, and no line in the mount table any more.
	var reports []statusReport
	for _, f := range pidfile.All() {
		if pf, ok := pidfile.Read(f); ok && !slices.Contains(mps, pf.Mountpoint) {
			// Pid files outlive mounts that were killed: only one whose
			// ghlfs answers for it counts.
			if rep, err := statusOf(pf.Mountpoint); err == nil {
				reports = append(reports, rep)
			}
		}
	}
	var problems []string
	for _, mp := range mps {
		rep, err := statusOf(mp)
		if err != nil {
			problems = append(problems, clean(err.Error()))
			continue
		}
		reports = append(reports, rep)
	}
	slices.SortFunc(reports, func(a, b statusReport) int { return strings.Compare(a.Mountpoint, b.Mountpoint) })
	return reports, problems, nil
}

// controlSocket is the control socket of the ghlfs serving mountpoint,
// as its pid file names it, if that ghlfs is still running.
func controlSocket(mountpoint string) (pid int, sock string, ok bool) {
	pf, ok := pidfile.Read(pidfile.Find(mountpoint))
	if !ok || pf.Mountpoint != mountpoint || pf.Socket == "" {
		return 0, "", false
	}
	p, serving := pidfile.Serving(mountpoint)
	if !serving {
		return 0, "", false
	}
	p.Close()
	return pf.PID, pf.Socket, true
}

// controlClient talks HTTP to a control socket, once it is known to be
// served by a process of this user's: a socket put in its place by
// another user (in a cache dir they could change, say) could say
// anything, and would hear of the unmount.
func controlClient(sock string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", sock)
			if err != nil {
				return nil, err
			}
			if uid, known := peercred.UID(c); known && uid != os.Geteuid() {
				c.Close()
				return nil, fmt.Errorf("the control socket %s is served by another user (uid %d), not by a ghlfs of yours: not trusted", sock, uid)
			}
			return c, nil
		}},
	}
}

func fetchStatus(sock string) (statusReport, error) {
	c := controlClient(sock)
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://ghlfs/v1/status")
	if err != nil {
		return statusReport{}, fmt.Errorf("asking ghlfs for its status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusReport{}, fmt.Errorf("asking ghlfs for its status: %s", resp.Status)
	}
	var rep statusReport
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&rep); err != nil {
		return statusReport{}, fmt.Errorf("reading ghlfs's status: %w", err)
	}
	return rep, nil
}

// askUnmount asks the ghlfs behind sock to unmount; with force, without
// waiting for the uploads that are due.
func askUnmount(sock string, force bool) error {
	c := controlClient(sock)
	defer c.CloseIdleConnections()
	resp, err := c.Post("http://ghlfs/v1/unmount?force="+strconv.FormatBool(force), "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// writeReport writes a mount's status as text.
func writeReport(b *strings.Builder, rep statusReport, now time.Time) {
	fmt.Fprintf(b, "%s  (ghlfs pid %d, %s)\n", clean(rep.Mountpoint), rep.PID, rep.State)
	failed, refused := 0, 0
	for _, u := range rep.Uploads {
		if u.State == "failed" && u.Refused {
			refused++
		} else if u.State == "failed" {
			failed++
		}
	}
	switch {
	case len(rep.Uploads) == 0:
		b.WriteString("  uploads: none pending\n")
	case failed > 0 || refused > 0:
		var parts []string
		if failed > 0 {
			parts = append(parts, fmt.Sprintf("%d failed (retried)", failed))
		}
		if refused > 0 {
			parts = append(parts, fmt.Sprintf("%d refused by the service (kept; tried again once changed or renamed)", refused))
		}
		fmt.Fprintf(b, "  uploads: %s pending, %s\n", count(len(rep.Uploads), "file"), strings.Join(parts, ", "))
	default:
		fmt.Fprintf(b, "  uploads: %s pending\n", count(len(rep.Uploads), "file"))
	}
	for _, u := range rep.Uploads {
		b.WriteString("    " + uploadLine(u, now) + "\n")
	}
	for _, a := range rep.API {
		b.WriteString("  " + apiLine(a, len(rep.API) > 1, now) + "\n")
	}
	c := rep.Cache
	disk := "off"
	if c.DiskMaxBytes > 0 {
		disk = fmt.Sprintf("%s of %s", bytesText(c.DiskBytes), bytesText(c.DiskMaxBytes))
	}
	fmt.Fprintf(b, "  cache: memory %s of %s, disk %s, spool %s in %s\n",
		bytesText(c.MemoryBytes), bytesText(c.MemoryMaxBytes), disk, bytesText(c.SpoolBytes), count(c.SpoolFiles, "file"))
}

// uploadLine is one upload as text:
//
//	uploading  Clients/logo.png  [######..............]  3.1 MiB of 12.0 MiB  26%  1.2 MiB/s  7s left
func uploadLine(u uploadStatus, now time.Time) string {
	path := clean(u.Path)
	switch u.State {
	case "uploading":
		s := fmt.Sprintf("%-10s %s  %s  %s of %s  %3.0f%%", u.State, path, bar(u.Sent, u.Size, 20), bytesText(u.Sent), bytesText(u.Size), percent(u.Sent, u.Size))
		switch {
		case u.Size > 0 && u.Sent >= u.Size:
			s += "  all sent; waiting for the server's answer"
		case u.ETASeconds != nil:
			s += "  " + bytesText(int64(u.Rate)) + "/s  " + durationText(time.Duration(*u.ETASeconds*float64(time.Second))) + " left"
		default:
			s += "  stalled"
		}
		return s
	case "failed":
		s := fmt.Sprintf("%-10s %s  %s: %s", u.State, path, bytesText(u.Size), clean(u.Error))
		if u.Next != nil {
			s += "; next try " + untilText(*u.Next, now)
		}
		if u.Refused {
			s += refusedNote
		}
		return s
	case "waiting":
		s := fmt.Sprintf("%-10s %s  %s", u.State, path, bytesText(u.Size))
		if u.Next != nil {
			s += ", due " + untilText(*u.Next, now)
		}
		return s
	}
	return fmt.Sprintf("%-10s %s  %s", u.State, path, bytesText(u.Size))
}

func apiLine(a apiStatus, named bool, now time.Time) string {
	var b strings.Builder
	b.WriteString("API")
	if named {
		b.WriteString(" (" + clean(a.Location) + ")")
	}
	// A limit of 0 is one the service does not publish (ImageKit's).
	var window []string
	if a.Limit10s > 0 {
		window = append(window, fmt.Sprintf("limit %d", a.Limit10s))
	}
	if a.Pacing10s > 0 {
		window = append(window, fmt.Sprintf("ghlfs keeps to %d", a.Pacing10s))
	}
	fmt.Fprintf(&b, ": %s in the last 10 s", count(a.Calls10s, "call"))
	if len(window) > 0 {
		b.WriteString(" (" + strings.Join(window, "; ") + ")")
	}
	fmt.Fprintf(&b, ", %s today", thousands(a.CallsToday))
	if a.LimitDaily > 0 {
		fmt.Fprintf(&b, " (limit %s)", thousands(a.LimitDaily))
	}
	if a.RateLimited > 0 {
		fmt.Fprintf(&b, ", %d refused with 429", a.RateLimited)
	}
	if a.PausedUntil != nil {
		b.WriteString(", paused " + untilText(*a.PausedUntil, now) + " as the server asked")
	}
	if s := a.Server; s != nil {
		var parts []string
		if s.Max > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d left per %s", s.Remaining, s.Max, durationText(time.Duration(s.IntervalMS)*time.Millisecond)))
		}
		if s.DailyLimit > 0 {
			parts = append(parts, fmt.Sprintf("%s of %s left today", thousands(s.DailyRemaining), thousands(s.DailyLimit)))
		}
		if len(parts) > 0 {
			b.WriteString("; the server says " + strings.Join(parts, ", "))
		}
	}
	return b.String()
}

// refusedNote ends the line of an upload the service refused.
const refusedNote = " [refused: not tried again until changed or renamed; not waited for at unmount]"

// summaryLine is the uploads of a report on one line, for a log or a
// pipe: "2 files to upload: a.png 1.0 MiB of 4.0 MiB (25%) 512 KiB/s 6s left; b.png waiting".
func summaryLine(rep statusReport, now time.Time) string {
	if len(rep.Uploads) == 0 {
		return "no uploads left"
	}
	parts := make([]string, 0, len(rep.Uploads))
	for i, u := range rep.Uploads {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(rep.Uploads)-i))
			break
		}
		s := clean(u.Path) + " " + u.State
		switch u.State {
		case "uploading":
			s = fmt.Sprintf("%s %s of %s (%.0f%%)", clean(u.Path), bytesText(u.Sent), bytesText(u.Size), percent(u.Sent, u.Size))
			switch {
			case u.Size > 0 && u.Sent >= u.Size:
				s += " all sent, waiting for the answer"
			case u.ETASeconds != nil:
				s += " " + bytesText(int64(u.Rate)) + "/s " + durationText(time.Duration(*u.ETASeconds*float64(time.Second))) + " left"
			}
		case "failed":
			s += ": " + clean(u.Error)
			if u.Next != nil {
				s += " (next try " + untilText(*u.Next, now) + ")"
			}
			if u.Refused {
				s += refusedNote
			}
		}
		parts = append(parts, s)
	}
	return count(len(rep.Uploads), "file") + " to upload: " + strings.Join(parts, "; ")
}

func bar(done, total int64, width int) string {
	n := 0
	if total > 0 {
		n = int(min(max(float64(done)/float64(total), 0), 1) * float64(width))
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func percent(done, total int64) float64 {
	if total <= 0 {
		return 100
	}
	return min(max(100*float64(done)/float64(total), 0), 100)
}

// bytesText is n bytes in binary units: "512 B", "3.1 MiB".
func bytesText(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		v, unit = v/1024, u
		if v < 1024 {
			break
		}
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
}

// durationText is d rounded for a person: "7s", "2m05s", "1h02m".
func durationText(d time.Duration) string {
	switch s := int64(math.Ceil(max(d.Seconds(), 0))); {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
}

func untilText(t, now time.Time) string {
	if !t.After(now) {
		return "now"
	}
	return "in " + durationText(t.Sub(now))
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// clean makes a string of the mount's (or the API's) safe to print on a
// terminal: control characters show as their Control Pictures (as names
// in the mount do), other unprintable ones as U+FFFD.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20:
			return 0x2400 + r
		case r == 0x7f:
			return 0x2421
		case !unicode.IsGraphic(r):
			return '\uFFFD'
		}
		return r
	}, s)
}

// isTerminal reports whether w is a terminal (a character device; close
// enough for deciding to redraw in place).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}
