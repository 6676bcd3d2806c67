package ghl

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// FindCreated looks for the trace of a create whose answer was lost: the
// newest item named name under parentID that was created at or after since
// (less a margin for clock skew), of the given size when size >= 0, and
// not one of exclude.
//
// since is a time of this machine; createdAt is the service's, so it is
// compared on the service's clock (learnt from its Date headers).
func (c *Client) FindCreated(ctx context.Context, parentID, typ, name string, size int64, since time.Time, exclude []string) (remote.Item, bool, error) {
	items, err := c.named(ctx, parentID, typ, name)
	if err != nil {
		return remote.Item{}, false, err
	}
	best := c.newestCreated(items, parentID, name, size, since, exclude)
	return best, best.ID != "", nil
}

// newestCreated is FindCreated's choice among the items of a listing.
// exclude holds ids, and urls of files whose listed id is not known yet
// (an upload whose answer's id is unconfirmed).
func (c *Client) newestCreated(items []remote.Item, parentID, name string, size int64, since time.Time, exclude []string) remote.Item {
	since = c.core.ServerTime(since).Add(-30 * time.Second)
	skip := make(map[string]bool, len(exclude))
	for _, id := range exclude {
		skip[id] = true
	}
	var best remote.Item
	var bestAt time.Time
	for _, it := range items {
		if it.Name != name || (it.ParentID != parentID && it.ParentID != "") || skip[it.ID] || (it.URL != "" && skip[it.URL]) {
			continue
		}
		if size >= 0 && it.Size >= 0 && it.Size != size {
			continue
		}
		created := it.CreatedAt
		if created.IsZero() {
			created = IDTime(it.ID)
		}
		if created.IsZero() || created.Before(since) {
			continue
		}
		if best.ID == "" || created.After(bestAt) || (created.Equal(bestAt) && it.ID > best.ID) {
			best, bestAt = it, created
		}
	}
	return best
}

// Confirm finds the file an upload's answer described (it, with
// Unconfirmed set) in its folder's listing, and returns it as listed: the
// item with its id, else with its url, else the newest one of its name and
// size created since since (this machine's clock), none of exclude (ids,
// or urls, of other files). The service may list an upload under another
// id than its answer gave (a field report: API uploads are named by a
// UUID in their url; whether fileId is the listing's _id is promised
// nowhere), and a change sent with an id no listing showed may act on
// nothing. remote.ErrUnconfirmed when no listed item is it.
func (c *Client) Confirm(ctx context.Context, it remote.Item, since time.Time, exclude []string) (remote.Item, error) {
	if !strings.ContainsAny(it.Name, `\^$|?*+()[]{}`) {
		// The first page of a search by its name shows it, as a rule: one
		// call. Whether more pages follow matters only when it does not.
		page, err := c.ListPage(ctx, ListQuery{Type: remote.TypeFile, ParentID: it.ParentID, Query: it.Name}, 0, c.limit())
		if err != nil {
			return remote.Item{}, err
		}
		page = slices.DeleteFunc(ListQuery{ParentID: it.ParentID}.children(page), func(x remote.Item) bool { return x.Deleted })
		if x, ok := uploadIn(page, it); ok {
			return x, nil
		}
	}
	items, err := c.named(ctx, it.ParentID, remote.TypeFile, it.Name)
	if err != nil {
		return remote.Item{}, err
	}
	if x, ok := uploadIn(items, it); ok {
		return x, nil
	}
	// Renamed meanwhile (elsewhere, or by a rename of the mount's that
	// the caller did not know of): its id, or its url, still tells it.
	all, err := c.List(ctx, ListQuery{Type: remote.TypeFile, ParentID: it.ParentID})
	if err != nil {
		return remote.Item{}, err
	}
	if x, ok := uploadIn(all, it); ok {
		return x, nil
	}
	if x := c.newestCreated(items, it.ParentID, it.Name, it.Size, since, exclude); x.ID != "" {
		return x, nil
	}
	return remote.Item{}, fmt.Errorf("%w: %s (answered as id %s) is not in its folder's listing", remote.ErrUnconfirmed, it.Name, it.ID)
}

// uploadIn finds an upload's file in a listing, by its id or its url.
func uploadIn(items []remote.Item, it remote.Item) (remote.Item, bool) {
	for _, x := range items {
		if x.ID == it.ID || remote.SameURL(x.URL, it.URL) {
			return x, true
		}
	}
	return remote.Item{}, false
}

// findAnswerless finds a create the server answered with success but
// without an id. Its listing may lag behind the create: it is looked for
// a few times, a little longer apart each time.
func (c *Client) findAnswerless(ctx context.Context, parentID, typ, name string, size int64, since time.Time, exclude []string) (remote.Item, bool) {
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			if remote.Sleep(ctx, c.clk, remote.Backoff(attempt-1, 500*time.Millisecond, 4*time.Second)) != nil {
				return remote.Item{}, false
			}
		}
		found, ok, err := c.FindCreated(ctx, parentID, typ, name, size, since, exclude)
		if err == nil && ok {
			return found, true
		}
	}
	return remote.Item{}, false
}

// named returns the items of a folder that may be named name: a listing
// searched with query when that surely finds the name, else the whole
// folder. What query matches is not documented: a substring, a prefix, a
// whole name, or a regular expression built from it. The whole name finds
// itself under each of those unless it holds characters special to a
// regular expression; and when the answer holds no item of that name the
// search is not trusted either.
func (c *Client) named(ctx context.Context, parentID, typ, name string) ([]remote.Item, error) {
	if !strings.ContainsAny(name, `\^$|?*+()[]{}`) {
		items, err := c.List(ctx, ListQuery{Type: typ, ParentID: parentID, Query: name})
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(items, func(it remote.Item) bool { return it.Name == name }) {
			return items, nil
		}
	}
	return c.List(ctx, ListQuery{Type: typ, ParentID: parentID})
}
