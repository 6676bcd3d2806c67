package ghl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/ghlfs/ghlfs/remote"
)

// ListQuery selects what List returns.
type ListQuery struct {
	Type     string // TypeFile or TypeFolder (required by the API)
	ParentID string // "" = the root
	// FetchAll asks for every item of Type in the location, whatever its
	// parent (fetchAll=true).
	FetchAll bool
	Query    string // name search
	// Label names the listing in log lines (a folder's path, say); ""
	// names it by its parent's id.
	Label string
}

// List returns every item matching q, reading as many pages as it takes
// (see ListEach).
func (c *Client) List(ctx context.Context, q ListQuery) ([]remote.Item, error) {
	var items []remote.Item
	err := c.ListEach(ctx, q, func() { items = items[:0] }, func(it remote.Item) { items = append(items, it) })
	if err != nil {
		return nil, err
	}
	return items, nil
}

// ListEach reads every item matching q, page by page, and hands each to
// add once, as its page comes in: a caller that keeps a smaller form of
// each item never holds the whole listing as Items. When the listing is
// read again (see below), restart is called first, and add then sees the
// items again from the first.
//
// The API returns no total and may cap a page below the limit asked for, so
// a short page ends the listing only when it is shorter than a page the
// server has returned before; otherwise one more page is asked for.
//
// The API pages by offset over a sort key, which can go wrong two ways: an
// item removed from an earlier page while a listing runs moves every later
// item back one place, so the item at the next page boundary is skipped;
// and items that share the sort key (a bulk import gives many files one
// createdAt) may come back in a different order on every request, so a run
// of them across a page boundary loses some and repeats others. So pages
// overlap: each page after the first starts a few items before the end of
// the one before, and must repeat them in the same order. A pass whose
// every page does is complete on its own. When one does not, the listing
// is read again in another order (by name, then each order reversed),
// until a pass is clean; a folder that needed another order starts with it
// next time.
//
// Only the folder's own items are handed on: a server may answer a
// listing of the root with the whole library, or write the root as the
// location's id (see children).
//
// Bounds: each page is one call, and the call's own timeout
// (Config.RetryTimeout) bounds the wait for it, not the whole listing: a
// folder of hundreds of thousands of items lists as long as its pages keep
// coming (ctx can still end it). Progress is logged every few thousand
// items. A listing that brings more than Config.MaxListItems items fails
// with remote.ErrListTooLong, and an answer larger than remote.MaxAnswerBytes with
// remote.ErrAnswerTooLarge: a server that never ends its pages, or sends one
// enormous page, is stopped there.
func (c *Client) ListEach(ctx context.Context, q ListQuery, restart func(), add func(remote.Item)) error {
	if q.Type == "" {
		q.Type = remote.TypeFile
	}
	first := c.sortHint(q)
	started := false
	for pass := 0; pass < maxListPasses; pass++ {
		i := (first + pass) % len(listOrders)
		if c.orderRefused(i) {
			continue
		}
		order := listOrders[i]
		// The items of the pass before are dropped only once this pass's
		// first page came: a pass the server refuses leaves them be.
		begin := func() {
			if started && restart != nil {
				restart()
			}
			started = true
		}
		clean, err := c.listOnce(ctx, q, order, begin, add)
		if err != nil {
			if i != 0 && errors.Is(err, remote.ErrInvalid) {
				// A server that sorts only by createdAt refuses another order.
				c.log.Debug("the server refused a listing order", "order", order, "err", err)
				c.refuseOrder(i)
				continue
			}
			return err
		}
		if clean {
			c.setSortHint(q, i)
			return nil
		}
		c.log.Debug("pages of the listing did not line up; reading it again in another order", "listing", q.label(), "order", order)
	}
	// What was read may miss items: a folder shown without some of its
	// files, or judged empty by rmdir, is worse than an error.
	return fmt.Errorf("GET /medias/files: listing %s: %w: its pages did not line up in any order the server takes (it kept changing while it was read)", q.label(), remote.ErrListUnstable)
}

