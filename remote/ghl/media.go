package ghl

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

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

func (c *Client) values() url.Values {
	return url.Values{"altType": {"location"}, "altId": {c.location}}
}

func (c *Client) altBody(m map[string]any) []byte {
	m["altType"] = "location"
	m["altId"] = c.location
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // maps of strings and slices always marshal
	}
	return b
}

// List returns every item matching q, reading as many pages as it takes
// (see ListEach).
func (c *Client) List(ctx context.Context, q ListQuery) ([]Item, error) {
	var items []Item
	err := c.ListEach(ctx, q, func() { items = items[:0] }, func(it Item) { items = append(items, it) })
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
func (c *Client) ListEach(ctx context.Context, q ListQuery, restart func(), add func(Item)) error {
	if q.Type == "" {
		q.Type = TypeFile
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
func (q ListQuery) children(page []Item) []Item {
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
func (c *Client) listOnce(ctx context.Context, q ListQuery, order listOrder, begin func(), add func(Item)) (clean bool, err error) {
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
func ids(page []Item) []string {
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
func repeats(page []Item, anchors []string) bool {
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
func (c *Client) listPageBounded(ctx context.Context, q ListQuery, order listOrder, offset, limit int) ([]Item, error) {
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
	page, err := c.ListPage(ctx, ListQuery{Type: TypeFile}, 0, c.limit())
	if err != nil {
		return err
	}
	kind := ListQuery{Type: TypeFile}.kind()
	c.mu.Lock()
	c.pageFloor[kind] = max(c.pageFloor[kind], len(page))
	c.mu.Unlock()
	return nil
}

// ListPage returns one page of a listing, oldest first.
func (c *Client) ListPage(ctx context.Context, q ListQuery, offset, limit int) ([]Item, error) {
	return c.listPage(ctx, q, listOrders[0], offset, limit)
}

func (c *Client) listPage(ctx context.Context, q ListQuery, order listOrder, offset, limit int) ([]Item, error) {
	if q.Type == "" {
		q.Type = TypeFile
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
	var apiErr *Error
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

// CreateFolder creates a folder named name under parentID ("" = root).
func (c *Client) CreateFolder(ctx context.Context, parentID, name string) (Item, error) {
	it, err := c.createFolder(ctx, parentID, name)
	if err != nil {
		return it, err
	}
	return c.checkPlacement(ctx, "POST /medias/folder", it, parentID)
}

func (c *Client) createFolder(ctx context.Context, parentID, name string) (Item, error) {
	if err := c.beforeCreate("POST /medias/folder", parentID, name); err != nil {
		return Item{}, err
	}
	m := map[string]any{"name": name}
	if parentID != "" {
		m["parentId"] = parentID
	}
	payload := c.altBody(m)
	start := c.clk.Now()
	for attempt := 0; ; attempt++ {
		body, err := c.do(ctx, call{method: "POST", endpoint: "/medias/folder", path: "/medias/folder", body: jsonBody(payload)})
		if err == nil {
			var it Item
			if jerr := json.Unmarshal(unwrapObject(body, "folder"), (*apiItem)(&it)); jerr != nil || it.ID == "" {
				// Created, but the answer does not say as what: find it.
				if found, ok := c.findAnswerless(ctx, parentID, TypeFolder, name, -1, start, nil); ok {
					return found, nil
				}
				return Item{}, fmt.Errorf("POST /medias/folder: answer without an id: %.200s", body)
			}
			it.Type = TypeFolder
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
			return Item{}, err
		}
		found, ok, ferr := c.FindCreated(ctx, parentID, TypeFolder, name, -1, start, nil)
		if ferr != nil {
			return Item{}, err
		}
		if ok {
			return found, nil
		}
		if werr := sleepCtx(ctx, c.clk, backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return Item{}, err
		}
		c.core.CountRetry("POST", "/medias/folder")
	}
}

// UploadFile uploads a new file and returns it as an Item (ID and URL from
// the answer). New content always makes a new file: the API cannot replace
// an existing file's bytes.
func (c *Client) UploadFile(ctx context.Context, up Upload) (Item, error) {
	it, err := c.uploadFile(ctx, up)
	if err != nil {
		return it, err
	}
	return c.checkPlacement(ctx, "POST /medias/upload-file", it, up.ParentID)
}

func (c *Client) uploadFile(ctx context.Context, up Upload) (Item, error) {
	if err := c.beforeCreate("POST /medias/upload-file", up.ParentID, up.Name); err != nil {
		return Item{}, err
	}
	ctype := cmp.Or(up.ContentType, "application/octet-stream")
	if limit := UploadLimit(ctype, c.maxSize); up.Size > limit {
		return Item{}, fmt.Errorf("POST /medias/upload-file: %s is %d bytes: %w (the API takes at most %d bytes of %s)", up.Name, up.Size, remote.ErrTooLarge, limit, ctype)
	}
	cl := call{method: "POST", endpoint: "/medias/upload-file", path: "/medias/upload-file"}
	if IsVideo(ctype) && up.Size > c.maxSize {
		cl.version = APIVersionV3 // only v3 takes a video this large
	}
	var err error
	if cl.body, cl.length, err = multipartBody(up, c.location); err != nil {
		return Item{}, err
	}
	start := c.clk.Now()
	for attempt := 0; ; attempt++ {
		body, err := c.do(ctx, cl)
		if err == nil {
			var res struct {
				FileID string `json:"fileId"`
				ID     string `json:"_id"`
				AltID  string `json:"id"`
				URL    string `json:"url"`
			}
			_ = json.Unmarshal(body, &res)
			// The id is the answer's: the service may list the file under
			// another (see Confirm).
			it := Item{ID: firstNonEmpty(res.FileID, res.ID, res.AltID), Name: up.Name, Type: TypeFile, ParentID: up.ParentID,
				URL: res.URL, ContentType: up.ContentType, Size: up.Size, SentAt: start.UTC(), CreatedAt: c.clk.Now().UTC(), Unconfirmed: true}
			if it.ID == "" {
				if found, ok := c.findAnswerless(ctx, up.ParentID, TypeFile, up.Name, up.Size, start, up.Exclude); ok {
					return found, nil
				}
				return Item{}, fmt.Errorf("POST /medias/upload-file: answer without a file id: %.200s", body)
			}
			return it, nil
		}
		if !errors.Is(err, errAmbiguous) || attempt >= 4 {
			return Item{}, err
		}
		// The first attempt may have landed: look before sending the bytes again.
		found, ok, ferr := c.FindCreated(ctx, up.ParentID, TypeFile, up.Name, up.Size, start, up.Exclude)
		if ferr != nil {
			return Item{}, err
		}
		if ok {
			return found, nil
		}
		c.log.Debug("upload did not land; sending it again", "name", up.Name, "err", err)
		if werr := sleepCtx(ctx, c.clk, backoff(attempt, 250*time.Millisecond, 5*time.Second)); werr != nil {
			return Item{}, err
		}
		c.core.CountRetry(cl.method, cl.endpoint)
	}
}

// FindCreated looks for the trace of a create whose answer was lost: the
// newest item named name under parentID that was created at or after since
// (less a margin for clock skew), of the given size when size >= 0, and
// not one of exclude (ids, or urls of files whose listed id is not known
// yet).
//
// since is a time of this machine; createdAt is the service's, so it is
// compared on the service's clock (learnt from its Date headers).
func (c *Client) FindCreated(ctx context.Context, parentID, typ, name string, size int64, since time.Time, exclude []string) (Item, bool, error) {
	items, err := c.named(ctx, parentID, typ, name)
	if err != nil {
		return Item{}, false, err
	}
	best := c.newestCreated(items, parentID, name, size, since, exclude)
	return best, best.ID != "", nil
}

// newestCreated is FindCreated's choice among the items of a listing.
func (c *Client) newestCreated(items []Item, parentID, name string, size int64, since time.Time, exclude []string) Item {
	since = c.core.ServerTime(since).Add(-30 * time.Second)
	skip := newExclusion(exclude)
	var best Item
	var bestAt time.Time
	for _, it := range items {
		if it.Name != name || (it.ParentID != parentID && it.ParentID != "") || skip.has(it) {
			continue
		}
		if size >= 0 && it.Size >= 0 && it.Size != size {
			continue
		}
		created := createdOf(it)
		if created.IsZero() || created.Before(since) {
			continue
		}
		if best.ID == "" || created.After(bestAt) || (created.Equal(bestAt) && it.ID > best.ID) {
			best, bestAt = it, created
		}
	}
	return best
}

// createdOf is when the service says it created the item: createdAt, else
// the time in its id; zero when neither says.
func createdOf(it Item) time.Time {
	if !it.CreatedAt.IsZero() {
		return it.CreatedAt
	}
	return IDTime(it.ID)
}

// exclusion is a set of ids and file urls no look-up may take.
type exclusion struct {
	ids, urls, objects map[string]bool
}

func newExclusion(list []string) exclusion {
	x := exclusion{ids: map[string]bool{}, urls: map[string]bool{}, objects: map[string]bool{}}
	for _, s := range list {
		switch {
		case s == "":
		case !strings.Contains(s, "/"):
			// An id. (An API upload's answer id may be the very name of
			// the object a listed file's url ends in: it is no url.)
			x.ids[s] = true
		default:
			x.urls[remote.BareURL(s)] = true
			if o := remote.ObjectName(s); o != "" {
				x.objects[o] = true
			}
		}
	}
	return x
}

// has reports whether the listed item it is excluded, by its id or its
// url (see remote.SameURL).
func (x exclusion) has(it Item) bool {
	if x.ids[it.ID] {
		return true
	}
	if it.URL == "" {
		return false
	}
	if x.urls[remote.BareURL(it.URL)] {
		return true
	}
	o := remote.ObjectName(it.URL)
	return o != "" && x.objects[o]
}

// Confirm finds the file an upload's answer described in its folder's
// listing, and returns it as listed. it is the answer: its id, name,
// folder, url and size, marked Unconfirmed, with SentAt and CreatedAt
// when the upload was sent and when its answer came, by this client's
// clock (UploadFile's answer holds them; a CreatedAt alone, without a
// SentAt, is taken as known to within confirmMargin). The service may
// list an upload under another id than its answer gave (a field report:
// API uploads are named by a UUID in their url; whether fileId is the
// listing's _id is promised nowhere), and a change sent with an id no
// listing showed may act on nothing.
//
// The file is the listed item with its id, else with its url (remote.SameURL).
// Failing both (an answer without a url, or with another host's), it is
// told by its name, size and time of creation among the whole folder's
// files that no other claim accounts for: exclude holds the ids, and
// urls, of files known to be others, and rivals the other uploads no
// listing has shown yet (their answers, as it). See PickCreated: when
// more than one file could be it, none is taken.
//
// ErrUnconfirmed when no listed item is surely it.
func (c *Client) Confirm(ctx context.Context, it Item, rivals []Item, exclude []string) (Item, error) {
	if !strings.ContainsAny(it.Name, `\^$|?*+()[]{}`) {
		// The first page of a search by its name shows it, as a rule: one
		// call. Whether more pages follow matters only when it does not.
		page, err := c.ListPage(ctx, ListQuery{Type: TypeFile, ParentID: it.ParentID, Query: it.Name}, 0, c.limit())
		if err != nil {
			return Item{}, err
		}
		page = slices.DeleteFunc(ListQuery{ParentID: it.ParentID}.children(page), func(x Item) bool { return x.Deleted })
		if x, ok := uploadIn(page, it); ok {
			return x, nil
		}
	}
	items, err := c.named(ctx, it.ParentID, TypeFile, it.Name)
	if err != nil {
		return Item{}, err
	}
	if x, ok := uploadIn(items, it); ok {
		return x, nil
	}
	// The whole folder: a file renamed meanwhile (elsewhere, or by a
	// rename of the mount's the caller did not know of) is still told by
	// its id or its url; and what tells the rest apart must see every
	// file of its name, which a search may not (what query matches is
	// not documented).
	all, err := c.List(ctx, ListQuery{Type: TypeFile, ParentID: it.ParentID})
	if err != nil {
		return Item{}, err
	}
	if x, ok := uploadIn(all, it); ok {
		return x, nil
	}
	return c.PickCreated(all, it, rivals, exclude)
}

// createdSlack is how far a listed createdAt may fall outside the time
// an upload was under way, once on the service's clock: the clock is
// learnt from Date headers of one-second precision, and the service's
// machines may disagree a little.
const createdSlack = 10 * time.Second

// confirmMargin is how long before its answer an upload whose sending
// time is not known may have been created (the upload of a large file
// takes that long).
const confirmMargin = 10 * time.Minute

// uploadSpan is when an upload's file may have been created, on the
// service's clock, and whether its sending time was known.
type uploadSpan struct {
	it     Item
	lo, hi time.Time
	exact  bool
}

func (c *Client) spanOf(it Item) uploadSpan {
	sent, exact := it.SentAt, !it.SentAt.IsZero()
	if !exact {
		sent = it.CreatedAt.Add(-confirmMargin)
	}
	return uploadSpan{it: it, exact: exact,
		lo: c.core.ServerTime(sent).Add(-createdSlack), hi: c.core.ServerTime(it.CreatedAt).Add(createdSlack)}
}

// PickCreated finds the file of the upload it (an answer, as Confirm
// takes it) among files of its folder as listed (all), by name, size and
// time of creation, when neither its id nor its url told it; it makes no
// call. A candidate is a file of its name and size, none of exclude,
// created while it was under way (uploadSpan). Two uploads of one name
// and size a few seconds apart (a file rewritten: the old copy is looked
// up to be trashed, the new one is listed beside it) cannot be told apart
// by time: the uploads no listing has shown yet whose spans overlap its
// own, at one or more removes, form a group, and the group's files are
// the candidates in the span they cover. Then:
//
//   - a group of one: the one candidate, if there is exactly one;
//   - a group of several, sent one after the other (each answered before
//     the next was sent, by this client's clock), with exactly as many
//     candidates created at distinct times: the service created them in
//     the order they were sent, so the candidate of its rank in the group,
//     if it lies in its own span.
//
// Anything else (no candidate, a file more or one fewer than the
// uploads, say one uploaded elsewhere meanwhile, or a listing that does
// not show one of them yet) is ErrUnconfirmed, with ErrAmbiguousUpload where
// files could be it: a guess could trash a file the user still has.
func (c *Client) PickCreated(all []Item, it Item, rivals []Item, exclude []string) (Item, error) {
	fail := func(why string) (Item, error) {
		return Item{}, fmt.Errorf("%w: %s (answered as id %s, without the listing's id or url) %s", remote.ErrUnconfirmed, it.Name, it.ID, why)
	}
	ambiguous := func(why string) (Item, error) {
		return Item{}, fmt.Errorf("%w: %w: %s (answered as id %s, without the listing's id or url) %s; none is taken", remote.ErrUnconfirmed, remote.ErrAmbiguousUpload, it.Name, it.ID, why)
	}
	if it.CreatedAt.IsZero() {
		return fail("has no known time of upload")
	}
	sizeFits := func(a, b int64) bool { return a < 0 || b < 0 || a == b }
	spans := []uploadSpan{c.spanOf(it)}
	for _, r := range rivals {
		if r.ID != it.ID && r.Name == it.Name && r.ParentID == it.ParentID && sizeFits(r.Size, it.Size) && !r.CreatedAt.IsZero() {
			spans = append(spans, c.spanOf(r))
		}
	}
	// The group: spans that overlap, at one or more removes.
	group := []uploadSpan{spans[0]}
	lo, hi := spans[0].lo, spans[0].hi
	for grown := true; grown; {
		grown = false
		for i := 1; i < len(spans); i++ {
			s := spans[i]
			if s.it.ID == "" || s.hi.Before(lo) || s.lo.After(hi) {
				continue
			}
			group = append(group, s)
			lo, hi = minTime(lo, s.lo), maxTime(hi, s.hi)
			spans[i].it.ID = "" // taken
			grown = true
		}
	}
	skip := newExclusion(exclude)
	var cands []Item
	named, sized := 0, 0 // files of its name; of another size
	var others []string  // files of its name known to be others
	for _, x := range all {
		if x.Name != it.Name || x.Deleted {
			continue
		}
		named++
		switch at := createdOf(x); {
		case skip.has(x):
			others = append(others, x.ID)
		case !sizeFits(x.Size, it.Size):
			sized++
		case !at.IsZero() && !at.Before(lo) && !at.After(hi):
			cands = append(cands, x)
		}
	}
	switch {
	case len(cands) == 0 && named == 0:
		return fail("is not in its folder's listing")
	case len(cands) == 0:
		return fail(fmt.Sprintf("is not in its folder's listing: of %d files of its name there, %d are known to be others %q, %d of another size than its %d bytes, and the rest not created between %s and %s",
			named, len(others), others[:min(len(others), 4)], sized, it.Size, lo.Format(time.RFC3339Nano), hi.Format(time.RFC3339Nano)))
	case len(group) == 1 && len(cands) == 1:
		return cands[0], nil
	case len(group) == 1:
		return ambiguous(fmt.Sprintf("could be any of %d files of its name and size created while it was sent", len(cands)))
	case len(cands) != len(group):
		return ambiguous(fmt.Sprintf("is one of %d uploads of its name and size made close together, and the listing shows %d such files", len(group), len(cands)))
	}
	slices.SortFunc(group, func(a, b uploadSpan) int { return a.it.SentAt.Compare(b.it.SentAt) })
	slices.SortFunc(cands, func(a, b Item) int { return createdOf(a).Compare(createdOf(b)) })
	rank := -1
	for i, s := range group {
		if !s.exact || i > 0 && group[i-1].it.CreatedAt.After(s.it.SentAt) {
			return ambiguous("is one of several uploads of its name and size whose order is not known")
		}
		if i > 0 && !createdOf(cands[i-1]).Before(createdOf(cands[i])) {
			return ambiguous("is one of several uploads of its name and size, listed with one time of creation")
		}
		if s.it.ID == it.ID {
			rank = i
		}
	}
	x := cands[rank]
	if at := createdOf(x); at.Before(group[rank].lo) || at.After(group[rank].hi) {
		return ambiguous("is one of several uploads of its name and size whose files were not created in the order they were sent")
	}
	return x, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// uploadIn finds an upload's file in a listing, by its id or its url.
func uploadIn(items []Item, it Item) (Item, bool) {
	for _, x := range items {
		if x.ID == it.ID || remote.SameURL(x.URL, it.URL) {
			return x, true
		}
	}
	return Item{}, false
}

// findAnswerless finds a create the server answered with success but
// without an id. Its listing may lag behind the create: it is looked for
// a few times, a little longer apart each time.
func (c *Client) findAnswerless(ctx context.Context, parentID, typ, name string, size int64, since time.Time, exclude []string) (Item, bool) {
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			if sleepCtx(ctx, c.clk, backoff(attempt-1, 500*time.Millisecond, 4*time.Second)) != nil {
				return Item{}, false
			}
		}
		found, ok, err := c.FindCreated(ctx, parentID, typ, name, size, since, exclude)
		if err == nil && ok {
			return found, true
		}
	}
	return Item{}, false
}

// named returns the items of a folder that may be named name: a listing
// searched with query when that surely finds the name, else the whole
// folder. What query matches is not documented: a substring, a prefix, a
// whole name, or a regular expression built from it. The whole name finds
// itself under each of those unless it holds characters special to a
// regular expression; and when the answer holds no item of that name the
// search is not trusted either.
func (c *Client) named(ctx context.Context, parentID, typ, name string) ([]Item, error) {
	if !strings.ContainsAny(name, `\^$|?*+()[]{}`) {
		items, err := c.List(ctx, ListQuery{Type: typ, ParentID: parentID, Query: name})
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(items, func(it Item) bool { return it.Name == name }) {
			return items, nil
		}
	}
	return c.List(ctx, ListQuery{Type: typ, ParentID: parentID})
}

// multipartBody is the upload's request body, streamed from up.Open: the
// file's bytes are never held in memory. With a known size the body has a
// Content-Length (the form's parts around the file are fixed once, with
// one boundary); otherwise it is sent chunked.
func multipartBody(up Upload, location string) (func() (io.Reader, string, error), int64, error) {
	if up.Size < 0 {
		return pipedBody(up, location), 0, nil
	}
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if err := writeFormHead(mw, up, location); err != nil {
		return nil, 0, err
	}
	n := head.Len()
	if err := mw.Close(); err != nil {
		return nil, 0, err
	}
	prefix, suffix := head.Bytes()[:n], head.Bytes()[n:]
	body := func() (io.Reader, string, error) {
		src, err := up.Open()
		if err != nil {
			return nil, "", err
		}
		file := counted(&exactReader{r: src, left: up.Size, name: up.Name, size: up.Size}, up.Progress)
		// net/http closes the body, read to the end or not: that closes src.
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(prefix), file, bytes.NewReader(suffix)), src}, mw.FormDataContentType(), nil
	}
	return body, int64(len(prefix)) + up.Size + int64(len(suffix)), nil
}

// exactReader reads exactly size bytes of r: a source that ends early is
// an error, one that holds more is cut.
type exactReader struct {
	r          io.Reader
	left, size int64
	name       string
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case errors.Is(err, io.EOF) && e.left > 0:
		return n, fmt.Errorf("upload of %s: read %d bytes, expected %d", e.name, e.size-e.left, e.size)
	case errors.Is(err, io.EOF):
		return n, nil
	}
	return n, err
}

// pipedBody streams a form whose file size is not known.
func pipedBody(up Upload, location string) func() (io.Reader, string, error) {
	return func() (io.Reader, string, error) {
		src, err := up.Open()
		if err != nil {
			return nil, "", err
		}
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			defer src.Close()
			err := writeFormHead(mw, up, location)
			if err == nil {
				_, err = io.Copy(pw, counted(src, up.Progress))
			}
			if err == nil {
				err = mw.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, mw.FormDataContentType(), nil
	}
}

// writeFormHead writes the form's fields and the file part's header; the
// file's bytes follow. altId and altType go with every upload, as with
// every other call: the spec does not name them for this one, but a public
// client sends them, and a server that wants them would put a file whose
// form lacks them in the root whatever parentId says.
func writeFormHead(mw *multipart.Writer, up Upload, location string) error {
	fields := [][2]string{{"name", up.Name}}
	if up.ParentID != "" {
		fields = append(fields, [2]string{"parentId", up.ParentID})
	}
	fields = append(fields, [2]string{"altId", location}, [2]string{"altType", "location"})
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, quoteFilename(up.Name)))
	h.Set("Content-Type", cmp.Or(up.ContentType, "application/octet-stream"))
	_, err := mw.CreatePart(h)
	return err
}

var filenameEscaper = strings.NewReplacer("\\", "\\\\", `"`, "%22", "\r", "%0D", "\n", "%0A")

func quoteFilename(s string) string { return filenameEscaper.Replace(s) }

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
		return &NotDoneError{Call: "POST /medias/{id}", IDs: []string{id}}
	}
	return nil
}

// Renaming is one entry of RenameMany.
type Renaming struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// RenameMany renames several items in one call (PUT /medias/update-files).
// A service without the route is remembered, as for Rename.
func (c *Client) RenameMany(ctx context.Context, items []Renaming) error {
	if err := c.refusedRoute(RouteRenameMany); err != nil {
		return err
	}
	body, err := c.do(ctx, call{method: "PUT", endpoint: "/medias/update-files", path: "/medias/update-files",
		body: jsonBody(c.altBody(map[string]any{"filesToBeUpdated": items})), idempotent: true})
	if err != nil {
		return c.noteRoute(RouteRenameMany, err)
	}
	return checkResults(body, "updated", "PUT /medias/update-files")
}

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
		return &NotDoneError{Call: what, IDs: failed}
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

// escapeID makes an id one segment of a URL path, whatever it holds: a
// '/' or '?' is escaped, and so is an id "." or "..", which a server or a
// proxy would otherwise take as a step up the path.
func escapeID(id string) string {
	e := url.PathEscape(id)
	if strings.Trim(e, ".") == "" {
		e = strings.ReplaceAll(e, ".", "%2E")
	}
	return e
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
