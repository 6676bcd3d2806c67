package ghl

import (
	"context"
	"fmt"

	"github.com/ghlfs/ghlfs/remote"
)

// The Client as a remote.Backend: what the cache calls. HighLevel lists
// one item type at a time, makes a new id at every upload, cannot move an
// item to another folder, and trashes or deletes in bulk; file bytes come
// from public urls on its storage hosts.

// Backend is the client as the layers above use it.
func (c *Client) Backend() remote.Backend { return backend{c} }

// backend adapts a *Client to remote.Backend: the client's own methods
// keep the names and forms its tests and fake grew with.
type backend struct{ c *Client }

var (
	_ remote.Backend        = backend{}
	_ remote.GroupConfirmer = backend{}
)

// Caps is what HighLevel does.
func (c *Client) Caps() remote.Caps {
	maxSize := c.maxSize
	return remote.Caps{
		Kind:           "ghl",
		XattrPrefix:    "user.ghl.",
		UniqueNames:    false, // a folder may hold two files of one name
		NewIDPerUpload: true,
		MaxUpload:      func(contentType string) int64 { return UploadLimit(contentType, maxSize) },
		RangeReads:     true,
		PublicURL:      true,
		RenameFolders:  true, // where the token has the rename route (RouteRename)
		Trash:          true,
		Permanent:      true,
		OneListing:     false, // type=file or type=folder
		ListAll:        true,  // fetchAll=true, checked by the cache before it is relied on
		ListRecent:     true,  // sortBy=updatedAt, checked at every page (ListUpdated)
	}
}

func (b backend) Caps() remote.Caps               { return b.c.Caps() }
func (b backend) Check(ctx context.Context) error { return b.c.Check(ctx) }
func (b backend) FolderWrites() error             { return b.c.FolderWrites() }
func (b backend) Stats() remote.Stats             { return b.c.Stats() }
func (b backend) Usage() remote.Usage             { return b.c.Usage() }

func (b backend) List(ctx context.Context, q remote.ListQuery, restart func(), add func(remote.Item)) error {
	return b.c.ListEach(ctx, ListQuery{Type: q.Type, ParentID: q.ParentID, FetchAll: q.All, Label: q.Label}, restart, add)
}

func (b backend) ListUpdated(ctx context.Context, typ string, visit func(remote.Item) bool) error {
	return b.c.ListUpdated(ctx, typ, visit)
}

// ReadAt reads the bytes at the file's url: HighLevel serves them from
// public urls, without the token.
func (b backend) ReadAt(ctx context.Context, f remote.FileRef, bufs [][]byte, off int64) (int, error) {
	return b.c.ReadAtv(ctx, f.URL, bufs, off)
}

func (b backend) Stat(ctx context.Context, f remote.FileRef) (remote.FileInfo, error) {
	return b.c.StatURL(ctx, f.URL)
}

func (b backend) CreateFolder(ctx context.Context, parentID, name string) (remote.Item, error) {
	return b.c.CreateFolder(ctx, parentID, name)
}

func (b backend) Upload(ctx context.Context, up remote.Upload) (remote.Item, error) {
	return b.c.UploadFile(ctx, up)
}

// FindLanded looks for a new file of the attempt's name and size created
// since it was sent (FindCreated).
func (b backend) FindLanded(ctx context.Context, a remote.Attempt) (remote.Item, bool, error) {
	return b.c.FindCreated(ctx, a.ParentID, remote.TypeFile, a.Name, a.Size, a.At, a.Exclude, a.Rivals)
}

func (b backend) Confirm(ctx context.Context, it remote.Item, rivals []remote.Item, exclude []string) (remote.Item, error) {
	return b.c.Confirm(ctx, it, rivals, exclude)
}

func (b backend) ConfirmGroup(ctx context.Context, its []remote.Item, rivals []remote.Item, exclude []string) ([]remote.Item, error) {
	return b.c.ConfirmGroup(ctx, its, rivals, exclude)
}

func (b backend) PickCreated(all []remote.Item, it remote.Item, rivals []remote.Item, exclude []string) (remote.Item, error) {
	return b.c.PickCreated(all, it, rivals, exclude)
}

func (b backend) Rename(ctx context.Context, id, name string) error {
	return b.c.Rename(ctx, id, name)
}

// Move: the API has no way to put an item in another folder.
func (b backend) Move(ctx context.Context, id, parentID, name string) error {
	return fmt.Errorf("move %s to folder %s: %w: the HighLevel API cannot move an item to another folder", id, parentID, remote.ErrNotSupported)
}

// Remove trashes, or deletes for good, with one bulk call (DeleteMany).
func (b backend) Remove(ctx context.Context, ids []string, permanent bool) error {
	status := StatusTrashed
	if permanent {
		status = StatusDeleted
	}
	return b.c.DeleteMany(ctx, ids, status)
}

// Versions: HighLevel keeps no versions (every upload is a new file).
func (b backend) Versions(ctx context.Context, id string) ([]remote.Version, error) {
	return nil, fmt.Errorf("versions of %s: %w: HighLevel keeps no file versions", id, remote.ErrNotSupported)
}

// RemoveVersion: HighLevel keeps no versions.
func (b backend) RemoveVersion(ctx context.Context, id, rev string) error {
	return fmt.Errorf("removing a version of %s: %w: HighLevel keeps no file versions", id, remote.ErrNotSupported)
}