// orderRefused reports whether the server refused the listing order i.
func (c *Client) orderRefused(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refusedOrders[i]
}

func (c *Client) refuseOrder(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refusedOrders[i] = true
}

// listOrder is a sort a listing asks for.
type listOrder struct{ by, order string }

func (o listOrder) String() string { return o.by + " " + o.order }

// listOrders are the orders List tries, the documented one first.
var listOrders = []listOrder{{"createdAt", "asc"}, {"name", "asc"}, {"createdAt", "desc"}, {"name", "desc"}}

// maxListPasses bounds how often one List reads a listing.
const maxListPasses = 6

// sortHint is the order to read a listing in first.
func (c *Client) sortHint(q ListQuery) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sortHints[q.hintKey()]
}

func (c *Client) setSortHint(q ListQuery, i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := q.hintKey()
	switch {
	case i != 0 && len(c.sortHints) >= maxSortHints:
		clear(c.sortHints) // bounded: forget, at worst a pass is read twice
		fallthrough
	case i != 0:
		c.sortHints[k] = i
	default:
		delete(c.sortHints, k)
	}
}

// maxSortHints bounds the folders whose listing order is remembered.
const maxSortHints = 4096

func (q ListQuery) hintKey() string {
	return q.kind() + "/" + q.ParentID
}

// children keeps the items of a folder listing that are in that folder: a
// server may answer a listing of the root with the whole library, or
// ignore parentId. In a listing of a folder, an item that does not say it
// is in that folder is not taken for one of its items (a server that
// ignored parentId and wrote root items without one would otherwise show
// the root in every folder).
func (q ListQuery) children(page []remote.Item) []remote.Item {
	if q.FetchAll {
		return page
	}
	out := page[:0]
	for _, it := range page {
		if it.ParentID == q.ParentID {
			out = append(out, it)
		}
	}
	return out
}

// pageOverlap is how many items of one page the next one asks for again.
// A run of items with one sort key can hide an item only when it covers
// the whole overlap and more on both sides, and then the overlap repeats
// in the same order only by chance.
const pageOverlap = 4

// progressEvery is how many items of a listing pass between two lines of
// progress in the log.
const progressEvery = 5000

// label names a listing in log lines and errors.
func (q ListQuery) label() string {
	switch {
	case q.Label != "":
		return q.Label
	case q.FetchAll:
		return "the whole library"
	case q.ParentID == "":
		return "the root folder"
	}
	return "folder " + q.ParentID
}

