package ghl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ghlfs/ghlfs/remote"
)

// updatedOrder lists the most recently changed items first.
var updatedOrder = listOrder{"updatedAt", "desc"}

// ListUpdated reads every item of type typ (TypeFile or TypeFolder) in the
// whole library, most recently changed first (fetchAll=true,
// sortBy=updatedAt, sortOrder=desc), page by page, and calls visit with
// each in that order until visit returns false: then no further page is
// asked for. A poll that stops at the first item it already knows costs
// one call when nothing changed. Deleted and trashed items are skipped;
// a deletion does not show up this way.
//
// The service documents only sortBy=createdAt. Each page is checked before
// any of its items is visited: an item without updatedAt, or updated later
// than the item before it (in its page, or the last of the page before),
// fails the listing with an error wrapping remote.ErrOrderIgnored, and so does a
// server that refuses the order (422). Items visited before that were
// visited in a true order; the caller should fall back to another way of
// finding changes. A server whose answer merely looks sorted (no item was
// changed after its creation) cannot be caught until one is.
//
// Pages overlap, and an item is visited once. Each page after the first
// must line up with the one before: start with an item changed later than
// the last of that page (the overlap then starts before the run of items
// that share its updatedAt, see updatedOverlap, and holds all of that run
// the page before did not), or repeat the overlap in order, as ListEach's
// pages must. Items of one updatedAt that the server orders anew at each
// request, more of them than a page holds, cannot line up so: the listing
// then fails with an error wrapping remote.ErrListUnstable rather than
// end as if whole, having missed some (the caller lists another way).
// An item changed while the listing runs moves to its front: it may be
// missed by this listing (the next one sees it first), and the items
// after it come one place later, which the overlap absorbs. Page size,
// the 422-on-limit fallback, each page's timeout and the bounds on items
// and answer size are those of ListEach.
func (c *Client) ListUpdated(ctx context.Context, typ string, visit func(remote.Item) (more bool)) error {
	if typ == "" {
		typ = remote.TypeFile
	}
	q := ListQuery{Type: typ, FetchAll: true, Label: "the whole library by last change"}
	kind := q.kind()
	seen := make(map[string]struct{})
	var last time.Time   // updatedAt of the last item of the page before
	var prev []string    // the ids of the page before
	var anchors []string // the items of the page before asked for again
	received, badIDs := 0, 0
	defer func() {
		if badIDs > 0 {
			c.log.Warn(fmt.Sprintf("listing %s: skipped %d items whose id is longer than %d bytes", q.label(), badIDs, remote.MaxIDBytes))
		}
	}()
	for offset := 0; ; {
		limit := c.limit()
		page, err := c.listPageBounded(ctx, q, updatedOrder, offset, limit)
		if errors.Is(err, remote.ErrInvalid) {
			return fmt.Errorf("GET /medias/files: listing %s: %w: %w", q.label(), remote.ErrOrderIgnored, err)
		}
		if err != nil {
			return err
		}
		n := len(page)
		if n == 0 {
			return nil
		}
		if offset == 0 && n > limit && n > maxUnpagedPoll {
			// The whole library in one answer: too much to ask for at
			// every poll.
			return fmt.Errorf("GET /medias/files: listing %s: %w: %d items came in one answer, asked for %d", q.label(), remote.ErrUnpaged, n, limit)
		}
		if err := c.checkUpdatedOrder(q, page, seen, last); err != nil {
			return err
		}
		fresh := 0
		for _, it := range page {
			if _, dup := seen[it.ID]; !dup {
				fresh++
			}
		}
		if fresh == 0 && n > len(anchors) && slices.Equal(prev, ids(page)) {
			if n == limit && len(anchors) > pageOverlap {
				// Asked for a page a few items on (the overlap held a
				// run of ties), the same page came: as likely as a
				// server that ignores offset, that many items changed
				// meanwhile.
				return c.unstableUpdated(q, "the same page came again")
			}
			// All of it again: the server answers a listing of the whole
			// library at once (one report has it so), and would send it
			// for ever.
			c.learnUnpaged(q)
			return nil
		}
		if offset > 0 && !page[0].UpdatedAt.After(last) && !repeats(page, anchors) {
			return c.unstableUpdated(q, "a page neither starts with an item changed later than the end of the page before, nor repeats that end")
		}
		prev = ids(page)
		received += n - min(n, len(anchors))
		if received > c.maxItems {
			return fmt.Errorf("GET /medias/files: listing %s: %w: more than %d items came, and the server was still sending more (the bound is set by --list-max-items)", q.label(), remote.ErrListTooLong, c.maxItems)
		}
		for _, it := range page {
			if it.ID == "" || len(it.ID) > remote.MaxIDBytes {
				if len(it.ID) > remote.MaxIDBytes {
					badIDs++
				}
				continue
			}
			if _, dup := seen[it.ID]; dup {
				continue
			}
			seen[it.ID] = struct{}{}
			if it.Deleted {
				continue
			}
			if !visit(it) {
				return nil
			}
		}
		last = page[n-1].UpdatedAt
		floor, whole := c.notePage(kind, n, limit)
		if whole || (n < limit && n < floor) {
			return nil
		}
		next := updatedOverlap(page)
		anchors = ids(page[next:])
		offset += next
	}
}

