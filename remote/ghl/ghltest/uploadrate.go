package ghltest

import (
	"context"
	"io"
	"time"
)

// rateReader paces the reading of a request body at rate bytes per
// second, in slices of about 50ms, as a slow uplink would: the client's
// writes then wait on the connection (Faults.UploadRate).
type rateReader struct {
	io.ReadCloser
	ctx   context.Context
	rate  int64
	start time.Time
	read  int64
}

func (rr *rateReader) Read(p []byte) (int, error) {
	if rr.start.IsZero() {
		rr.start = time.Now()
	}
	due := rr.start.Add(time.Duration(float64(rr.read) / float64(rr.rate) * float64(time.Second)))
	if !sleepCtx(rr.ctx, time.Until(due)) {
		return 0, rr.ctx.Err()
	}
	slice := int(max(rr.rate/20, 512))
	n, err := rr.ReadCloser.Read(p[:min(len(p), slice)])
	rr.read += int64(n)
	return n, err
}
