package ghl

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/ghlfs/ghlfs/remote"
)

// The core's types, under the names this package's code has always used:
// the client was remote.Client before the request core and the backend
// interface were drawn out of it (issue 18), and its files keep their
// words so that history and merges follow them.
type (
	Item         = remote.Item
	Upload       = remote.Upload
	FileInfo     = remote.FileInfo
	Error        = remote.Error
	Progress     = remote.Progress
	Authorizer   = remote.Authorizer
	NotDoneError = remote.NotDoneError
	Stats        = remote.Stats
	PacerStats   = remote.PacerStats
	Usage        = remote.Usage
	CallCounts   = remote.CallCounts
)

// Item kinds, as the API spells them.
const (
	TypeFile   = remote.TypeFile
	TypeFolder = remote.TypeFolder
)

func redactURL(raw string) string                              { return remote.RedactURL(raw) }
func redactErr(err error) error                                { return remote.RedactErr(err) }
func checkAPIURL(u *url.URL) error                             { return remote.CheckAPIURL(u) }
func apiRedirect(req *http.Request, via []*http.Request) error { return remote.APIRedirect(req, via) }
func newTransport() *http.Transport                            { return remote.NewTransport() }
func statusOf(resp *http.Response) int                         { return remote.StatusOf(resp) }
func counted(r io.Reader, p *Progress) io.Reader               { return p.Attempt(r) }

func backoff(attempt int, base, maxWait time.Duration) time.Duration {
	return remote.Backoff(attempt, base, maxWait)
}

func sleepCtx(ctx context.Context, clock clockwork.Clock, d time.Duration) error {
	return remote.Sleep(ctx, clock, d)
}

// What the request core does for the client.

// ReadAt fills p with the bytes of the file at fileURL from off on
// (remote.Core.ReadAt).
func (c *Client) ReadAt(ctx context.Context, fileURL string, p []byte, off int64) (int, error) {
	return c.core.ReadAt(ctx, fileURL, p, off)
}

// ReadAtv is ReadAt into several buffers, filled in turn from one range.
func (c *Client) ReadAtv(ctx context.Context, fileURL string, bufs [][]byte, off int64) (int, error) {
	return c.core.ReadAtv(ctx, fileURL, bufs, off)
}

// StatURL asks the storage host for a file's size and time.
func (c *Client) StatURL(ctx context.Context, fileURL string) (FileInfo, error) {
	return c.core.StatURL(ctx, fileURL)
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats { return c.core.Stats() }

// PacerStats reports the pacer's counters.
func (c *Client) PacerStats() PacerStats { return c.core.PacerStats() }

// Usage reports the requests sent and the limits, for a status display.
func (c *Client) Usage() Usage { return c.core.Usage() }
