package webdav

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/net/webdav"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/fs"
)

// A PUT is written to a new file of a name of its own in the same
// folder (putPrefix), which takes the file's name only once the whole
// body has come: a client that goes away half way leaves the file as it
// was, where writing in place would upload half a file over it. The
// bytes still stream into the write-back queue's spool; the rename
// happens there, before the upload, so the file is uploaded once, under
// its name. A server killed during a PUT leaves the new file open for
// writing, which the next start sets aside (recovered/), never uploads.

// putPrefix starts the name a PUT writes under; such names are not
// listed.
const putPrefix = ".ghlfs-put-"

// putKey is the context key of a PUT's body (Handler sets it).
type putKey struct{}

// putBody is a PUT's body, counted as x/net/webdav reads it.
type putBody struct {
	io.ReadCloser
	want int64 // Content-Length; -1 when chunked

	mu  sync.Mutex
	n   int64 // guarded by mu
	end bool  // guarded by mu: read to io.EOF
	err error // guarded by mu: a read that failed
}

func (b *putBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.end = true
	case err != nil && b.err == nil:
		b.err = err
	}
	b.mu.Unlock()
	return n, err
}

// complete reports whether the whole body came.
func (b *putBody) complete() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.end && b.err == nil && (b.want < 0 || b.n == b.want)
}

// putOf returns the PUT body ctx carries, if any.
func putOf(ctx context.Context) *putBody {
	b, _ := ctx.Value(putKey{}).(*putBody)
	return b
}

// putFile is the file a PUT writes.
type putFile struct {
	file
	body   *putBody
	parent cache.Entry
	base   string // the name it takes
}

var _ webdav.File = (*putFile)(nil)

// openPut opens the new file a PUT of name writes.
func (f *FS) openPut(ctx context.Context, name string, body *putBody) (webdav.File, error) {
	parent, e, err := f.lookup(ctx, name)
	switch {
	case err == nil && e.IsDir:
		return nil, f.pathErr("put", name, syscall.EISDIR)
	case err != nil && (fs.Errno(err) != syscall.ENOENT || !parent.IsDir):
		return nil, f.pathErr("put", name, err)
	}
	_, base := split(name)
	var r [8]byte
	rand.Read(r[:])
	h, te, err := f.store.Create(ctx, parent.ID, putPrefix+hex.EncodeToString(r[:]))
	if err != nil {
		return nil, f.pathErr("put", name, err)
	}
	return &putFile{file: file{propsOf: propsOf{f, te.Key}, fs: f, ctx: ctx, path: name, h: h, e: te}, body: body, parent: parent, base: base}, nil
}

// Close gives the new file its name, replacing the file that held it,
// if the whole body came; else removes it, never uploaded.
func (p *putFile) Close() error {
	f, ctx := p.fs, p.ctx
	if !p.body.complete() {
		err := f.store.Remove(ctx, p.e)
		p.h.Release()
		if err != nil {
			return f.pathErr("put", p.path, err)
		}
		p.body.mu.Lock()
		n := p.body.n
		p.body.mu.Unlock()
		f.log.Info("PUT cut short: the file is left as it was", "path", p.path, "bytes", n, "length", p.body.want)
		return &os.PathError{Op: "put", Path: p.path, Err: syscall.ECONNABORTED}
	}
	var rep *cache.Entry
	old, err := f.child(ctx, p.parent, p.base)
	switch {
	case err == nil && old.IsDir:
		err = syscall.EISDIR
	case err == nil:
		rep = &old
	case errors.Is(err, syscall.ENOENT):
		err = nil
	}
	if err == nil {
		err = f.store.Rename(ctx, p.e, fs.DecodeName(p.base), rep)
	}
	if err != nil {
		if rerr := f.store.Remove(ctx, p.e); rerr != nil {
			f.log.Warn("a PUT's file under its own name could not be removed", "path", p.path, "err", rerr)
		}
		p.h.Release()
		return f.pathErr("put", p.path, err)
	}
	if rep != nil {
		f.props.move(rep.Key, p.e.Key)
	}
	err = p.h.Flush(ctx)
	p.h.Release()
	return f.pathErr("close", p.path, err)
}

// isPutName reports whether a name is one a PUT writes under.
func isPutName(name string) bool { return strings.HasPrefix(name, putPrefix) }
