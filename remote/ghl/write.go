package ghl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// CreateFolder creates a folder named name under parentID ("" = root).
func (c *Client) CreateFolder(ctx context.Context, parentID, name string) (remote.Item, error) {
	it, err := c.createFolder(ctx, parentID, name)
	if err != nil {
		return it, err
	}
	return c.checkPlacement(ctx, "POST /medias/folder", it, parentID)
}

func (c *Client) createFolder(ctx context.Context, parentID, name string) (remote.Item, error) {
	if err := c.beforeCreate("POST /medias/folder", parentID, name); err != nil {
		return remote.Item{}, err
	}
	m := map[string]any{"name": name}
	if parentID != "" {
		m["parentId"] = parentID
	}
	payload := c.altBody(m)
	root, err := c.rootBefore(ctx, parentID, remote.TypeFolder, name)
	if err != nil {
		return remote.Item{}, err
	}
	start := c.clk.Now()
	for attempt := 0; ; attempt++ {
		body, err := c.do(ctx, call{method: "POST", endpoint: "/medias/folder", path: "/medias/folder", body: jsonBody(payload)})
		if err == nil {
			var it remote.Item
			if jerr := json.Unmarshal(unwrapObject(body, "folder"), (*apiItem)(&it)); jerr != nil || it.ID == "" {
				// Created, but the answer does not say as what: find it.
				if found, ok := c.findAnswerless(ctx, parentID, remote.TypeFolder, name, -1, start, nil, nil); ok {
					return found, nil
				}
				// Or in the root, where a service that ignores parentId put it.
				if found, ok, ferr := c.findLost(ctx, "POST /medias/folder", root, parentID, remote.TypeFolder, name, -1, start, nil, nil); ok || errors.Is(ferr, remote.ErrMisplaced) {
					return found, ferr
				}
				return remote.Item{}, fmt.Errorf("POST /medias/folder: answer without an id: %.200s", body)
			}
			it.Type = remote.TypeFolder
			if it.Name == "" {
				it.Name = name
			}
			it.ParentID = c.parentOf(it.ParentID)
			if it.ParentID == "" {
				it.ParentID = parentID
			}
			return it, nil
		}
		if !errors.Is(err, errAmbiguous) || attempt >= 4 {
			return remote.Item{}, err
		}
		found, ok, ferr := c.findLost(ctx, "POST /medias/folder", root, parentID, remote.TypeFolder, name, -1, start, nil, nil)
		if errors.Is(ferr, remote.ErrMisplaced) {
			return remote.Item{}, ferr
		}
		if ferr != nil {
			return remote.Item{}, err
		}
		if ok {
			return found, nil
		}
		if werr := remote.Sleep(ctx, c.clk, remote.Backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return remote.Item{}, err
		}
		c.core.CountRetry("POST", "/medias/folder")
	}
}

// Rename gives the file or folder id a new name (POST /medias/{id}). The API
// has no way to move an item to another folder.
// A service without the route (remote.ErrRouteMissing) is remembered: later
// renames fail at once, without a call.
func (c *Client) Rename(ctx context.Context, id, name string) error {
	if err := c.refusedRoute(RouteRename); err != nil {
		return err
	}
	body, err := c.do(ctx, call{method: "POST", endpoint: "/medias/{id}", path: "/medias/" + escapeID(id),
		body: jsonBody(c.altBody(map[string]any{"name": name})), idempotent: true})
	if err != nil {
		return c.noteRoute(RouteRename, err)
	}
	// {"updated": false} is a 2xx that renamed nothing.
	var res struct {
		Updated *bool `json:"updated"`
	}
	if json.Unmarshal(body, &res) == nil && res.Updated != nil && !*res.Updated {
		return &remote.NotDoneError{Call: "POST /medias/{id}", IDs: []string{id}}
	}
	return nil
}

// unwrapObject returns body["key"] when the answer wraps the object in it.
func unwrapObject(body []byte, key string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) == nil {
		if inner, ok := m[key]; ok && len(inner) > 0 && inner[0] == '{' {
			return inner
		}
	}
	return body
}