// listOnce reads a listing page by page in one order; clean is false when
// a page did not repeat the end of the one before in the same order.
func (c *Client) listOnce(ctx context.Context, q ListQuery, order listOrder, begin func(), add func(remote.Item)) (clean bool, err error) {
	seen := make(map[string]struct{})
	kind := q.kind()
	clean = true
	var anchors []string // the last items of the page before
	var prev []string    // the ids of the page before
	odd := false         // the page before held more or fewer items than asked for
	received, badIDs := 0, 0
	defer func() {
		if badIDs > 0 {
			c.log.Warn(fmt.Sprintf("listing %s: skipped %d items whose id is longer than %d bytes", q.label(), badIDs, remote.MaxIDBytes))
		}
	}()
	for offset := 0; ; {
		limit := c.limit()
		page, err := c.listPageBounded(ctx, q, order, offset, limit)
		if err != nil {
			return false, err
		}
		if offset == 0 {
			begin()
		}
		n := len(page)
		if n == 0 {
			c.listed(q, len(seen))
			return clean, nil
		}
		for i := range page {
			if len(page[i].ID) > remote.MaxIDBytes {
				badIDs++
				page[i].ID = "" // skipped, as an item without an id
			}
		}
		fresh := 0
		for _, it := range page {
			if _, dup := seen[it.ID]; it.ID != "" && !dup {
				fresh++
			}
		}
		if fresh == 0 && n > len(anchors) {
			// A page of nothing new. The same page again is a server that
			// ignores offset, and would send it for ever; another one
			// (items reordered) is a pass that does not line up.
			if slices.Equal(prev, ids(page)) {
				if odd || q.FetchAll {
					// Not the page asked for (or a listing of the whole
					// library, which one report has answered at once),
					// then all of it again: the server answers this
					// listing whole.
					c.learnUnpaged(q)
					c.listed(q, len(seen))
					return clean, nil
				}
				c.log.Warn("the server repeated a page; ending the listing", "listing", q.label(), "offset", offset)
				return clean, nil
			}
			clean = false
		}
		prev = ids(page)
		if !repeats(page, anchors) {
			clean = false
		}
		// Items beyond the overlap count, repeated or not: a server that
		// keeps sending pages is stopped at the bound whatever it sends.
		received += n - min(n, len(anchors))
		if received > c.maxItems {
			return false, fmt.Errorf("GET /medias/files: listing %s: %w: more than %d items came, and the server was still sending more (the bound is set by --list-max-items)", q.label(), remote.ErrListTooLong, c.maxItems)
		}
		overlap := min(pageOverlap, n/2)
		anchors = anchors[:0]
		for _, it := range page[n-overlap:] {
			anchors = append(anchors, it.ID)
		}
		before := len(seen) / progressEvery
		fresh = 0
		for _, it := range page {
			if it.ID == "" {
				continue
			}
			if _, dup := seen[it.ID]; dup {
				continue
			}
			seen[it.ID] = struct{}{}
			if !it.Deleted {
				page[fresh] = it
				fresh++
			}
		}
		for _, it := range q.children(page[:fresh]) {
			add(it)
		}
		if len(seen)/progressEvery > before {
			c.log.Info(fmt.Sprintf("listing %s: %d %ss so far", q.label(), len(seen), q.Type), "items", len(seen))
		}
		floor, whole := c.notePage(kind, n, limit)
		if whole {
			c.listed(q, len(seen))
			return clean, nil
		}
		if n < limit && n < floor {
			c.listed(q, len(seen))
			return clean, nil
		}
		odd = n != limit
		offset += n - overlap
	}
}

// notePage notes a first or later page of n items, asked for with limit,
// of a listing of kind, and returns the longest page that kind of listing
// has given (before this one) and whether this page is the whole listing:
// not the page asked for (more or fewer items) from a server seen to
// answer that kind of listing whole. A page longer than asked for counts
// as limit long: the floor is what a server pages by.
func (c *Client) notePage(kind string, n, limit int) (floor int, whole bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	floor = c.pageFloor[kind]
	c.pageFloor[kind] = max(floor, min(n, limit))
	return floor, n != limit && c.unpaged[kind]
}

// learnUnpaged notes that the server answers listings of q's kind whole,
// ignoring offset and limit: it sent more (or fewer) items than asked
// for, then the same again for the next page. From then on such an answer
// is the whole listing, read with one request. Logged once per client.
func (c *Client) learnUnpaged(q ListQuery) {
	c.mu.Lock()
	first := len(c.unpaged) == 0
	c.unpaged[q.kind()] = true
	c.mu.Unlock()
	if first {
		c.log.Info("the server answers whole-library listings at once, ignoring offset and limit: reading each in one request from now on", "listing", q.label())
	}
}

// ids are the ids of a page, in order.
func ids(page []remote.Item) []string {
	out := make([]string, len(page))
	for i, it := range page {
		out[i] = it.ID
	}
	return out
}

// repeats reports whether page begins with the anchors, in order. Items
// removed meanwhile may have moved it one place back (then it begins with
// the second anchor); more than that, or a page whose start does not match
// enough of them, is a pass that does not line up: items sharing a sort
// key that come back in another order match a few anchors only by chance.
func repeats(page []remote.Item, anchors []string) bool {
	if len(anchors) == 0 {
		return true
	}
	i := slices.Index(anchors, page[0].ID)
	if i < 0 || i > 1 {
		return false
	}
	matched := 0
	for j, id := range anchors[i:] {
		if j >= len(page) {
			break
		}
		if page[j].ID != id {
			return false
		}
		matched++
	}
	return matched >= min(len(anchors)-1, len(page))
}

