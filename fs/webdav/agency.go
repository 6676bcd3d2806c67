package webdav

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/net/webdav"

	"github.com/ghlfs/ghlfs/cache"
	"github.com/ghlfs/ghlfs/fs"
)

// An agency's tree, as its mount shows it (fs.NewAgency): the root holds
// one folder per location, under the names the mount gives them
// (fs.LocationsView), and each folder is that location's library, served
// by an FS of its own (its own store and local folder). The root is
// HighLevel's to change: nothing is made, removed or moved there (403),
// and nothing moves or is copied from one location to another (502, as
// x/net/webdav answers a Destination on another server). A location that
// failed to open is an empty folder that takes nothing (403).

// Location is one of an agency's locations as served.
type Location struct {
	fs.Location // Store nil: it shows as an empty folder
	// LocalDir holds its files kept off the library (Options.LocalDir).
	LocalDir string
}

// Agency is an agency's locations as one webdav.FileSystem. It is not
// changed once made: it has no lock of its own.
type Agency struct {
	opts Options
	log  *slog.Logger
	view *fs.View       // the locations' folders under their shown names
	subs map[string]*FS // location id -> its FS; none: an empty folder
}

var _ webdav.FileSystem = (*Agency)(nil)

// NewAgency returns the file system of an agency's locations; opts are
// each location's, but for LocalDir.
func NewAgency(locs []Location, opts Options) *Agency {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	plain := make([]fs.Location, len(locs))
	for i, l := range locs {
		plain[i] = l.Location
	}
	a := &Agency{opts: opts, log: opts.Logger, view: fs.LocationsView(plain), subs: make(map[string]*FS, len(locs))}
	names, entries := a.view.Names()
	for i, e := range entries {
		for _, l := range locs {
			if l.ID != e.Key {
				continue
			}
			if l.Store != nil {
				o := opts
				o.LocalDir = l.LocalDir
				o.Logger = opts.Logger.With("location", l.ID)
				sub := New(l.Store, o)
				sub.at = "/" + names[i]
				a.subs[l.ID] = sub
			}
			break // the first of an id, as the view
		}
	}
	return a
}

// Handler serves the agency's tree as FS.Handler serves one library,
// with one lock system for the whole tree.
func (a *Agency) Handler(auth *Auth) http.Handler {
	return handler(a, a.opts.ReadOnly, a.log, auth, a.refuse)
}

// refuse answers a change at the root (of the root itself, or of a
// location's folder, or a new item there) or in a location that failed
// to open 403, and a MOVE or COPY from one location to
// another 502, before x/net/webdav, which would answer a MKCOL refused
// 405, and remove an overwritten destination before the move fails.
func (a *Agency) refuse(w http.ResponseWriter, r *http.Request) bool {
	top, depth := topOf(r.URL.Path)
	if r.Method == "LOCK" && depth == 1 {
		if _, ok := a.view.Lookup(top); !ok {
			// A LOCK of no item makes it: no new file at the root.
			http.Error(w, "the root holds the locations alone", http.StatusForbidden)
			return true
		}
	}
	if !changes[r.Method] || r.Method == "PROPPATCH" {
		return false
	}
	if depth <= 1 {
		http.Error(w, "the locations are HighLevel's to make, remove and rename", http.StatusForbidden)
		return true
	}
	if r.Method == "MOVE" || r.Method == "COPY" {
		u, err := url.Parse(r.Header.Get("Destination"))
		if err != nil {
			return false // x/net/webdav answers it
		}
		to, depth := topOf(u.Path)
		switch {
		case depth <= 1:
			http.Error(w, "the locations are HighLevel's to make, remove and rename", http.StatusForbidden)
			return true
		case to != top:
			http.Error(w, "a move or copy from one location to another is not served", http.StatusBadGateway)
			return true
		}
	}
	if _, sub, _, err := a.route(r.URL.Path); err == nil && sub == nil {
		// x/net/webdav would answer a PUT refused (EACCES) 404.
		http.Error(w, "this location could not be opened: it takes no change", http.StatusForbidden)
		return true
	}
	return false
}

// topOf returns a path's first name and how many names it has.
func topOf(p string) (string, int) {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return "", 0
	}
	top, _, _ := strings.Cut(p, "/")
	return top, strings.Count(p, "/") + 1
}

// depthOf is how many names a path has: 0 for the root, 1 for a
// location's folder.
func depthOf(p string) int {
	_, n := topOf(p)
	return n
}

// route returns the location a path is in, the FS serving it (nil for a
// location that failed to open), and the path within it ("/" for the
// location's folder); top is "" for the root.
func (a *Agency) route(name string) (top string, sub *FS, rest string, err error) {
	p := strings.Trim(path.Clean("/"+name), "/")
	if p == "" {
		return "", nil, "/", nil
	}
	top, rest, _ = strings.Cut(p, "/")
	e, ok := a.view.Lookup(top)
	if !ok {
		return top, nil, "", syscall.ENOENT
	}
	return top, a.subs[e.Key], "/" + rest, nil
}

