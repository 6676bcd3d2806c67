package ghl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/ghl"
	"github.com/ghlfs/ghlfs/remote/ghl/ghltest"
)

// A server that answers fetchAll whole (fetchall-unpaged): every item
// comes once; the second request of the first listing (the same whole
// answer again) teaches the client, in one log line and no warning, that
// every later such listing is one request. A folder's own listing still
// pages.
func TestListFetchAllUnpaged(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkFetchAllUnpaged}, PageCap: 50},
		func(cfg *ghl.Config) { cfg.PageSize = 50; cfg.Logger = log })
	d := srv.AddFolder("", "d")
	names := make([]string, 240)
	data := make([][]byte, len(names))
	for i := range names {
		names[i] = fmt.Sprintf("f%03d", i)
		data[i] = []byte("x")
	}
	srv.AddFiles(d, names, data)
	for round := range 3 {
		srv.ResetStats()
		items, err := c.List(context.Background(), ghl.ListQuery{Type: ghl.TypeFile, FetchAll: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(ids(items)); got != 240 || len(items) != 240 {
			t.Fatalf("round %d: %d items (%d distinct), want 240", round, len(items), got)
		}
		calls := srv.Stats().ByEndpoint[ghltest.EndpointList]
		if want := int64(1); round > 0 && calls != want {
			t.Fatalf("round %d: %d calls, want %d once the server is known to answer whole", round, calls, want)
		}
	}
	if n := strings.Count(logs.String(), "at once"); n != 1 || strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("log:\n%s", logs.String())
	}
	srv.ResetStats()
	own, err := c.List(context.Background(), ghl.ListQuery{Type: ghl.TypeFile, ParentID: d})
	if err != nil || len(own) != 240 {
		t.Fatalf("the folder's own listing: %d items, %v", len(own), err)
	}
	if calls := srv.Stats().ByEndpoint[ghltest.EndpointList]; calls < 5 {
		t.Fatalf("the folder's own listing took %d calls: it should page", calls)
	}

	// A poll by last change: the first items only, unless the answer is
	// the whole of a large library.
	var seen []string
	err = c.ListUpdated(context.Background(), ghl.TypeFile, func(it ghl.Item) bool {
		seen = append(seen, it.Name)
		return len(seen) < 3
	})
	if err != nil || len(seen) != 3 {
		t.Fatalf("ListUpdated on a small library: %q, %v", seen, err)
	}
	more := make([]string, 1000)
	for i := range more {
		more[i] = fmt.Sprintf("g%04d", i)
	}
	srv.AddFiles(d, more, make([][]byte, len(more)))
	err = c.ListUpdated(context.Background(), ghl.TypeFile, func(ghl.Item) bool { return false })
	if !errors.Is(err, remote.ErrUnpaged) {
		t.Fatalf("ListUpdated on 1240 files at once: %v, want ErrUnpaged", err)
	}
}

// A short first page, or one of exactly the size asked for, that comes
// again for the next offset is the whole listing too (a small library
// under fetchall-unpaged): no warning.
func TestListFetchAllUnpagedSmall(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkFetchAllUnpaged}},
		func(cfg *ghl.Config) { cfg.Logger = log; cfg.PageSize = 30 })
	for i := range 30 { // exactly a page: the next one (all of it again) tells
		srv.AddFile("", fmt.Sprintf("f%d", i), "", []byte("x"))
	}
	for range 2 {
		items, err := c.List(context.Background(), ghl.ListQuery{Type: ghl.TypeFile, FetchAll: true})
		if err != nil || len(items) != 30 {
			t.Fatalf("%d items, %v", len(items), err)
		}
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// A listing's answer may be far larger than other answers (a whole
// library at once), up to Config.MaxListAnswer: one above fails at once
// with ErrAnswerTooLarge.
func TestListAnswerBound(t *testing.T) {
	c, srv := quirkClient(t, ghltest.Options{Quirks: []string{ghltest.QuirkFetchAllUnpaged}},
		func(cfg *ghl.Config) { cfg.MaxListAnswer = 64 << 10 })
	names := make([]string, 400) // about 180 KB in one answer
	for i := range names {
		names[i] = fmt.Sprintf("file-%04d.jpg", i)
	}
	srv.AddFiles("", names, make([][]byte, len(names)))
	_, err := c.List(context.Background(), ghl.ListQuery{Type: ghl.TypeFile, FetchAll: true})
	if !errors.Is(err, remote.ErrAnswerTooLarge) {
		t.Fatalf("err = %v, want ErrAnswerTooLarge", err)
	}
	if calls := srv.Stats().ByEndpoint[ghltest.EndpointList]; calls != 1 {
		t.Fatalf("%d calls", calls)
	}
	if items, err := c.List(context.Background(), ghl.ListQuery{Type: ghl.TypeFile}); err != nil || len(items) != 400 {
		t.Fatalf("paged: %d items, %v", len(items), err)
	}
}
