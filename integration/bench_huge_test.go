package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// (10): ls -f of one folder of 200,000 files, at the API's rate limit:
// the calls (its pages and nothing else), the time against the best the
// limit allows for those calls, and ghlfs's peak resident memory.
func benchHugeFolder(b *testing.B) []benchRow {
	const n = 200000
	srv := fake(b, ghltest.Options{RateLimit: 100, RateWindow: 10 * time.Second})
	seedBigFolder(srv, "huge", n)
	m := mountFS(b, srv, mountOpt{args: []string{"--log-level", "info", "--rate-limit", "100", "--list-all=false"}})
	sh(b, "stat", m.path("huge")) // the root's listing, outside the measure
	resetStats(b, srv)
	start := time.Now()
	// At the API's limit the listing takes minutes: longer than sh allows.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	outb, err := exec.CommandContext(ctx, "ls", "-f", m.path("huge")).Output()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("ls -f: %v", err)
	}
	out := string(outb)
	if got := strings.Count(out, "\n"); got != n+2 {
		b.Fatalf("ls -f listed %d names, want %d", got, n+2)
	}
	hwm := vmHWM(b, m.cmd.Process.Pid) >> 10 // kB
	st := getStats(b, srv)
	pages := (n-4)/96 + 1 + 1 // 100 a page less the overlap of 4, a last page, the folders' page
	// The published limit, 100 calls per 10 s: the fastest those calls go.
	best := time.Duration(st.APIRequests) * 100 * time.Millisecond
	return []benchRow{
		{"10", "ls -f of a folder of 200,000 files: API calls (cold)", fmt.Sprintf("%d (%d pages of 100)", st.APIRequests, pages), "no call beyond the listing's pages", st.APIRequests <= pages+1 && st.ByEndpoint["GET /medias/files"] == st.APIRequests},
		{"10", "… its time at the API limit vs the fastest the limit allows", fmt.Sprintf("%.2f (%s vs %s; 429s: %d)", best.Seconds()/took.Seconds(), took.Round(time.Second), best.Round(time.Second), st.RateLimited), "", false},
		{"10", "… resident memory of ghlfs, peak (VmHWM)", fmt.Sprintf("%.0f MB", float64(hwm)/1000), "< 150 MB", hwm < 150_000},
	}
}