// updatedOverlap is where in page, a page of a listing by last change,
// the next page starts. Items of one updatedAt may come in another order
// at every request, so of such a run across the end of a page the next
// page may bring again some that this one had and not bring others: ties
// cannot be told apart by position. So when the run of the page's last
// updatedAt covers ListEach's overlap, the next page starts before the
// run (two items before it where the page has them, as one removed
// meanwhile moves the rest one place back): a next page that starts
// with an item changed later than the run holds all of the run from its
// first item. A run that fills the page but for its first item, or all of
// it, cannot be had so: then the overlap is ListEach's, and the next page
// must repeat it in order, as a server that keeps ties in one order does.
func updatedOverlap(page []remote.Item) int {
	n := len(page)
	next := n - min(pageOverlap, n/2)
	run := n - 1 // where the run of the last updatedAt begins
	for run > 0 && page[run-1].UpdatedAt.Equal(page[n-1].UpdatedAt) {
		run--
	}
	if run <= next && run >= 2 {
		next = run - min(2, run-1)
	}
	return next
}

// unstableUpdated is the error of a listing by last change whose pages
// did not line up: it may have missed items, and is not to be taken as
// whole. The caller lists the library another way.
func (c *Client) unstableUpdated(q ListQuery, why string) error {
	return fmt.Errorf("GET /medias/files: listing %s: %w: %s (items of one updatedAt that the server orders anew at each request, more than a page of them, or many changes while it was read)", q.label(), remote.ErrListUnstable, why)
}

// maxUnpagedPoll is the most items a listing by last change may bring in
// one answer larger than asked for: a server that answers the whole
// library at once makes each poll cost the library (45 MB for 100,000
// items), where a folder's listing costs its own items.
const maxUnpagedPoll = 1000

// checkUpdatedOrder checks that a page of a listing by last change is in
// that order: within the page, and, for items not seen before, against
// last, the updatedAt of the last item of the page before (the overlap
// repeats items that came before that one).
func (c *Client) checkUpdatedOrder(q ListQuery, page []remote.Item, seen map[string]struct{}, last time.Time) error {
	outOfOrder := func(it remote.Item, before time.Time) error {
		return fmt.Errorf("GET /medias/files: listing %s: %w: item %.64q updated at %s came after one updated at %s",
			q.label(), remote.ErrOrderIgnored, it.ID, it.UpdatedAt.Format(time.RFC3339Nano), before.Format(time.RFC3339Nano))
	}
	for i, it := range page {
		if it.UpdatedAt.IsZero() {
			return fmt.Errorf("GET /medias/files: listing %s: %w: item %.64q has no updatedAt", q.label(), remote.ErrOrderIgnored, it.ID)
		}
		if i > 0 && it.UpdatedAt.After(page[i-1].UpdatedAt) {
			return outOfOrder(it, page[i-1].UpdatedAt)
		}
		if _, dup := seen[it.ID]; !dup && !last.IsZero() && it.UpdatedAt.After(last) {
			return outOfOrder(it, last)
		}
	}
	return nil
}
