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
// not one of exclude (ids, or urls of files whose listed id is not known
// yet). rivals are the uploads of the folder no listing has shown yet
// (their answers, as Confirm takes them): where one of them could be a
// file found, lostAmong decides, or fails with ErrAmbiguousUpload.
//
// since is a time of this machine; createdAt is the service's, so it is
// compared on the service's clock (learnt from its Date headers).
func (c *Client) FindCreated(ctx context.Context, parentID, typ, name string, size int64, since time.Time, exclude []string, rivals []remote.Item) (remote.Item, bool, error) {
	items, err := c.named(ctx, parentID, typ, name)
	if err != nil {
		return remote.Item{}, false, err
	}
	if len(c.rivalGroup(items, parentID, name, size, since, exclude, rivals)) > 0 {
		// Told apart from the rivals by count and order: that must see
		// every file of its name, which a search may not (see Confirm).
		if items, err = c.List(ctx, ListQuery{Type: typ, ParentID: parentID}); err != nil {
			return remote.Item{}, false, err
		}
	}
	return c.lostAmong(items, parentID, name, size, since, exclude, rivals)
}

// lostSkew is how much older than its sending time, by this machine's
// clock made the service's, a lost create's item may be listed.
const lostSkew = 30 * time.Second

// createdSince are the items of a listing a lost create may have made:
// named name under parentID, of the given size when size >= 0, created
// at or after lo (the service's clock), none of skip; oldest first.
func createdSince(items []remote.Item, parentID, name string, size int64, lo time.Time, skip exclusion) []remote.Item {
	var out []remote.Item
	for _, it := range items {
		if it.Name != name || it.Deleted || (it.ParentID != parentID && it.ParentID != "") || skip.has(it) {
			continue
		}
		if size >= 0 && it.Size >= 0 && it.Size != size {
			continue
		}
		if created := createdOf(it); !created.IsZero() && !created.Before(lo) {
			out = append(out, it)
		}
	}
	slices.SortStableFunc(out, func(a, b remote.Item) int {
		if d := createdOf(a).Compare(createdOf(b)); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// rivalGroup returns the spans of the rivals that could have made one of
// the items a create sent at since may have made (createdSince), at one
// or more removes: uploads of its name and a size that fits, whose answer
// gave no url (an answer's url tells its file: it is excluded), whose
// time of creation reaches the window; and the window's start then.
func (c *Client) rivalGroup(items []remote.Item, parentID, name string, size int64, since time.Time, exclude []string, rivals []remote.Item) []uploadSpan {
	rivals, exclude = unlistedRivals(items, rivals, exclude)
	var spans []uploadSpan
	for _, r := range rivals {
		if r.Name == name && r.ParentID == parentID && r.URL == "" && !r.CreatedAt.IsZero() && (size < 0 || r.Size < 0 || r.Size == size) {
			spans = append(spans, c.spanOf(r))
		}
	}
	if len(spans) == 0 {
		return nil
	}
	skip := newExclusion(append(slices.Clone(exclude), rivalURLs(rivals)...))
	lo := c.core.ServerTime(since).Add(-lostSkew)
	var group []uploadSpan
	for grown := true; grown; {
		grown = false
		cands := createdSince(items, parentID, name, size, lo, skip)
		for i := 0; i < len(spans); i++ {
			s := spans[i]
			if !slices.ContainsFunc(cands, func(x remote.Item) bool { at := createdOf(x); return !at.Before(s.lo) && !at.After(s.hi) }) {
				continue
			}
			group = append(group, s)
			lo = minTime(lo, s.lo)
			spans = slices.Delete(spans, i, i+1)
			grown = true
			break
		}
	}
	return group
}

// unlistedRivals are the rivals whose answer's id items do not show, and
// exclude with the ids of those they do: a rival listed under its own id
// (upload-no-url without upload-id-differs) is told by that id, and is
// neither counted as a rival nor its file a candidate. (Counted, a lost
// upload that landed within a rival's span was judged not landed, its
// only candidate being the rival's "share", and sent again: two copies.)
func unlistedRivals(items, rivals []remote.Item, exclude []string) ([]remote.Item, []string) {
	var out []remote.Item
	for _, r := range rivals {
		if slices.ContainsFunc(items, func(x remote.Item) bool { return x.ID == r.ID }) {
			exclude = append(slices.Clip(exclude), r.ID)
			continue
		}
		out = append(out, r)
	}
	return out, exclude
}

// rivalURLs are the urls rivals' answers gave: each tells its file.
func rivalURLs(rivals []remote.Item) []string {
	var out []string
	for _, r := range rivals {
		if r.URL != "" {
			out = append(out, r.URL)
		}
	}
	return out
}

// lostAmong is FindCreated's choice among the items of a listing: the
// newest item the create may have made (createdSince), when no rival
// could be one of them. Where rivals could (rivalGroup: say an earlier
// upload of the same file, answered without the listed id or a url, and
// of its size), the files are told apart as PickCreated tells uploads
// sent one after the other: when the rivals were sent one after the
// other, each answered before the next was sent and the last before the
// create was, the service created their files in that order, and the
// create's, if it landed, last. So with exactly as many files (created
// at distinct times, each in its rival's span) as rivals, the create did
// not land; with one more, the newest is its file. Anything else is
// ErrAmbiguousUpload: taking a rival's file for the create would make the
// file's old bytes its new ones, and sending it again unfounded could
// leave a copy the mount does not know of; the caller waits.
func (c *Client) lostAmong(items []remote.Item, parentID, name string, size int64, since time.Time, exclude []string, rivals []remote.Item) (remote.Item, bool, error) {
	rivals, exclude = unlistedRivals(items, rivals, exclude)
	group := c.rivalGroup(items, parentID, name, size, since, exclude, rivals)
	skip := newExclusion(append(slices.Clone(exclude), rivalURLs(rivals)...))
	lo := c.core.ServerTime(since).Add(-lostSkew)
	if len(group) == 0 {
		cands := createdSince(items, parentID, name, size, lo, skip)
		if len(cands) == 0 {
			return remote.Item{}, false, nil
		}
		return cands[len(cands)-1], true, nil
	}
	ambiguous := func(why string) (remote.Item, bool, error) {
		return remote.Item{}, false, fmt.Errorf("%w: %w: %s (a create whose answer was lost, sent at %s) %s; none is taken", remote.ErrUnconfirmed, remote.ErrAmbiguousUpload,
			name, since.UTC().Format(time.RFC3339Nano), why)
	}
	for _, s := range group {
		lo = minTime(lo, s.lo)
	}
	cands := createdSince(items, parentID, name, size, lo, skip)
	slices.SortFunc(group, func(a, b uploadSpan) int { return a.it.SentAt.Compare(b.it.SentAt) })
	for i, s := range group {
		next := since
		if i+1 < len(group) {
			next = group[i+1].it.SentAt
		}
		if !s.exact || s.it.CreatedAt.After(next) {
			return ambiguous(fmt.Sprintf("could be one of %d files of its name and size that uploads no listing has shown yet made, whose order is not known", len(cands)))
		}
	}
	for i := 1; i < len(cands); i++ {
		if !createdOf(cands[i-1]).Before(createdOf(cands[i])) {
			return ambiguous("could be one of several files of its name and size listed with one time of creation")
		}
	}
	if len(cands) != len(group) && len(cands) != len(group)+1 {
		return ambiguous(fmt.Sprintf("and %d earlier uploads of its name and size no listing has shown yet, made close together, and the listing shows %d such files", len(group), len(cands)))
	}
	for i, s := range group {
		if at := createdOf(cands[i]); at.Before(s.lo) || at.After(s.hi) {
			return ambiguous("and earlier uploads of its name and size no listing has shown yet, whose files were not created in the order they were sent")
		}
	}
	if len(cands) == len(group) {
		return remote.Item{}, false, nil // each is a rival's: it did not land
	}
	x := cands[len(group)]
	if createdOf(x).Before(c.core.ServerTime(since).Add(-createdSlack)) {
		return ambiguous("and earlier uploads of its name and size no listing has shown yet, and the newest such file was created before it was sent")
	}
	return x, true, nil
}

// createdOf is when the service says it created the item: createdAt, else
// the time in its id; zero when neither says.
func createdOf(it remote.Item) time.Time {
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
func (x exclusion) has(it remote.Item) bool {
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
func (c *Client) Confirm(ctx context.Context, it remote.Item, rivals []remote.Item, exclude []string) (remote.Item, error) {
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
	// The whole folder: a file renamed meanwhile (elsewhere, or by a
	// rename of the mount's the caller did not know of) is still told by
	// its id or its url; and what tells the rest apart must see every
	// file of its name, which a search may not (what query matches is
	// not documented).
	all, err := c.List(ctx, ListQuery{Type: remote.TypeFile, ParentID: it.ParentID})
	if err != nil {
		return remote.Item{}, err
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
	it     remote.Item
	lo, hi time.Time
	exact  bool
}

func (c *Client) spanOf(it remote.Item) uploadSpan {
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
func (c *Client) PickCreated(all []remote.Item, it remote.Item, rivals []remote.Item, exclude []string) (remote.Item, error) {
	fail := func(why string) (remote.Item, error) {
		return remote.Item{}, fmt.Errorf("%w: %s (answered as id %s, without the listing's id or url) %s", remote.ErrUnconfirmed, it.Name, it.ID, why)
	}
	ambiguous := func(why string) (remote.Item, error) {
		return remote.Item{}, fmt.Errorf("%w: %w: %s (answered as id %s, without the listing's id or url) %s; none is taken", remote.ErrUnconfirmed, remote.ErrAmbiguousUpload, it.Name, it.ID, why)
	}
	if it.CreatedAt.IsZero() {
		return fail("has no known time of upload")
	}
	group, lo, hi := c.groupOf(it, rivals)
	skip := newExclusion(exclude)
	var cands []remote.Item
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
	slices.SortFunc(cands, func(a, b remote.Item) int { return createdOf(a).Compare(createdOf(b)) })
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

func sizeFits(a, b int64) bool { return a < 0 || b < 0 || a == b }

// groupOf is the group of uploads it belongs to among rivals (PickCreated):
// it and the uploads of its name, size and folder whose spans overlap its
// own, at one or more removes; and the span they cover.
func (c *Client) groupOf(it remote.Item, rivals []remote.Item) (group []uploadSpan, lo, hi time.Time) {
	spans := []uploadSpan{c.spanOf(it)}
	for _, r := range rivals {
		if r.ID != it.ID && r.Name == it.Name && r.ParentID == it.ParentID && sizeFits(r.Size, it.Size) && !r.CreatedAt.IsZero() {
			spans = append(spans, c.spanOf(r))
		}
	}
	group = []uploadSpan{spans[0]}
	lo, hi = spans[0].lo, spans[0].hi
	taken := make([]bool, len(spans))
	for grown := true; grown; {
		grown = false
		for i := 1; i < len(spans); i++ {
			s := spans[i]
			if taken[i] || s.hi.Before(lo) || s.lo.After(hi) {
				continue
			}
			group = append(group, s)
			lo, hi = minTime(lo, s.lo), maxTime(hi, s.hi)
			taken[i], grown = true, true
		}
	}
	return group, lo, hi
}

// ConfirmGroup finds the files of several uploads taken together, where
// Confirm cannot tell them apart one by one (ErrAmbiguousUpload: say two
// uploads of a file rewritten at one size, listed with one time of
// creation). its are the answers, of one name, size and folder, without
// a url, as Confirm takes them; rivals and exclude are as Confirm's. The
// files are found when the uploads' spans form one group (groupOf) that
// holds every one of its and no rival, and the folder's listing shows
// exactly as many files of their name and size in the span they cover,
// none of exclude: those files are the uploads', all of them. Which is
// which is not known: the result pairs them in sending order with the
// files in creation order, an arbitrary pairing, fit only for a caller
// that does the same to each (a file removed: all go to the trash).
// Anything else is ErrUnconfirmed with ErrAmbiguousUpload.
func (c *Client) ConfirmGroup(ctx context.Context, its []remote.Item, rivals []remote.Item, exclude []string) ([]remote.Item, error) {
	if len(its) == 0 {
		return nil, nil
	}
	first := its[0]
	ambiguous := func(why string) ([]remote.Item, error) {
		return nil, fmt.Errorf("%w: %w: %d uploads of %s (answered without the listing's id or url) %s; none is taken", remote.ErrUnconfirmed, remote.ErrAmbiguousUpload,
			len(its), first.Name, why)
	}
	mine := make(map[string]bool, len(its))
	for _, it := range its {
		if it.CreatedAt.IsZero() || it.URL != "" || it.Name != first.Name || it.ParentID != first.ParentID || it.Size != first.Size {
			return ambiguous("are not of one name, size and folder, each with its time of upload and without a url")
		}
		mine[it.ID] = true
	}
	all, err := c.List(ctx, ListQuery{Type: remote.TypeFile, ParentID: first.ParentID})
	if err != nil {
		return nil, err
	}
	for _, it := range its {
		if _, ok := uploadIn(all, it); ok {
			return ambiguous("include one listed by its own id: each is looked up on its own")
		}
	}
	rivals, exclude = unlistedRivals(all, rivals, exclude)
	group, lo, hi := c.groupOf(first, append(slices.Clone(rivals), its[1:]...))
	for _, s := range group {
		if !mine[s.it.ID] {
			return ambiguous(fmt.Sprintf("were sent while another upload of its name and size was (answered as id %s)", s.it.ID))
		}
	}
	if len(group) != len(its) {
		return ambiguous("were not sent close together")
	}
	skip := newExclusion(append(slices.Clone(exclude), rivalURLs(rivals)...))
	cands := slices.DeleteFunc(createdSince(all, first.ParentID, first.Name, first.Size, lo, skip), func(x remote.Item) bool { return createdOf(x).After(hi) })
	if len(cands) != len(its) {
		return ambiguous(fmt.Sprintf("while the listing shows %d such files created between %s and %s", len(cands), lo.Format(time.RFC3339Nano), hi.Format(time.RFC3339Nano)))
	}
	order := make([]int, len(its))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return its[a].SentAt.Compare(its[b].SentAt) })
	out := make([]remote.Item, len(its))
	for rank, i := range order {
		out[i] = cands[rank] // createdSince sorts them oldest first
	}
	return out, nil
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
func (c *Client) findAnswerless(ctx context.Context, parentID, typ, name string, size int64, since time.Time, exclude []string, rivals []remote.Item) (remote.Item, bool) {
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			if remote.Sleep(ctx, c.clk, remote.Backoff(attempt-1, 500*time.Millisecond, 4*time.Second)) != nil {
				return remote.Item{}, false
			}
		}
		found, ok, err := c.FindCreated(ctx, parentID, typ, name, size, since, exclude, rivals)
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
