package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestReadAtvSized: an answer whose total length is not the version's
// (206's Content-Range total, or a 200's Content-Length) is never handed
// on: asked again, then ErrStaleCopy; nothing is asked past the size.
func TestReadAtvSized(t *testing.T) {
	data := []byte("0123456789abcdef")
	var stale atomic.Int64 // answers still to give with another total
	var calls atomic.Int64
	whole := atomic.Bool{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body := data
		if stale.Add(-1) >= 0 {
			body = []byte("old")
		}
		var a, b int
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b); err != nil || whole.Load() {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
			return
		}
		b = min(b, len(body)-1)
		if a >= len(body) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(body)))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(body[a : b+1])
	})
	c, srv := newTestCore(t, h)
	u := srv.URL + "/file"
	ctx := context.Background()
	for _, ranges := range []bool{true, false} {
		whole.Store(!ranges)
		stale.Store(2)
		buf := make([]byte, 4)
		if n, err := c.ReadAtvSized(ctx, u, [][]byte{buf}, 1, int64(len(data))); err != nil || !bytes.Equal(buf[:n], data[1:5]) {
			t.Errorf("ranges %v: a read after two stale answers: %q, %v", ranges, buf[:n], err)
		}
		stale.Store(100)
		if n, err := c.ReadAtvSized(ctx, u, [][]byte{buf}, 0, int64(len(data))); !errors.Is(err, ErrStaleCopy) || n != 0 || !strings.Contains(err.Error(), "stale") {
			t.Errorf("ranges %v: a read while stale: %d bytes, %v; want ErrStaleCopy", ranges, n, err)
		}
		stale.Store(0)
	}
	calls.Store(0)
	buf := make([]byte, 10)
	if n, err := c.ReadAtvSized(ctx, u, [][]byte{buf}, int64(len(data)), int64(len(data))); err != io.EOF || n != 0 || calls.Load() != 0 {
		t.Errorf("a read at the end: %d, %v, %d requests; want io.EOF and none", n, err, calls.Load())
	}
	if n, err := c.ReadAtvSized(ctx, u, [][]byte{buf, make([]byte, 10)}, 10, int64(len(data))); err != io.EOF || n != 6 || string(buf[:6]) != "abcdef" {
		t.Errorf("a read past the end: %d, %v, %q; want the 6 last bytes and io.EOF", n, err, buf[:n])
	}
}