// refused is err as FS.pathErr gives it, for a path the agency's root
// answers itself.
func (a *Agency) refused(op, name string, err error) error {
	p := path.Clean("/" + name)
	a.log.Debug(op+" "+p+": "+err.Error(), "op", op, "path", p)
	return &os.PathError{Op: op, Path: p, Err: err}
}

func (a *Agency) Mkdir(ctx context.Context, name string, perm os.FileMode) error {
	_, sub, rest, err := a.route(name)
	switch {
	case depthOf(name) <= 1:
		return a.refused("mkdir", name, syscall.EPERM) // the root's
	case err != nil:
		return a.refused("mkdir", name, err)
	case sub == nil:
		return a.refused("mkdir", name, syscall.EACCES)
	}
	return sub.Mkdir(ctx, rest, perm)
}

func (a *Agency) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	write := flag&(os.O_WRONLY|os.O_RDWR|os.O_APPEND|os.O_TRUNC|os.O_CREATE) != 0
	top, sub, rest, err := a.route(name)
	switch {
	case top == "" && write:
		return nil, a.refused("open", name, syscall.EISDIR)
	case top == "":
		return &rootFile{a: a, name: "/", infos: a.folders()}, nil
	case err != nil && write && depthOf(name) == 1:
		return nil, a.refused("open", name, syscall.EPERM) // a new file at the root
	case err != nil:
		return nil, a.refused("open", name, err)
	case sub == nil && rest == "/" && !write:
		return &rootFile{a: a, name: top}, nil
	case sub == nil && rest == "/":
		return nil, a.refused("open", name, syscall.EISDIR)
	case sub == nil && write:
		return nil, a.refused("open", name, syscall.EACCES)
	case sub == nil:
		return nil, a.refused("open", name, syscall.ENOENT)
	}
	return sub.OpenFile(ctx, rest, flag, perm)
}

func (a *Agency) RemoveAll(ctx context.Context, name string) error {
	top, sub, rest, err := a.route(name)
	switch {
	case top == "" || (err == nil && rest == "/"):
		return a.refused("remove", name, syscall.EPERM)
	case err != nil:
		return a.refused("remove", name, err)
	case sub == nil:
		return a.refused("remove", name, syscall.ENOENT)
	}
	return sub.RemoveAll(ctx, rest)
}

func (a *Agency) Rename(ctx context.Context, oldName, newName string) error {
	top, sub, rest, err := a.route(oldName)
	toTop, _, toRest, toErr := a.route(newName)
	switch {
	case top == "" || toTop == "" || rest == "/" || toRest == "/":
		return a.refused("rename", oldName, syscall.EPERM)
	case err != nil:
		return a.refused("rename", oldName, err)
	case toErr != nil:
		return a.refused("rename", newName, toErr)
	case toTop != top:
		return a.refused("rename", oldName, syscall.EXDEV)
	case sub == nil:
		return a.refused("rename", oldName, syscall.ENOENT)
	}
	return sub.Rename(ctx, rest, toRest)
}

func (a *Agency) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	top, sub, rest, err := a.route(name)
	switch {
	case top == "":
		return newInfo(root, ""), nil
	case err != nil:
		return nil, a.refused("stat", name, err)
	case sub == nil && rest == "/":
		return folderInfo(top), nil
	case sub == nil:
		return nil, a.refused("stat", name, syscall.ENOENT)
	}
	return sub.Stat(ctx, rest)
}

// folders are the root's folders, one per location.
func (a *Agency) folders() []os.FileInfo {
	names, _ := a.view.Names()
	out := make([]os.FileInfo, len(names))
	for i, n := range names {
		out[i] = folderInfo(n)
	}
	return out
}

// folderInfo is a location's folder as the root lists it.
func folderInfo(name string) os.FileInfo {
	return newInfo(cache.Entry{IsDir: true}, name)
}

// rootFile is the agency's root, or a location that failed to open,
// open: it lists infos, once.
type rootFile struct {
	a    *Agency
	name string

	mu    sync.Mutex    // a leaf
	infos []os.FileInfo // guarded by mu: what Readdir has yet to return
}

var _ webdav.File = (*rootFile)(nil)

func (d *rootFile) Read([]byte) (int, error) {
	return 0, d.a.refused("read", d.name, syscall.EISDIR)
}

func (d *rootFile) Write([]byte) (int, error) {
	return 0, d.a.refused("write", d.name, syscall.EISDIR)
}

func (d *rootFile) Seek(int64, int) (int64, error) { return 0, nil }
func (d *rootFile) Close() error                   { return nil }
func (d *rootFile) Stat() (os.FileInfo, error)     { return folderInfo(d.name), nil }

func (d *rootFile) Readdir(count int) ([]os.FileInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return readdir(&d.infos, count)
}