// listed ends the progress lines of a long listing with its total.
func (c *Client) listed(q ListQuery, n int) {
	if n >= progressEvery {
		c.log.Info(fmt.Sprintf("listed %s: %d %ss", q.label(), n, q.Type), "items", n)
	}
}

// listPageBounded is listPage with its own deadline: the wait for one
// page, not for the whole listing, is what the call timeout bounds.
func (c *Client) listPageBounded(ctx context.Context, q ListQuery, order listOrder, offset, limit int) ([]remote.Item, error) {
	ctx, cancel := context.WithTimeout(ctx, c.retryFor)
	defer cancel()
	return c.listPage(ctx, q, order, offset, limit)
}

// kind tells listings apart whose pages a server may cap differently.
func (q ListQuery) kind() string {
	return fmt.Sprintf("%s/%v/%v", q.Type, q.FetchAll, q.Query != "")
}

// Check makes one call that proves the token and location work: it lists
// a page of the root's files, which also tells List how long a page the
// server is sure to return.
func (c *Client) Check(ctx context.Context) error {
	page, err := c.ListPage(ctx, ListQuery{Type: remote.TypeFile}, 0, c.limit())
	if err != nil {
		return err
	}
	kind := ListQuery{Type: remote.TypeFile}.kind()
	c.mu.Lock()
	c.pageFloor[kind] = max(c.pageFloor[kind], len(page))
	c.mu.Unlock()
	return nil
}

// ListPage returns one page of a listing, oldest first.
func (c *Client) ListPage(ctx context.Context, q ListQuery, offset, limit int) ([]remote.Item, error) {
	return c.listPage(ctx, q, listOrders[0], offset, limit)
}

func (c *Client) listPage(ctx context.Context, q ListQuery, order listOrder, offset, limit int) ([]remote.Item, error) {
	if q.Type == "" {
		q.Type = remote.TypeFile
	}
	v := c.values()
	v.Set("type", q.Type)
	v.Set("sortBy", order.by)
	v.Set("sortOrder", order.order)
	v.Set("offset", strconv.Itoa(offset))
	v.Set("limit", strconv.Itoa(limit))
	if q.ParentID != "" && !q.FetchAll {
		v.Set("parentId", q.ParentID)
	}
	if q.FetchAll {
		v.Set("fetchAll", "true")
	}
	if q.Query != "" {
		v.Set("query", q.Query)
	}
	var maxBody int64 // a page: MaxAnswerBytes, as any answer
	if q.FetchAll {
		maxBody = c.maxList // a server may answer the whole library at once
	}
	body, err := c.do(ctx, call{method: "GET", endpoint: "/medias/files", path: "/medias/files", query: v, idempotent: true, maxBody: maxBody})
	var apiErr *remote.Error
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnprocessableEntity && limit > maxSafeLimit {
		// A server that caps limit refuses a larger one (422 "limit must
		// not be greater than 100"): ask for pages it takes, from now on.
		c.mu.Lock()
		c.pageSize = min(c.pageSize, maxSafeLimit)
		c.mu.Unlock()
		c.log.Info("the server refused the page size; asking for pages of 100", "limit", limit, "message", apiErr.Message)
		return c.listPage(ctx, q, order, offset, maxSafeLimit)
	}
	if err != nil {
		return nil, err
	}
	items, err := decodeItems(body)
	if err != nil {
		return nil, fmt.Errorf("GET /medias/files: unreadable answer: %w", err)
	}
	for i := range items {
		// Each listing asks for one type; an item without a type is of that type.
		if items[i].Type == "" {
			items[i].Type = q.Type
		}
		items[i].ParentID = c.parentOf(items[i].ParentID)
	}
	return items, nil
}

// maxSafeLimit is the largest page a server that caps limit is known to
// take.
const maxSafeLimit = 100

// parentOf reads a parentId: a server may write the root as the location's
// id.
func (c *Client) parentOf(id string) string {
	if id == c.location {
		return ""
	}
	return id
}

// limit is the page size List asks for.
func (c *Client) limit() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pageSize
}
