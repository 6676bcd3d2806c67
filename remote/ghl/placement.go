package ghl

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// MisplacedError says where a create into a folder landed instead.
type MisplacedError struct {
	Call     string // "POST /medias/upload-file" or "POST /medias/folder"
	Name     string
	ParentID string // the folder asked for
	ID       string // the copy that landed elsewhere ("" when none was made)
	Trashed  bool   // that copy was moved to the trash again
}

func (e *MisplacedError) Error() string {
	where := "it was not made"
	switch {
	case e.ID != "" && e.Trashed:
		where = fmt.Sprintf("it landed in the root (id %s), and was moved to the trash", e.ID)
	case e.ID != "":
		where = fmt.Sprintf("it landed in the root (id %s), and could not be moved to the trash: remove it there", e.ID)
	}
	return fmt.Sprintf("%s: %q was asked for in folder %s; %s: this account's API ignores parentId, so files and folders can be made only at the root", e.Call, e.Name, e.ParentID, where)
}

func (e *MisplacedError) Unwrap() error { return remote.ErrMisplaced }

// placement is whether creates into folders land where asked. The first
// create into a folder is checked with a listing; one that landed
// elsewhere turns every later create into a folder into an error at once.
type placement struct {
	mu       sync.Mutex
	verified bool
	broken   error // the first misplacement
}

// FolderWrites is nil unless the service was seen ignoring the folder a
// create asked for; then it is that error.
func (c *Client) FolderWrites() error {
	c.place.mu.Lock()
	defer c.place.mu.Unlock()
	return c.place.broken
}

// beforeCreate fails a create into a folder at once once the service was
// seen to ignore parentId.
func (c *Client) beforeCreate(call, parentID, name string) error {
	if parentID == "" {
		return nil
	}
	if err := c.FolderWrites(); err != nil {
		return &MisplacedError{Call: call, Name: name, ParentID: parentID}
	}
	return nil
}

// checkPlacement makes sure the first item created into a folder is in
// that folder. One that is not is moved to the trash again and reported.
// An item is known in a listing by its id, or by its url (an upload's
// answer may give another id than listings do): found so, it is returned
// as listed.
func (c *Client) checkPlacement(ctx context.Context, call string, it remote.Item, parentID string) (remote.Item, error) {
	c.place.mu.Lock()
	done := c.place.verified || parentID == ""
	c.place.mu.Unlock()
	if done {
		return it, nil
	}
	items, err := c.named(ctx, parentID, it.Type, it.Name)
	if err != nil {
		return it, nil // unknown: a later create checks again
	}
	if x, ok := uploadIn(items, it); ok {
		c.place.mu.Lock()
		c.place.verified = true
		c.place.mu.Unlock()
		return x, nil
	}
	root, err := c.named(ctx, "", it.Type, it.Name)
	if err != nil {
		return it, nil
	}
	landed, ok := uploadIn(root, it)
	if !ok {
		c.log.Warn("a new item is not listed yet, neither in its folder nor in the root; its place is checked again at the next create", "name", it.Name, "id", it.ID)
		return it, nil
	}
	return remote.Item{}, c.misplaced(ctx, call, it.Name, parentID, landed.ID) // the caller's log line names the file and this cause
}

// misplaced moves id, the copy of a create into folder parentID that
// landed in the root, to the trash again, notes that the service ignores
// parentId, and returns the *MisplacedError that says so.
func (c *Client) misplaced(ctx context.Context, call, name, parentID, id string) error {
	e := &MisplacedError{Call: call, Name: name, ParentID: parentID, ID: id}
	e.Trashed = c.DeleteMany(ctx, []string{id}, StatusTrashed) == nil
	c.place.mu.Lock()
	if c.place.broken == nil {
		c.place.broken = e
	}
	c.place.mu.Unlock()
	return e
}

// rootBefore is, for a create into a folder sent while it is not known
// whether creates into folders land there, the ids of the items of its
// name and type in the root before it is sent: should its answer be lost,
// a new one beside them is where the service put it (findLost). nil, with
// no call, when the create is into the root or placement was verified.
func (c *Client) rootBefore(ctx context.Context, parentID, typ, name string) ([]string, error) {
	c.place.mu.Lock()
	verified := c.place.verified
	c.place.mu.Unlock()
	if parentID == "" || verified {
		return nil, nil
	}
	items, err := c.named(ctx, "", typ, name)
	if err != nil {
		return nil, err
	}
	before := []string{} // not nil: the root is looked in
	for _, it := range items {
		if it.Name == name && it.ParentID == "" {
			before = append(before, it.ID)
		}
	}
	return before, nil
}

// findLost looks for the item of a create into parentID whose answer was
// lost (FindCreated). Not in that folder, and with root the items of its
// name in the root before it was sent (rootBefore; nil: not looked at),
// it is looked for among the others in the root: found there, the service
// ignored parentId, and it is handled as checkPlacement handles a
// misplaced create (moved to the trash again, a *MisplacedError) rather
// than sent again to land in the root a second time. An error that is no
// *MisplacedError is a listing's: whether the create landed is unknown.
func (c *Client) findLost(ctx context.Context, call string, root []string, parentID, typ, name string, size int64, since time.Time, exclude []string, rivals []remote.Item) (remote.Item, bool, error) {
	found, ok, err := c.FindCreated(ctx, parentID, typ, name, size, since, exclude, rivals)
	if err != nil || ok || root == nil {
		return found, ok, err
	}
	c.place.mu.Lock()
	verified := c.place.verified
	c.place.mu.Unlock()
	if verified {
		// Another create landed in its folder meanwhile: a new item of
		// this name in the root is someone else's.
		return remote.Item{}, false, nil
	}
	landed, ok, err := c.FindCreated(ctx, "", typ, name, size, since, append(slices.Clone(exclude), root...), nil)
	if err != nil || !ok {
		return remote.Item{}, false, err
	}
	return remote.Item{}, false, c.misplaced(ctx, call, name, parentID, landed.ID)
}
