package ghl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ghlfs/ghlfs/remote"
)

// Routes the service may not have for a token. A field report found every
// rename route it tried answering 404 for a Private Integration Token, and
// the bulk routes entered the public spec late: the first such answer is
// remembered for the client's life, and later calls of that route fail at
// once, without a request (one 404 per mount, not one per change).

// RouteError is a call the service has no route for, as first answered.
type RouteError struct {
	Route string        // e.g. "POST /medias/{id}"
	Err   *remote.Error // the 404 "Cannot POST /medias/…"
}

func (e *RouteError) Error() string {
	return fmt.Sprintf("the API has no route %s for this token (%d: %s)", e.Route, e.Err.Status, cutMessage(e.Err.Message))
}

// cutMessage bounds a server's message kept in a log line.
func cutMessage(m string) string {
	if len(m) <= 200 {
		return m
	}
	return strings.ToValidUTF8(m[:200], "") + "…"
}

func (e *RouteError) Unwrap() error { return remote.ErrRouteMissing }

// refusedRoute returns the remembered refusal of route, or nil.
func (c *Client) refusedRoute(route string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.missingRoutes[route]; ok {
		return e
	}
	return nil
}

// noteRoute remembers a route-not-found answer to route (and logs it,
// once), and returns the error to hand on: a *RouteError for such an
// answer, err itself for any other.
func (c *Client) noteRoute(route string, err error) error {
	var apiErr *remote.Error
	if !errors.As(err, &apiErr) || !apiErr.NoRoute {
		return err
	}
	re := &RouteError{Route: route, Err: apiErr}
	c.mu.Lock()
	_, known := c.missingRoutes[route]
	if !known {
		c.missingRoutes[route] = re
	}
	c.mu.Unlock()
	if !known {
		c.log.Warn(fmt.Sprintf("the API answers %s as a route it does not have (%s); it is not called again while mounted", route, cutMessage(apiErr.Message)), "route", route)
	}
	return re
}

// Route names, as RouteError names them.
const (
	RouteRename     = "POST /medias/{id}"
	RouteDelete     = "DELETE /medias/{id}"
	RouteDeleteMany = "PUT /medias/delete-files"
)

// deleteEach is DeleteMany without the bulk route: DELETE /medias/{id}
// for each item, one after the other. It is the token's only way to
// remove, for the trash too (as the public clients remove); what DELETE
// does, trash or delete for good, is not documented, so the first trash
// sent that way says so in one WARN line for the client's life (a mount).
// An item the API no longer has (404) is reported as not done, as the
// bulk answer's {"deleted": false}: the caller checks a listing.
func (c *Client) deleteEach(ctx context.Context, ids []string, status DeleteStatus, bulk error) error {
	if status != StatusDeleted {
		c.trashByDelete.Do(func() {
			c.log.Warn(fmt.Sprintf("the token has no bulk trash route (%v): removals now use DELETE /medias/{id}, one item at a time, whose effect HighLevel does not document (it may delete for good, not move to the trash); mount with --read-only to prevent removals", bulk),
				"route", RouteDelete)
		})
	}
	var gone []string
	for _, id := range ids {
		err := c.Delete(ctx, id)
		switch {
		case errors.Is(err, remote.ErrNotFound):
			gone = append(gone, id)
		case err != nil:
			return err
		}
	}
	if len(gone) > 0 {
		return &remote.NotDoneError{Call: "DELETE /medias/{id}", IDs: gone}
	}
	return nil
}

// firstBulkCall lets the removals that reach the bulk route before the
// service has answered it through one at a time, so that a service
// without the route is asked once, however many removals come at once
// (the first answer teaches the others, which then go one by one); once
// the service has answered, every call goes straight through. release
// ends the call's turn with its outcome. The wait is for the first
// call's answer, and ends with ctx.
func (c *Client) firstBulkCall(ctx context.Context) (release func(error), err error) {
	c.mu.Lock()
	known := c.bulkKnown
	c.mu.Unlock()
	if known {
		return func(error) {}, nil
	}
	select {
	case c.bulkGate <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return func(err error) {
		var apiErr *remote.Error
		if err == nil || errors.As(err, &apiErr) || errors.Is(err, remote.ErrRouteMissing) {
			c.mu.Lock()
			c.bulkKnown = true // the service answered
			c.mu.Unlock()
		}
		<-c.bulkGate
	}, nil
}
