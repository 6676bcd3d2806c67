package ghl

import (
	"context"
	"fmt"
	"sync"

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
func (c *Client) checkPlacement(ctx context.Context, call string, it Item, parentID string) (Item, error) {
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
	e := &MisplacedError{Call: call, Name: it.Name, ParentID: parentID, ID: landed.ID}
	e.Trashed = c.DeleteMany(ctx, []string{landed.ID}, StatusTrashed) == nil
	c.place.mu.Lock()
	if c.place.broken == nil {
		c.place.broken = e
	}
	c.place.mu.Unlock()
	return Item{}, e // the caller's log line names the file and this cause
}
