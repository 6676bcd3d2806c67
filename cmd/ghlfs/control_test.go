package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The control socket answers the status and unmount requests, is 0600
// from the start, and is gone once closed.
func TestControlSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "control.sock")
	os.WriteFile(path, nil, 0o644) // a leftover of a killed mount is replaced
	eta := 3.0
	want := statusReport{Mountpoint: "/mnt/ghl", PID: 42, State: "mounted",
		Uploads: []uploadStatus{{Path: "a/b.png", State: "uploading", Size: 100, Sent: 25, Rate: 25, ETASeconds: &eta}}}
	forced := make(chan bool, 1)
	c, err := startControl(path, func() statusReport { return want }, func(f bool) { forced <- f }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v", fi.Mode(), err)
	}
	got, err := fetchStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Mountpoint != want.Mountpoint || got.PID != 42 || len(got.Uploads) != 1 || got.Uploads[0].Sent != 25 || *got.Uploads[0].ETASeconds != 3 {
		t.Errorf("status %+v", got)
	}
	if err := askUnmount(path, true); err != nil || !<-forced {
		t.Errorf("unmount --force: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the cache dir holds %d entries, want the socket alone", len(entries))
	}
	c.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket still there after Close: %v", err)
	}
	if _, err := fetchStatus(path); err == nil {
		t.Error("answered after Close")
	}
}

func TestStatusText(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	next := now.Add(90 * time.Second)
	eta := 7.2
	for _, tt := range []struct {
		u    uploadStatus
		want string
	}{
		{uploadStatus{Path: "Clients/logo.png", State: "uploading", Size: 4 << 20, Sent: 1 << 20, Rate: 512 << 10, ETASeconds: &eta},
			"uploading  Clients/logo.png  [#####...............]  1.0 MiB of 4.0 MiB   25%  512.0 KiB/s  8s left"},
		{uploadStatus{Path: "a.bin", State: "uploading", Size: 10, Sent: 10},
			"uploading  a.bin  [####################]  10 B of 10 B  100%  all sent; waiting for the server's answer"},
		{uploadStatus{Path: "bad\x1b[2Jname", State: "failed", Size: 2048, Error: "400: no\nway", Next: &next},
			"failed     bad␛[2Jname  2.0 KiB: 400: no␊way; next try in 1m30s"},
		{uploadStatus{Path: "w.txt", State: "waiting", Size: 5, Next: &next}, "waiting    w.txt  5 B, due in 1m30s"},
		{uploadStatus{Path: "talk.m4a", State: "failed", Size: 2048, Error: "400 Bad Request: INVALID_FILE_TYPE", Refused: true},
			"failed     talk.m4a  2.0 KiB: 400 Bad Request: INVALID_FILE_TYPE [refused: not tried again until changed or renamed; not waited for at unmount]"},
	} {
		if got := uploadLine(tt.u, now); got != tt.want {
			t.Errorf("uploadLine:\n got %q\nwant %q", got, tt.want)
		}
	}
	if got := thousands(200000); got != "200,000" {
		t.Errorf("thousands: %s", got)
	}
	if got := bounded(strings.Repeat("é", 400), 501); len(got) > 504 || !strings.HasSuffix(got, "…") {
		t.Errorf("bounded: %d bytes", len(got))
	}
}

// The API line names a limit only where the service publishes one:
// ImageKit publishes none, and "limit 0" read as a limit of nothing.
func TestAPILineWithoutPublishedLimits(t *testing.T) {
	now := time.Now()
	got := apiLine(apiStatus{Calls10s: 3, CallsToday: 40}, false, now)
	if want := "API: 3 calls in the last 10 s, 40 today"; !strings.HasPrefix(got, want) || strings.Contains(got, "limit") {
		t.Errorf("no limits: %q, want it to begin %q and name no limit", got, want)
	}
	got = apiLine(apiStatus{Calls10s: 3, Limit10s: 100, Pacing10s: 90, CallsToday: 40, LimitDaily: 200000}, false, now)
	if want := "API: 3 calls in the last 10 s (limit 100; ghlfs keeps to 90), 40 today (limit 200,000)"; !strings.HasPrefix(got, want) {
		t.Errorf("HighLevel's limits: %q, want it to begin %q", got, want)
	}
}
