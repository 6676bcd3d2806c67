package ghl

import (
	"context"

	"github.com/ghlfs/ghlfs/remote"
)

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
func (c *Client) StatURL(ctx context.Context, fileURL string) (remote.FileInfo, error) {
	return c.core.StatURL(ctx, fileURL)
}

// Stats returns the client's counters.
func (c *Client) Stats() remote.Stats { return c.core.Stats() }

// Usage reports the requests sent and the limits, for a status display.
func (c *Client) Usage() remote.Usage { return c.core.Usage() }
