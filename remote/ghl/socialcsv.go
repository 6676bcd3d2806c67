package ghl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/ghlfs/ghlfs/remote"
	"github.com/ghlfs/ghlfs/remote/internal/loosejson"
)

// The social planner's CSV imports (remote.SocialCSV), under
// /social-media-posting/{locationId}/ (remote/API.md, "Social planner CSV
// imports"): the imports listed page by page (GET csv), one import with
// every page of its posts (GET csv/{id}), and an import deleted (DELETE
// csv/{id}); socialcsv_import.go makes one (upload, set-accounts,
// finalize). Every answer is wrapped, {success, statusCode, message,
// results}; errors are NestJS's, as the media endpoints'.

// The scopes of the CSV endpoints (the docs' scope list; the spec itself
// names none on most of them).
const (
	ScopeCSVReadonly = remote.CSVReadScope  // GET csv, GET csv/{id}
	ScopeCSVWrite    = remote.CSVWriteScope // POST csv, set-accounts, PATCH and DELETE csv/{id}
)

// CSVPageSize is the limit asked for on each page of the import listing
// and of an import's posts: the listing's documented default ("10"). The
// largest the service takes is not documented, and a page capped below
// what was asked is read on from where it ended.
const CSVPageSize = 10

// Bounds on what a server may send of the imports.
const (
	maxCSVPosts    = 100_000 // posts of one import
	maxCSVAccounts = 1_000   // account ids of one import
	csvPasses      = 3       // passes over a listing whose pages did not line up
)

// The endpoints, as errors, logs and stats name them.
const (
	csvEndpointBase     = "/social-media-posting/{locationId}"
	csvEndpointList     = csvEndpointBase + "/csv"
	csvEndpointOne      = csvEndpointBase + "/csv/{id}"
	csvEndpointAccounts = csvEndpointBase + "/set-accounts"
)

// isCSVEndpoint reports whether an endpoint is one of the social
// planner's.
func isCSVEndpoint(endpoint string) bool {
	return strings.HasPrefix(endpoint, csvEndpointBase+"/")
}

// csvPath is the path of a CSV endpoint of the client's location: rest
// follows /social-media-posting/{locationId}.
func (c *Client) csvPath(rest string) string {
	return "/social-media-posting/" + escapeID(c.location) + rest
}

// unwrap reads the service's wrapped answer, {success, statusCode,
// message, results}, and returns results (nil when absent). An answer
// that says "success": false is a failure, whatever its HTTP status.
func unwrap(method, endpoint string, body []byte) (json.RawMessage, error) {
	var w struct {
		Success    *bool           `json:"success"`
		StatusCode json.RawMessage `json:"statusCode"`
		Message    json.RawMessage `json:"message"`
		Results    json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%s %s: the answer is not the service's JSON: %w", method, endpoint, err)
	}
	if w.Success != nil && !*w.Success {
		e := &remote.Error{Method: method, Endpoint: endpoint, Status: 400}
		if n, ok := loosejson.Int(w.StatusCode); ok && n >= 400 && n < 600 {
			e.Status = int(n)
		}
		e.Message = loosejson.FirstString(w.Message)
		var list []string
		if e.Message == "" && json.Unmarshal(w.Message, &list) == nil {
			e.Messages, e.Message = list, strings.Join(list, "; ")
		}
		if e.Message == "" {
			e.Message = `the answer says "success": false`
		}
		return nil, e
	}
	if string(bytes.TrimSpace(w.Results)) == "null" {
		return nil, nil
	}
	return w.Results, nil
}

