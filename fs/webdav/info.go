package webdav

import (
	"context"
	"fmt"
	"mime"
	"os"
	"path"
	"time"

	"golang.org/x/net/webdav"

	"github.com/ghlfs/ghlfs/cache"
)

// info is an item as WebDAV shows it.
type info struct {
	e    cache.Entry
	name string // as shown; "" for the root
}

var (
	_ webdav.ETager       = info{}
	_ webdav.ContentTyper = info{}
)

func newInfo(e cache.Entry, name string) os.FileInfo { return info{e: e, name: name} }

func (i info) Name() string {
	if i.name == "" {
		return "/"
	}
	return i.name
}

func (i info) Size() int64 {
	if i.e.IsDir || i.e.Size < 0 {
		return 0
	}
	return i.e.Size
}

func (i info) Mode() os.FileMode {
	if i.e.IsDir {
		return os.ModeDir | 0o777
	}
	return 0o666
}

func (i info) ModTime() time.Time {
	if i.e.ModTime.IsZero() {
		return started
	}
	return i.e.ModTime
}

// started is the time shown for an item that has none (the root).
var started = time.Now()

func (i info) IsDir() bool { return i.e.IsDir }
func (i info) Sys() any    { return nil }

// ETag names the item's content: a file of the API by its id and
// version (a replaced file gets a new id, or a new version) and size; a
// file whose bytes wait in the write-back queue by its key, size and
// time of change, which every write moves. A folder's names its time.
func (i info) ETag(ctx context.Context) (string, error) {
	e := i.e
	switch {
	case e.IsDir:
		return fmt.Sprintf(`"d-%x-%x"`, e.Key, i.ModTime().UnixNano()), nil
	case e.Pending || e.ID == "":
		return fmt.Sprintf(`"p-%x-%x-%x"`, e.Key, i.Size(), i.ModTime().UnixNano()), nil
	}
	return fmt.Sprintf(`"%x-%x"`, e.ContentKey(), i.Size()), nil
}

// ContentType is the type the API gave, else the name's: never sniffed,
// which would read every file a PROPFIND lists.
func (i info) ContentType(ctx context.Context) (string, error) {
	if t := i.e.ContentType(); t != "" {
		return t, nil
	}
	if t := mime.TypeByExtension(path.Ext(i.e.Name)); t != "" {
		return t, nil
	}
	return "application/octet-stream", nil
}
