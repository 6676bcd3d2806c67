package ghl

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/ghlfs/ghlfs/remote"
)

// Delete deletes one file or folder (DELETE /medias/{id}), with altType
// and altId in the query (a field report says the call fails without
// them). What it does, trash or delete for good, is not documented: it is
// taken as a deletion for good.
func (c *Client) Delete(ctx context.Context, id string) error {
	if err := c.refusedRoute(RouteDelete); err != nil {
		return err
	}
	_, err := c.do(ctx, call{method: "DELETE", endpoint: "/medias/{id}", path: "/medias/" + escapeID(id), query: c.values(), idempotent: true})
	return c.noteRoute(RouteDelete, err)
}

// DeleteStatus says what DeleteMany does with the items.
type DeleteStatus string

const (
	StatusTrashed DeleteStatus = "trashed"
	StatusDeleted DeleteStatus = "deleted"
)

// DeleteMany trashes or deletes several items in one call
// (PUT /medias/delete-files). A service without that route (learnt once)
// removes with DELETE /medias/{id}, one item at a time, whatever status
// asks for: that call may delete for good (deleteEach says so once).
func (c *Client) DeleteMany(ctx context.Context, ids []string, status DeleteStatus) error {
	release, err := c.firstBulkCall(ctx)
	if err != nil {
		return err
	}
	err = c.deleteMany(ctx, ids, status)
	release(err)
	return err
}

func (c *Client) deleteMany(ctx context.Context, ids []string, status DeleteStatus) error {
	if err := c.refusedRoute(RouteDeleteMany); err != nil {
		return c.deleteEach(ctx, ids, status, err)
	}
	list := make([]map[string]string, len(ids))
	for i, id := range ids {
		list[i] = map[string]string{"_id": id}
	}
	body, err := c.do(ctx, call{method: "PUT", endpoint: "/medias/delete-files", path: "/medias/delete-files",
		body: jsonBody(c.altBody(map[string]any{"filesToBeDeleted": list, "status": string(status)})), idempotent: true})
	if err != nil {
		if err = c.noteRoute(RouteDeleteMany, err); errors.Is(err, remote.ErrRouteMissing) {
			return c.deleteEach(ctx, ids, status, err)
		}
		return err
	}
	return checkResults(body, "deleted", "PUT /medias/delete-files")
}

// checkResults reads a bulk answer, [{"<flag>": true, "id": ...}], and
// fails if the server says an item was not done. Other shapes are taken as
// success: the body is not documented beyond its example.
func checkResults(body []byte, flag, what string) error {
	var results []map[string]any
	if json.Unmarshal(body, &results) != nil {
		return nil
	}
	var failed []string
	for _, r := range results {
		if v, ok := r[flag].(bool); ok && !v {
			id, _ := r["id"].(string)
			failed = append(failed, id)
		}
	}
	if len(failed) > 0 {
		return &remote.NotDoneError{Call: what, IDs: failed}
	}
	return nil
}