// CSVImports lists every import of the location (GET csv, skip and limit
// as strings), each once, deleted ones among them (remote.SocialCSV).
// The listing's answer, results:{csvs, count}, is read in every form a
// client may meet: csvs an array (as clients and examples have it), or an
// object (as the spec types it: one import, or imports keyed by their
// index or id, in the order sent); count the total or the page's length.
func (c *Client) CSVImports(ctx context.Context) ([]remote.CSVImport, error) {
	var out []remote.CSVImport
	seen := make(map[string]bool)
	bad := 0
	read := func(results json.RawMessage) (csvPage, error) {
		var r struct {
			CSVs  json.RawMessage `json:"csvs"`
			Count json.RawMessage `json:"count"`
		}
		if len(results) > 0 {
			if err := json.Unmarshal(results, &r); err != nil {
				return csvPage{}, err
			}
		}
		items, err := csvItems(r.CSVs)
		if err != nil {
			return csvPage{}, err
		}
		return csvPage{items: items, count: countOf(r.Count)}, nil
	}
	add := func(raw json.RawMessage) {
		imp, ok := parseCSVImport(raw)
		switch {
		case !ok:
			bad++
		case !seen[imp.ID]:
			seen[imp.ID] = true
			out = append(out, imp)
		}
	}
	restart := func() {
		out, bad = out[:0], 0
		clear(seen)
	}
	err := c.csvPages(ctx, csvEndpointList, c.csvPath("/csv"), "csv", c.maxItems, csvRecordKey, read, restart, add)
	if bad > 0 {
		c.log.Warn(fmt.Sprintf("listing the social planner's CSV imports: skipped %d imports without an id, or with one longer than %d bytes", bad, remote.MaxIDBytes))
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CSVImport reads one import and every page of its posts (GET csv/{id},
// results:{csv, count, posts}): the record of its first page, and the
// posts in the service's order.
func (c *Client) CSVImport(ctx context.Context, id string) (remote.CSVDetail, error) {
	var d remote.CSVDetail
	read := func(results json.RawMessage) (csvPage, error) {
		var r struct {
			CSV   json.RawMessage `json:"csv"`
			Count json.RawMessage `json:"count"`
			Posts json.RawMessage `json:"posts"`
		}
		if len(results) > 0 {
			if err := json.Unmarshal(results, &r); err != nil {
				return csvPage{}, err
			}
		}
		var posts []json.RawMessage
		if p := bytes.TrimSpace(r.Posts); len(p) > 0 && string(p) != "null" {
			if err := json.Unmarshal(p, &posts); err != nil {
				return csvPage{}, fmt.Errorf("posts: %w", err)
			}
		}
		if d.Record == nil && len(bytes.TrimSpace(r.CSV)) > 0 && string(bytes.TrimSpace(r.CSV)) != "null" {
			d.Record = r.CSV
		}
		return csvPage{items: posts, count: countOf(r.Count)}, nil
	}
	add := func(raw json.RawMessage) { d.Posts = append(d.Posts, raw) }
	restart := func() { d = remote.CSVDetail{} }
	err := c.csvPages(ctx, csvEndpointOne, c.csvPath("/csv/"+escapeID(id)), "csv-posts", maxCSVPosts, postKey, read, restart, add)
	if err != nil {
		return remote.CSVDetail{}, err
	}
	if d.Record == nil {
		return remote.CSVDetail{}, fmt.Errorf("GET %s: %w: the answer holds no import (results.csv) for %s", csvEndpointOne, remote.ErrNotFound, id)
	}
	return d, nil
}

// DeleteCSVImport deletes an import (DELETE csv/{id}; 200 "Deleted
// Post"). It is sent again after a 5xx or a cut connection: a deletion
// done twice is done once, and the caller tells a 404 of the second
// attempt from an import still there by listing them again.
func (c *Client) DeleteCSVImport(ctx context.Context, id string) error {
	body, err := c.do(ctx, call{method: "DELETE", endpoint: csvEndpointOne, path: c.csvPath("/csv/" + escapeID(id)), idempotent: true})
	if err != nil {
		return err
	}
	_, err = unwrap("DELETE", csvEndpointOne, body)
	return err
}

// csvPage is one page of a CSV listing: its items (raw JSON) and the
// count its answer gave (-1: none).
type csvPage struct {
	items []json.RawMessage
	count int64
}

// csvPages reads every page of a CSV listing (skip and limit, as
// strings), hands each item to add once, as its page comes in, and calls
// restart before a pass that reads it again. kind names the listing for
// the longest page the server has given (notePage); key tells items apart
// for the overlap below.
//
// count may be the total or the page's length (unknown), and the server
// may cap a page below the limit asked: a count above the page's length
// is a total, and the listing ends at it; otherwise it ends at a page
// that brings nothing new, or one shorter than a page this kind of
// listing has given before. Pages overlap by one item: each page after
// the first starts with the last item of the one before, and a pass
// whose page does not (items removed or added before it while it ran)
// is read again from the start, csvPasses times at most.
func (c *Client) csvPages(ctx context.Context, endpoint, path, kind string, maxItems int, key func(json.RawMessage) string,
	read func(json.RawMessage) (csvPage, error), restart func(), add func(json.RawMessage)) error {
	for pass := range csvPasses {
		if pass > 0 {
			restart()
			c.log.Debug("the pages of a CSV listing did not line up; reading it again", "endpoint", endpoint, "pass", pass+1)
		}
		clean, err := c.csvPass(ctx, endpoint, path, kind, maxItems, key, read, add)
		if err != nil || clean {
			return err
		}
	}
	return fmt.Errorf("GET %s: %w: its pages did not line up in %d passes (it kept changing while it was read)", endpoint, remote.ErrListUnstable, csvPasses)
}

// csvPass is one pass of csvPages; clean is false when a page did not
// start with the last item of the page before.
func (c *Client) csvPass(ctx context.Context, endpoint, path, kind string, maxItems int, key func(json.RawMessage) string,
	read func(json.RawMessage) (csvPage, error), add func(json.RawMessage)) (clean bool, err error) {
	skip, received := 0, 0
	total := int64(-1)
	var last, first string // keys of the last and the first item of the page before
	overlap := false
	for {
		q := url.Values{"skip": {strconv.Itoa(skip)}, "limit": {strconv.Itoa(CSVPageSize)}}
		pctx, cancel := context.WithTimeout(ctx, c.retryFor)
		body, err := c.do(pctx, call{method: "GET", endpoint: endpoint, path: path, query: q, idempotent: true})
		cancel()
		if err != nil {
			return false, err
		}
		results, err := unwrap("GET", endpoint, body)
		if err != nil {
			return false, err
		}
		page, err := read(results)
		if err != nil {
			return false, fmt.Errorf("GET %s: reading the answer: %w", endpoint, err)
		}
		items, n := page.items, len(page.items)
		if page.count > int64(n) {
			total = page.count // more than the page: the total
		}
		if overlap {
			if n > 0 && n > CSVPageSize && key(items[0]) == first {
				// The page before again, longer than asked for: a server
				// that answers the whole listing at once.
				return true, nil
			}
			if n == 0 || key(items[0]) != last {
				return false, nil // items moved under the pass
			}
			items = items[1:]
		}
		if len(items) == 0 {
			return true, nil
		}
		if received += len(items); received > maxItems {
			return false, fmt.Errorf("GET %s: %w: more than %d items came, and the server was still sending more", endpoint, remote.ErrListTooLong, maxItems)
		}
		for _, it := range items {
			add(it)
		}
		floor, _ := c.notePage(kind, n, CSVPageSize)
		end := skip + n
		switch {
		case total >= 0 && int64(end) >= total:
			return true, nil
		case n < CSVPageSize && n < floor:
			return true, nil // shorter than a page the server gave before: the last
		case n >= 2:
			skip, overlap = end-1, true
		default:
			// A page of one item cannot overlap: the next starts after it.
			skip, overlap = end, false
		}
		first, last = key(page.items[0]), key(page.items[n-1])
	}
}

// csvItems reads a listing's csvs: an array, or an object (as the spec
// types it): one import (it has an _id), or imports keyed by their index
// or id, taken in the order the answer sends them.
func csvItems(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, nil
	case raw[0] == '[':
		var items []json.RawMessage
		err := json.Unmarshal(raw, &items)
		return items, err
	case raw[0] != '{':
		return nil, fmt.Errorf("csvs is neither an array nor an object")
	}
	var probe struct {
		ID json.RawMessage `json:"_id"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, err
	}
	if loosejson.FirstString(probe.ID) != "" {
		return []json.RawMessage{raw}, nil // one import
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var items []json.RawMessage
	for dec.More() {
		if _, err := dec.Token(); err != nil { // the key
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if v = bytes.TrimSpace(v); len(v) > 0 && v[0] == '{' {
			items = append(items, v)
		}
	}
	return items, nil
}

// countOf reads a count (a number, or a numeric string); -1 when absent
// or unreadable.
func countOf(raw json.RawMessage) int64 {
	if n, ok := loosejson.Int(raw); ok && n >= 0 {
		return n
	}
	return -1
}

// csvRecordKey tells imports apart by their id (a record whose status
// changed between two pages is the same import).
func csvRecordKey(raw json.RawMessage) string {
	var r struct {
		ID    json.RawMessage `json:"_id"`
		AltID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return string(raw)
	}
	if id := loosejson.FirstString(r.ID, r.AltID); id != "" {
		return id
	}
	return string(raw)
}

// postKey tells posts apart: they have no id, so by what they hold.
func postKey(raw json.RawMessage) string { return string(raw) }

// parseCSVImport reads one import of a listing; ok is false for one
// without an id, or with one over remote.MaxIDBytes. Every field is read
// as loosely as an item's (item.go): "_id" or "id", numbers as strings,
// times as ISO 8601 or epoch milliseconds; a status the spec elsewhere
// types as an object is taken as unknown.
func parseCSVImport(raw json.RawMessage) (remote.CSVImport, bool) {
	var r struct {
		ID         json.RawMessage `json:"_id"`
		AltID      json.RawMessage `json:"id"`
		FileName   json.RawMessage `json:"fileName"`
		File       json.RawMessage `json:"file"`
		Status     json.RawMessage `json:"status"`
		Count      json.RawMessage `json:"count"`
		AccountIDs json.RawMessage `json:"accountIds"`
		CreatedAt  json.RawMessage `json:"createdAt"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return remote.CSVImport{}, false
	}
	imp := remote.CSVImport{
		ID:        loosejson.FirstString(r.ID, r.AltID),
		FileName:  loosejson.CutName(loosejson.FirstString(r.FileName)),
		File:      loosejson.CutName(loosejson.FirstString(r.File)),
		Status:    strings.ToLower(strings.TrimSpace(loosejson.FirstString(r.Status))),
		Count:     countOf(r.Count),
		CreatedAt: loosejson.Time(r.CreatedAt),
		Record:    raw,
	}
	if imp.ID == "" || len(imp.ID) > remote.MaxIDBytes {
		return remote.CSVImport{}, false
	}
	if len(imp.Status) > 64 {
		imp.Status = ""
	}
	if imp.CreatedAt.IsZero() {
		imp.CreatedAt = IDTime(imp.ID)
	}
	var ids []json.RawMessage
	if json.Unmarshal(r.AccountIDs, &ids) == nil {
		for _, v := range ids {
			if id := loosejson.FirstString(v); id != "" && len(id) <= remote.MaxIDBytes && len(imp.AccountIDs) < maxCSVAccounts {
				imp.AccountIDs = append(imp.AccountIDs, id)
			}
		}
	}
	return imp, true
}

// The Client as a remote.SocialCSV: the cache finds it on the Backend
// with a type assertion.
var _ remote.SocialCSV = backend{}

func (b backend) CSVImports(ctx context.Context) ([]remote.CSVImport, error) {
	return b.c.CSVImports(ctx)
}

func (b backend) CSVImport(ctx context.Context, id string) (remote.CSVDetail, error) {
	return b.c.CSVImport(ctx, id)
}

func (b backend) DeleteCSVImport(ctx context.Context, id string) error {
	return b.c.DeleteCSVImport(ctx, id)
}

// incurableAdvice is the request core's log line of a 401 no new token
// cures (IncurableAdvice), but none for a CSV endpoint's refusal of the
// token's scope: the mount says what it means there (no folder of
// imports, or an rm refused), in a line of its own.
func incurableAdvice(e *remote.Error, location string) string {
	if errors.Is(e.Cause, remote.ErrScope) && isCSVEndpoint(e.Endpoint) {
		return ""
	}
	return IncurableAdvice(e, location)
}
